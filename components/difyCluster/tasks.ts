/** Task definitions: one container per Dify role (and the migration task), its environment, secrets and health check. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { CpuArchitecture } from "../../config/cluster";
import type { DifyRole } from "../../config/roles";
import type { SharedFileSystem } from "../contracts";
import { ContainerEnvironment, INTERNAL, toEcs } from "../difyEnvironment";
import { SQUID_COMMAND } from "../ssrfProxyConfig";
import { ClusterScope, KEBAB } from "./context";
import { HEALTH_CHECKS, HealthCheck, SERVER_ROLES, STOP_TIMEOUT } from "./roles";

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
    /** An EFS file system mounted through its access point with TLS and IAM at `containerPath`. */
    sharedVolume?: { fileSystem: SharedFileSystem; containerPath: string };
}

const SHARED_VOLUME = "shared";

export function taskDefinition(scope: ClusterScope, role: DifyRole | "migration", t: TaskSpec): aws.ecs.TaskDefinition {
    const kebab = role === "migration" ? "migration" : KEBAB[role];
    const { environment, secrets } = toEcs(t.env);
    const port = role === "migration" || role === "worker" || role === "beat" ? undefined : role === "web" ? INTERNAL.web.port : SERVER_ROLES[role].port;
    const healthCheck: HealthCheck | undefined = role === "migration" ? undefined : HEALTH_CHECKS[role];
    const container = pulumi.all([environment, secrets, t.logGroup.name, scope.ctx.region, t.image]).apply(([env, sec, group, region, image]) => ({
        name: kebab,
        image,
        ...(t.repositoryCredentialsSecretArn ? { repositoryCredentials: { credentialsParameter: t.repositoryCredentialsSecretArn } } : {}),
        essential: true,
        environment: env,
        secrets: sec,
        ...(port !== undefined ? { portMappings: [{ name: kebab, containerPort: port, protocol: "tcp" }] } : {}),
        ...(healthCheck ? { healthCheck } : {}),
        ...(role === "ssrfProxy" ? { entryPoint: ["/bin/bash", "-c"], command: [SQUID_COMMAND] } : {}),
        stopTimeout: role === "migration" ? 30 : STOP_TIMEOUT[role],
        ...(t.sharedVolume ? { mountPoints: [{ sourceVolume: SHARED_VOLUME, containerPath: t.sharedVolume.containerPath, readOnly: false }] } : {}),
        // An init process reaps the plugin daemon's and sandbox's children and is what ECS Exec attaches beside.
        linuxParameters: { initProcessEnabled: true },
        logConfiguration: {
            logDriver: "awslogs",
            options: { "awslogs-group": group, "awslogs-region": region, "awslogs-stream-prefix": kebab },
        },
    }));
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
            containerDefinitions: pulumi.jsonStringify([container]),
            volumes: t.sharedVolume
                ? [
                      {
                          name: SHARED_VOLUME,
                          efsVolumeConfiguration: {
                              fileSystemId: t.sharedVolume.fileSystem.fileSystemId,
                              // TLS to the mount target and the task role as the NFS client's identity: the file
                              // system's policy refuses anything else.
                              transitEncryption: "ENABLED",
                              authorizationConfig: { accessPointId: t.sharedVolume.fileSystem.accessPointId, iam: "ENABLED" },
                          },
                      },
                  ]
                : undefined,
        },
        { parent: scope.parent },
    );
}
