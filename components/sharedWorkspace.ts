import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { SharedFileSystem } from "./contracts";
import { after } from "./ordering";

export interface SharedWorkspaceArgs {
    vpcId: pulumi.Input<string>;
    /** The subnets the tasks that mount it run in, one per AZ: one mount target in each. */
    subnetIds: pulumi.Input<string[]>;
    /** How many subnets there are (a mount target is a resource per subnet, so the count must be known up front). */
    subnetCount: number;
    /** The stack's customer-managed KMS key; undefined uses the AWS-managed key aws/elasticfilesystem. */
    kmsKeyArn?: pulumi.Input<string>;
    /** The stack protects its data: Pulumi `protect` on the file system. */
    protect: boolean;
    /**
     * EFS's automatic backups (AWS Backup's default plan, daily, kept 35 days). Off when the stack's own BackupPlan
     * covers the file system: two plans would store every recovery point twice.
     */
    automaticBackups: boolean;
    /** Physical-name prefix (`dify-<stack>`). */
    namePrefix: string;
    /** What the file system holds, in words EC2 accepts in a security group description (no apostrophes). */
    purpose: string;
    /** The `Name` tag suffix: `<prefix>-<nameSuffix>`. */
    nameSuffix: string;
    /** Each access point: a key the consumer mounts it by, and its root directory in the file system. */
    accessPoints: { key: string; path: string }[];
    /**
     * EFS throughput mode: "elastic" (pay per GB moved, any burst) or "bursting" (a baseline per GiB stored plus
     * credits). See the component's comment for why elastic is the default.
     */
    throughputMode: "elastic" | "bursting";
    /** The data guard: the file system waits for its check (components/dataGuard.ts). */
    dataGuard?: pulumi.Resource;
}

/** Where the daemon keeps its plugins' directories (its PLUGIN_WORKING_PATH), inside its file system. */
export const PLUGIN_WORKSPACE_ROOT = "/plugin-daemon-cwd";
/** Where the agent local sandbox keeps its homes (/home/dify) and workspaces (/workspace), inside its file system. */
export const AGENT_WORKSPACE_ROOTS = { home: "/agent-sandbox/home", workspace: "/agent-sandbox/workspace" } as const;
/** NFS over TLS (the ECS EFS volume's transit encryption) uses the NFS port. */
export const NFS_PORT = 2049;
/** Every NFS client action of EFS: what the file system's policy refuses outside TLS and the access point. */
export const EFS_CLIENT_ACTIONS = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"];
/**
 * What a task role may do: mount and write. Not ClientRootAccess: the access point acts as WORKSPACE_USER for every
 * request, whatever user the container runs as (the daemon's image runs as root, the agent sandbox's as `dify`).
 */
export const EFS_TASK_ACTIONS = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"];
/** The POSIX identity the access point enforces and owns its root directory with. */
export const WORKSPACE_USER = { uid: 1000, gid: 1000 } as const;

/**
 * An encrypted EFS file system one Dify role mounts through its access points, with TLS and IAM only, a mount target
 * in each of the role's subnets and a security group the consumer admits the role to. Two of them:
 *
 * The plugin daemon's working path, shared by every daemon task, so a replaced or added task finds each installed
 * plugin's environment built and does not download its dependencies again.
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
 *
 * The agent local sandbox's homes and workspaces (Agent v2): upstream's compose keeps them in the container, but Dify
 * stores references to them (agent_home_snapshots.snapshot_ref, agent_workspaces.backend_workspace_ref) and fails
 * rather than recreate one that is gone ("it does not create an empty replacement Workspace", dify-agent
 * runtime-resources docs), so on Fargate, where every deploy replaces the task, they must outlive it. This is user
 * data: protected and backed up like the database.
 *
 * Throughput: elastic by default. A new plugin version writes gigabytes of wheels and every plugin start reads its
 * environment; bursting's baseline is 50 KiB/s per GiB stored (a few GiB here: about 150 KiB/s once the credits are
 * gone), so a plugin upgrade on a small file system could drain the credits and then crawl. Elastic bills per GB moved
 * instead (a few GB a month here) and never throttles below what the client asks for.
 */
export class SharedWorkspace extends pulumi.ComponentResource {
    public readonly fileSystem: SharedFileSystem;

    constructor(name: string, args: SharedWorkspaceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dify-aws:data:SharedWorkspace", name, {}, opts);
        const parent = { parent: this };
        const p = args.namePrefix;

        const securityGroup = new aws.ec2.SecurityGroup(
            `${name}-efs`,
            { vpcId: args.vpcId, description: `EFS mount targets of ${args.purpose}: ingress rules are added per caller by the consumer`, tags: { Name: `${p}-${args.nameSuffix}` } },
            parent,
        );
        const fileSystem = new aws.efs.FileSystem(
            `${name}-efs`,
            {
                encrypted: true,
                kmsKeyId: args.kmsKeyArn,
                throughputMode: args.throughputMode,
                // Elastic throughput needs General Purpose.
                performanceMode: "generalPurpose",
                tags: { Name: `${p}-${args.nameSuffix}` },
            },
            { parent: this, protect: args.protect, dependsOn: args.dataGuard ? [args.dataGuard] : [] },
        );
        new aws.efs.BackupPolicy(`${name}-efs`, { fileSystemId: fileSystem.id, backupPolicy: { status: args.automaticBackups ? "ENABLED" : "DISABLED" } }, parent);

        const mountTargets = Array.from({ length: args.subnetCount }, (_, i) =>
            new aws.efs.MountTarget(
                `${name}-efs-${i + 1}`,
                { fileSystemId: fileSystem.id, subnetId: pulumi.output(args.subnetIds).apply((ids) => ids[i]), securityGroups: [securityGroup.id] },
                parent,
            ),
        );
        const accessPoints = args.accessPoints.map(
            ({ key, path }) =>
                [
                    key,
                    new aws.efs.AccessPoint(
                        `${name}-${key}`,
                        {
                            fileSystemId: fileSystem.id,
                            // Every file a client creates is owned by this identity, so no client ever needs root on
                            // the file system; the role creates what it needs under the root itself.
                            posixUser: WORKSPACE_USER,
                            rootDirectory: { path, creationInfo: { ownerUid: WORKSPACE_USER.uid, ownerGid: WORKSPACE_USER.gid, permissions: "755" } },
                            tags: { Name: `${p}-${args.nameSuffix}-${key}` },
                        },
                        parent,
                    ),
                ] as const,
        );
        // NFS clients only through an access point and over TLS. The statements name the client actions only, so
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
                            Condition: { StringNotEquals: { "elasticfilesystem:AccessPointArn": accessPoints.map(([, ap]) => ap.arn) } },
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
            accessPoints: Object.fromEntries(accessPoints.map(([key, ap]) => [key, { id: ap.id, arn: ap.arn }])),
            securityGroupId: securityGroup.id,
        };
        this.registerOutputs({ fileSystem: this.fileSystem });
    }
}
