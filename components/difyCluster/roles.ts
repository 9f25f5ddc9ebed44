/**
 * What each Dify role is to the others and to ECS, as one table: its image, port and Service Connect name, whether the
 * ALB sends it traffic, its health check, stop time and deployment, which data it reaches and whether it waits for
 * the migration. A new Dify service is a row here plus its environment (difyEnvironment.ts).
 */
import type { DifyRole } from "../../config/roles";
import { IMAGE_ROOT_FILESYSTEMS, ImageRootFilesystem } from "../../config/upstream/writablePaths";
import { INTERNAL } from "../difyEnvironment";
import { SQUID_CONF_DIR } from "../ssrfProxyConfig";

/** The image a role runs (images.ts turns it into a reference). */
export type ImageKind = "api" | "web" | "pluginDaemon" | "sandbox" | "squid" | "agentBackend" | "agentSandbox";

/** An ECS container health check (container-definition JSON; seconds). */
export interface HealthCheck {
    command: string[];
    interval: number;
    timeout: number;
    retries: number;
    startPeriod: number;
}

/**
 * How ECS replaces a role's tasks:
 * - rolling: new tasks start beside the old ones (minimum healthy 100 %, maximum 200 %), capacity never drops;
 * - single: one task, replaced the same way (briefly two);
 * - exclusive: one task, stopped before its replacement starts (never two at once).
 */
export type Deployment = "rolling" | "single" | "exclusive";

export interface RoleSpec {
    /** ECS, Cloud Map and log names (hyphens, as Cloud Map requires). */
    kebab: string;
    image: ImageKind;
    /** The port the container listens on; undefined for roles nobody calls (worker, beat). */
    port?: number;
    /** The Service Connect name other roles call it by; undefined when only the ALB (or nobody) calls it. */
    serviceConnectName?: string;
    /** Behind the ALB: seconds its ALB health checks are ignored after a task starts. */
    loadBalancer?: { graceSeconds: number };
    /** The container health check; none where the image offers no cheap probe of this task. */
    healthCheck?: HealthCheck;
    /** Seconds ECS waits after SIGTERM before SIGKILL (Fargate allows at most 120). */
    stopTimeout: number;
    deployment: Deployment;
    /** Aurora (database), ElastiCache (cache) and the files bucket, each only where the role uses it. */
    reaches: { database: boolean; cache: boolean; bucket: boolean };
    /** New tasks wait for the migration of their Dify image (they run or serve the new schema's code). */
    gated: boolean;
    /**
     * Whether memory is a scaling signal besides CPU (target tracking at SCALING.memoryPercent); default true. Off for
     * squid: with no cache (ssrfProxyConfig.ts) its memory is per-connection buffers, which rise with the CPU it
     * spends on them, and a second policy costs two more CloudWatch alarms for nothing.
     */
    scalesOnMemory?: boolean;
    /**
     * Whether the container's root file system is read-only, and then the writable task volumes it gets (derived from
     * config/upstream/writablePaths.ts by rootFilesystemOf, never set by hand).
     */
    rootFilesystem: RootFilesystem;
}

/** The image repository behind each kind: the keys of config/upstream/writablePaths.ts (squid: the default image). */
export const IMAGE_REPOSITORIES: Readonly<Record<ImageKind, string>> = {
    api: "langgenius/dify-api",
    web: "langgenius/dify-web",
    pluginDaemon: "langgenius/dify-plugin-daemon",
    sandbox: "langgenius/dify-sandbox",
    squid: "ubuntu/squid",
    agentBackend: "langgenius/dify-agent-backend",
    agentSandbox: "langgenius/dify-agent-local-sandbox",
};

/** A writable task volume (a bind mount on the task's ephemeral storage, writable only there) of a read-only role. */
export interface WritableVolume {
    /** Where the container mounts it. */
    path: string;
    /** Filled, before the role's container starts, with what the image ships at `path` (content, owner and mode). */
    seedFromImage: boolean;
    /** What the process writes there. */
    why: string;
}

/**
 * A role's root file system: writable (with the reason, from the data), or read-only with its writable volumes: the
 * paths the image writes (`volume` and `seeded-volume` rows) and those this program's own commands write instead of
 * the upstream steps they replace (`replaced` rows). `start` replaces the image's entry point where the image's own
 * writes cannot get a volume (the sandbox's Node.js unpacking); the squid proxies' command comes with their
 * configuration (SQUID_COMMAND). `tags`: the image tags the writes were read for (`any`: decided by this program).
 */
export type RootFilesystem =
    | { readOnly: false; reason: string }
    | {
          readOnly: true;
          tags: readonly string[] | "any";
          volumes: readonly WritableVolume[];
          /** The paths upstream's own start-up writes that the program's command takes over (`replaced` rows). */
          replaced: readonly string[];
          start?: { entryPoint: string[]; command: string[] };
      };

/** Where the sandbox's command unpacks the Node.js the image ships (its entrypoint would unpack it into /opt). */
export const SANDBOX_NODE_DIR = "/var/lib/sandbox-nodejs";
/**
 * The sandbox's start with a read-only root: what its entrypoint does (docker/entrypoint.sh: unpack the Node.js
 * archive, link node, run /main) with Node.js unpacked into SANDBOX_NODE_DIR and NODEJS_PATH (which the server reads)
 * pointing there instead of /opt and /usr/local/bin. The periodic refresh of the Python chroot (every
 * PYTHON_DEPS_UPDATE_INTERVAL, 30 minutes upstream) only copies the image's unchanged libraries again; across the
 * volume's mount it can no longer hard-link and rewrites each file in place under running code, so it is pushed out
 * to a year unless the environment sets it.
 */
export const SANDBOX_COMMAND = [
    "set -eu",
    `tar -xf "$NODE_TAR_XZ" -C ${SANDBOX_NODE_DIR}`,
    `export NODEJS_PATH="${SANDBOX_NODE_DIR}/$(basename "$NODE_DIR")/bin/node"`,
    'export PYTHON_DEPS_UPDATE_INTERVAL="${PYTHON_DEPS_UPDATE_INTERVAL:-8760h}"',
    "exec /main",
].join("\n");

/** This program's replacements for the upstream steps the data marks `replaced`: the volumes they write, and the start. */
const REPLACEMENTS: Partial<Record<ImageKind, { volumes: { path: string; why: string }[]; start?: { entryPoint: string[]; command: string[] } }>> = {
    squid: { volumes: [{ path: SQUID_CONF_DIR, why: "the generated squid.conf, written by SQUID_COMMAND" }] },
    sandbox: {
        volumes: [{ path: SANDBOX_NODE_DIR, why: "Node.js, unpacked by SANDBOX_COMMAND" }],
        start: { entryPoint: ["/bin/bash", "-c"], command: [SANDBOX_COMMAND] },
    },
};

/** A role's root file system, from the data row of its image (config/upstream/writablePaths.ts). */
export function rootFilesystemOf(kind: ImageKind, data: Readonly<Record<string, ImageRootFilesystem>> = IMAGE_ROOT_FILESYSTEMS): RootFilesystem {
    const image = data[IMAGE_REPOSITORIES[kind]];
    if (!image) {
        throw new Error(`config/upstream/writablePaths.ts has no row for ${IMAGE_REPOSITORIES[kind]}: record what it writes, or why its root file system stays writable`);
    }
    if (!image.readOnlyRoot) {
        return { readOnly: false, reason: image.reason };
    }
    const replacement = REPLACEMENTS[kind];
    const replaced = image.writes.filter((w) => w.handling === "replaced");
    if (replaced.length && !replacement) {
        throw new Error(`${IMAGE_REPOSITORIES[kind]} writes ${replaced.map((w) => w.path).join(", ")} in steps this program must replace, and it replaces none`);
    }
    return {
        readOnly: true,
        tags: image.tags,
        volumes: [
            ...image.writes
                .filter((w) => w.handling === "volume" || w.handling === "seeded-volume")
                .map((w) => ({ path: w.path, seedFromImage: w.handling === "seeded-volume", why: w.what })),
            ...(replacement?.volumes ?? []).map((v) => ({ ...v, seedFromImage: false })),
        ],
        replaced: replaced.map((w) => w.path),
        ...(replacement?.start ? { start: replacement.start } : {}),
    };
}

const hc = (command: string, startPeriod: number, interval = 30, retries = 3): HealthCheck => ({
    command: ["CMD-SHELL", command],
    interval,
    timeout: 5,
    retries,
    // ECS caps startPeriod at 300 s; the ALB grace period covers longer starts.
    startPeriod: Math.min(startPeriod, 300),
});
/** A TCP probe through bash's /dev/tcp, for images without an HTTP health route (squid, the agent backend). */
const tcp = (port: number, startPeriod: number) => hc(`bash -c '</dev/tcp/127.0.0.1/${port}' || exit 1`, startPeriod);
const curl = (port: number, path: string, startPeriod: number, interval?: number, retries?: number) =>
    hc(`curl -fsS http://127.0.0.1:${port}${path} || exit 1`, startPeriod, interval, retries);
const data = (database: boolean, cache: boolean, bucket: boolean) => ({ database, cache, bucket });

/**
 * The roles. Grace periods follow the real start-up: the api imports and initializes every extension (~1-2 min). The
 * plugin daemon answers /health/check as soon as its database, storage and Redis are up (a static route, before any
 * plugin is launched), then launches the installed plugins two at a time: from the shared working path each is only a
 * process start, but on task-local storage (or for a plugin no task has built yet) each is a full install, up to
 * PYTHON_ENV_INIT_TIMEOUT (120 s) without output; the grace covers that so a slow first build is never cut off.
 * Stop times: the worker needs Celery's warm shutdown to finish running jobs, the api lets SSE answers drain after the
 * ALB deregistration delay, the agent backend finishes its runs' current steps (DIFY_AGENT_SHUTDOWN_GRACE_SECONDS 30).
 */
const ROLE_ROWS: Readonly<Record<DifyRole, Omit<RoleSpec, "rootFilesystem">>> = {
    // dify-web has no health route of its own, and `/` renders on the server and waits for the api's system features
    // (a slow or rolling api would fail web's checks): it probes a static file Next.js serves without rendering.
    web: {
        kebab: "web",
        image: "web",
        port: INTERNAL.web.port,
        loadBalancer: { graceSeconds: 120 },
        healthCheck: hc(
            `node -e "require('http').get('http://127.0.0.1:${INTERNAL.web.port}/favicon.ico',r=>process.exit(r.statusCode<400?0:1)).on('error',()=>process.exit(1))"`,
            60,
        ),
        stopTimeout: 30,
        deployment: "rolling",
        reaches: data(false, false, false),
        gated: true,
    },
    api: {
        kebab: "api",
        image: "api",
        port: INTERNAL.api.port,
        serviceConnectName: INTERNAL.api.dns,
        loadBalancer: { graceSeconds: 300 },
        healthCheck: curl(INTERNAL.api.port, "/health", 180, 15, 5),
        stopTimeout: 120,
        deployment: "rolling",
        reaches: data(true, true, true),
        gated: true,
    },
    // The worker's health check pings its own node through the broker (`-d celery@$HOSTNAME`: celery_healthcheck
    // builds a bare Celery app on the same broker URL, api/celery_healthcheck.py; upstream's compose check, off there
    // by default through COMPOSE_WORKER_HEALTHCHECK_DISABLED): a worker whose broker connection died answers nothing
    // and ECS replaces it. Beat has no such probe (it consumes nothing); ECS replaces it when its process exits.
    worker: {
        kebab: "worker",
        image: "api",
        healthCheck: hc('celery -A celery_healthcheck.celery inspect ping -d "celery@$HOSTNAME" --timeout 10 || exit 1', 120, 60, 3),
        stopTimeout: 120,
        deployment: "rolling",
        reaches: data(true, true, true),
        gated: true,
    },
    beat: { kebab: "beat", image: "api", stopTimeout: 30, deployment: "exclusive", reaches: data(true, true, false), gated: true },
    pluginDaemon: {
        kebab: "plugin-daemon",
        image: "pluginDaemon",
        port: INTERNAL.pluginDaemon.port,
        serviceConnectName: INTERNAL.pluginDaemon.dns,
        loadBalancer: { graceSeconds: 600 },
        healthCheck: curl(INTERNAL.pluginDaemon.port, "/health/check", 300, 30, 5),
        stopTimeout: 60,
        deployment: "rolling",
        reaches: data(true, true, true),
        gated: false,
    },
    sandbox: {
        kebab: "sandbox",
        image: "sandbox",
        port: INTERNAL.sandbox.port,
        serviceConnectName: INTERNAL.sandbox.dns,
        healthCheck: curl(INTERNAL.sandbox.port, "/health", 60),
        stopTimeout: 30,
        deployment: "rolling",
        reaches: data(false, false, false),
        gated: false,
    },
    ssrfProxy: {
        kebab: "ssrf-proxy",
        image: "squid",
        port: INTERNAL.ssrfProxy.port,
        serviceConnectName: INTERNAL.ssrfProxy.dns,
        healthCheck: tcp(INTERNAL.ssrfProxy.port, 30),
        stopTimeout: 30,
        deployment: "rolling",
        reaches: data(false, false, false),
        gated: false,
        scalesOnMemory: false,
    },
    // The collaboration websocket: the api image as a gevent-websocket server (compose service api_websocket), behind
    // the ALB on /socket.io. Same application, same /health; it reads and writes the database and Redis.
    apiWebsocket: {
        kebab: "api-websocket",
        image: "api",
        port: INTERNAL.apiWebsocket.port,
        loadBalancer: { graceSeconds: 300 },
        healthCheck: curl(INTERNAL.apiWebsocket.port, "/health", 180, 15, 5),
        stopTimeout: 30,
        deployment: "single",
        reaches: data(true, true, true),
        gated: true,
    },
    // Agent v2. The backend is stateless (run records and event streams in Redis DB 2) and has no health route
    // upstream: a TCP probe of its port.
    agentBackend: {
        kebab: "agent-backend",
        image: "agentBackend",
        port: INTERNAL.agentBackend.port,
        serviceConnectName: INTERNAL.agentBackend.dns,
        healthCheck: tcp(INTERNAL.agentBackend.port, 60),
        stopTimeout: 120,
        deployment: "rolling",
        reaches: data(false, true, false),
        gated: false,
    },
    agentSandbox: {
        kebab: "agent-sandbox",
        image: "agentSandbox",
        port: INTERNAL.agentSandbox.port,
        serviceConnectName: INTERNAL.agentSandbox.dns,
        // Compose: curl -f http://localhost:5004/healthz (unauthenticated).
        healthCheck: curl(INTERNAL.agentSandbox.port, "/healthz", 30),
        stopTimeout: 60,
        deployment: "exclusive",
        reaches: data(false, false, false),
        gated: false,
    },
    agentSsrfProxy: {
        kebab: "agent-ssrf-proxy",
        image: "squid",
        port: INTERNAL.agentSsrfProxy.port,
        serviceConnectName: INTERNAL.agentSsrfProxy.dns,
        healthCheck: tcp(INTERNAL.agentSsrfProxy.port, 30),
        stopTimeout: 30,
        deployment: "rolling",
        reaches: data(false, false, false),
        gated: false,
        scalesOnMemory: false,
    },
};

/** The roles, each with its root file system derived from its image's row (config/upstream/writablePaths.ts). */
export const ROLE_SPECS: Readonly<Record<DifyRole, RoleSpec>> = Object.fromEntries(
    (Object.entries(ROLE_ROWS) as [DifyRole, Omit<RoleSpec, "rootFilesystem">][]).map(([role, row]) => [role, { ...row, rootFilesystem: rootFilesystemOf(row.image) }]),
) as Record<DifyRole, RoleSpec>;

/** The roles on the ALB. */
export const LB_ROLES = (Object.keys(ROLE_SPECS) as DifyRole[]).filter((r) => ROLE_SPECS[r].loadBalancer !== undefined);
export type LbRole = "web" | "api" | "pluginDaemon" | "apiWebsocket";

/** Roles other roles call through Service Connect (they publish a name); the rest are clients only. */
export type ServerRole = "api" | "pluginDaemon" | "sandbox" | "ssrfProxy" | "agentBackend" | "agentSandbox" | "agentSsrfProxy";

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
    { caller: "api", server: "agentBackend", why: "Agent v2 runs (AGENT_BACKEND_BASE_URL)" },
    { caller: "worker", server: "agentBackend", why: "Agent v2 runs (AGENT_BACKEND_BASE_URL)" },
    { caller: "agentBackend", server: "pluginDaemon", why: "models and tools of agent runs (DIFY_AGENT_PLUGIN_DAEMON_URL)" },
    { caller: "agentBackend", server: "api", why: "inner API (DIFY_AGENT_INNER_API_URL)" },
    { caller: "agentBackend", server: "agentSandbox", why: "agent shells (DIFY_AGENT_LOCAL_SANDBOX_ENDPOINT)" },
    { caller: "agentSandbox", server: "agentSsrfProxy", why: "agent shell egress (SHELLCTL_EGRESSPROXY_UPSTREAM)" },
    // The agent proxy forwards the sandbox's calls back into Dify, and nothing else private (squid-agent.conf).
    { caller: "agentSsrfProxy", server: "agentBackend", why: "the agent stub for agent shells (DIFY_AGENT_STUB_API_BASE_URL)" },
    { caller: "agentSsrfProxy", server: "api", why: "signed file URLs for agent shells (DIFY_AGENT_SANDBOX_FILES_BASE_URL)" },
];

/**
 * AWS: a task resolves only the Service Connect endpoints that existed when it started ("Existing tasks can't resolve
 * and connect to the new endpoint", ECS developer guide, Service Connect components). An endpoint exists from the
 * moment its service is created, whether or not the service runs tasks yet. So every server's service must exist
 * before a client's first task starts.
 *
 * api and the plugin daemon call each other, and so do api and the agent backend, so "create the server first" has no
 * order. The cycles are broken on the daemon's and the agent backend's side: their services are created with no tasks
 * (their endpoints exist at once, so api can be created after them), and their first tasks start when their scalable
 * targets register, which are created after the api service (so they resolve `api`). That also holds on later
 * deploys: both endpoints then exist, every new task sees both, and a replaced service goes through the same order
 * again. The desired count stays autoscaling's.
 */
export const STARTS_WITHOUT_TASKS: readonly DifyRole[] = ["pluginDaemon", "agentBackend"];

/** The servers a role calls (from SERVICE_CALLS), among the roles that run. */
export function serversOf(role: DifyRole, running: readonly DifyRole[]): ServerRole[] {
    return SERVICE_CALLS.filter((c) => c.caller === role && running.includes(c.server)).map((c) => c.server);
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
            serversOf(role, roles).forEach((server) => visit(server, [...path, role]));
        }
        visiting.delete(role);
        order.push(role);
    };
    roles.forEach((role) => visit(role, []));
    return order;
}

/** Target tracking thresholds and cooldowns (seed 003): scale out fast, scale in slowly. */
export const SCALING = { cpuPercent: 70, memoryPercent: 80, scaleOutCooldown: 60, scaleInCooldown: 300 } as const;
