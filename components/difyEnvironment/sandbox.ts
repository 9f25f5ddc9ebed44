import * as pulumi from "@pulumi/pulumi";
import { upstreamValues } from "../../config/upstream/parity";
import { secretValueFrom } from "../contracts";
import { ContainerEnvironment, EnvironmentInputs, INTERNAL, INTERNAL_URL } from "./shared";

/** dify-sandbox: code nodes; its network goes through the SSRF proxy. */
export function sandboxEnvironment(i: Pick<EnvironmentInputs, "innerKeys" | "pipMirrorUrl" | "release">): ContainerEnvironment {
    return {
        environment: {
            // Upstream's release mode, per-run time limit and network switch (TAKEN_FROM_UPSTREAM).
            ...upstreamValues(i.release, "sandbox"),
            SANDBOX_PORT: String(INTERNAL.sandbox.port),
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

