import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { SharedFileSystem } from "./contracts";
import { after } from "./ordering";

export interface PluginWorkspaceArgs {
    vpcId: pulumi.Input<string>;
    /** The subnets the plugin-daemon tasks run in, one per AZ: one mount target in each. */
    subnetIds: pulumi.Input<string[]>;
    /** How many subnets there are (a mount target is a resource per subnet, so the count must be known up front). */
    subnetCount: number;
    /** The stack's customer-managed KMS key; undefined uses the AWS-managed key aws/elasticfilesystem. */
    kmsKeyArn?: pulumi.Input<string>;
    /** The stack protects its data: Pulumi `protect` on the file system, and AWS Backup's daily backups on. */
    protect: boolean;
    /** Physical-name prefix (`dify-<stack>`). */
    namePrefix: string;
}

/** Where the daemon keeps its plugins' directories (its PLUGIN_WORKING_PATH), inside the file system. */
export const PLUGIN_WORKSPACE_ROOT = "/plugin-daemon-cwd";
/** NFS over TLS (the ECS EFS volume's transit encryption) uses the NFS port. */
export const NFS_PORT = 2049;
/** Every NFS client action of EFS: what the file system's policy refuses outside TLS and the access point. */
export const EFS_CLIENT_ACTIONS = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"];
/**
 * What the daemon's task role may do: mount and write. Not ClientRootAccess: the access point acts as WORKSPACE_USER
 * for every request, whatever user the container runs as (the daemon's image runs as root).
 */
export const EFS_TASK_ACTIONS = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"];
/** The POSIX identity the access point enforces and owns its root directory with. */
export const WORKSPACE_USER = { uid: 1000, gid: 1000 } as const;

/**
 * The plugin daemon's working path on EFS, shared by every daemon task, so a replaced or added task finds each
 * installed plugin's environment built and does not download its dependencies again.
 *
 * Why this is safe, from dify-plugin-daemon 0.6.10 (the pinned version):
 * - Each plugin lives in its own directory `<PLUGIN_WORKING_PATH>/<author>/<name>-<version>@<checksum>`
 *   (local_runtime/constructor.go); a non-empty directory is never extracted again (environment.go).
 * - A virtual environment is reused when `.venv/bin/python` and the marker `.venv/dify/plugin.json` exist; the marker
 *   is written last, after the install and compileall succeed; one without it is deleted and rebuilt
 *   (setup_python_environment.go, environment_python.go).
 * - Since 0.5.3 (dify-plugin-daemon#564, fixing #541: replicas deleting each other's half-built .venv) every daemon
 *   takes the Redis lock `env_init_lock:<plugin>` around extracting and building a plugin, so one task builds while
 *   the others wait (up to 2 minutes, then retry on their next 30-second sync) and then reuse it.
 * - uv's cache is `<PLUGIN_WORKING_PATH>/.uv-cache` (shared by every plugin since 0.5.9), so it is shared too.
 * Upstream's README warns that a network volume for the working path is slower than a local disk ("plugins not
 * launching in a timely manner"); that cost is paid once per process start, against a full PyPI install per plugin
 * per task without it (aws-samples/dify-self-hosted-on-aws#119: memory spikes and crash loops on every start).
 *
 * The environments can always be rebuilt from the packages in S3, so losing the file system loses no user data; it is
 * still protected and backed up on a stack that protects its data, so a mistake costs no rebuild storm.
 */
export class PluginWorkspace extends pulumi.ComponentResource {
    public readonly fileSystem: SharedFileSystem;

    constructor(name: string, args: PluginWorkspaceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dify-aws:data:PluginWorkspace", name, {}, opts);
        const parent = { parent: this };
        const p = args.namePrefix;

        const securityGroup = new aws.ec2.SecurityGroup(
            `${name}-efs`,
            { vpcId: args.vpcId, description: "EFS mount targets of the plugin daemon working path: ingress rules are added per caller by the consumer", tags: { Name: `${p}-plugin-workspace` } },
            parent,
        );
        const fileSystem = new aws.efs.FileSystem(
            `${name}-efs`,
            {
                encrypted: true,
                kmsKeyId: args.kmsKeyArn,
                // Bursting: no charge per GB moved, and a new file system starts with 2.1 TiB of burst credits at up
                // to 100 MiB/s. The daemon reads a plugin's environment when it starts the plugin's process and writes
                // one per installed version: far below the baseline it earns back between starts.
                throughputMode: "bursting",
                performanceMode: "generalPurpose",
                tags: { Name: `${p}-plugin-workspace` },
            },
            { parent: this, protect: args.protect },
        );
        new aws.efs.BackupPolicy(`${name}-efs`, { fileSystemId: fileSystem.id, backupPolicy: { status: args.protect ? "ENABLED" : "DISABLED" } }, parent);

        const mountTargets = Array.from({ length: args.subnetCount }, (_, i) =>
            new aws.efs.MountTarget(
                `${name}-efs-${i + 1}`,
                { fileSystemId: fileSystem.id, subnetId: pulumi.output(args.subnetIds).apply((ids) => ids[i]), securityGroups: [securityGroup.id] },
                parent,
            ),
        );
        const accessPoint = new aws.efs.AccessPoint(
            `${name}-efs`,
            {
                fileSystemId: fileSystem.id,
                // Every file the daemon creates is owned by this identity, so no client ever needs root on the file
                // system; the daemon creates each plugin's directory under the root itself.
                posixUser: WORKSPACE_USER,
                rootDirectory: { path: PLUGIN_WORKSPACE_ROOT, creationInfo: { ownerUid: WORKSPACE_USER.uid, ownerGid: WORKSPACE_USER.gid, permissions: "755" } },
                tags: { Name: `${p}-plugin-workspace` },
            },
            parent,
        );
        // NFS clients only through the access point and over TLS. The statements name the client actions only, so
        // they never lock the file system's own management (PutFileSystemPolicy) out.
        const policy = new aws.efs.FileSystemPolicy(
            `${name}-efs`,
            {
                fileSystemId: fileSystem.id,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Sid: "DenyWithoutTls",
                            Effect: "Deny",
                            Principal: { AWS: "*" },
                            Action: EFS_CLIENT_ACTIONS,
                            Resource: fileSystem.arn,
                            Condition: { Bool: { "aws:SecureTransport": "false" } },
                        },
                        {
                            Sid: "DenyOutsideTheAccessPoint",
                            Effect: "Deny",
                            Principal: { AWS: "*" },
                            Action: EFS_CLIENT_ACTIONS,
                            Resource: fileSystem.arn,
                            Condition: { StringNotEquals: { "elasticfilesystem:AccessPointArn": accessPoint.arn } },
                        },
                    ],
                }),
            },
            parent,
        );

        // A task that mounts before a mount target in its zone is available fails to start; ids resolve after them.
        this.fileSystem = {
            fileSystemId: after(fileSystem.id, ...mountTargets, policy),
            fileSystemArn: fileSystem.arn,
            accessPointId: accessPoint.id,
            accessPointArn: accessPoint.arn,
            securityGroupId: securityGroup.id,
        };
        this.registerOutputs({ fileSystem: this.fileSystem });
    }
}
