import * as pulumi from "@pulumi/pulumi";
import { upstreamValues } from "../../config/upstream/parity";
import { ContainerEnvironment, EnvironmentInputs, INTERNAL, INTERNAL_URL, socketOrigin } from "./shared";

/** dify-web (Next.js). Its entrypoint hands NEXT_PUBLIC_* to the browser at start, so they need no rebuild. */
export function webEnvironment(i: Pick<EnvironmentInputs, "publicUrl" | "features" | "release">): ContainerEnvironment {
    const env: Record<string, pulumi.Input<string>> = {
        // Upstream's limits and switches for the UI (TAKEN_FROM_UPSTREAM), overridden below where the stack differs.
        ...upstreamValues(i.release, "web"),
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
        // Agent v2's app type and node: shown only when the agent backend runs (the web code's own default is false).
        NEXT_PUBLIC_ENABLE_AGENT_V2: String(i.features.agentV2),
        // Long generations: the ALB idle timeout, not the browser, should be the limit.
        TEXT_GENERATION_TIMEOUT_MS: "600000",
    };
    if (i.features.collaboration) {
        // Where the console opens its Socket.IO connection (path /socket.io, websocket transport only): the public
        // origin, which the ALB routes to the websocket service. Compose's default ws://localhost works on a laptop only.
        env.NEXT_PUBLIC_SOCKET_URL = socketOrigin(i.publicUrl);
    }
    return { environment: env, secrets: {} };
}
