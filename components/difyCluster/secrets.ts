/** The secrets DifyCluster generates or stores itself: Dify's inner keys and, from a stack secret, the SMTP password. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { SecretRef, secretValueFrom } from "../contracts";
import { credentialOptions } from "../credentials";
import { INNER_KEY_NAMES, InnerKeyName } from "../difyEnvironment";
import { after } from "../ordering";
import { ClusterScope } from "./context";

/** Keys that are not 64 alphanumerics: the agent backend requires unpadded base64url of exactly 32 bytes. */
const BASE64URL_32_BYTES: readonly InnerKeyName[] = ["AGENT_SERVER_SECRET_KEY"];

/**
 * Dify's inner keys, generated once per stack and kept in one Secrets Manager secret (a JSON key each). 64
 * alphanumerics are ~381 bits, more than `openssl rand -base64 42` (336 bits) that Dify documents for SECRET_KEY,
 * and need no escaping anywhere. One generator per key, so no two keys are equal. DIFY_AGENT_SERVER_SECRET_KEY must be
 * "strict unpadded base64url text" decoding to exactly 32 bytes (dify-agent's token codec): 32 random bytes encoded
 * so (RandomId's b64Url), not 43 random characters, whose last one need not be a valid final base64 digit.
 */
export function innerKeys(scope: ClusterScope) {
    const { name, parent, args } = scope;
    const values = {} as Record<InnerKeyName, pulumi.Output<string>>;
    for (const key of INNER_KEY_NAMES) {
        const resourceName = `${name}-${key.toLowerCase().replace(/_/g, "-")}`;
        values[key] = BASE64URL_32_BYTES.includes(key)
            ? pulumi.secret(new random.RandomId(resourceName, { byteLength: 32 }, credentialOptions(parent, args.protect, { additionalSecretOutputs: ["b64Url", "b64Std", "hex", "dec", "id"] })).b64Url)
            : new random.RandomPassword(resourceName, { length: 64, special: false }, credentialOptions(parent, args.protect)).result;
    }
    const secret = new aws.secretsmanager.Secret(
        `${name}-inner-keys`,
        {
            namePrefix: `${args.namePrefix}/dify-inner-keys-`,
            description:
                "Dify SECRET_KEY, PLUGIN_DAEMON_KEY (= daemon SERVER_KEY), INNER_API_KEY_FOR_PLUGIN (= daemon DIFY_INNER_API_KEY), CODE_EXECUTION_API_KEY (= sandbox API_KEY), AGENT_BACKEND_API_TOKEN (= DIFY_AGENT_API_TOKEN), AGENT_LOCAL_SANDBOX_AUTH_TOKEN (= SHELLCTL_AUTH_TOKEN), AGENT_SERVER_SECRET_KEY",
            kmsKeyId: args.kmsKeyArn,
        },
        { parent },
    );
    const version = new aws.secretsmanager.SecretVersion(
        `${name}-inner-keys`,
        { secretId: secret.id, secretString: pulumi.secret(pulumi.jsonStringify(values)) },
        { parent },
    );
    // Tasks reference the secret by ARN; the ARN they get resolves once the value is stored (see ordering.ts).
    const secretArn = after(secret.arn, version);
    const refs = Object.fromEntries(INNER_KEY_NAMES.map((k) => [k, { secretArn, jsonKey: k, versionId: version.versionId }])) as Record<InnerKeyName, SecretRef>;
    return { secretArn, refs };
}

/**
 * INIT_PASSWORD: without it, the first visitor of `/install` claims Dify's admin account. Dify caps it at 30
 * characters (InitValidatePayload max_length=30); 30 alphanumerics are ~178 bits. Operators read it from the secret
 * (the stack exports its ARN) for the one-time setup.
 */
export const INIT_PASSWORD_LENGTH = 30;
export function initPassword(scope: ClusterScope): { secretArn: pulumi.Output<string>; ref: SecretRef } {
    const { name, parent, args } = scope;
    const value = new random.RandomPassword(`${name}-init-password`, { length: INIT_PASSWORD_LENGTH, special: false }, credentialOptions(parent, args.protect)).result;
    const secret = new aws.secretsmanager.Secret(
        `${name}-init-password`,
        {
            namePrefix: `${args.namePrefix}/dify-init-password-`,
            description: "Dify INIT_PASSWORD: asked for by /install before the admin account is created",
            kmsKeyId: args.kmsKeyArn,
        },
        { parent },
    );
    const version = new aws.secretsmanager.SecretVersion(`${name}-init-password`, { secretId: secret.id, secretString: value }, { parent });
    const secretArn = after(secret.arn, version);
    return { secretArn, ref: { secretArn, versionId: version.versionId } };
}

/** The SMTP password reference: the user's secret ARN, or a secret this component stores from the stack secret. */
export function smtpPassword(scope: ClusterScope) {
    const { name, parent, args } = scope;
    const s = args.settings;
    if (!s.smtp) {
        return undefined;
    }
    const pw = s.smtp.password;
    if ("secretArn" in pw) {
        const base = pw.secretArn.replace(/:[^:]+::$/, "");
        return { secretArn: pulumi.output(base), valueFrom: pulumi.output(pw.secretArn) };
    }
    const secret = new aws.secretsmanager.Secret(
        `${name}-smtp-password`,
        { namePrefix: `${args.namePrefix}/dify-smtp-password-`, description: "SMTP password for Dify mail (SMTP_PASSWORD)", kmsKeyId: args.kmsKeyArn },
        { parent },
    );
    const version = new aws.secretsmanager.SecretVersion(`${name}-smtp-password`, { secretId: secret.id, secretString: pw.value }, { parent });
    const secretArn = after(secret.arn, version);
    return { secretArn, valueFrom: secretValueFrom({ secretArn, versionId: version.versionId }) };
}
