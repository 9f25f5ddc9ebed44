import { upstreamValues } from "../../config/upstream/parity";
import { secretValueFrom } from "../contracts";
import { ContainerEnvironment, DB_POOL_RECYCLE_SECONDS, DB_SESSION, EnvironmentInputs, INTERNAL, INTERNAL_URL, PLUGIN_WORKING_PATH, str } from "./shared";

/** dify-plugin-daemon (-local), with the daemon's own variable names (not the compose-side PLUGIN_* aliases). */
export function pluginDaemonEnvironment(i: EnvironmentInputs): ContainerEnvironment {
    return {
        environment: {
            // Upstream's timeouts, buffers and storage layout (TAKEN_FROM_UPSTREAM).
            ...upstreamValues(i.release, "pluginDaemon"),
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
            // SetConnMaxLifetime (default 3600 s): as short as the api's pool recycle, for the same failover reason.
            DB_CONN_MAX_LIFETIME: String(DB_POOL_RECYCLE_SECONDS),
            // The daemon's DB_EXTRAS becomes the server's `options` (internal/db/pg/pg.go buildDSN), so it cannot carry
            // libpq keywords; pgx reads libpq's PGCONNECT_TIMEOUT from the environment for the connect timeout.
            PGCONNECT_TIMEOUT: String(DB_SESSION.connectTimeoutSeconds),
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
            PLUGIN_WORKING_PATH,
            // With auto-detection on (the daemon's default, internal/types/app/config.go), the daemon probes
            // mirrors.aliyun.com and pypi.tuna.tsinghua.edu.cn at start and moves every plugin install to whichever
            // answers 10 % faster than pypi.org (cmd/server/main.go): installs must not switch index silently.
            PIP_MIRROR_AUTO_DETECT: "false",
            ...(i.pipMirrorUrl ? { PIP_MIRROR_URL: i.pipMirrorUrl } : {}),
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

