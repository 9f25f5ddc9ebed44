/**
 * Each Dify role's container environment: plain values, and secrets as ECS references. This file is the index; each
 * image's variables live beside it (api.ts for every dify-api MODE, web.ts, pluginDaemon.ts, sandbox.ts with the SSRF
 * proxies, agent.ts), with what they share in shared.ts.
 */
export * from "./shared";
export { apiEnvironment } from "./api";
export type { ApiMode } from "./api";
export { webEnvironment } from "./web";
export { pluginDaemonEnvironment } from "./pluginDaemon";
export { sandboxEnvironment, ssrfProxyEnvironment } from "./sandbox";
export { AGENT_PROXY_PASSAGES, AGENT_SANDBOX_PATHS, agentBackendEnvironment, agentSandboxEnvironment } from "./agent";
export { WEBSOCKET_WORKER } from "./api";
