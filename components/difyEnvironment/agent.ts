/** Agent v2: the agent backend and its local sandbox (compose services agent_backend and local_sandbox). */
import { upstreamValues } from "../../config/upstream/parity";
import { secretValueFrom } from "../contracts";
import type { InternalPassage } from "../ssrfProxyConfig";
import { ContainerEnvironment, EnvironmentInputs, INTERNAL, INTERNAL_URL } from "./shared";

/** The agent backend's stub, which agent shells call back (through their proxy) for files and tools. */
export const AGENT_STUB_PATH = "/agent-stub";

/**
 * The agent backend (dify-agent, FastAPI on 5050), with compose's values: Redis DB 2 (a rediss:// URL with the AUTH
 * token, so a secret), the plugin daemon and the inner API by Service Connect name, the local sandbox as its runtime.
 * The endpoint and token are set under both their current names and the names the 1.16 image reads
 * (DIFY_AGENT_SHELLCTL_*): an image that knows only one of them silently drops the other (langgenius/dify#40502).
 */
export function agentBackendEnvironment(i: Pick<EnvironmentInputs, "innerKeys" | "cache" | "release">): ContainerEnvironment {
    const sandboxToken = secretValueFrom(i.innerKeys.AGENT_LOCAL_SANDBOX_AUTH_TOKEN);
    return {
        environment: {
            // Upstream's key prefix, grace, retention, run timeout and runtime (TAKEN_FROM_UPSTREAM).
            ...upstreamValues(i.release, "agentBackend"),
            DIFY_AGENT_PLUGIN_DAEMON_URL: INTERNAL_URL.pluginDaemon,
            DIFY_AGENT_INNER_API_URL: INTERNAL_URL.api,
            // The local sandbox service is the agents' runtime, whatever a release defaults to (E2B is a cloud).
            DIFY_AGENT_RUNTIME_BACKEND: "local",
            DIFY_AGENT_LOCAL_SANDBOX_ENDPOINT: INTERNAL_URL.agentSandbox,
            DIFY_AGENT_SHELLCTL_ENTRYPOINT: INTERNAL_URL.agentSandbox,
            // Where agent shells reach the backend and the api: through their proxy, which admits exactly these two
            // (squid-agent.conf; see ssrfProxyConfig.ts).
            DIFY_AGENT_STUB_API_BASE_URL: `${INTERNAL_URL.agentBackend}${AGENT_STUB_PATH}`,
            DIFY_AGENT_SANDBOX_FILES_BASE_URL: INTERNAL_URL.api,
        },
        secrets: {
            DIFY_AGENT_REDIS_URL: secretValueFrom(i.cache.agentRedisUrl),
            // The same values the api holds as PLUGIN_DAEMON_KEY and INNER_API_KEY_FOR_PLUGIN (dify-docs: must match
            // INNER_API_KEY_FOR_PLUGIN, not INNER_API_KEY).
            DIFY_AGENT_PLUGIN_DAEMON_API_KEY: secretValueFrom(i.innerKeys.PLUGIN_DAEMON_KEY),
            DIFY_AGENT_INNER_API_KEY: secretValueFrom(i.innerKeys.INNER_API_KEY_FOR_PLUGIN),
            DIFY_AGENT_LOCAL_SANDBOX_AUTH_TOKEN: sandboxToken,
            DIFY_AGENT_SHELLCTL_AUTH_TOKEN: sandboxToken,
            DIFY_AGENT_SERVER_SECRET_KEY: secretValueFrom(i.innerKeys.AGENT_SERVER_SECRET_KEY),
            // The api's AGENT_BACKEND_API_TOKEN: without it every control-plane route is open to the VPC.
            DIFY_AGENT_API_TOKEN: secretValueFrom(i.innerKeys.AGENT_BACKEND_API_TOKEN),
        },
    };
}

/**
 * The agent sandbox's proxy lets agent shells call back into Dify, and nothing else inside the VPC: the agent stub of
 * the backend and signed file URLs of the api (upstream's squid-agent.conf.template: `allow dst_agent_backend
 * path_agent_stub`, `allow dst_dify_api path_files`, then `deny to_private_networks`). Both names resolve to Service
 * Connect's loopback listeners, so they must be allowed before the denies.
 */
export const AGENT_PROXY_PASSAGES: readonly InternalPassage[] = [
    { host: INTERNAL.agentBackend.dns, pathPrefix: `${AGENT_STUB_PATH}/` },
    { host: INTERNAL.api.dns, pathPrefix: "/files/" },
];

/** Where the agent sandbox keeps agents' homes and workspaces (the backend's profile defaults); EFS is mounted there. */
export const AGENT_SANDBOX_PATHS = { home: "/home/dify", workspace: "/workspace" } as const;

/**
 * The agent local sandbox (shellctl on 5004). Its shells reach the internet, the agent stub and signed file URLs only
 * through its own SSRF proxy (HTTP_PROXY/HTTPS_PROXY, as compose sets them); the token is required of every /v1 call.
 */
export function agentSandboxEnvironment(i: Pick<EnvironmentInputs, "innerKeys" | "release">): ContainerEnvironment {
    const proxy = INTERNAL_URL.agentSsrfProxy;
    return {
        environment: { ...upstreamValues(i.release, "agentSandbox"), HTTP_PROXY: proxy, HTTPS_PROXY: proxy },
        secrets: { SHELLCTL_AUTH_TOKEN: secretValueFrom(i.innerKeys.AGENT_LOCAL_SANDBOX_AUTH_TOKEN) },
    };
}
