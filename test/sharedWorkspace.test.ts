/**
 * The shared workspaces on EFS: the plugin daemon's working path (pluginDaemonSharedStorage), where every installed
 * plugin's virtual environment and uv's cache live, shared by the daemon's tasks; and the agent sandbox's homes and
 * workspaces (Agent v2), which Dify references from its database and which must outlive every task replacement.
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
import { DIFY_RELEASES, releaseImages } from "../config/upstream/releases";
import { SHARED_WORKING_PATH_MIN_DAEMON } from "../config";
import { containerOf, environmentOf, PolicyStatement, ProgramRun, rolePolicyStatements, runProgram, stackRun } from "./harness";

const FS = "aws:efs/fileSystem:FileSystem";
const MOUNT = "aws:efs/mountTarget:MountTarget";
const AP = "aws:efs/accessPoint:AccessPoint";
const FS_POLICY = "aws:efs/fileSystemPolicy:FileSystemPolicy";
const BACKUP = "aws:efs/backupPolicy:BackupPolicy";
const CLIENT_ACTIONS = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"];

const taskPolicyStatements = (run: ProgramRun, role: string) => rolePolicyStatements(run, `dify-${role}-task`);
const list = (x: string | string[]) => (Array.isArray(x) ? x : [x]);

/** The two workspaces: which role mounts which access point where. */
const WORKSPACES = [
    {
        key: "plugin-workspace",
        role: "plugin-daemon",
        output: "pluginWorkspaceFileSystemId",
        accessPoints: [{ key: "workingPath", path: "/plugin-daemon-cwd", containerPath: "/app/storage/cwd" }],
    },
    {
        key: "agent-workspace",
        role: "agent-sandbox",
        output: "agentWorkspaceFileSystemId",
        accessPoints: [
            { key: "home", path: "/agent-sandbox/home", containerPath: "/home/dify" },
            { key: "workspace", path: "/agent-sandbox/workspace", containerPath: "/workspace" },
        ],
    },
] as const;
const FAMILIES_WITHOUT_MOUNTS = ["web", "api", "worker", "beat", "sandbox", "ssrf-proxy", "migration", "api-websocket", "agent-backend", "agent-ssrf-proxy"];

describe("shared workspaces (EFS)", () => {
    for (const stack of ["dev", "prd"] as const) {
        for (const w of WORKSPACES) {
            describe(`${stack}: ${w.key}`, () => {
                let run: ProgramRun;
                const fsOf = () => run.one(FS, `data-${w.key}-efs`);
                const apOf = (key: string) => run.one(AP, `data-${w.key}-${key}`);
                before(async () => {
                    run = await stackRun(stack);
                });

                it("an encrypted file system with the stack's throughput mode (prd elastic, dev bursting), protected where the stack protects its data, and backed up by EFS itself only where no backup plan covers it", () => {
                    const fs = fsOf();
                    expect(fs.inputs.encrypted).to.equal(true);
                    expect(fs.inputs.throughputMode).to.equal(stack === "prd" ? "elastic" : "bursting");
                    expect(fs.inputs.performanceMode).to.equal("generalPurpose");
                    const backup = run.ofType(BACKUP).find((b) => b.inputs.fileSystemId === fs.id)!;
                    if (stack === "prd") {
                        expect(fs.inputs.kmsKeyId).to.equal(run.outputs.kmsKeyArn).and.to.match(/^arn:aws:kms:/);
                        expect(fs.protect).to.equal(true);
                        // prd's BackupPlan selects the file system (test/backup.test.ts): EFS's own daily backups
                        // would store every recovery point a second time.
                        expect(run.one("aws:backup/selection:Selection").inputs.resources).to.include(fs.state.arn);
                        expect(backup.inputs.backupPolicy.status).to.equal("DISABLED");
                    } else {
                        expect(fs.inputs.kmsKeyId).to.equal(undefined);
                        expect(fs.protect).to.equal(false);
                        expect(backup.inputs.backupPolicy.status).to.equal("DISABLED");
                    }
                });

                it(`one mount target in each private subnet, in a security group only ${w.role} reaches (NFS 2049)`, () => {
                    const fs = fsOf();
                    const mounts = run.ofType(MOUNT).filter((m) => m.inputs.fileSystemId === fs.id);
                    expect(mounts.map((m) => m.inputs.subnetId).sort()).to.deep.equal([...(run.outputs.privateSubnetIds as string[])].sort());
                    const sg = run.one("aws:ec2/securityGroup:SecurityGroup", `data-${w.key}-efs`);
                    for (const m of mounts) {
                        expect(m.inputs.securityGroups).to.deep.equal([sg.id]);
                    }
                    const ingress = run.ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.inputs.securityGroupId === sg.id);
                    const roleSg = run.one("aws:ec2/securityGroup:SecurityGroup", `dify-${w.role}`).id;
                    expect(ingress.map((r) => [r.inputs.referencedSecurityGroupId, r.inputs.fromPort, r.inputs.toPort, r.inputs.cidrIpv4])).to.deep.equal([[roleSg, 2049, 2049, undefined]]);
                });

                it("the file system refuses NFS clients without TLS or outside its access points, and never its own management", () => {
                    const fs = fsOf();
                    for (const a of w.accessPoints) {
                        const ap = apOf(a.key);
                        expect(ap.inputs.fileSystemId).to.equal(fs.id);
                        // Not root: the access point's identity is every client's, so the role needs no ClientRootAccess.
                        expect(ap.inputs.posixUser).to.deep.equal({ uid: 1000, gid: 1000 });
                        expect(ap.inputs.rootDirectory.creationInfo).to.deep.equal({ ownerUid: 1000, ownerGid: 1000, permissions: "755" });
                        expect(ap.inputs.rootDirectory.path).to.equal(a.path);
                    }
                    const policy = run.ofType(FS_POLICY).find((p) => p.inputs.fileSystemId === fs.id)!;
                    const statements = JSON.parse(policy.inputs.policy).Statement as PolicyStatement[];
                    expect(statements.every((s) => s.Effect === "Deny")).to.equal(true);
                    // Client actions only: a Deny on elasticfilesystem:* would also refuse PutFileSystemPolicy to everyone.
                    for (const s of statements) {
                        expect(list(s.Action).sort()).to.deep.equal([...CLIENT_ACTIONS].sort());
                    }
                    expect(statements.map((s) => s.Condition)).to.deep.include.members([
                        { Bool: { "aws:SecureTransport": "false" } },
                        { StringNotEquals: { "elasticfilesystem:AccessPointArn": w.accessPoints.map((a) => apOf(a.key).state.arn) } },
                    ]);
                });

                it(`${w.role} mounts each access point through TLS and its task role; no other role mounts anything`, () => {
                    const td = run.one("aws:ecs/taskDefinition:TaskDefinition", `dify-${w.role}`);
                    const container = containerOf(run, w.role);
                    if (w.role === "plugin-daemon") {
                        expect(environmentOf(container).PLUGIN_WORKING_PATH).to.equal("/app/storage/cwd");
                    }
                    expect(td.inputs.volumes).to.have.length(w.accessPoints.length);
                    for (const a of w.accessPoints) {
                        const volume = td.inputs.volumes.find((v: { efsVolumeConfiguration: { authorizationConfig: { accessPointId: string } } }) => v.efsVolumeConfiguration.authorizationConfig.accessPointId === apOf(a.key).id);
                        expect(volume.efsVolumeConfiguration).to.deep.equal({ fileSystemId: fsOf().id, transitEncryption: "ENABLED", authorizationConfig: { accessPointId: apOf(a.key).id, iam: "ENABLED" } });
                        expect(container.mountPoints).to.deep.include({ sourceVolume: volume.name, containerPath: a.containerPath, readOnly: false });
                    }
                    expect(container.mountPoints).to.have.length(w.accessPoints.length);
                    for (const family of FAMILIES_WITHOUT_MOUNTS) {
                        // No file system. A read-only root's scratch volumes (a name only: the task's ephemeral storage)
                        // are test/readOnlyRoot.test.ts's.
                        const volumes = (run.one("aws:ecs/taskDefinition:TaskDefinition", `dify-${family}`).inputs.volumes ?? []) as { name: string }[];
                        const scratch = new Set(volumes.filter((v) => Object.keys(v).every((k) => k === "name")).map((v) => v.name));
                        expect(volumes.filter((v) => !scratch.has(v.name)), family).to.deep.equal([]);
                        expect((containerOf(run, family).mountPoints ?? []).filter((m) => !scratch.has(m.sourceVolume)), family).to.deep.equal([]);
                    }
                });

                it(`only ${w.role}'s task role may mount and write (never as root), on this file system through its access points`, () => {
                    const mount = taskPolicyStatements(run, w.role).filter((s) => list(s.Action).some((a) => a.startsWith("elasticfilesystem:")));
                    expect(mount).to.have.length(1);
                    expect(list(mount[0].Action).sort()).to.deep.equal(["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]);
                    expect(mount[0].Resource).to.equal(fsOf().state.arn);
                    expect(mount[0].Condition).to.deep.equal({ StringEquals: { "elasticfilesystem:AccessPointArn": w.accessPoints.map((a) => apOf(a.key).state.arn) } });
                    for (const role of ["web", "api", "worker", "beat", "sandbox", "ssrf-proxy", "api-websocket", "agent-backend", "agent-ssrf-proxy"]) {
                        expect(taskPolicyStatements(run, role).flatMap((s) => list(s.Action)).filter((a) => a.startsWith("elasticfilesystem:")), role).to.deep.equal([]);
                    }
                });

                it("exports the file system id for the runbook", () => {
                    expect(run.outputs[w.output]).to.equal(fsOf().id);
                });
            });
        }
    }

    it("pluginDaemonSharedStorage false and agentV2Enabled false: no file system, no volume, no NFS rule, no EFS permission", async () => {
        const run = await runProgram("prd", { pluginDaemonSharedStorage: false, agentV2Enabled: false });
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
        // Two file systems (the plugin and agent workspaces), each with a mount target in both private subnets.
        expect(run.ofType(MOUNT).map((m) => m.inputs.subnetId).sort()).to.deep.equal([...subnets("2"), ...subnets("2")].sort());
    });

    it("every release of the compatibility table pins a daemon that shares its working path safely (0.5.3 or newer)", () => {
        const atLeast = (v: number[]) => v[0] !== SHARED_WORKING_PATH_MIN_DAEMON[0] ? v[0] > SHARED_WORKING_PATH_MIN_DAEMON[0] : v[1] !== SHARED_WORKING_PATH_MIN_DAEMON[1] ? v[1] > SHARED_WORKING_PATH_MIN_DAEMON[1] : v[2] >= SHARED_WORKING_PATH_MIN_DAEMON[2];
        for (const [version, release] of Object.entries(DIFY_RELEASES)) {
            const daemon = releaseImages(release).pluginDaemon;
            expect(atLeast(daemon.split(/[.-]/).slice(0, 3).map(Number)), `${version} pins ${daemon}`).to.equal(true);
        }
    });
});
