import * as pulumi from "@pulumi/pulumi";
import { secretValueFrom } from "../contracts";
import { ContainerEnvironment, EnvironmentInputs, INTERNAL, INTERNAL_URL } from "./shared";

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

