/**
 * Every flow Dify needs, and every flow that must never exist, as data: who talks to whom, how, and why.
 * test/reachability.test.ts walks what the program registers (security group rules, listener rules, the WAF's rules,
 * the squid proxies' generated ACLs, whether the VPC has NAT) and proves each row on dev, prd and the variants below.
 *
 * How a flow travels:
 * - `alb`: a client on the internet asks the ALB for a path (security group, WAF, listener rules, target group);
 * - `direct`: a task opens a TCP connection itself (its security group's egress, the callee's ingress, and for an
 *   internet address a route through NAT);
 * - `proxy`: a task's HTTP request through its SSRF proxy (the task to the proxy, then squid's http_access rules).
 */
import type { DifyRole } from "./roles";

/** The variants each row is proved on (test/reachability.test.ts builds them). */
export const VARIANTS = ["dev", "prd", "mail", "splitExposure", "closedNetwork", "modelServer"] as const;
export type Variant = (typeof VARIANTS)[number];

/** Who a client is, by the address it comes from. */
export type Client = "allowListed" | "machineCaller" | "stranger";

/** A party inside the stack that is not a role's task. */
export type StackService = "database" | "cache" | "pluginWorkspace" | "agentWorkspace" | "vpcEndpoints" | "alb";

/** Where a flow goes. `internet` is a public address (with the host name a request names); `vpc` any VPC address. */
export type Destination =
    | { role: DifyRole }
    | { service: StackService }
    | { internet: { ip: string; host?: string } }
    | { address: "linkLocal" | "vpc" | "loopback"; ip: string }
    /** An address in a model server's network (modelEndpointEgress), outside the VPC. */
    | { peered: { ip: string } };

export type Flow =
    | { id: string; how: "alb"; from: Client; path: string; to: DifyRole | "refused"; why: string; in?: readonly Variant[] }
    | {
          id: string;
          how: "direct" | "proxy";
          from: DifyRole;
          to: Destination;
          port: number;
          /** For `proxy`: the request's method and path. */
          request?: { method?: string; path?: string };
          expect: "allow" | "deny";
          why: string;
          /** Only on these variants (default: every variant where both ends exist). */
          in?: readonly Variant[];
          /**
           * Where the expectation flips, and why it is accepted: `imagesFromDockerHub` — the stack pulls images from
           * Docker Hub through the task's own network interface, which needs 443 to the internet from the task.
           */
          except?: { when: "imagesFromDockerHub"; why: string };
      };

/** A public address (TEST-NET-3 is the allow-list placeholder; this is outside every list the stacks use). */
const PUBLIC = { ip: "198.18.0.10", host: "api.example.com" };
const PULL_CARVE_OUT = {
    when: "imagesFromDockerHub" as const,
    why: "Fargate pulls images and fetches secrets through the task's own network interface: without an ECR pull-through cache (dockerHubPullThroughCache) and the interface endpoints, the task needs 443 to the internet, and code in it can use that too (components/difyCluster/network.ts)",
};

export const FLOWS: readonly Flow[] = [
    // --- inbound: people and machines to Dify, through the ALB -------------------------------------------------------
    { id: "browser-to-console", how: "alb", from: "allowListed", path: "/apps", to: "web", why: "the console and web UI pages" },
    { id: "browser-to-console-api", how: "alb", from: "allowListed", path: "/console/api/apps", to: "api", why: "the console's XHR API" },
    { id: "browser-to-collaboration", how: "alb", from: "allowListed", path: "/socket.io/", to: "apiWebsocket", why: "workflow co-editing (Socket.IO)" },
    { id: "web-app-to-api", how: "alb", from: "allowListed", path: "/api/chat-messages", to: "api", why: "published web apps' API" },
    { id: "client-to-service-api", how: "alb", from: "allowListed", path: "/v1/chat-messages", to: "api", why: "the service API for API-key clients" },
    { id: "client-to-openapi", how: "alb", from: "allowListed", path: "/openapi/v1/apps", to: "api", why: "the user-scoped bearer API" },
    { id: "client-to-files", how: "alb", from: "allowListed", path: "/files/0f0e/file-preview", to: "api", why: "signed file URLs" },
    { id: "client-to-mcp", how: "alb", from: "allowListed", path: "/mcp/server/abc/mcp", to: "api", why: "Dify apps served as MCP servers" },
    { id: "webhook-to-triggers", how: "alb", from: "allowListed", path: "/triggers/webhook/abc", to: "api", why: "webhook triggers" },
    { id: "caller-to-plugin-endpoint", how: "alb", from: "allowListed", path: "/e/abc/hook", to: "pluginDaemon", why: "plugin endpoints" },
    { id: "stranger-to-console", how: "alb", from: "stranger", path: "/apps", to: "refused", why: "only the allow-list reaches the console" },
    { id: "stranger-to-service-api", how: "alb", from: "stranger", path: "/v1/chat-messages", to: "refused", why: "without split exposure, the machine paths are the allow-list's too" },
    // Split exposure: a machine path caller outside the allow-list reaches the machine paths, and only them.
    { id: "machine-caller-to-service-api", how: "alb", from: "machineCaller", path: "/v1/chat-messages", to: "api", why: "API clients from albMachinePathCidrs", in: ["splitExposure"] },
    { id: "machine-caller-to-triggers", how: "alb", from: "machineCaller", path: "/triggers/webhook/abc", to: "api", why: "webhook senders from albMachinePathCidrs", in: ["splitExposure"] },
    { id: "machine-caller-to-plugin-endpoint", how: "alb", from: "machineCaller", path: "/e/abc/hook", to: "pluginDaemon", why: "plugin endpoint callers from albMachinePathCidrs", in: ["splitExposure"] },
    { id: "machine-caller-to-web-app-api", how: "alb", from: "machineCaller", path: "/api/chat-messages", to: "api", why: "published web apps' API from albMachinePathCidrs", in: ["splitExposure"] },
    { id: "machine-caller-to-console", how: "alb", from: "machineCaller", path: "/apps", to: "refused", why: "split exposure opens the machine paths only", in: ["splitExposure"] },
    { id: "machine-caller-to-console-api", how: "alb", from: "machineCaller", path: "/console/api/apps", to: "refused", why: "the console's API stays behind the allow-list", in: ["splitExposure"] },

    // --- between roles, and to the data tier ----------------------------------------------------------------------
    { id: "api-to-plugin-daemon", how: "direct", from: "api", to: { role: "pluginDaemon" }, port: 5002, expect: "allow", why: "plugin calls" },
    { id: "worker-to-plugin-daemon", how: "direct", from: "worker", to: { role: "pluginDaemon" }, port: 5002, expect: "allow", why: "plugin calls from workflows" },
    { id: "plugin-daemon-to-api", how: "direct", from: "pluginDaemon", to: { role: "api" }, port: 5001, expect: "allow", why: "the inner API and file fetches" },
    { id: "api-to-sandbox", how: "direct", from: "api", to: { role: "sandbox" }, port: 8194, expect: "allow", why: "code nodes" },
    { id: "worker-to-sandbox", how: "direct", from: "worker", to: { role: "sandbox" }, port: 8194, expect: "allow", why: "code nodes in workflows" },
    { id: "api-to-agent-backend", how: "direct", from: "api", to: { role: "agentBackend" }, port: 5050, expect: "allow", why: "Agent v2 runs" },
    { id: "agent-backend-to-agent-sandbox", how: "direct", from: "agentBackend", to: { role: "agentSandbox" }, port: 5004, expect: "allow", why: "agent shells" },
    { id: "agent-backend-to-plugin-daemon", how: "direct", from: "agentBackend", to: { role: "pluginDaemon" }, port: 5002, expect: "allow", why: "models and tools for agents" },
    { id: "api-to-database", how: "direct", from: "api", to: { service: "database" }, port: 5432, expect: "allow", why: "Dify's data" },
    { id: "worker-to-database", how: "direct", from: "worker", to: { service: "database" }, port: 5432, expect: "allow", why: "Dify's data" },
    { id: "beat-to-cache", how: "direct", from: "beat", to: { service: "cache" }, port: 6379, expect: "allow", why: "the Celery broker" },
    { id: "plugin-daemon-to-database", how: "direct", from: "pluginDaemon", to: { service: "database" }, port: 5432, expect: "allow", why: "the daemon's own database" },
    { id: "agent-backend-to-cache", how: "direct", from: "agentBackend", to: { service: "cache" }, port: 6379, expect: "allow", why: "agent run state (DB 2)" },
    { id: "plugin-daemon-to-workspace", how: "direct", from: "pluginDaemon", to: { service: "pluginWorkspace" }, port: 2049, expect: "allow", why: "the shared working path (NFS)" },
    { id: "agent-sandbox-to-workspace", how: "direct", from: "agentSandbox", to: { service: "agentWorkspace" }, port: 2049, expect: "allow", why: "agents' homes and workspaces (NFS)" },

    // --- outbound ----------------------------------------------------------------------------------------------------
    { id: "plugin-daemon-to-marketplace", how: "direct", from: "pluginDaemon", to: { internet: { ip: "198.18.0.20", host: "marketplace.dify.ai" } }, port: 443, expect: "allow", why: "plugin installs, PyPI and model providers", in: ["dev", "prd", "mail", "splitExposure", "modelServer"] },
    { id: "api-to-aws-apis", how: "direct", from: "api", to: { internet: { ip: "198.18.0.30", host: "bedrock-runtime.ap-northeast-1.amazonaws.com" } }, port: 443, expect: "allow", why: "S3 (through the gateway endpoint), Bedrock and other AWS APIs", in: ["dev", "prd", "mail", "splitExposure", "modelServer"] },
    { id: "worker-to-smtp", how: "direct", from: "worker", to: { internet: { ip: "198.18.0.40", host: "smtp.example.com" } }, port: 587, expect: "allow", why: "mail (invitations, password resets)", in: ["mail"] },
    { id: "api-to-smtp", how: "direct", from: "api", to: { internet: { ip: "198.18.0.40", host: "smtp.example.com" } }, port: 587, expect: "allow", why: "mail sent synchronously by the api", in: ["mail"] },
    { id: "worker-to-ses-endpoint", how: "direct", from: "worker", to: { service: "vpcEndpoints" }, port: 587, expect: "allow", why: "mail through SES's SMTP endpoint, without NAT", in: ["closedNetwork"] },
    { id: "worker-to-smtp-without-mail", how: "direct", from: "worker", to: { internet: { ip: "198.18.0.40" } }, port: 587, expect: "deny", why: "no SMTP port is open while mail is off", in: ["dev", "prd"] },
    { id: "plugin-daemon-to-model-server", how: "direct", from: "pluginDaemon", to: { peered: { ip: "10.20.1.5" } }, port: 11434, expect: "allow", why: "a self-hosted Ollama in a peered VPC (modelEndpointEgress)", in: ["modelServer"] },
    { id: "plugin-daemon-to-other-port", how: "direct", from: "pluginDaemon", to: { peered: { ip: "10.20.1.5" } }, port: 11434, expect: "deny", why: "no model server port is open unless configured", in: ["dev", "prd"] },
    { id: "closed-network-has-no-internet", how: "direct", from: "pluginDaemon", to: { internet: { ip: "198.18.0.20" } }, port: 443, expect: "deny", why: "without NAT nothing leaves the VPC", in: ["closedNetwork"] },
    { id: "sandbox-to-internet-through-proxy", how: "proxy", from: "sandbox", to: { internet: PUBLIC }, port: 443, request: { method: "CONNECT" }, expect: "allow", why: "code nodes' HTTP requests", in: ["dev", "prd", "mail", "splitExposure", "modelServer"] },
    { id: "api-http-node-through-proxy", how: "proxy", from: "api", to: { internet: PUBLIC }, port: 80, request: { method: "GET", path: "/" }, expect: "allow", why: "HTTP nodes and tools", in: ["dev", "prd", "mail", "splitExposure", "modelServer"] },
    { id: "agent-shell-to-internet-through-proxy", how: "proxy", from: "agentSandbox", to: { internet: PUBLIC }, port: 443, request: { method: "CONNECT" }, expect: "allow", why: "agent shells' downloads", in: ["dev", "prd", "mail", "splitExposure", "modelServer"] },
    { id: "agent-shell-to-files", how: "proxy", from: "agentSandbox", to: { role: "api" }, port: 5001, request: { method: "GET", path: "/files/abc/file-preview" }, expect: "allow", why: "signed file URLs (upstream's squid-agent.conf)" },
    { id: "agent-shell-to-agent-stub", how: "proxy", from: "agentSandbox", to: { role: "agentBackend" }, port: 5050, request: { method: "POST", path: "/agent-stub/tools" }, expect: "allow", why: "the agent stub (upstream's squid-agent.conf)" },

    // --- never -------------------------------------------------------------------------------------------------------
    { id: "sandbox-to-database", how: "direct", from: "sandbox", to: { service: "database" }, port: 5432, expect: "deny", why: "users' code never reaches the data tier" },
    { id: "sandbox-to-cache", how: "direct", from: "sandbox", to: { service: "cache" }, port: 6379, expect: "deny", why: "users' code never reaches the data tier" },
    { id: "sandbox-to-api", how: "direct", from: "sandbox", to: { role: "api" }, port: 5001, expect: "deny", why: "users' code never calls Dify's inner API" },
    { id: "sandbox-direct-to-internet", how: "direct", from: "sandbox", to: { internet: PUBLIC }, port: 443, expect: "deny", why: "users' code leaves only through the SSRF proxy", except: PULL_CARVE_OUT },
    { id: "sandbox-proxy-to-vpc", how: "proxy", from: "sandbox", to: { address: "vpc", ip: "10.0.1.10" }, port: 5432, request: { method: "CONNECT" }, expect: "deny", why: "the proxy denies the VPC and private ranges" },
    { id: "sandbox-proxy-to-metadata", how: "proxy", from: "sandbox", to: { address: "linkLocal", ip: "169.254.169.254" }, port: 80, request: { method: "GET", path: "/latest/meta-data/" }, expect: "deny", why: "the proxy denies instance metadata and link-local" },
    { id: "sandbox-proxy-to-task-credentials", how: "proxy", from: "sandbox", to: { address: "linkLocal", ip: "169.254.170.2" }, port: 80, request: { method: "GET", path: "/v2/credentials" }, expect: "deny", why: "the proxy denies the task metadata endpoint" },
    { id: "http-node-proxy-to-api", how: "proxy", from: "api", to: { role: "api" }, port: 5001, request: { method: "GET", path: "/console/api/setup" }, expect: "deny", why: "HTTP nodes cannot call Dify itself (its Service Connect address is loopback)" },
    { id: "agent-sandbox-direct-to-internet", how: "direct", from: "agentSandbox", to: { internet: PUBLIC }, port: 443, expect: "deny", why: "agent shells leave only through their own proxy", except: PULL_CARVE_OUT },
    { id: "agent-sandbox-to-api", how: "direct", from: "agentSandbox", to: { role: "api" }, port: 5001, expect: "deny", why: "agent shells reach Dify only through their proxy's two passages" },
    { id: "agent-sandbox-to-database", how: "direct", from: "agentSandbox", to: { service: "database" }, port: 5432, expect: "deny", why: "agent shells never reach the data tier" },
    { id: "agent-shell-proxy-to-console-api", how: "proxy", from: "agentSandbox", to: { role: "api" }, port: 5001, request: { method: "GET", path: "/console/api/apps" }, expect: "deny", why: "only /files/ of the api passes the agent proxy" },
    { id: "agent-shell-proxy-to-vpc", how: "proxy", from: "agentSandbox", to: { address: "vpc", ip: "10.0.1.10" }, port: 5432, request: { method: "CONNECT" }, expect: "deny", why: "the agent proxy denies the VPC" },
    { id: "web-to-database", how: "direct", from: "web", to: { service: "database" }, port: 5432, expect: "deny", why: "web renders pages; it holds no data" },
    { id: "web-to-cache", how: "direct", from: "web", to: { service: "cache" }, port: 6379, expect: "deny", why: "web holds no data" },
];
