/** What every environment builder shares: the roles' internal addresses, the inputs, and the ECS shapes. */
import * as pulumi from "@pulumi/pulumi";
import type { ProcessSettings } from "../../config/capacity";
import type { SmtpSettings } from "../../config/cluster";
import type { DifyFeature } from "../../config/roles";
import type { UpstreamRelease } from "../../config/upstream/types";
import type { CacheConnection, DatabaseConnection, FileBucket, SecretRef } from "../contracts";
import { SSRF_PROXY_PORT } from "../ssrfProxyConfig";

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
    // Compose's api_websocket listens where api does (DIFY_PORT 5001); only the ALB calls it.
    apiWebsocket: { port: 5001 },
    agentBackend: { dns: "agent-backend", port: 5050 },
    agentSandbox: { dns: "agent-sandbox", port: 5004 },
    agentSsrfProxy: { dns: "agent-ssrf-proxy", port: SSRF_PROXY_PORT },
} as const;

const url = (x: { dns: string; port: number }) => `http://${x.dns}:${x.port}`;
export const INTERNAL_URL = {
    api: url(INTERNAL.api),
    pluginDaemon: url(INTERNAL.pluginDaemon),
    sandbox: url(INTERNAL.sandbox),
    ssrfProxy: url(INTERNAL.ssrfProxy),
    agentBackend: url(INTERNAL.agentBackend),
    agentSandbox: url(INTERNAL.agentSandbox),
    agentSsrfProxy: url(INTERNAL.agentSsrfProxy),
} as const;

/**
 * Dify's inner keys, generated per stack; the JSON keys of the inner-keys secret. The agent's three: the bearer token
 * api presents to the agent backend (AGENT_BACKEND_API_TOKEN = DIFY_AGENT_API_TOKEN), the one the backend presents to
 * the local sandbox (DIFY_AGENT_LOCAL_SANDBOX_AUTH_TOKEN = SHELLCTL_AUTH_TOKEN), and the backend's own key for the agent
 * stub's tokens (DIFY_AGENT_SERVER_SECRET_KEY: unpadded base64url of exactly 32 bytes).
 */
export const INNER_KEY_NAMES = [
    "SECRET_KEY",
    "PLUGIN_DAEMON_KEY",
    "INNER_API_KEY_FOR_PLUGIN",
    "CODE_EXECUTION_API_KEY",
    "AGENT_BACKEND_API_TOKEN",
    "AGENT_LOCAL_SANDBOX_AUTH_TOKEN",
    "AGENT_SERVER_SECRET_KEY",
] as const;
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
    /** Seconds an app run may take (APP_MAX_EXECUTION_TIME). */
    appMaxExecutionTimeSeconds: number;
    /** The Dify features that are on: Agent v2 (the agent backend is deployed) and collaboration mode (the websocket). */
    features: Record<DifyFeature, boolean>;
    /** The deployed release's parity table: upstream's values the roles take as they are (config/upstream/parity.ts). */
    release: UpstreamRelease;
}

/** The origin browsers open the collaboration websocket on: the public URL with ws(s) for http(s). */
export function socketOrigin(publicUrl: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.output(publicUrl).apply((u) => u.replace(/^http/, "ws"));
}

/**
 * Where the daemon keeps each plugin's directory, virtual environment and uv's cache (compose's value; the daemon has
 * no default and refuses to start without it on the local platform).
 */
export const PLUGIN_WORKING_PATH = "/app/storage/cwd";

/**
 * How every Dify database session fails fast instead of waiting for the kernel (about 15 minutes of retransmissions)
 * when its server vanishes, as in an AZ loss or an Aurora failover. libpq connection keywords
 * (https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-PARAMKEYWORDS); AWS's "Fast failover with Amazon
 * Aurora PostgreSQL" asks for short connect timeouts and aggressive keepalives.
 */
export const DB_SESSION = {
    /** Seconds to wait for a new connection (connect_timeout; PGCONNECT_TIMEOUT for pools that read no extras). */
    connectTimeoutSeconds: 5,
    /** Idle seconds before the first keepalive probe, seconds between probes, and unanswered probes before the session is dead: 60 s. */
    keepalives: { idle: 30, interval: 10, count: 3 },
    /** Milliseconds sent data may stay unacknowledged before the connection is dropped (tcp_user_timeout). */
    tcpUserTimeoutMs: 30_000,
} as const;

/**
 * dify-api's DB_EXTRAS: Dify appends it to the SQLAlchemy URL as its query string (api/configs/middleware/__init__.py;
 * its own description's example is `keepalives_idle=60&keepalives=1`), and psycopg hands every item to libpq. The
 * application name tells the sessions of each mode apart in pg_stat_activity, which is how a timed-out migration's
 * session is found and ended (components/migrationGate.ts).
 */
/** The application_name each dify-api mode's sessions carry, e.g. dify-migration. */
export function applicationNameOf(mode: string): string {
    return `dify-${mode}`;
}

export function dbExtras(applicationName: string): string {
    const k = DB_SESSION.keepalives;
    return [
        "sslmode=require",
        `connect_timeout=${DB_SESSION.connectTimeoutSeconds}`,
        "keepalives=1",
        `keepalives_idle=${k.idle}`,
        `keepalives_interval=${k.interval}`,
        `keepalives_count=${k.count}`,
        `tcp_user_timeout=${DB_SESSION.tcpUserTimeoutMs}`,
        `application_name=${applicationName}`,
    ].join("&");
}

/** How long a pooled database connection lives, in seconds (SQLALCHEMY_POOL_RECYCLE, the daemon's DB_CONN_MAX_LIFETIME). */
export const DB_POOL_RECYCLE_SECONDS = 90;

export const str = (n: number | pulumi.Output<number>): pulumi.Input<string> => (typeof n === "number" ? String(n) : n.apply(String));

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
