import * as pulumi from "@pulumi/pulumi";
import { ConfigReader, PROJECT } from "./reader";

/**
 * A value that must have been set with `pulumi config set --secret`. Read as a plain string only to tell "" (the
 * declared default) from a value, then wrapped as a secret at once; a plaintext value in the stack file is refused.
 */
export function optionalStackSecret(r: ConfigReader, key: string): pulumi.Output<string> | undefined {
    const value = r.optionalString(key);
    if (value === undefined) {
        return undefined;
    }
    // `isConfigSecret` is exported by the runtime but not typed; it says whether the engine delivered the key encrypted.
    const runtime = pulumi.runtime as unknown as { isConfigSecret?: (fullKey: string) => boolean };
    if (runtime.isConfigSecret && !runtime.isConfigSecret(`${PROJECT}:${key}`)) {
        r.fail(key, "(plaintext, not shown)", "a value set with `pulumi config set --secret` so it is encrypted in the stack file");
    }
    return pulumi.secret(value);
}

