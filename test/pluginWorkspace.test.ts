/**
 * The plugin daemon's working path on EFS (pluginDaemonSharedStorage), where every installed plugin's virtual
 * environment and uv's cache live, shared by the daemon's tasks.
 *
 * AWS facts the expectations rest on: EFS encrypts at rest only when created so (`encrypted` defaults to false); an
 * ECS EFS volume uses TLS only with transitEncryption ENABLED (default DISABLED) and presents the task role only with
 * authorizationConfig.iam ENABLED; a file system policy statement on the client actions (ClientMount, ClientWrite,
 * ClientRootAccess) with aws:SecureTransport or elasticfilesystem:AccessPointArn conditions is how EFS refuses other
 * clients; an access point's POSIX user is the identity of every request through it; one mount target per AZ. Dify
 * facts: PLUGIN_WORKING_PATH /app/storage/cwd, the daemon runs as root in its container, and
 * shares the path safely from 0.5.3 (the env_init_lock Redis lock, dify-plugin-daemon#564).
 */
import { expect } from "chai";
import { configErrorFor, containerOf, environmentOf, loadSettingsFor, PolicyStatement, ProgramRun, rolePolicyStatements, runProgram, stackRun } from "./harness";

const FS = "aws:efs/fileSystem:FileSystem";
const MOUNT = "aws:efs/mountTarget:MountTarget";
const AP = "aws:efs/accessPoint:AccessPoint";
const FS_POLICY = "aws:efs/fileSystemPolicy:FileSystemPolicy";
const BACKUP = "aws:efs/backupPolicy:BackupPolicy";
const CLIENT_ACTIONS = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"];

const taskPolicyStatements = (run: ProgramRun, role: string) => rolePolicyStatements(run, `dify-${role}-task`);
const list = (x: string | string[]) => (Array.isArray(x) ? x : [x]);

describe("plugin workspace (EFS working path of the plugin daemon)", () => {
    for (const stack of ["dev", "prd"] as const) {
        describe(stack, () => {
            let run: ProgramRun;
            before(async () => {
                run = await stackRun(stack);
            });

            it("an encrypted file system, protected and backed up only where the stack protects its data", () => {
                const fs = run.one(FS);
                expect(fs.inputs.encrypted).to.equal(true);
                expect(fs.inputs.throughputMode).to.equal("bursting");
                if (stack === "prd") {
                    // prd: the stack's customer-managed key, Pulumi protect, AWS Backup's daily backups.
                    expect(fs.inputs.kmsKeyId).to.equal(run.outputs.kmsKeyArn).and.to.match(/^arn:aws:kms:/);
                    expect(fs.protect).to.equal(true);
                    expect(run.one(BACKUP).inputs.backupPolicy.status).to.equal("ENABLED");
                } else {
                    // dev: AWS-managed key (no stack key), no protect, no backups (the packages in S3 rebuild it).
                    expect(fs.inputs.kmsKeyId).to.equal(undefined);
                    expect(fs.protect).to.equal(false);
                    expect(run.one(BACKUP).inputs.backupPolicy.status).to.equal("DISABLED");
                }
            });

            it("one mount target in each private subnet, in a security group only the plugin daemon reaches (NFS 2049)", () => {
                const mounts = run.ofType(MOUNT);
                const fs = run.one(FS);
                expect(mounts.map((m) => m.inputs.subnetId).sort()).to.deep.equal([...(run.outputs.privateSubnetIds as string[])].sort());
                const sg = run.one("aws:ec2/securityGroup:SecurityGroup", "data-plugin-workspace-efs");
                for (const m of mounts) {
                    expect(m.inputs.fileSystemId).to.equal(fs.id);
                    expect(m.inputs.securityGroups).to.deep.equal([sg.id]);
                }
                const ingress = run.ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.inputs.securityGroupId === sg.id);
                const daemonSg = run.one("aws:ec2/securityGroup:SecurityGroup", "dify-plugin-daemon").id;
                expect(ingress.map((r) => [r.inputs.referencedSecurityGroupId, r.inputs.fromPort, r.inputs.toPort, r.inputs.cidrIpv4])).to.deep.equal([[daemonSg, 2049, 2049, undefined]]);
            });

            it("the file system refuses NFS clients without TLS or outside the access point, and never its own management", () => {
                const fs = run.one(FS);
                const ap = run.one(AP);
                expect(ap.inputs.fileSystemId).to.equal(fs.id);
                // Not root: the access point's identity is every client's, so the role needs no ClientRootAccess.
                expect(ap.inputs.posixUser).to.deep.equal({ uid: 1000, gid: 1000 });
                expect(ap.inputs.rootDirectory.creationInfo).to.deep.equal({ ownerUid: 1000, ownerGid: 1000, permissions: "755" });
                expect(ap.inputs.rootDirectory.path).to.equal("/plugin-daemon-cwd");
                const statements = JSON.parse(run.one(FS_POLICY).inputs.policy).Statement as PolicyStatement[];
                expect(statements.every((s) => s.Effect === "Deny")).to.equal(true);
                // Client actions only: a Deny on elasticfilesystem:* would also refuse PutFileSystemPolicy to everyone.
                for (const s of statements) {
                    expect(list(s.Action).sort()).to.deep.equal([...CLIENT_ACTIONS].sort());
                }
                expect(statements.map((s) => s.Condition)).to.deep.include.members([
                    { Bool: { "aws:SecureTransport": "false" } },
                    { StringNotEquals: { "elasticfilesystem:AccessPointArn": ap.state.arn } },
                ]);
            });

            it("the daemon mounts it at PLUGIN_WORKING_PATH through the access point, with TLS and its task role", () => {
                const td = run.one("aws:ecs/taskDefinition:TaskDefinition", "dify-plugin-daemon");
                const container = containerOf(run, "plugin-daemon");
                const workingPath = environmentOf(container).PLUGIN_WORKING_PATH;
                expect(workingPath).to.equal("/app/storage/cwd");
                expect(td.inputs.volumes).to.have.length(1);
                const volume = td.inputs.volumes[0];
                expect(volume.efsVolumeConfiguration).to.deep.equal({
                    fileSystemId: run.one(FS).id,
                    transitEncryption: "ENABLED",
                    authorizationConfig: { accessPointId: run.one(AP).id, iam: "ENABLED" },
                });
                expect(container.mountPoints).to.deep.equal([{ sourceVolume: volume.name, containerPath: workingPath, readOnly: false }]);
                for (const family of ["web", "api", "worker", "beat", "sandbox", "ssrf-proxy", "migration"]) {
                    expect(run.one("aws:ecs/taskDefinition:TaskDefinition", `dify-${family}`).inputs.volumes, family).to.equal(undefined);
                    expect(containerOf(run, family).mountPoints, family).to.equal(undefined);
                }
            });

            it("only the daemon's task role may mount and write (never as root), on this file system through its access point", () => {
                const mount = taskPolicyStatements(run, "plugin-daemon").filter((s) => list(s.Action).some((a) => a.startsWith("elasticfilesystem:")));
                expect(mount).to.have.length(1);
                expect(list(mount[0].Action).sort()).to.deep.equal(["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]);
                expect(mount[0].Resource).to.equal(run.one(FS).state.arn);
                expect(mount[0].Condition).to.deep.equal({ StringEquals: { "elasticfilesystem:AccessPointArn": run.one(AP).state.arn } });
                for (const role of ["web", "api", "worker", "beat", "sandbox", "ssrf-proxy"]) {
                    expect(taskPolicyStatements(run, role).flatMap((s) => list(s.Action)).filter((a) => a.startsWith("elasticfilesystem:")), role).to.deep.equal([]);
                }
            });

            it("exports the file system id for the runbook", () => {
                expect(run.outputs.pluginWorkspaceFileSystemId).to.equal(run.one(FS).id);
            });
        });
    }

    it("pluginDaemonSharedStorage false: no file system, no volume, no NFS rule, no EFS permission", async () => {
        const run = await runProgram("prd", { pluginDaemonSharedStorage: false });
        for (const type of [FS, MOUNT, AP, FS_POLICY, BACKUP]) {
            expect(run.ofType(type), type).to.have.length(0);
        }
        expect(run.one("aws:ecs/taskDefinition:TaskDefinition", "dify-plugin-daemon").inputs.volumes).to.equal(undefined);
        expect(containerOf(run, "plugin-daemon").mountPoints).to.equal(undefined);
        expect(run.ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.inputs.fromPort === 2049)).to.have.length(0);
        expect(taskPolicyStatements(run, "plugin-daemon").flatMap((s) => list(s.Action)).filter((a) => a.startsWith("elasticfilesystem:"))).to.deep.equal([]);
        expect(run.outputs.pluginWorkspaceFileSystemId).to.equal(undefined);
    });

    it("an adopted VPC gets one mount target per given private subnet", async () => {
        const subnets = (tier: string) => [`subnet-0${tier}00000000000000a`, `subnet-0${tier}00000000000000b`];
        const run = await runProgram("dev", {
            vpcMode: "existing",
            existingVpcId: "vpc-0123456789abcdef0",
            existingPublicSubnetIds: subnets("1"),
            existingPrivateSubnetIds: subnets("2"),
            existingDataSubnetIds: subnets("3"),
        });
        expect(run.ofType(MOUNT).map((m) => m.inputs.subnetId).sort()).to.deep.equal(subnets("2"));
    });

    it("refuses a shared working path with a daemon older than 0.5.3 (no cross-task build lock) or without a version tag", () => {
        const old = configErrorFor("prd", { pluginDaemonImageTag: "0.5.2-local" });
        expect(old).to.include('dify-aws:pluginDaemonImageTag = "0.5.2-local"').and.to.include("dify-aws:pluginDaemonSharedStorage = true");
        expect(old).to.match(/at least 0\.5\.3/);
        expect(configErrorFor("prd", { pluginDaemonImageTag: "nightly-local" })).to.match(/at least 0\.5\.3/);
        // The same old daemon on task-local storage, and newer ones shared, are accepted.
        expect(loadSettingsFor("prd", { pluginDaemonImageTag: "0.5.2-local", pluginDaemonSharedStorage: false }).settings.data.pluginWorkspace).to.equal(false);
        for (const tag of ["0.5.3-local", "0.6.10-local", "1.0.0-local"]) {
            expect(loadSettingsFor("prd", { pluginDaemonImageTag: tag }).settings.data.pluginWorkspace, tag).to.equal(true);
        }
    });
});
