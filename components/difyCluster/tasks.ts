/** Task definitions: one container per Dify role (and the one-off migration tasks), its environment, secrets and checks. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { CpuArchitecture } from "../../config/cluster";
import type { DifyRole } from "../../config/roles";
import type { SharedFileSystem } from "../contracts";
import { ContainerEnvironment, toEcs } from "../difyEnvironment";
import { ClusterScope, KEBAB } from "./context";
import { ROLE_SPECS } from "./roles";

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
     * A second, non-essential container of the same image in the task (beat's queue metrics): its own name, command
     * and environment, logging to the task's group under its own stream prefix.
     */
    sidecar?: { name: string; entryPoint: string[]; command: string[]; env: ContainerEnvironment };
}

export function taskDefinition(scope: ClusterScope, role: DifyRole | OneOffTask, t: TaskSpec): aws.ecs.TaskDefinition {
    const service = isOneOff(role) ? undefined : ROLE_SPECS[role];
    const kebab = service ? KEBAB[role as DifyRole] : role;
    const { environment, secrets } = toEcs(t.env);
    const mounts = (t.mounts ?? []).map((m, i) => ({ ...m, volume: `shared-${i + 1}` }));
    const container = pulumi.all([environment, secrets, t.logGroup.name, scope.ctx.region, t.image]).apply(([env, sec, group, region, image]) => ({
        name: kebab,
        image,
        ...(t.repositoryCredentialsSecretArn ? { repositoryCredentials: { credentialsParameter: t.repositoryCredentialsSecretArn } } : {}),
        essential: true,
        environment: env,
        secrets: sec,
        ...(service?.port !== undefined ? { portMappings: [{ name: kebab, containerPort: service.port, protocol: "tcp" }] } : {}),
        ...(service?.healthCheck ? { healthCheck: service.healthCheck } : {}),
        ...(t.entryPoint ? { entryPoint: t.entryPoint } : {}),
        ...(t.command ? { command: t.command } : {}),
        stopTimeout: service?.stopTimeout ?? 30,
        ...(mounts.length ? { mountPoints: mounts.map((m) => ({ sourceVolume: m.volume, containerPath: m.containerPath, readOnly: false })) } : {}),
        // An init process reaps the plugin daemon's and sandboxes' children and is what ECS Exec attaches beside.
        linuxParameters: { initProcessEnabled: true },
        logConfiguration: {
            logDriver: "awslogs",
            options: { "awslogs-group": group, "awslogs-region": region, "awslogs-stream-prefix": kebab },
        },
    }));
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
            containerDefinitions: pulumi.jsonStringify(sidecar ? [container, sidecar] : [container]),
            volumes: mounts.length
                ? mounts.map((m) => ({
                      name: m.volume,
                      efsVolumeConfiguration: {
                          fileSystemId: m.fileSystem.fileSystemId,
                          // TLS to the mount target and the task role as the NFS client's identity: the file system's
                          // policy refuses anything else.
                          transitEncryption: "ENABLED",
                          authorizationConfig: { accessPointId: m.fileSystem.accessPoints[m.accessPoint].id, iam: "ENABLED" },
                      },
                  }))
                : undefined,
        },
        { parent: scope.parent },
    );
}
