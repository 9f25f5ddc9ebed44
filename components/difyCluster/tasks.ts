/** Task definitions: one container per Dify role (and the one-off migration tasks), its environment, secrets and checks. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { CpuArchitecture } from "../../config/cluster";
import type { DifyRole } from "../../config/roles";
import type { SharedFileSystem } from "../contracts";
import { ContainerEnvironment, toEcs } from "../difyEnvironment";
import type { Sidecar } from "./sidecars";
import { ClusterScope, KEBAB } from "./context";
import { IMAGE_REPOSITORIES, ImageKind, ROLE_SPECS, RootFilesystem, WritableVolume } from "./roles";

/** The one-off tasks that are not services: Dify's schema migration and the plugin daemon's. */
export const ONE_OFF_TASKS = ["migration", "plugin-daemon-migration"] as const;
export type OneOffTask = (typeof ONE_OFF_TASKS)[number];
/** The role whose image, size, environment and identity each one-off task runs with. */
export const ONE_OFF_RUNS_AS: Record<OneOffTask, DifyRole> = { migration: "api", "plugin-daemon-migration": "pluginDaemon" };
export function isOneOff(x: string): x is OneOffTask {
    return (ONE_OFF_TASKS as readonly string[]).includes(x);
}

/** An EFS access point mounted with TLS and the task role (IAM) at a path of the container. */
export interface SharedMount {
    fileSystem: SharedFileSystem;
    /** The key of the access point in `fileSystem.accessPoints`. */
    accessPoint: string;
    containerPath: string;
}

export interface TaskSpec {
    image: pulumi.Input<string>;
    /** A Secrets Manager ARN with a registry login, for ECS repositoryCredentials. */
    repositoryCredentialsSecretArn?: string;
    env: ContainerEnvironment;
    /** ARM64 (Graviton) or X86_64; the image must be published for it. */
    cpuArchitecture: CpuArchitecture;
    /** Task CPU units and memory (MiB), a pair Fargate accepts. */
    cpu: number;
    memory: number;
    logGroup: aws.cloudwatch.LogGroup;
    executionRoleArn: pulumi.Output<string>;
    taskRoleArn: pulumi.Output<string>;
    /** EFS mounts. */
    mounts?: SharedMount[];
    /** Replaces the image's entry point and command (the squid proxies' generated config, the migrations). */
    entryPoint?: string[];
    command?: string[];
    /**
     * A second, non-essential container of the same image in the task (sidecars.ts): its own name, command and
     * environment, logging to the task's group under its own stream prefix.
     */
    sidecar?: Sidecar;
}

/** Where the seeding container mounts each seeded volume: under this prefix, at the volume's own path. */
export const SEED_ROOT = "/seed";

/** The task volume name of a writable path: letters, digits and hyphens, as ECS allows. */
export function writableVolumeName(path: string): string {
    return `rw${path.replace(/[^A-Za-z0-9]+/g, "-")}`.replace(/-$/, "");
}

/**
 * The seeding container's script: copy what the image ships at each seeded path into its volume, then give the
 * volume's top the image's owner and mode (a fresh task volume belongs to root, 0755).
 */
export function seedScript(paths: readonly string[]): string {
    return ["set -eu", ...paths.flatMap((p) => [`cp -a ${p}/. ${SEED_ROOT}${p}/`, `chown --reference=${p} ${SEED_ROOT}${p}`, `chmod --reference=${p} ${SEED_ROOT}${p}`])].join("\n");
}

/** The tag a role's image runs at, for the kinds whose writes were read per tag. */
function imageTagOf(scope: ClusterScope, kind: ImageKind): string | undefined {
    const images = scope.args.settings.images;
    const tags: Partial<Record<ImageKind, string>> = {
        api: images.difyTag,
        web: images.difyTag,
        pluginDaemon: images.pluginDaemonTag,
        sandbox: images.sandboxTag,
        agentBackend: images.agentTag,
        agentSandbox: images.agentTag,
    };
    return tags[kind];
}

/**
 * The read-only root file system of a role, when its image's row says so: checked against the tag it runs (writes
 * read at another tag are no evidence for this one) and against its command (an image whose own start-up writes
 * where no volume can go runs the program's replacement, SQUID_COMMAND or the row's `start`).
 */
function readOnlyRootOf(scope: ClusterScope, role: DifyRole, t: TaskSpec): Extract<RootFilesystem, { readOnly: true }> | undefined {
    const spec = ROLE_SPECS[role];
    const fs = spec.rootFilesystem;
    if (!fs.readOnly) {
        return undefined;
    }
    const tag = imageTagOf(scope, spec.image);
    if (fs.tags !== "any" && (tag === undefined || !fs.tags.includes(tag))) {
        throw new Error(
            `${IMAGE_REPOSITORIES[spec.image]}:${tag} runs with a read-only root file system, but config/upstream/writablePaths.ts records its writes only for ${fs.tags.join(", ")}: read that tag's Dockerfile, entrypoint and code and add it`,
        );
    }
    if (fs.replaced.length && !fs.start && !t.entryPoint) {
        throw new Error(`${role}: its image's own start-up writes ${fs.replaced.join(", ")}, outside its writable volumes; it needs the program's replacement command`);
    }
    return fs;
}

export function taskDefinition(scope: ClusterScope, role: DifyRole | OneOffTask, t: TaskSpec): aws.ecs.TaskDefinition {
    const service = isOneOff(role) ? undefined : ROLE_SPECS[role];
    const kebab = service ? KEBAB[role as DifyRole] : role;
    const { environment, secrets } = toEcs(t.env);
    const mounts = (t.mounts ?? []).map((m, i) => ({ ...m, volume: `shared-${i + 1}` }));
    // A read-only root: the role's writable volumes (task-scoped bind mounts), and a one-shot container filling the
    // seeded ones from the image before the role's container starts.
    const readOnly = isOneOff(role) ? undefined : readOnlyRootOf(scope, role as DifyRole, t);
    const writable = (readOnly?.volumes ?? []).map((v: WritableVolume) => ({ ...v, volume: writableVolumeName(v.path) }));
    const seeded = writable.filter((v) => v.seedFromImage);
    const seedName = `${kebab}-seed`;
    const entryPoint = t.entryPoint ?? readOnly?.start?.entryPoint;
    const command = t.command ?? readOnly?.start?.command;
    const mountPoints = [
        ...mounts.map((m) => ({ sourceVolume: m.volume, containerPath: m.containerPath, readOnly: false })),
        ...writable.map((v) => ({ sourceVolume: v.volume, containerPath: v.path, readOnly: false })),
    ];
    const container = pulumi.all([environment, secrets, t.logGroup.name, scope.ctx.region, t.image]).apply(([env, sec, group, region, image]) => ({
        name: kebab,
        image,
        ...(t.repositoryCredentialsSecretArn ? { repositoryCredentials: { credentialsParameter: t.repositoryCredentialsSecretArn } } : {}),
        essential: true,
        environment: env,
        secrets: sec,
        ...(service?.port !== undefined ? { portMappings: [{ name: kebab, containerPort: service.port, protocol: "tcp" }] } : {}),
        ...(service?.healthCheck ? { healthCheck: service.healthCheck } : {}),
        ...(entryPoint ? { entryPoint } : {}),
        ...(command ? { command } : {}),
        stopTimeout: service?.stopTimeout ?? 30,
        ...(readOnly ? { readonlyRootFilesystem: true } : {}),
        ...(mountPoints.length ? { mountPoints } : {}),
        ...(seeded.length ? { dependsOn: [{ containerName: seedName, condition: "SUCCESS" }] } : {}),
        // An init process reaps the plugin daemon's and sandboxes' children and is what ECS Exec attaches beside.
        linuxParameters: { initProcessEnabled: true },
        logConfiguration: {
            logDriver: "awslogs",
            options: { "awslogs-group": group, "awslogs-region": region, "awslogs-stream-prefix": kebab },
        },
    }));
    // Non-essential (ECS: a SUCCESS dependency cannot be essential), as root (to copy the image's owners whatever
    // user the image runs as), read-only itself: it writes only the volumes it fills.
    const seed = seeded.length
        ? pulumi.all([t.logGroup.name, scope.ctx.region, t.image]).apply(([group, region, image]) => ({
              name: seedName,
              image,
              ...(t.repositoryCredentialsSecretArn ? { repositoryCredentials: { credentialsParameter: t.repositoryCredentialsSecretArn } } : {}),
              essential: false,
              user: "0",
              readonlyRootFilesystem: true,
              entryPoint: ["/bin/sh", "-c"],
              command: [seedScript(seeded.map((v) => v.path))],
              mountPoints: seeded.map((v) => ({ sourceVolume: v.volume, containerPath: `${SEED_ROOT}${v.path}`, readOnly: false })),
              logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": group, "awslogs-region": region, "awslogs-stream-prefix": seedName } },
          }))
        : undefined;
    const sidecar = t.sidecar
        ? pulumi.all([toEcs(t.sidecar.env).environment, toEcs(t.sidecar.env).secrets, t.logGroup.name, scope.ctx.region, t.image]).apply(([env, sec, group, region, image]) => ({
              name: t.sidecar!.name,
              image,
              ...(t.repositoryCredentialsSecretArn ? { repositoryCredentials: { credentialsParameter: t.repositoryCredentialsSecretArn } } : {}),
              // Not essential: a publisher that fails must not stop beat; its silence is alarmed (missing data).
              essential: false,
              environment: env,
              secrets: sec,
              entryPoint: t.sidecar!.entryPoint,
              command: t.sidecar!.command,
              stopTimeout: 10,
              logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": group, "awslogs-region": region, "awslogs-stream-prefix": t.sidecar!.name } },
          }))
        : undefined;
    return new aws.ecs.TaskDefinition(
        `${scope.name}-${kebab}`,
        {
            family: `${scope.args.namePrefix}-${kebab}`,
            requiresCompatibilities: ["FARGATE"],
            networkMode: "awsvpc",
            cpu: String(t.cpu),
            memory: String(t.memory),
            runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: t.cpuArchitecture },
            executionRoleArn: t.executionRoleArn,
            taskRoleArn: t.taskRoleArn,
            containerDefinitions: pulumi.jsonStringify([container, ...(sidecar ? [sidecar] : []), ...(seed ? [seed] : [])]),
            volumes:
                mounts.length || writable.length
                    ? [
                          ...mounts.map((m) => ({
                              name: m.volume,
                              efsVolumeConfiguration: {
                                  fileSystemId: m.fileSystem.fileSystemId,
                                  // TLS to the mount target and the task role as the NFS client's identity: the file
                                  // system's policy refuses anything else.
                                  transitEncryption: "ENABLED",
                                  authorizationConfig: { accessPointId: m.fileSystem.accessPoints[m.accessPoint].id, iam: "ENABLED" },
                              },
                          })),
                          // Only a name: a bind mount on the task's ephemeral storage, gone with the task.
                          ...writable.map((v) => ({ name: v.volume })),
                      ]
                    : undefined,
        },
        { parent: scope.parent },
    );
}
