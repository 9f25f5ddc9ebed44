/**
 * The Dify roles, their task sizes and what Fargate accepts: shared by the cluster settings (config/cluster.ts) and the
 * capacity model (config/capacity.ts), neither of which has to import the other for it.
 */

/**
 * The Dify roles that run as their own ECS service: one per service upstream's compose file starts by default (see
 * config/upstream), Aurora, ElastiCache, S3 and the ALB standing in for postgres, redis, weaviate, the storage volume
 * and nginx.
 */
export const DIFY_ROLES = ["web", "api", "worker", "beat", "pluginDaemon", "sandbox", "ssrfProxy", "apiWebsocket", "agentBackend", "agentSandbox", "agentSsrfProxy"] as const;
export type DifyRole = (typeof DIFY_ROLES)[number];
/** Roles that scale between a minimum and a maximum task count. */
export const SCALED_ROLES = ["web", "api", "worker", "pluginDaemon", "sandbox", "ssrfProxy", "agentBackend", "agentSsrfProxy"] as const;
export type ScaledRole = (typeof SCALED_ROLES)[number];
/**
 * Roles that run exactly one task:
 * - beat: two beats dispatch every scheduled job twice;
 * - apiWebsocket: Socket.IO keeps its rooms in process memory (api/extensions/ext_socketio.py passes no client manager),
 *   so collaborators on two tasks would not see each other, and upstream runs one worker (API_WEBSOCKET_WORKER_AMOUNT=1);
 * - agentSandbox: every agent's home, workspace and snapshots live in its one file system, which the agent backend
 *   addresses by one endpoint.
 */
export const SINGLE_ROLES = ["beat", "apiWebsocket", "agentSandbox"] as const;
export type SingleRole = (typeof SINGLE_ROLES)[number];
/**
 * Roles a progressive (canary) deployment may roll: stateless, behind the ALB on exactly one production listener rule
 * each (without console SSO), drained like any other target. Not beat (never twice), not the websocket (one process
 * holds every collaborator), not the agent sandbox (one workspace), not the roles only Service Connect reaches.
 */
export const PROGRESSIVE_ROLES = ["web", "api"] as const;
export type ProgressiveRole = (typeof PROGRESSIVE_ROLES)[number];

/** Roles whose extra env/secrets config may name: the services plus the one-off migration task (the api image). */
export const ENV_TARGETS = [...DIFY_ROLES, "migration"] as const;
export type EnvTarget = (typeof ENV_TARGETS)[number];

/** Dify features that can be turned off, and the roles that exist only for them. */
export const FEATURE_ROLES = {
    /** Agent v2 (since 1.16): the agent backend, its local sandbox and that sandbox's own SSRF proxy. */
    agentV2: ["agentBackend", "agentSandbox", "agentSsrfProxy"],
    /** Collaboration mode: the websocket (Socket.IO) server workflow co-editing connects to. */
    collaboration: ["apiWebsocket"],
} as const satisfies Record<string, readonly DifyRole[]>;
export type DifyFeature = keyof typeof FEATURE_ROLES;

/**
 * Fargate task sizes AWS accepts (RegisterTaskDefinition, Linux): CPU units -> allowed memory in MiB. From the ECS
 * developer guide "Task CPU and memory" table; 8 and 16 vCPU need platform version 1.4.0, which LATEST is.
 */
const FARGATE_MEMORY_BY_CPU: Record<number, { min: number; max: number; step: number }> = {
    256: { min: 512, max: 2048, step: 512 },
    512: { min: 1024, max: 4096, step: 1024 },
    1024: { min: 2048, max: 8192, step: 1024 },
    2048: { min: 4096, max: 16384, step: 1024 },
    4096: { min: 8192, max: 30720, step: 1024 },
    8192: { min: 16384, max: 61440, step: 4096 },
    16384: { min: 32768, max: 122880, step: 8192 },
};

/** The task CPU values Fargate accepts, in CPU units. */
export const FARGATE_CPU_UNITS: readonly number[] = Object.keys(FARGATE_MEMORY_BY_CPU).map(Number);

/** True when Fargate accepts this task CPU/memory pair. 256 CPU allows 512, 1024 and 2048 MiB (not 1536). */
export function isFargateSize(cpu: number, memory: number): boolean {
    const range = FARGATE_MEMORY_BY_CPU[cpu];
    if (!range || memory < range.min || memory > range.max) {
        return false;
    }
    if (cpu === 256) {
        return [512, 1024, 2048].includes(memory);
    }
    return (memory - range.min) % range.step === 0;
}

export function describeFargateMemory(cpu: number): string {
    const r = FARGATE_MEMORY_BY_CPU[cpu];
    return cpu === 256 ? "512, 1024 or 2048" : `${r.min} to ${r.max} in steps of ${r.step}`;
}

export interface RoleSize {
    /** Task CPU units (1024 = 1 vCPU). */
    cpu: number;
    /** Task memory in MiB; a pair Fargate accepts together with cpu. */
    memory: number;
}

export interface ScaledRoleSettings extends RoleSize {
    /** Fewest tasks autoscaling keeps (also the desired count at creation). */
    minTasks: number;
    /** Most tasks autoscaling may run. */
    maxTasks: number;
}
