import * as pulumi from "@pulumi/pulumi";
import { apiOverflowFor } from "../../config/capacity";
import { upstreamValues } from "../../config/upstream/parity";
import { secretValueFrom } from "../contracts";
import { applicationNameOf, ContainerEnvironment, DB_POOL_RECYCLE_SECONDS, DB_SESSION, dbExtras, EnvironmentInputs, INTERNAL_URL, str } from "./shared";

/**
 * What a dify-api container runs: a MODE of the image's entrypoint (api, worker, beat, migration), or `websocket`, the
 * collaboration server (compose's api_websocket: MODE=api with the gevent-websocket worker).
 */
export type ApiMode = "api" | "worker" | "beat" | "migration" | "websocket";

/**
 * Compose's api_websocket worker (API_WEBSOCKET_WORKER_CLASS, _AMOUNT, _CONNECTIONS): one process, so every
 * collaborator of a workflow meets in its memory (Socket.IO keeps rooms per process), with a greenlet per socket.
 */
/** gunicorn's graceful timeout for the api, in seconds: under the api's ECS stopTimeout (120 s), so SIGKILL never comes first. */
export const API_GRACEFUL_TIMEOUT_SECONDS = 110;

/** The compose service each mode stands for, whose upstream values it starts from. */
const COMPOSE_SERVICE_OF_MODE: Record<ApiMode, string> = { api: "api", migration: "api", worker: "worker", beat: "worker_beat", websocket: "api_websocket" };

export const WEBSOCKET_WORKER = { class: "geventwebsocket.gunicorn.workers.GeventWebSocketWorker", amount: 1, connections: 1000 } as const;

/**
 * dify-api in any mode. Set explicitly because the image defaults are not the compose defaults (dify-on-ecs.md §6.19):
 * PGVECTOR_PORT would be 5433, STORAGE_TYPE opendal, no SSRF proxy, localhost URLs.
 */
export function apiEnvironment(mode: ApiMode, i: EnvironmentInputs): ContainerEnvironment {
    const url = i.publicUrl;
    const env: Record<string, pulumi.Input<string>> = {
        // Upstream's tuning for this mode's compose service, as the release sets it; everything below overrides it.
        ...upstreamValues(i.release, "api", COMPOSE_SERVICE_OF_MODE[mode]),
        MODE: mode === "websocket" ? "api" : mode,
        // Migrations run only in the gated one-off task; a service that migrated on start would race it for the lock
        // and serve on the old schema when it lost (dify-on-ecs.md §6.7).
        MIGRATION_ENABLED: mode === "migration" ? "true" : "false",
        DEPLOY_ENV: "PRODUCTION",
        // How long an app run may take; the ALB's idle timeout covers it (config/index.ts).
        APP_MAX_EXECUTION_TIME: String(i.appMaxExecutionTimeSeconds),
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
        // Only the console's own origin calls the console API with credentials; upstream's "*" is for a laptop.
        CONSOLE_CORS_ALLOW_ORIGINS: url,
        // The ALB terminates TLS and is the only way in; honour its X-Forwarded-Proto/Host so generated URLs are https.
        RESPECT_XFORWARD_HEADERS_ENABLED: "true",
        // Database (Aurora forces TLS; pre-ping survives Serverless v2 idle-session timeouts and failovers).
        DB_TYPE: "postgresql",
        DB_HOST: i.database.host,
        DB_PORT: str(i.database.port),
        DB_DATABASE: i.database.databaseName,
        // TLS, and sessions that fail fast when the writer is gone (shared.ts DB_SESSION).
        DB_EXTRAS: dbExtras(applicationNameOf(mode)),
        // The pgvector pool (psycopg2 SimpleConnectionPool) reads no DB_EXTRAS, only libpq's environment.
        PGSSLMODE: "require",
        PGCONNECT_TIMEOUT: String(DB_SESSION.connectTimeoutSeconds),
        SQLALCHEMY_POOL_PRE_PING: "true",
        // Upstream recycles a pooled connection after an hour. After an Aurora failover a connection that was opened
        // to the old writer's address keeps failing writes (read-only) until it is recycled: 90 s bounds that, at the
        // cost of one reconnect per pooled connection every 90 s.
        SQLALCHEMY_POOL_RECYCLE: String(DB_POOL_RECYCLE_SECONDS),
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
        CODE_EXECUTION_ENDPOINT: INTERNAL_URL.sandbox,
        // User-driven HTTP (HTTP nodes, tools) leaves through the SSRF proxy; the image default is direct egress.
        SSRF_PROXY_HTTP_URL: INTERNAL_URL.ssrfProxy,
        SSRF_PROXY_HTTPS_URL: INTERNAL_URL.ssrfProxy,
        // Workflow co-editing: the console connects to the websocket service (on /socket.io) only when it runs.
        ENABLE_COLLABORATION_MODE: String(i.features.collaboration),
    };
    if (mode === "websocket") {
        env.GUNICORN_TIMEOUT = "360";
        env.SERVER_WORKER_CLASS = WEBSOCKET_WORKER.class;
        env.SERVER_WORKER_AMOUNT = String(WEBSOCKET_WORKER.amount);
        env.SERVER_WORKER_CONNECTIONS = String(WEBSOCKET_WORKER.connections);
    }
    if (mode === "api") {
        // SSE answers stream for minutes; gunicorn must not kill the worker first (compose uses 360 s).
        env.GUNICORN_TIMEOUT = "360";
        // The entrypoint's fallbacks are 1 worker of 10 connections: 10 concurrent requests per task, health checks
        // included. gevent is what Dify patches psycopg and gRPC for (gunicorn.conf.py), and what the sizes assume.
        env.SERVER_WORKER_CLASS = "gevent";
        env.SERVER_WORKER_AMOUNT = String(i.processes.api.workers);
        env.SERVER_WORKER_CONNECTIONS = String(i.processes.api.connectionsPerWorker);
        // gunicorn's graceful timeout (30 s by default, not set by Dify's entrypoint) is how long a stopping worker
        // lets its open requests finish after SIGTERM; ECS sends SIGTERM once the ALB's deregistration delay is over and
        // SIGKILL stopTimeout (120 s) later. Streams thus drain for the whole delay and then up to this long.
        env.GUNICORN_CMD_ARGS = `--graceful-timeout ${API_GRACEFUL_TIMEOUT_SECONDS}`;
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
    if (i.features.agentV2) {
        // Agent v2: api and worker drive agent runs on the backend, authenticated by this bearer token (compose gives
        // both DIFY_AGENT_API_TOKEN); its stream and reconnect settings are upstream's (TAKEN_FROM_UPSTREAM).
        env.AGENT_BACKEND_BASE_URL = INTERNAL_URL.agentBackend;
        secrets.AGENT_BACKEND_API_TOKEN = secretValueFrom(i.innerKeys.AGENT_BACKEND_API_TOKEN);
    }
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

