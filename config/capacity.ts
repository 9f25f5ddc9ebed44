/**
 * Dify's processes sized to their tasks, and what a stack holds at its maximum scale (no resources, no Pulumi).
 *
 * - The api runs gunicorn with the gevent worker class (api/docker/entrypoint.sh: `--workers ${SERVER_WORKER_AMOUNT:-1}
 *   --worker-class ${SERVER_WORKER_CLASS:-gevent} --worker-connections ${SERVER_WORKER_CONNECTIONS:-10}`, no
 *   `--preload`, no `--threads`). Each worker is one Python process, so it uses at most one vCPU, and it imports the
 *   app after the fork, so it holds its own SQLAlchemy pool. Its connections are greenlets: how many requests it serves
 *   at once, health checks included. Dify's `.env.example` gives the rule "1 [worker] for Gevent" per core.
 * - The Celery worker runs one process with the gevent pool (`celery ... worker -P gevent -c ${CELERY_WORKER_AMOUNT:-1}`):
 *   its concurrency is greenlets in that one process, sharing one pool; CELERY_AUTO_SCALE only resizes the greenlet
 *   limit (celery/concurrency/gevent.py grow/shrink) and shrinks the prefetch, so it stays off and ECS scales tasks.
 * - Every api-image process (gunicorn worker, Celery worker, beat, the migration task) opens up to SQLALCHEMY_POOL_SIZE
 *   + SQLALCHEMY_MAX_OVERFLOW connections (api/configs/middleware: pool_size, max_overflow) plus a pgvector pool of
 *   PGVECTOR_MAX_CONNECTION (psycopg2 SimpleConnectionPool). The plugin daemon is one Go process whose database/sql pool
 *   holds at most DB_MAX_OPEN_CONNS (internal/db/pg/pg.go SetMaxOpenConns).
 *
 * Memory per process is not published upstream (no RSS figure for a dify-api worker or a Celery process); the budget
 * below is this program's, sized so a task holds what it runs with room to spare, and it is the first thing to
 * re-measure (`ps -o rss` in a task over ECS Exec) if tasks approach their memory alarm.
 */
import { AURORA_POSTGRES_INSTANCE_CLASSES, provisionedMaxConnections, serverlessMaxConnections } from "./aurora";
import type { RoleSize, ScaledRole, ScaledRoleSettings } from "./roles";
import type { DatabaseSettings } from "./data";
import type { ConfigReader } from "./reader";

/** Memory budget in MiB of what runs in the api and worker tasks. */
export const MEMORY_BUDGET_MIB = {
    /** gunicorn's master: forks and watches the workers, does not import the app. */
    apiMaster: 128,
    /** One gunicorn worker with the Flask app imported (every model provider, vector store and storage client). */
    apiWorker: 640,
    /** One in-flight request or SSE stream of a worker (a greenlet, its request and response buffers). */
    apiConnection: 8,
    /** The Celery worker process with the app imported. */
    celeryProcess: 768,
    /** One Celery job running (a parsed document's chunks, an embedding batch, a workflow's state). */
    celeryJob: 256,
} as const;

/**
 * Concurrent requests per gunicorn worker when derived: at least Dify's default of 10, and at most 100, so one
 * worker's greenlets (one vCPU; workflows run in greenlets of the same process) stay within what its CPU can turn
 * around and what its pool serves (SSE streams release their session before streaming, app_generator.py
 * `db.session.close()`; other requests hold one connection while they run).
 */
export const API_CONNECTIONS_PER_WORKER = { min: 10, max: 100 } as const;

/** Connections at maximum scale may use at most this share of Aurora's max_connections. */
export const CONNECTION_HEADROOM_PERCENT = 80;

/** What each process is told (the env vars in parentheses), resolved from config and the task sizes. */
export interface ProcessSettings {
    api: {
        /** gunicorn workers per api task (SERVER_WORKER_AMOUNT). */
        workers: number;
        /** Concurrent requests per worker (SERVER_WORKER_CONNECTIONS); its pool's overflow follows (apiOverflowFor). */
        connectionsPerWorker: number;
    };
    worker: {
        /** Celery jobs one worker task runs at once, greenlets of its one process (CELERY_WORKER_AMOUNT). */
        concurrency: number;
    };
    pools: {
        /** Connections each api-image process keeps (SQLALCHEMY_POOL_SIZE). */
        size: number;
        /** Connections beyond `size` a process may open under load (SQLALCHEMY_MAX_OVERFLOW). */
        maxOverflow: number;
        /** The pgvector pool's ceiling (PGVECTOR_MAX_CONNECTION). */
        pgvectorMax: number;
        /** The plugin daemon's open connections (DB_MAX_OPEN_CONNS). */
        pluginDaemonMaxOpen: number;
        /** The plugin daemon's idle connections kept (DB_MAX_IDLE_CONNS): at most its open ones, and the daemon's 10. */
        pluginDaemonMaxIdle: number;
    };
}

/** Derived gunicorn settings of an api task: one worker per vCPU as far as memory holds them, then the connections. */
export function deriveApiProcesses(size: RoleSize): { workers: number; connectionsPerWorker: number } {
    const m = MEMORY_BUDGET_MIB;
    const byCpu = Math.max(1, Math.floor(size.cpu / 1024));
    const byMemory = Math.floor((size.memory - m.apiMaster) / (m.apiWorker + API_CONNECTIONS_PER_WORKER.min * m.apiConnection));
    const workers = Math.max(1, Math.min(byCpu, byMemory));
    return { workers, connectionsPerWorker: apiConnectionsFor(size.memory, workers) };
}

function apiConnectionsFor(memory: number, workers: number): number {
    const m = MEMORY_BUDGET_MIB;
    const perWorker = Math.floor((memory - m.apiMaster - workers * m.apiWorker) / (workers * m.apiConnection));
    return Math.min(API_CONNECTIONS_PER_WORKER.max, Math.max(API_CONNECTIONS_PER_WORKER.min, perWorker));
}

/** Memory (MiB) an api task needs for `workers` workers of `connections` each. */
export function apiMemoryNeeded(workers: number, connections: number): number {
    const m = MEMORY_BUDGET_MIB;
    return m.apiMaster + workers * (m.apiWorker + connections * m.apiConnection);
}

/** Derived Celery concurrency of a worker task: as many jobs as its memory holds, at least 1, at most its pool. */
export function deriveWorkerConcurrency(memory: number, poolConnections: number): number {
    const m = MEMORY_BUDGET_MIB;
    return Math.max(1, Math.min(poolConnections, Math.floor((memory - m.celeryProcess) / m.celeryJob)));
}

/**
 * SQLALCHEMY_MAX_OVERFLOW of each api worker: databasePoolMaxOverflow, raised so that pool + overflow covers every
 * concurrent request. A request that is not streaming holds its session while it runs, and one that finds the pool
 * exhausted waits SQLALCHEMY_POOL_TIMEOUT (30 s) and fails. Overflow connections are closed when they are returned
 * (SQLAlchemy QueuePool), so only databasePoolSize stay open between peaks.
 */
export function apiOverflowFor(pools: Pick<ProcessSettings["pools"], "size" | "maxOverflow">, connectionsPerWorker: number): number {
    return Math.max(pools.maxOverflow, connectionsPerWorker - pools.size);
}

/** The daemon's own default of idle connections (internal/types/app/config.go DB_MAX_IDLE_CONNS default 10). */
const PLUGIN_DAEMON_DEFAULT_IDLE = 10;

/**
 * Reads the process and pool keys and resolves what each process is told. 0 for apiServerWorkers,
 * apiWorkerConnections or workerConcurrency derives the value from the task size.
 */
export function loadProcessSettings(r: ConfigReader, roles: Record<ScaledRole, ScaledRoleSettings>): ProcessSettings {
    const pools = {
        size: r.integer("databasePoolSize", { min: 1, max: 200 }),
        maxOverflow: r.integer("databasePoolMaxOverflow", { min: 0, max: 200 }),
        pgvectorMax: r.integer("pgvectorMaxConnections", { min: 1, max: 100 }),
        pluginDaemonMaxOpen: r.integer("pluginDaemonDbMaxOpenConns", { min: 1, max: 500 }),
        pluginDaemonMaxIdle: 0,
    };
    pools.pluginDaemonMaxIdle = Math.min(PLUGIN_DAEMON_DEFAULT_IDLE, pools.pluginDaemonMaxOpen);

    const api = roles.api;
    const derived = deriveApiProcesses(api);
    const workersSet = r.integer("apiServerWorkers", { min: 0, max: 64 });
    const connectionsSet = r.integer("apiWorkerConnections", { min: 0, max: 10_000 });
    const workers = workersSet === 0 ? derived.workers : workersSet;
    const maxWorkers = Math.max(1, Math.floor(api.cpu / 1024));
    if (workers > maxWorkers) {
        r.failKeys(
            { apiServerWorkers: workersSet, apiCpu: api.cpu },
            `at most ${maxWorkers} gunicorn worker(s) for apiCpu ${api.cpu}: a gevent worker is one process and uses at most one vCPU, so more workers than vCPUs only add memory and pools (0 derives it)`,
        );
    }
    const connectionsPerWorker = connectionsSet === 0 ? apiConnectionsFor(api.memory, workers) : connectionsSet;
    const needed = apiMemoryNeeded(workers, connectionsPerWorker);
    if (needed > api.memory) {
        r.failKeys(
            { apiMemory: api.memory, apiServerWorkers: workersSet, apiWorkerConnections: connectionsSet },
            `an apiMemory of at least ${needed} MiB for ${workers} worker(s) of ${connectionsPerWorker} connections (${MEMORY_BUDGET_MIB.apiMaster} MiB for gunicorn's master, ${MEMORY_BUDGET_MIB.apiWorker} MiB per worker, ${MEMORY_BUDGET_MIB.apiConnection} MiB per connection), or fewer workers or connections (0 derives both from the task size)`,
        );
    }

    const worker = roles.worker;
    if (worker.cpu > 1024) {
        r.fail(
            "workerCpu",
            worker.cpu,
            "at most 1024: the worker runs one Celery process with the gevent pool (api/docker/entrypoint.sh), which uses one vCPU whatever the task has; add tasks with workerMaxTasks instead",
        );
    }
    const poolConnections = pools.size + pools.maxOverflow;
    const concurrencySet = r.integer("workerConcurrency", { min: 0, max: 1000 });
    const concurrency = concurrencySet === 0 ? deriveWorkerConcurrency(worker.memory, poolConnections) : concurrencySet;
    if (concurrency > poolConnections) {
        // Every job holds a session of the one shared pool; beyond it jobs wait SQLALCHEMY_POOL_TIMEOUT (30 s) and fail.
        r.failKeys(
            { workerConcurrency: concurrencySet, databasePoolSize: pools.size, databasePoolMaxOverflow: pools.maxOverflow },
            `a workerConcurrency of at most databasePoolSize + databasePoolMaxOverflow (${poolConnections}): the worker's jobs share one process's pool, and a job beyond it waits 30 s for a connection and fails`,
        );
    }
    const workerNeeded = MEMORY_BUDGET_MIB.celeryProcess + concurrency * MEMORY_BUDGET_MIB.celeryJob;
    if (workerNeeded > worker.memory) {
        r.failKeys(
            { workerMemory: worker.memory, workerConcurrency: concurrencySet },
            `a workerMemory of at least ${workerNeeded} MiB for ${concurrency} concurrent jobs (${MEMORY_BUDGET_MIB.celeryProcess} MiB for the process, ${MEMORY_BUDGET_MIB.celeryJob} MiB per job), or a lower workerConcurrency (0 derives it)`,
        );
    }
    return { api: { workers, connectionsPerWorker }, worker: { concurrency }, pools };
}

/** The documented max_connections of the configured Aurora capacity, and how it was found. */
export function auroraMaxConnections(capacity: DatabaseSettings["capacity"]): { value: number; source: string } {
    if (capacity.mode === "provisioned") {
        return { value: provisionedMaxConnections(capacity.instanceClass), source: `${capacity.instanceClass}` };
    }
    return { value: serverlessMaxConnections(capacity.minAcu, capacity.maxAcu), source: `Serverless v2 ${capacity.minAcu}-${capacity.maxAcu} ACU` };
}

/** One line of the connection count: a kind of process, how many run at maximum scale and what each may open. */
export interface ConnectionLine {
    what: string;
    processes: number;
    perProcess: number;
    total: number;
}

/** What the stack serves and holds at its maximum task counts. */
export interface CapacityModel {
    /** Requests the api tasks serve at once at apiMaxTasks (tasks x workers x connections). */
    concurrentApiRequests: number;
    /** Celery jobs the worker tasks run at once at workerMaxTasks. */
    celeryConcurrency: number;
    /** Database connections per kind of process at maximum scale. */
    lines: ConnectionLine[];
    /** Cache connections per kind of process at maximum scale (CACHE_CONNECTIONS), and their sum. */
    cacheLines: ConnectionLine[];
    cacheConnections: number;
    /** Their sum: every role at its maximum tasks, and the migration task. */
    connections: number;
    /**
     * The worst case during a rollout at maximum scale, for the table only: ECS starts a service's new tasks before it
     * stops the old ones (deploymentMaximumPercent 200 for every service but beat). Pools open connections on demand
     * and traffic moves to the new tasks as the old ones drain, so both sets never run full pools at once; the 20 %
     * headroom is what such a moment eats into.
     */
    rolloutConnections: number;
    /** Aurora's documented max_connections for the configured capacity. */
    maxConnections: number;
    maxConnectionsSource: string;
    /** CONNECTION_HEADROOM_PERCENT of maxConnections. */
    limit: number;
}

/** The inputs of the model: task counts and sizes, resolved process settings and the database capacity. */
export interface CapacityInputs {
    roles: Record<ScaledRole, ScaledRoleSettings>;
    processes: ProcessSettings;
    capacity: DatabaseSettings["capacity"];
    /**
     * Collaboration mode runs the api websocket: the same Flask app, so the same pool, in its one task. (The agent
     * backend holds no database connection: it keeps runs in Redis, DIFY_AGENT_REDIS_URL.)
     */
    collaboration: boolean;
    /** Agent v2 runs the agent backend, a Redis client of its own. */
    agentV2: boolean;
}

/**
 * Cache (Redis) connections one process may hold at once, from the clients' own limits, for the model's cache line.
 * ElastiCache accepts 65,000 per node (maxclients, not modifiable); the cacheConnections alarm fires far below.
 * - redis-py (dify-api in every mode) opens a pooled connection per command in flight, so a process holds at most one
 *   per greenlet or job running at once; Celery's broker adds its own pool, broker_pool_limit (Celery default 10).
 * - The websocket's one process serves up to WEBSOCKET_CONNECTIONS sockets, each handler at most one command at once.
 * - go-redis (the plugin daemon) pools 10 connections per CPU (its PoolSize default: 10 x GOMAXPROCS).
 * - The agent backend (redis.asyncio) sets no pool limit; this model assumes one connection per outbound call it can
 *   have open (DIFY_AGENT_OUTBOUND_HTTP_MAX_CONNECTIONS, 100): an assumption, not a bound.
 */
export const CACHE_CONNECTIONS = { celeryBrokerPool: 10, websocketConnections: 1000, goRedisPerCpu: 10, agentBackendAssumed: 100, elasticacheMaxClients: 65_000 } as const;

/** The model's inputs from a stack's validated settings. */
export function capacityInputs(s: {
    cluster: { roles: Record<ScaledRole, ScaledRoleSettings>; processes: ProcessSettings; features: { collaboration: boolean; agentV2: boolean } };
    data: { database: Pick<DatabaseSettings, "capacity"> };
}): CapacityInputs {
    return { roles: s.cluster.roles, processes: s.cluster.processes, capacity: s.data.database.capacity, collaboration: s.cluster.features.collaboration, agentV2: s.cluster.features.agentV2 };
}

export function capacityModel(c: CapacityInputs): CapacityModel {
    const { roles, processes: p } = c;
    const perApiProcess = p.pools.size + p.pools.maxOverflow + p.pools.pgvectorMax;
    const perApiWorker = p.pools.size + apiOverflowFor(p.pools, p.api.connectionsPerWorker) + p.pools.pgvectorMax;
    const line = (what: string, processes: number, perProcess: number): ConnectionLine => ({ what, processes, perProcess, total: processes * perProcess });
    const scaled = [
        line(`api: ${roles.api.maxTasks} tasks x ${p.api.workers} gunicorn worker(s)`, roles.api.maxTasks * p.api.workers, perApiWorker),
        line(`worker: ${roles.worker.maxTasks} tasks x 1 Celery process`, roles.worker.maxTasks, perApiProcess),
        line(`plugin daemon: ${roles.pluginDaemon.maxTasks} tasks`, roles.pluginDaemon.maxTasks, p.pools.pluginDaemonMaxOpen),
    ];
    const single = [line("beat: 1 task", 1, perApiProcess), ...(c.collaboration ? [line("api websocket: 1 task", 1, perApiProcess)] : []), line("migration: 1 task", 1, perApiProcess)];
    const sum = (lines: ConnectionLine[]) => lines.reduce((n, l) => n + l.total, 0);
    const max = auroraMaxConnections(c.capacity);
    const cc = CACHE_CONNECTIONS;
    const cacheLines = [
        line(`api: ${roles.api.maxTasks} tasks x ${p.api.workers} gunicorn worker(s)`, roles.api.maxTasks * p.api.workers, p.api.connectionsPerWorker + cc.celeryBrokerPool),
        line(`worker: ${roles.worker.maxTasks} tasks`, roles.worker.maxTasks, p.worker.concurrency + cc.celeryBrokerPool),
        line("beat: 1 task", 1, 1 + cc.celeryBrokerPool),
        ...(c.collaboration ? [line("api websocket: 1 task", 1, cc.websocketConnections)] : []),
        line(`plugin daemon: ${roles.pluginDaemon.maxTasks} tasks`, roles.pluginDaemon.maxTasks, cc.goRedisPerCpu * Math.max(1, roles.pluginDaemon.cpu / 1024)),
        ...(c.agentV2 ? [line(`agent backend: ${roles.agentBackend.maxTasks} tasks (assumed)`, roles.agentBackend.maxTasks, cc.agentBackendAssumed)] : []),
    ];
    return {
        concurrentApiRequests: roles.api.maxTasks * p.api.workers * p.api.connectionsPerWorker,
        celeryConcurrency: roles.worker.maxTasks * p.worker.concurrency,
        lines: [...scaled, ...single],
        cacheLines,
        cacheConnections: sum(cacheLines),
        connections: sum(scaled) + sum(single),
        rolloutConnections: 2 * sum(scaled) + sum(single),
        maxConnections: max.value,
        maxConnectionsSource: max.source,
        limit: Math.floor((max.value * CONNECTION_HEADROOM_PERCENT) / 100),
    };
}

/** The keys the model reads, with their values, for a message that names them all. */
function modelKeys(c: CapacityInputs, set: { apiServerWorkers: number }): Record<string, unknown> {
    const capacityKeys =
        c.capacity.mode === "serverless"
            ? { databaseMinCapacity: c.capacity.minAcu, databaseMaxCapacity: c.capacity.maxAcu }
            : { databaseCapacityMode: "provisioned", databaseInstanceClass: c.capacity.instanceClass };
    return {
        apiMaxTasks: c.roles.api.maxTasks,
        apiServerWorkers: set.apiServerWorkers,
        workerMaxTasks: c.roles.worker.maxTasks,
        pluginDaemonMaxTasks: c.roles.pluginDaemon.maxTasks,
        databasePoolSize: c.processes.pools.size,
        databasePoolMaxOverflow: c.processes.pools.maxOverflow,
        pgvectorMaxConnections: c.processes.pools.pgvectorMax,
        pluginDaemonDbMaxOpenConns: c.processes.pools.pluginDaemonMaxOpen,
        ...capacityKeys,
    };
}

/** True when the connections at maximum scale stay within the headroom. */
export function fits(m: CapacityModel): boolean {
    return m.connections <= m.limit;
}

/** Values that would make an over-subscribed config fit, each changing one key. */
function whatFits(c: CapacityInputs): string[] {
    const ok = (change: Partial<CapacityInputs> & { pools?: Partial<ProcessSettings["pools"]> }) =>
        fits(
            capacityModel({
                ...c,
                roles: change.roles ?? c.roles,
                capacity: change.capacity ?? c.capacity,
                processes: { ...c.processes, pools: { ...c.processes.pools, ...change.pools } },
            }),
        );
    const hints: string[] = [];
    if (c.capacity.mode === "serverless") {
        const cap = c.capacity;
        const maxima = [1, 2, 4, 8, 16, 32, 64, 128, 256].filter((maxAcu) => maxAcu >= cap.maxAcu);
        const acu = maxima.find((maxAcu) => ok({ capacity: { ...cap, maxAcu } }));
        const withMinimumOne = maxima.find((maxAcu) => ok({ capacity: { ...cap, minAcu: Math.max(cap.minAcu, 1), maxAcu } }));
        if (acu !== undefined) {
            hints.push(`databaseMaxCapacity "${acu}"`);
        } else if (cap.minAcu <= 0.5 && withMinimumOne !== undefined) {
            hints.push(`databaseMinCapacity "1" with databaseMaxCapacity "${withMinimumOne}" (a minimum of 0 or 0.5 ACU caps max_connections at 2,000)`);
        }
    }
    if (c.capacity.mode === "provisioned") {
        const family = c.capacity.instanceClass.split(".").slice(0, 2).join(".");
        const bigger = Object.entries(AURORA_POSTGRES_INSTANCE_CLASSES)
            .filter(([cls]) => cls.startsWith(`${family}.`))
            .sort(([, a], [, b]) => a - b)
            .find(([cls]) => ok({ capacity: { mode: "provisioned", instanceClass: cls } }));
        if (bigger) {
            hints.push(`databaseInstanceClass "${bigger[0]}"`);
        }
    }
    const largest = (from: number, down: number, test: (n: number) => boolean) => {
        for (let n = from; n >= down; n--) {
            if (test(n)) {
                return n;
            }
        }
        return undefined;
    };
    const apiTasks = largest(c.roles.api.maxTasks - 1, c.roles.api.minTasks, (n) => ok({ roles: { ...c.roles, api: { ...c.roles.api, maxTasks: n } } }));
    if (apiTasks !== undefined) {
        hints.push(`apiMaxTasks ${apiTasks}`);
    }
    const workerTasks = largest(c.roles.worker.maxTasks - 1, c.roles.worker.minTasks, (n) => ok({ roles: { ...c.roles, worker: { ...c.roles.worker, maxTasks: n } } }));
    if (workerTasks !== undefined) {
        hints.push(`workerMaxTasks ${workerTasks}`);
    }
    // A smaller pool must still hold the worker's concurrency (loadProcessSettings refuses it otherwise).
    const poolSize = largest(c.processes.pools.size - 1, 1, (n) => n + c.processes.pools.maxOverflow >= c.processes.worker.concurrency && ok({ pools: { size: n } }));
    if (poolSize !== undefined) {
        hints.push(`databasePoolSize ${poolSize}`);
    }
    return hints;
}

/**
 * Refuses a stack whose database connections at maximum scale would exceed CONNECTION_HEADROOM_PERCENT of Aurora's
 * max_connections: beyond max_connections the next connection is refused, and api requests and Celery jobs fail.
 * Aurora computes max_connections from the maximum capacity, so the check holds at any current ACU.
 */
export function checkCapacity(r: ConfigReader, c: CapacityInputs, set: { apiServerWorkers: number }): CapacityModel {
    const m = capacityModel(c);
    if (fits(m)) {
        return m;
    }
    const detail = m.lines.map((l) => `${l.what} x ${l.perProcess} = ${l.total}`).join("; ");
    const hints = whatFits(c);
    r.failKeys(
        modelKeys(c, set),
        `database connections at maximum scale within ${CONNECTION_HEADROOM_PERCENT} % of Aurora's max_connections (${m.maxConnections} for ${m.maxConnectionsSource}, so ${m.limit}): this config opens up to ${m.connections} (${detail}). ${
            hints.length > 0 ? `It fits with any one of: ${hints.join("; ")}.` : "Lower the task maxima or pool sizes, or raise the database capacity."
        } (Serverless v2 takes a new maximum capacity's max_connections only after its instances reboot.)`,
    );
}
