import * as pulumi from "@pulumi/pulumi";
import { apiOverflowFor, type ProcessSettings } from "../config/capacity";
import type { SmtpSettings } from "../config/cluster";
import { CacheConnection, DatabaseConnection, FileBucket, SecretRef, secretValueFrom } from "./contracts";
import { SSRF_PROXY_PORT } from "./ssrfProxyConfig";

/**
 * How the roles reach each other: Service Connect names and ports, the same names Dify's compose file uses (with
 * hyphens, as Cloud Map requires). Nothing internal goes through the public ALB.
 */
export const INTERNAL = {
    web: { port: 3000 },
    api: { dns: "api", port: 5001 },
    pluginDaemon: { dns: "plugin-daemon", port: 5002 },
    sandbox: { dns: "sandbox", port: 8194 },
    ssrfProxy: { dns: "ssrf-proxy", port: SSRF_PROXY_PORT },
} as const;

export const INTERNAL_URL = {
    api: `http://${INTERNAL.api.dns}:${INTERNAL.api.port}`,
    pluginDaemon: `http://${INTERNAL.pluginDaemon.dns}:${INTERNAL.pluginDaemon.port}`,
    sandbox: `http://${INTERNAL.sandbox.dns}:${INTERNAL.sandbox.port}`,
    ssrfProxy: `http://${INTERNAL.ssrfProxy.dns}:${INTERNAL.ssrfProxy.port}`,
} as const;

/** Dify's inner keys, generated per stack; the JSON keys of the inner-keys secret. */
export const INNER_KEY_NAMES = ["SECRET_KEY", "PLUGIN_DAEMON_KEY", "INNER_API_KEY_FOR_PLUGIN", "CODE_EXECUTION_API_KEY"] as const;
export type InnerKeyName = (typeof INNER_KEY_NAMES)[number];

/** A container's environment: plain values, and secrets as ECS `valueFrom` references. */
export interface ContainerEnvironment {
    environment: Record<string, pulumi.Input<string>>;
    secrets: Record<string, pulumi.Input<string>>;
}

/** Everything the environment tables are built from. */
export interface EnvironmentInputs {
    /** Public base URL without trailing slash (`https://dify.example.com`). */
    publicUrl: pulumi.Input<string>;
    region: pulumi.Input<string>;
    database: DatabaseConnection;
    cache: CacheConnection;
    bucket: FileBucket;
    innerKeys: Record<InnerKeyName, SecretRef>;
    /** The generated INIT_PASSWORD that gates Dify's `/install` (the api serves it). */
    initPassword: SecretRef;
    smtp?: { settings: SmtpSettings; password: pulumi.Input<string> };
    /** PIP_MIRROR_URL for the plugin daemon and the sandbox; undefined is pypi.org. */
    pipMirrorUrl?: string;
    /** gunicorn workers and connections, Celery concurrency and every pool size (config/capacity.ts). */
    processes: ProcessSettings;
}

/**
 * Where the daemon keeps each plugin's directory, virtual environment and uv's cache (compose's value; the daemon has
 * no default and refuses to start without it on the local platform).
 */
export const PLUGIN_WORKING_PATH = "/app/storage/cwd";

export type ApiMode = "api" | "worker" | "beat" | "migration";

const str = (n: number | pulumi.Output<number>): pulumi.Input<string> => (typeof n === "number" ? String(n) : n.apply(String));

/**
 * dify-api in any MODE (api, worker, beat, migration). Set explicitly because the image defaults are not the compose
 * defaults (dify-on-ecs.md §6.19): PGVECTOR_PORT would be 5433, STORAGE_TYPE opendal, no SSRF proxy, localhost URLs.
 */
export function apiEnvironment(mode: ApiMode, i: EnvironmentInputs): ContainerEnvironment {
    const url = i.publicUrl;
    const env: Record<string, pulumi.Input<string>> = {
        MODE: mode,
        // Migrations run only in the gated one-off task; a service that migrated on start would race it for the lock
        // and serve on the old schema when it lost (dify-on-ecs.md §6.7).
        MIGRATION_ENABLED: mode === "migration" ? "true" : "false",
        DEPLOY_ENV: "PRODUCTION",
        LOG_LEVEL: "INFO",
        // Public URLs: OAuth callbacks, e-mail links, signed file URLs, webhook triggers and plugin endpoints.
        CONSOLE_API_URL: url,
        CONSOLE_WEB_URL: url,
        SERVICE_API_URL: url,
        APP_API_URL: url,
        APP_WEB_URL: url,
        FILES_URL: url,
        TRIGGER_URL: url,
        ENDPOINT_URL_TEMPLATE: pulumi.interpolate`${url}/e/{hook_id}`,
        // The plugin daemon fetches files inside the VPC, through Service Connect.
        INTERNAL_FILES_URL: INTERNAL_URL.api,
        // The ALB terminates TLS and is the only way in; honour its X-Forwarded-Proto/Host so generated URLs are https.
        RESPECT_XFORWARD_HEADERS_ENABLED: "true",
        // Database (Aurora forces TLS; pre-ping survives Serverless v2 idle-session timeouts and failovers).
        DB_TYPE: "postgresql",
        DB_HOST: i.database.host,
        DB_PORT: str(i.database.port),
        DB_DATABASE: i.database.databaseName,
        DB_EXTRAS: "sslmode=require",
        SQLALCHEMY_POOL_PRE_PING: "true",
        // Per process (each gunicorn worker, the Celery worker, beat, the migration): what the capacity check counts.
        // An api worker's overflow covers its concurrent requests (config/capacity.ts apiOverflowFor).
        SQLALCHEMY_POOL_SIZE: String(i.processes.pools.size),
        SQLALCHEMY_MAX_OVERFLOW: String(mode === "api" ? apiOverflowFor(i.processes.pools, i.processes.api.connectionsPerWorker) : i.processes.pools.maxOverflow),
        // Vector store in the same database (pgvector extension created by ManagedData's master user).
        VECTOR_STORE: "pgvector",
        PGVECTOR_HOST: i.database.host,
        PGVECTOR_PORT: str(i.database.port),
        PGVECTOR_DATABASE: i.database.databaseName,
        PGVECTOR_MIN_CONNECTION: "1",
        PGVECTOR_MAX_CONNECTION: String(i.processes.pools.pgvectorMax),
        // pg_bigm is not available on Aurora.
        PGVECTOR_PG_BIGM: "false",
        // Redis over TLS. CERT_REQUIRED: Dify passes ssl_ca_certs=None to redis-py, whose SSLConnection then verifies
        // against the default trust store (ssl.create_default_context), and ElastiCache certificates chain to Amazon's
        // public roots, which the Debian CA bundle of the dify-api image carries. No CA file is needed.
        REDIS_HOST: i.cache.host,
        REDIS_PORT: str(i.cache.port),
        REDIS_DB: "0",
        REDIS_USE_SSL: "true",
        REDIS_SSL_CERT_REQS: "CERT_REQUIRED",
        // Celery's result backend is the broker URL (a rediss:// URL, so Dify turns broker_use_ssl on itself).
        CELERY_BACKEND: "redis",
        // Files on S3 through the task role (lower case: `S3` fails validation since 1.13.3).
        STORAGE_TYPE: "s3",
        S3_BUCKET_NAME: i.bucket.name,
        S3_REGION: i.region,
        S3_USE_AWS_MANAGED_IAM: "true",
        // Internal services by Service Connect name.
        PLUGIN_DAEMON_URL: INTERNAL_URL.pluginDaemon,
        PLUGIN_MAX_PACKAGE_SIZE: "52428800",
        PLUGIN_DAEMON_TIMEOUT: "600",
        CODE_EXECUTION_ENDPOINT: INTERNAL_URL.sandbox,
        // User-driven HTTP (HTTP nodes, tools) leaves through the SSRF proxy; the image default is direct egress.
        SSRF_PROXY_HTTP_URL: INTERNAL_URL.ssrfProxy,
        SSRF_PROXY_HTTPS_URL: INTERNAL_URL.ssrfProxy,
        // Neither the websocket (collaboration) service nor the agent backend is deployed.
        ENABLE_COLLABORATION_MODE: "false",
    };
    if (mode === "api") {
        // SSE answers stream for minutes; gunicorn must not kill the worker first (compose uses 360 s).
        env.GUNICORN_TIMEOUT = "360";
        // The entrypoint's fallbacks are 1 worker of 10 connections: 10 concurrent requests per task, health checks
        // included. gevent is what Dify patches psycopg and gRPC for (gunicorn.conf.py), and what the sizes assume.
        env.SERVER_WORKER_CLASS = "gevent";
        env.SERVER_WORKER_AMOUNT = String(i.processes.api.workers);
        env.SERVER_WORKER_CONNECTIONS = String(i.processes.api.connectionsPerWorker);
    }
    if (mode === "worker") {
        // Greenlets of the one Celery process (gevent pool); the entrypoint's fallback of 1 would serialize every job.
        // Autoscale would only resize those greenlets and start at its minimum prefetch: ECS scales tasks instead.
        env.CELERY_WORKER_AMOUNT = String(i.processes.worker.concurrency);
        env.CELERY_AUTO_SCALE = "false";
    }
    const secrets: Record<string, pulumi.Input<string>> = {
        SECRET_KEY: secretValueFrom(i.innerKeys.SECRET_KEY),
        DB_USERNAME: secretValueFrom(i.database.username),
        DB_PASSWORD: secretValueFrom(i.database.password),
        PGVECTOR_USER: secretValueFrom(i.database.username),
        PGVECTOR_PASSWORD: secretValueFrom(i.database.password),
        REDIS_PASSWORD: secretValueFrom(i.cache.authToken),
        CELERY_BROKER_URL: secretValueFrom(i.cache.celeryBrokerUrl),
        PLUGIN_DAEMON_KEY: secretValueFrom(i.innerKeys.PLUGIN_DAEMON_KEY),
        INNER_API_KEY_FOR_PLUGIN: secretValueFrom(i.innerKeys.INNER_API_KEY_FOR_PLUGIN),
        CODE_EXECUTION_API_KEY: secretValueFrom(i.innerKeys.CODE_EXECUTION_API_KEY),
    };
    if (mode === "api") {
        // Without INIT_PASSWORD the first visitor of /install creates the admin account; with it, /install first
        // asks for this value (api/controllers/console/init_validate.py compares it with the environment; at most 30
        // characters). It no longer matters once setup is done.
        secrets.INIT_PASSWORD = secretValueFrom(i.initPassword);
    }
    // Mail is sent by Celery tasks on the worker, and by the api for synchronous sends (invites, password resets).
    if (i.smtp && (mode === "api" || mode === "worker")) {
        const s = i.smtp.settings;
        Object.assign(env, {
            MAIL_TYPE: "smtp",
            MAIL_DEFAULT_SEND_FROM: s.defaultSendFrom,
            SMTP_SERVER: s.server,
            SMTP_PORT: String(s.port),
            SMTP_USERNAME: s.username,
            SMTP_USE_TLS: String(s.useTls),
            SMTP_OPPORTUNISTIC_TLS: String(s.opportunisticTls),
        });
        secrets.SMTP_PASSWORD = i.smtp.password;
    }
    return { environment: env, secrets };
}

/** dify-web (Next.js). */
export function webEnvironment(i: Pick<EnvironmentInputs, "publicUrl">): ContainerEnvironment {
    return {
        environment: {
            // Fargate sets HOSTNAME to the task's host name, and Next.js standalone binds only to it; the container
            // health check on 127.0.0.1 then fails.
            HOSTNAME: "0.0.0.0",
            PORT: String(INTERNAL.web.port),
            // The browser calls the api on the public origin; the image default is http://127.0.0.1:5001.
            CONSOLE_API_URL: i.publicUrl,
            APP_API_URL: i.publicUrl,
            // Server-side rendering calls the api inside the VPC.
            SERVER_CONSOLE_API_URL: INTERNAL_URL.api,
            NEXT_TELEMETRY_DISABLED: "1",
            // The agent backend (Agent v2) is not deployed: hide the feature rather than show a broken one.
            NEXT_PUBLIC_ENABLE_AGENT_V2: "false",
            // Long generations: the ALB idle timeout, not the browser, should be the limit.
            TEXT_GENERATION_TIMEOUT_MS: "600000",
        },
        secrets: {},
    };
}

/** dify-plugin-daemon (-local), with the daemon's own variable names (not the compose-side PLUGIN_* aliases). */
export function pluginDaemonEnvironment(i: EnvironmentInputs): ContainerEnvironment {
    return {
        environment: {
            SERVER_PORT: String(INTERNAL.pluginDaemon.port),
            DIFY_INNER_API_URL: INTERNAL_URL.api,
            DB_TYPE: "postgresql",
            DB_HOST: i.database.host,
            DB_PORT: str(i.database.port),
            DB_DATABASE: i.database.pluginDatabaseName,
            // The daemon creates its database through this maintenance database when it is missing.
            DB_DEFAULT_DATABASE: "postgres",
            // Aurora forces SSL; the daemon accepts only disable|require and compose defaults to disable.
            DB_SSL_MODE: "require",
            // The daemon's one database/sql pool (internal/db/pg/pg.go SetMaxOpenConns / SetMaxIdleConns; defaults 30
            // and 10): what the capacity check counts per daemon task.
            DB_MAX_OPEN_CONNS: String(i.processes.pools.pluginDaemonMaxOpen),
            DB_MAX_IDLE_CONNS: String(i.processes.pools.pluginDaemonMaxIdle),
            REDIS_HOST: i.cache.host,
            REDIS_PORT: str(i.cache.port),
            REDIS_DB: "0",
            REDIS_USE_SSL: "true",
            // In the daemon CERT_REQUIRED fails at start unless REDIS_SSL_CA_CERTS names a CA file; CERT_OPTIONAL
            // verifies the server certificate against the system roots (RedisTLSConfig in internal/types/app/config.go).
            REDIS_SSL_CERT_REQS: "CERT_OPTIONAL",
            // Installed plugins live in S3 through the task role, so a new task (or a replaced one) finds them again.
            PLUGIN_STORAGE_TYPE: "aws_s3",
            PLUGIN_STORAGE_OSS_BUCKET: i.bucket.name,
            // S3_USE_AWS=false would build a static-key client with a custom endpoint and ignore the task role.
            S3_USE_AWS: "true",
            S3_USE_AWS_MANAGED_IAM: "true",
            S3_USE_PATH_STYLE: "false",
            AWS_REGION: i.region,
            PLUGIN_INSTALLED_PATH: "plugin",
            PLUGIN_PACKAGE_CACHE_PATH: "plugin_packages",
            PLUGIN_MEDIA_CACHE_PATH: "assets",
            PLUGIN_WORKING_PATH,
            MAX_PLUGIN_PACKAGE_SIZE: "52428800",
            // With auto-detection on (the daemon's default, internal/types/app/config.go), the daemon probes
            // mirrors.aliyun.com and pypi.tuna.tsinghua.edu.cn at start and moves every plugin install to whichever
            // answers 10 % faster than pypi.org (cmd/server/main.go): installs must not switch index silently.
            PIP_MIRROR_AUTO_DETECT: "false",
            ...(i.pipMirrorUrl ? { PIP_MIRROR_URL: i.pipMirrorUrl } : {}),
            PYTHON_ENV_INIT_TIMEOUT: "120",
            PLUGIN_MAX_EXECUTION_TIMEOUT: "600",
            FORCE_VERIFYING_SIGNATURE: "true",
            // Remote plugin debugging is a raw TCP port (5003) that the ALB does not carry.
            PLUGIN_REMOTE_INSTALLING_ENABLED: "false",
        },
        secrets: {
            // The same values the api holds as PLUGIN_DAEMON_KEY and INNER_API_KEY_FOR_PLUGIN.
            SERVER_KEY: secretValueFrom(i.innerKeys.PLUGIN_DAEMON_KEY),
            DIFY_INNER_API_KEY: secretValueFrom(i.innerKeys.INNER_API_KEY_FOR_PLUGIN),
            DB_USERNAME: secretValueFrom(i.database.username),
            DB_PASSWORD: secretValueFrom(i.database.password),
            REDIS_PASSWORD: secretValueFrom(i.cache.authToken),
        },
    };
}

/** dify-sandbox: code nodes; its network goes through the SSRF proxy. */
export function sandboxEnvironment(i: Pick<EnvironmentInputs, "innerKeys" | "pipMirrorUrl">): ContainerEnvironment {
    return {
        environment: {
            SANDBOX_PORT: String(INTERNAL.sandbox.port),
            GIN_MODE: "release",
            WORKER_TIMEOUT: "15",
            ENABLE_NETWORK: "true",
            HTTP_PROXY: INTERNAL_URL.ssrfProxy,
            HTTPS_PROXY: INTERNAL_URL.ssrfProxy,
            // The index code nodes' Python dependencies are installed from.
            ...(i.pipMirrorUrl ? { PIP_MIRROR_URL: i.pipMirrorUrl } : {}),
        },
        secrets: {
            // The api's CODE_EXECUTION_API_KEY.
            API_KEY: secretValueFrom(i.innerKeys.CODE_EXECUTION_API_KEY),
        },
    };
}

/** The squid SSRF proxy: only its configuration, as a value the container command writes to squid.conf. */
export function ssrfProxyEnvironment(conf: pulumi.Input<string>): ContainerEnvironment {
    return { environment: { SQUID_CONF: conf }, secrets: {} };
}

/** Config-supplied extras merged over the defaults (names are validated by the loader). */
export function withExtras(
    base: ContainerEnvironment,
    extraEnvironment: Record<string, string> | undefined,
    extraSecrets: { name: string; valueFrom: string }[] | undefined,
): ContainerEnvironment {
    const secrets = { ...base.secrets };
    for (const s of extraSecrets ?? []) {
        secrets[s.name] = s.valueFrom;
    }
    const environment = { ...base.environment, ...(extraEnvironment ?? {}) };
    for (const name of Object.keys(secrets)) {
        delete environment[name];
    }
    return { environment, secrets };
}

/** ECS container-definition lists, sorted by name so the task definition does not churn. */
export function toEcs(env: ContainerEnvironment): {
    environment: pulumi.Output<{ name: string; value: string }[]>;
    secrets: pulumi.Output<{ name: string; valueFrom: string }[]>;
} {
    const sorted = <T>(rec: Record<string, pulumi.Input<string>>, key: "value" | "valueFrom") =>
        pulumi.all(Object.keys(rec).sort().map((name) => pulumi.output(rec[name]).apply((v) => ({ name, [key]: v }) as unknown as T)));
    return {
        environment: sorted<{ name: string; value: string }>(env.environment, "value"),
        secrets: sorted<{ name: string; valueFrom: string }>(env.secrets, "valueFrom"),
    };
}
