/** What each Dify role is to the others and to ECS: who it calls, its ports, health checks, grace and stop times. */
import type { DifyRole } from "../../config/roles";
import { INTERNAL } from "../difyEnvironment";

/** The roles on the ALB, their container port and target group. */
export const LB_ROLES = { web: INTERNAL.web.port, api: INTERNAL.api.port, pluginDaemon: INTERNAL.pluginDaemon.port } as const;
export type LbRole = keyof typeof LB_ROLES;

/** Roles other roles call through Service Connect (they publish a name); the rest are clients only. */
export const SERVER_ROLES = { api: INTERNAL.api, pluginDaemon: INTERNAL.pluginDaemon, sandbox: INTERNAL.sandbox, ssrfProxy: INTERNAL.ssrfProxy } as const;
export type ServerRole = keyof typeof SERVER_ROLES;

/**
 * Who calls whom inside the cluster, and why (the environment variable that names the server). One table for both
 * the security-group rules (each pair is an ingress/egress rule pair) and the order in which the services are
 * created (a Service Connect client must start after its server's endpoint exists).
 */
export const SERVICE_CALLS: readonly { caller: DifyRole; server: ServerRole; why: string }[] = [
    { caller: "web", server: "api", why: "server-side rendering (SERVER_CONSOLE_API_URL)" },
    { caller: "api", server: "pluginDaemon", why: "plugin invocations (PLUGIN_DAEMON_URL)" },
    { caller: "worker", server: "pluginDaemon", why: "plugin invocations (PLUGIN_DAEMON_URL)" },
    { caller: "api", server: "sandbox", why: "code execution (CODE_EXECUTION_ENDPOINT)" },
    { caller: "worker", server: "sandbox", why: "code execution (CODE_EXECUTION_ENDPOINT)" },
    { caller: "pluginDaemon", server: "api", why: "inner API callbacks and file fetches (DIFY_INNER_API_URL)" },
    { caller: "api", server: "ssrfProxy", why: "user-driven HTTP through the SSRF proxy" },
    { caller: "worker", server: "ssrfProxy", why: "user-driven HTTP through the SSRF proxy" },
    { caller: "sandbox", server: "ssrfProxy", why: "user-driven HTTP through the SSRF proxy" },
];

/**
 * AWS: a task resolves only the Service Connect endpoints that existed when it started ("Existing tasks can't resolve
 * and connect to the new endpoint", ECS developer guide, Service Connect components). An endpoint exists from the
 * moment its service is created, whether or not the service runs tasks yet. So every server's service must exist
 * before a client's first task starts.
 *
 * api and the plugin daemon call each other, so "create the server first" has no order. The cycle is broken on the
 * daemon's side: its service is created with no tasks (its endpoint exists at once, so api can be created after
 * it), and its first tasks start when its scalable target registers, which is created after the api service (so
 * they resolve `api`). That also holds on later deploys: both endpoints then exist, every new task of either sees
 * both, and a replaced service goes through the same order again. The desired count stays autoscaling's.
 */
export const STARTS_WITHOUT_TASKS: readonly DifyRole[] = ["pluginDaemon"];

/** The servers a role calls (from SERVICE_CALLS). */
export function serversOf(role: DifyRole): ServerRole[] {
    return SERVICE_CALLS.filter((c) => c.caller === role).map((c) => c.server);
}

/**
 * The roles in an order where every service comes after the servers it must wait for: those of its own calls,
 * except for a role in STARTS_WITHOUT_TASKS (its tasks, not its service, wait). Throws on a cycle.
 */
export function serviceCreationOrder(roles: readonly DifyRole[]): DifyRole[] {
    const order: DifyRole[] = [];
    const visiting = new Set<DifyRole>();
    const visit = (role: DifyRole, path: DifyRole[]) => {
        if (order.includes(role)) {
            return;
        }
        if (visiting.has(role)) {
            throw new Error(`Service Connect calls form a cycle: ${[...path, role].join(" -> ")}; list one of them in STARTS_WITHOUT_TASKS`);
        }
        visiting.add(role);
        if (!STARTS_WITHOUT_TASKS.includes(role)) {
            serversOf(role).forEach((server) => visit(server, [...path, role]));
        }
        visiting.delete(role);
        order.push(role);
    };
    roles.forEach((role) => visit(role, []));
    return order;
}

/** Roles that talk to Aurora and ElastiCache (beat reads schedules from the database and enqueues to Redis). */
export const DATA_ROLES: DifyRole[] = ["api", "worker", "beat", "pluginDaemon"];
/** Roles whose new tasks wait for the migration of their Dify image (web ships with the same tag as the api). */
export const GATED_ROLES: DifyRole[] = ["web", "api", "worker", "beat"];
/** Roles whose task role may use the bucket. */
export const S3_ROLES: DifyRole[] = ["api", "worker", "pluginDaemon"];

/**
 * Seconds the ALB health checks are ignored after a task starts, sized to the real start-up: the api imports and
 * initializes every extension (~1-2 min). The plugin daemon answers /health/check as soon as its database, storage and
 * Redis are up (a static route, before any plugin is launched), then launches the installed plugins two at a time:
 * from the shared working path each is only a process start, but on task-local storage (or for a plugin no task has
 * built yet) each is a full install, up to PYTHON_ENV_INIT_TIMEOUT (120 s) without output. The grace covers the
 * latter so a slow first build never has the task replaced mid-install, which would start it all over again.
 */
export const LB_GRACE_SECONDS: Record<LbRole, number> = { web: 120, api: 300, pluginDaemon: 600 };

/**
 * Seconds ECS waits after SIGTERM before SIGKILL (Fargate allows at most 120). The worker needs Celery's warm shutdown
 * to finish running jobs; the api lets SSE answers drain after the ALB deregistration delay.
 */
export const STOP_TIMEOUT: Record<DifyRole, number> = { web: 30, api: 120, worker: 120, beat: 30, pluginDaemon: 60, sandbox: 30, ssrfProxy: 30 };

/** An ECS container health check (container-definition JSON; seconds). */
export interface HealthCheck {
    command: string[];
    interval: number;
    timeout: number;
    retries: number;
    startPeriod: number;
}
const hc = (command: string, startPeriod: number, interval = 30, retries = 3): HealthCheck => ({
    command: ["CMD-SHELL", command],
    interval,
    timeout: 5,
    retries,
    // ECS caps startPeriod at 300 s; the ALB grace period covers longer starts.
    startPeriod: Math.min(startPeriod, 300),
});

/**
 * Container health checks on each image's real endpoint (dify-on-ecs.md §5). worker and beat have none: their only
 * probe is `celery inspect ping`, which Dify ships disabled because it is expensive and broadcasts to every worker,
 * so it cannot tell whether this task is alive; ECS replaces them when the Celery process exits.
 */
export const HEALTH_CHECKS: Partial<Record<DifyRole, HealthCheck>> = {
    // dify-web has no health route and `/` answers 307 to the app; node is the one tool the image surely has.
    web: hc(
        `node -e "require('http').get('http://127.0.0.1:${INTERNAL.web.port}/',r=>process.exit(r.statusCode<400?0:1)).on('error',()=>process.exit(1))"`,
        60,
    ),
    api: hc(`curl -fsS http://127.0.0.1:${INTERNAL.api.port}/health || exit 1`, 180, 15, 5),
    pluginDaemon: hc(`curl -fsS http://127.0.0.1:${INTERNAL.pluginDaemon.port}/health/check || exit 1`, 300, 30, 5),
    sandbox: hc(`curl -fsS http://127.0.0.1:${INTERNAL.sandbox.port}/health || exit 1`, 60),
    // squid has no HTTP health endpoint: check that it accepts connections (bash's /dev/tcp; the image is Ubuntu).
    ssrfProxy: hc(`bash -c '</dev/tcp/127.0.0.1/${INTERNAL.ssrfProxy.port}' || exit 1`, 30),
};

/** Target tracking thresholds and cooldowns (seed 003): scale out fast, scale in slowly. */
export const SCALING = { cpuPercent: 70, memoryPercent: 80, scaleOutCooldown: 60, scaleInCooldown: 300 } as const;
