/**
 * How this program maps upstream's compose deployment (the release tables beside this file) onto its own: which ECS
 * role runs each compose service, which variables it takes verbatim from the release's table, and every deliberate
 * difference, each with its reason. test/parity.test.ts holds the program to it for every release in DIFY_RELEASES:
 * every default service deployed, every variable upstream sets either set here or listed below.
 */
import type { DifyRole } from "../roles";
import { upstreamEnvironment } from "./types";
import type { UpstreamRelease } from "./types";

/** The ECS role that runs each compose service (the migration task runs compose's api with MIGRATION_ENABLED). */
export const ROLE_OF_SERVICE: Readonly<Record<string, DifyRole>> = {
    api: "api",
    api_websocket: "apiWebsocket",
    worker: "worker",
    worker_beat: "beat",
    web: "web",
    sandbox: "sandbox",
    plugin_daemon: "pluginDaemon",
    ssrf_proxy: "ssrfProxy",
    agent_backend: "agentBackend",
    local_sandbox: "agentSandbox",
    agent_ssrf_proxy: "agentSsrfProxy",
};

/** The compose service whose variables a role (or the migration task) starts from. */
export const SERVICE_OF_ROLE: Readonly<Record<DifyRole | "migration", string>> = {
    ...(Object.fromEntries(Object.entries(ROLE_OF_SERVICE).map(([service, role]) => [role, service])) as Record<DifyRole, string>),
    migration: "api",
};

/**
 * Variables a role takes verbatim from the release's table (`.env.example` overlaid by the service's own
 * `environment:`): upstream's tuning, where this program has no reason to differ. A release that changes one of them
 * changes it here too, with no code change. Names a release does not have are skipped.
 */
export const TAKEN_FROM_UPSTREAM = {
    /** dify-api in every mode (api, worker, beat, websocket, migration). */
    api: [
        "CHECK_UPDATE_URL",
        "CODE_EXECUTION_CONNECT_TIMEOUT",
        "CODE_EXECUTION_READ_TIMEOUT",
        "CODE_EXECUTION_WRITE_TIMEOUT",
        "CODE_EXECUTION_POOL_MAX_CONNECTIONS",
        "CODE_EXECUTION_POOL_MAX_KEEPALIVE_CONNECTIONS",
        "CODE_EXECUTION_POOL_KEEPALIVE_EXPIRY",
        "CODE_EXECUTION_SSL_VERIFY",
        "COOKIE_DOMAIN",
        "DEBUG",
        "FLASK_DEBUG",
        "ENABLE_REQUEST_LOGGING",
        "DIFY_BIND_ADDRESS",
        "DIFY_PORT",
        "EVENT_BUS_REDIS_CHANNEL_TYPE",
        "EVENT_BUS_REDIS_URL",
        "EVENT_BUS_REDIS_USE_CLUSTERS",
        "FILES_ACCESS_TIMEOUT",
        "LANG",
        "LC_ALL",
        "PYTHONIOENCODING",
        "LOG_DATEFORMAT",
        "LOG_OUTPUT_FORMAT",
        "LOG_TZ",
        "MARKETPLACE_ENABLED",
        "MARKETPLACE_API_URL",
        "OPENAI_API_BASE",
        "PLUGIN_MAX_FILE_SIZE",
        "PLUGIN_MODEL_SCHEMA_CACHE_TTL",
        "PLUGIN_MAX_PACKAGE_SIZE",
        "PLUGIN_DAEMON_TIMEOUT",
        "REDIS_HEALTH_CHECK_INTERVAL",
        "REDIS_KEEPALIVE",
        "REDIS_KEEPALIVE_COUNT",
        "REDIS_KEEPALIVE_IDLE",
        "REDIS_KEEPALIVE_INTERVAL",
        "REDIS_KEY_PREFIX",
        "REDIS_MAX_CONNECTIONS",
        "REDIS_RETRY_BACKOFF_BASE",
        "REDIS_RETRY_BACKOFF_CAP",
        "REDIS_RETRY_RETRIES",
        "REDIS_SOCKET_CONNECT_TIMEOUT",
        "REDIS_SOCKET_TIMEOUT",
        "REDIS_USERNAME",
        "SQLALCHEMY_ECHO",
        "SQLALCHEMY_POOL_RESET_ON_RETURN",
        "SQLALCHEMY_POOL_TIMEOUT",
        "SQLALCHEMY_POOL_USE_LIFO",
        "SSRF_DEFAULT_TIME_OUT",
        "SSRF_DEFAULT_CONNECT_TIME_OUT",
        "SSRF_DEFAULT_READ_TIME_OUT",
        "SSRF_DEFAULT_WRITE_TIME_OUT",
        "SSRF_POOL_MAX_CONNECTIONS",
        "SSRF_POOL_MAX_KEEPALIVE_CONNECTIONS",
        "SSRF_POOL_KEEPALIVE_EXPIRY",
        "VECTOR_INDEX_NAME_PREFIX",
        "CELERY_TASK_ANNOTATIONS",
        "CELERY_WORKER_CLASS",
        "CELERY_MIN_WORKERS",
        "CELERY_MAX_WORKERS",
        "TOP_K_MAX_VALUE",
        "INDEXING_MAX_SEGMENTATION_TOKENS_LENGTH",
        "LOOP_NODE_MAX_COUNT",
        "MAX_TOOLS_NUM",
        "MAX_PARALLEL_LIMIT",
        "MAX_ITERATIONS_NUM",
        "MAX_TREE_DEPTH",
        "WEB_API_CORS_ALLOW_ORIGINS",
        "AGENT_BACKEND_STREAM_READ_TIMEOUT_SECONDS",
        "AGENT_BACKEND_STREAM_MAX_RECONNECTS",
        "AGENT_BACKEND_RUN_TIMEOUT_SECONDS",
    ],
    web: [
        "NEXT_PUBLIC_COOKIE_DOMAIN",
        "CSP_WHITELIST",
        "ALLOW_EMBED",
        "ALLOW_UNSAFE_DATA_SCHEME",
        "MARKETPLACE_API_URL",
        "MARKETPLACE_URL",
        "TOP_K_MAX_VALUE",
        "INDEXING_MAX_SEGMENTATION_TOKENS_LENGTH",
        "LOOP_NODE_MAX_COUNT",
        "MAX_TOOLS_NUM",
        "MAX_PARALLEL_LIMIT",
        "MAX_ITERATIONS_NUM",
        "MAX_TREE_DEPTH",
        "ENABLE_WEBSITE_JINAREADER",
        "ENABLE_WEBSITE_FIRECRAWL",
        "ENABLE_WEBSITE_WATERCRAWL",
        "EXPERIMENTAL_ENABLE_VINEXT",
        "NEXT_PUBLIC_BATCH_CONCURRENCY",
        "NEXT_PUBLIC_ENABLE_SINGLE_DOLLAR_LATEX",
        "NEXT_PUBLIC_ENABLE_FEATURE_PREVIEW",
        "ENABLE_LEARN_APP",
        "WORKFLOW_GENERATION_TIMEOUT_MS",
    ],
    pluginDaemon: [
        "PPROF_ENABLED",
        "PLUGIN_STDIO_BUFFER_SIZE",
        "PLUGIN_STDIO_MAX_BUFFER_SIZE",
        "UV_CACHE_DIR",
        "PYTHON_ENV_INIT_TIMEOUT",
        "PLUGIN_MAX_EXECUTION_TIMEOUT",
        "MAX_PLUGIN_PACKAGE_SIZE",
        "FORCE_VERIFYING_SIGNATURE",
        "PLUGIN_INSTALLED_PATH",
        "PLUGIN_PACKAGE_CACHE_PATH",
        "PLUGIN_MEDIA_CACHE_PATH",
    ],
    sandbox: ["GIN_MODE", "WORKER_TIMEOUT", "ENABLE_NETWORK"],
    agentBackend: ["DIFY_AGENT_REDIS_PREFIX", "DIFY_AGENT_SHUTDOWN_GRACE_SECONDS", "DIFY_AGENT_RUN_RETENTION_SECONDS", "DIFY_AGENT_RUN_TIMEOUT_SECONDS"],
    agentSandbox: ["NO_PROXY"],
} as const satisfies Partial<Record<DifyRole, readonly string[]>>;
export type TakesFromUpstream = keyof typeof TAKEN_FROM_UPSTREAM;

/**
 * The values a role takes from the release (TAKEN_FROM_UPSTREAM), read from the compose service it stands for. A
 * secret-looking default (recorded as null) is never taken.
 */
export function upstreamValues(release: UpstreamRelease, role: TakesFromUpstream, service: string = SERVICE_OF_ROLE[role]): Record<string, string> {
    const env = upstreamEnvironment(release, service);
    const out: Record<string, string> = {};
    for (const name of TAKEN_FROM_UPSTREAM[role]) {
        const value = env[name];
        if (value !== undefined && value !== null) {
            out[name] = value;
        }
    }
    return out;
}

/** Why the program does not set a variable upstream sets. */
export type DifferenceKind =
    /** Read only by a service this program replaces with a managed AWS service (nginx, postgres, redis, weaviate). */
    | "replaced"
    /** Only compose substitutes it, into a service's own variable of another name, which the program sets. */
    | "composeAlias"
    /** Configures a backend or integration the program does not use (another vector store, storage or sandbox runtime). */
    | "unusedBackend"
    /** Serves Dify Cloud, analytics or error reporting, which a self-hosted stack leaves off (an empty value). */
    | "cloudOnly"
    /** The program decides otherwise; the reason says why. */
    | "deliberate";

export interface Difference {
    /** Variable names, or name prefixes ending in `_` or `*` (`NGINX_*`). */
    names: readonly string[];
    /** Where upstream sets them: `.env.example` (handed to every service), or named compose services' own blocks. */
    where: "dotenv" | readonly string[];
    kind: DifferenceKind;
    reason: string;
}

/** Every variable upstream sets that this program deliberately does not, with why. */
export const DIFFERENCES: readonly Difference[] = [
    {
        names: ["NGINX_*", "EXPOSE_*", "COMPOSE_*"],
        where: "dotenv",
        kind: "replaced",
        reason: "nginx and compose's own switches: the ALB (components/edgeAlb) routes, terminates TLS and sets the timeouts",
    },
    {
        names: ["POSTGRES_*", "PGDATA"],
        where: "dotenv",
        kind: "replaced",
        reason: "the db_postgres container's settings: Aurora PostgreSQL (components/managedData.ts) is sized and tuned by its parameter group",
    },
    {
        names: ["WEAVIATE_*"],
        where: "dotenv",
        kind: "unusedBackend",
        reason: "the vector store is pgvector in Aurora (VECTOR_STORE=pgvector), not the weaviate container",
    },
    {
        names: ["OPENDAL_SCHEME", "OPENDAL_FS_ROOT"],
        where: "dotenv",
        kind: "unusedBackend",
        reason: "files are stored in S3 (STORAGE_TYPE=s3), not through OpenDAL's local file system",
    },
    {
        names: ["PLUGIN_STORAGE_LOCAL_ROOT"],
        where: ["plugin_daemon"],
        kind: "unusedBackend",
        reason: "the daemon stores packages in S3 (PLUGIN_STORAGE_TYPE=aws_s3); only its working path is on EFS",
    },
    {
        names: ["PLUGIN_STORAGE_LOCAL_ROOT"],
        where: "dotenv",
        kind: "composeAlias",
        reason: "compose substitutes it into the daemon's own PLUGIN_STORAGE_LOCAL_ROOT (above)",
    },
    {
        names: [
            "S3_ENDPOINT",
            "AWS_ACCESS_KEY",
            "AWS_SECRET_KEY",
            "AZURE_BLOB_STORAGE_*",
            "TENCENT_COS_*",
            "ALIYUN_OSS_*",
            "VOLCENGINE_TOS_*",
        ],
        where: ["plugin_daemon"],
        kind: "unusedBackend",
        reason: "the daemon reaches S3 with its task role (S3_USE_AWS_MANAGED_IAM=true) at the regional endpoint; no static keys, no other cloud's storage",
    },
    {
        names: ["DIFY_AGENT_E2B_*"],
        where: ["agent_backend"],
        kind: "unusedBackend",
        reason: "agent shells run in the local sandbox service (DIFY_AGENT_RUNTIME_BACKEND=local), not in E2B's cloud",
    },
    {
        names: ["DIFY_AGENT_E2B_*"],
        where: "dotenv",
        kind: "composeAlias",
        reason: "compose substitutes them into agent_backend's own block (above)",
    },
    {
        names: ["SENTRY_DSN", "SENTRY_TRACES_SAMPLE_RATE", "SENTRY_PROFILES_SAMPLE_RATE", "SENTRY_ENABLED"],
        where: ["api", "worker", "web", "plugin_daemon"],
        kind: "cloudOnly",
        reason: "error reporting to Sentry is off without a DSN (upstream's default is empty); logs and alarms are in CloudWatch",
    },
    {
        names: ["API_SENTRY_*", "WEB_SENTRY_DSN", "PLUGIN_SENTRY_*"],
        where: "dotenv",
        kind: "composeAlias",
        reason: "compose substitutes them into each service's SENTRY_* (above)",
    },
    {
        names: ["AMPLITUDE_API_KEY", "TURNSTILE_SITE_KEY", "COOKIEYES_SITE_KEY"],
        where: ["web"],
        kind: "cloudOnly",
        reason: "Dify Cloud's analytics, captcha and cookie banner; empty upstream, and nothing a self-hosted console needs",
    },
    {
        names: ["AMPLITUDE_API_KEY", "TURNSTILE_SITE_KEY", "COOKIEYES_SITE_KEY"],
        where: "dotenv",
        kind: "composeAlias",
        reason: "compose substitutes them into web's own block (above)",
    },
    {
        names: ["PLUGIN_REMOTE_INSTALL_HOST", "PLUGIN_REMOTE_INSTALL_PORT"],
        where: ["api"],
        kind: "deliberate",
        reason: "remote plugin debugging is a raw TCP port (5003) the ALB does not carry; the daemon has it off (PLUGIN_REMOTE_INSTALLING_ENABLED=false), so the console shows no debugging address",
    },
    {
        names: ["PLUGIN_REMOTE_INSTALLING_HOST", "PLUGIN_REMOTE_INSTALLING_PORT"],
        where: ["plugin_daemon"],
        kind: "deliberate",
        reason: "remote plugin debugging is off (PLUGIN_REMOTE_INSTALLING_ENABLED=false): the ALB carries no raw TCP",
    },
    {
        names: ["PLUGIN_DEBUGGING_HOST", "PLUGIN_DEBUGGING_PORT", "EXPOSE_PLUGIN_DEBUGGING_*", "PLUGIN_DAEMON_PORT"],
        where: "dotenv",
        kind: "composeAlias",
        reason: "compose substitutes them into api's PLUGIN_REMOTE_INSTALL_* and the daemon's SERVER_PORT (set from the roles table)",
    },
    {
        names: ["PLUGIN_DIFY_INNER_API_KEY", "PLUGIN_DIFY_INNER_API_URL", "PLUGIN_PPROF_ENABLED", "PLUGIN_PYTHON_ENV_INIT_TIMEOUT", "DB_PLUGIN_DATABASE"],
        where: "dotenv",
        kind: "composeAlias",
        reason: "compose substitutes them into the daemon's DIFY_INNER_API_KEY, DIFY_INNER_API_URL, PPROF_ENABLED, PYTHON_ENV_INIT_TIMEOUT and DB_DATABASE, which the program sets",
    },
    {
        names: ["SANDBOX_API_KEY", "SANDBOX_GIN_MODE", "SANDBOX_WORKER_TIMEOUT", "SANDBOX_ENABLE_NETWORK", "SANDBOX_HTTP_PROXY", "SANDBOX_HTTPS_PROXY"],
        where: "dotenv",
        kind: "composeAlias",
        reason: "compose substitutes them into the sandbox's API_KEY, GIN_MODE, WORKER_TIMEOUT, ENABLE_NETWORK, and HTTP(S)_PROXY, which the program sets",
    },
    {
        names: ["API_WEBSOCKET_*"],
        where: "dotenv",
        kind: "composeAlias",
        reason: "compose substitutes them into api_websocket's SERVER_WORKER_* and GUNICORN_TIMEOUT, which the program sets",
    },
    {
        names: ["SSRF_HTTP_PORT", "SSRF_COREDUMP_DIR", "SSRF_PROXY_ALLOW_PRIVATE_IPS"],
        where: "dotenv",
        kind: "composeAlias",
        reason: "compose substitutes them into the squid containers' template variables (below)",
    },
    {
        names: ["HTTP_PORT", "COREDUMP_DIR", "SSRF_PROXY_ALLOW_PRIVATE_IPS", "SSRF_PROXY_ALLOW_PRIVATE_DOMAINS"],
        where: ["ssrf_proxy", "agent_ssrf_proxy"],
        kind: "deliberate",
        reason: "upstream's entrypoint renders squid.conf from a template with these; the program writes the whole squid.conf itself (components/ssrfProxyConfig.ts) on port 3128, and never opens private ranges beyond the passages it names",
    },
    {
        names: ["PIP_MIRROR_URL"],
        where: ["sandbox", "plugin_daemon"],
        kind: "deliberate",
        reason: "set from dify-aws:pipMirrorUrl when a mirror is configured; upstream's empty value and leaving it unset both mean pypi.org",
    },
    {
        names: ["PIP_MIRROR_URL"],
        where: "dotenv",
        kind: "composeAlias",
        reason: "compose substitutes it into the sandbox's and the daemon's own PIP_MIRROR_URL (above)",
    },
    {
        names: ["LOG_FILE", "LOG_FILE_MAX_SIZE", "LOG_FILE_BACKUP_COUNT"],
        where: "dotenv",
        kind: "deliberate",
        reason: "logs go to stdout and from there to CloudWatch Logs; a log file inside the task is lost with it and needs a writable /app/logs",
    },
    {
        names: ["REDIS_SSL_CA_CERTS", "REDIS_SSL_CERTFILE", "REDIS_SSL_KEYFILE"],
        where: "dotenv",
        kind: "deliberate",
        reason: "unset, as on upstream's default: ElastiCache's certificate verifies against the image's trust store (REDIS_SSL_CERT_REQS=CERT_REQUIRED), and it takes no client certificate",
    },
    {
        names: ["BROKER_USE_SSL"],
        where: "dotenv",
        kind: "deliberate",
        reason: "the broker URL is rediss:// (a secret), from which Dify turns broker TLS on itself; upstream's false describes its plain redis container",
    },
];

/** A name matches a difference's pattern: exactly, or by the prefix before a trailing `*`. */
export function matchesName(pattern: string, name: string): boolean {
    return pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : pattern === name;
}

/** The difference that covers a variable upstream sets in `where` (the dotenv file, or one compose service). */
export function differenceFor(name: string, where: "dotenv" | string): Difference | undefined {
    return DIFFERENCES.find((d) => (d.where === "dotenv" ? where === "dotenv" : where !== "dotenv" && d.where.includes(where)) && d.names.some((p) => matchesName(p, name)));
}

/** An aspect of a compose service the program runs differently: its image tag, a port, its command or a volume. */
export interface ServiceDifference {
    /** Compose services it applies to. */
    services: readonly string[];
    aspect: "imageTag" | "port" | "command" | "volume";
    /** The port, or the volume's container path; absent for imageTag and command. */
    value?: number | string;
    reason: string;
}

export const SERVICE_DIFFERENCES: readonly ServiceDifference[] = [
    {
        services: ["ssrf_proxy", "agent_ssrf_proxy"],
        aspect: "imageTag",
        reason: "compose pulls ubuntu/squid:latest; the program pins a tag (dify-aws:ssrfProxyImage) so a task replacement cannot change squid under a stack",
    },
    {
        services: ["ssrf_proxy", "agent_ssrf_proxy"],
        aspect: "command",
        reason: "the program writes the whole squid.conf itself from SQUID_CONF (components/ssrfProxyConfig.ts) and runs squid, instead of mounting upstream's templates and entrypoint",
    },
    {
        services: ["sandbox"],
        aspect: "command",
        reason: "with a read-only root file system the image's entrypoint cannot unpack Node.js into /opt (which also holds its Python): the task unpacks the same archive into a writable volume, points NODEJS_PATH there and runs /main (SANDBOX_COMMAND, components/difyCluster/roles.ts; config/upstream/writablePaths.ts)",
    },
    {
        services: ["plugin_daemon"],
        aspect: "command",
        reason: "the image's command migrates (GORM AutoMigrate, no lock) and then serves; two new tasks would migrate at once, so the service runs /app/main alone and a one-off task migrates first (components/migrationGate/commands.ts)",
    },
    {
        services: ["plugin_daemon"],
        aspect: "port",
        value: 5003,
        reason: "remote plugin debugging (raw TCP) is off: the ALB does not carry it and it would open plugin installs to anyone who reaches it",
    },
    {
        services: ["api", "worker", "api_websocket"],
        aspect: "volume",
        value: "/app/api/storage",
        reason: "files are in S3 (STORAGE_TYPE=s3), shared by every task, instead of a host directory",
    },
    {
        services: ["plugin_daemon"],
        aspect: "volume",
        value: "/app/storage",
        reason: "only the daemon's working path (/app/storage/cwd) is a shared file system (EFS); packages, installed plugins and media are in S3 (PLUGIN_STORAGE_TYPE=aws_s3)",
    },
    {
        services: ["sandbox"],
        aspect: "volume",
        value: "/dependencies",
        reason: "upstream mounts an empty python-requirements.txt; code nodes install what they import through the SSRF proxy and the pip mirror",
    },
    {
        services: ["sandbox"],
        aspect: "volume",
        value: "/conf",
        reason: "upstream mounts a config.yaml whose values the environment (SANDBOX_PORT, WORKER_TIMEOUT, ENABLE_NETWORK, proxies) already sets",
    },
    {
        services: ["ssrf_proxy", "agent_ssrf_proxy"],
        aspect: "volume",
        value: "/etc/squid/squid.conf.template",
        reason: "the program writes squid.conf itself (see the command difference)",
    },
    {
        services: ["ssrf_proxy", "agent_ssrf_proxy"],
        aspect: "volume",
        value: "/etc/squid/dify_common.conf.template",
        reason: "the program writes squid.conf itself (see the command difference)",
    },
    {
        services: ["ssrf_proxy", "agent_ssrf_proxy"],
        aspect: "volume",
        value: "/docker-entrypoint-mount.sh",
        reason: "the program writes squid.conf itself (see the command difference)",
    },
];

/** The service difference for one aspect (and port or path) of a compose service. */
export function serviceDifferenceFor(service: string, aspect: ServiceDifference["aspect"], value?: number | string): ServiceDifference | undefined {
    return SERVICE_DIFFERENCES.find((d) => d.services.includes(service) && d.aspect === aspect && d.value === value);
}
