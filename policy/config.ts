/**
 * The pack's configuration: every key a policy reads, its JSON schema (what `pulumi preview --policy-pack-config`
 * is validated against) and its default. Defaults are the production-safe choice; `config/dev.json` relaxes them.
 *
 * CrossGuard configuration is per policy: a key belongs to the one policy that reads it, and the CLI fills schema
 * defaults only for policies it is given config for. `readConfig` therefore fills defaults itself and checks values,
 * so a policy never runs on a half-read configuration.
 */
import type { PolicyConfigSchema } from "@pulumi/policy";
import { parseCidr } from "../config/cidr";

export interface PackConfig {
    /**
     * CIDRs (IPv4 and IPv6) allowed to reach internet-facing load balancers on 80 and 443: the ALB allow-list of the
     * stack (`dify-aws:albAllowedCidrs`). Default: none, so an unconfigured pack rejects every CIDR on a load balancer.
     */
    allowedIngressCidrs: string[];
    /** ELB security policies an HTTPS listener may use. Default: the TLS 1.3 policies that accept nothing below TLS 1.2. */
    allowedTlsPolicies: string[];
    /** Data, secrets, topics and log groups must be encrypted with customer-managed KMS keys. Default: true. */
    requireCustomerManagedKeys: boolean;
    /** Deletion protection, final snapshots, no forceDestroy and Pulumi `protect` on data. Default: true. */
    requireDeletionProtection: boolean;
    /** Every internet-facing ALB must have a WAF web ACL associated. Default: true. */
    requireWaf: boolean;
}

export type ConfigKey = keyof PackConfig;

/**
 * ELB TLS policies that negotiate TLS 1.3 and, at most, TLS 1.2 with forward-secret AEAD ciphers only (the `Res`
 * policies and the TLS 1.3-only ones), including their FIPS and post-quantum variants. The `Ext` variants add CBC
 * ciphers and are left out.
 */
export const STRONG_TLS_POLICIES = [
    "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
];

type Property<T> = PolicyConfigSchema["properties"][string] & { default: T };

export const CONFIG_PROPERTIES: { [K in ConfigKey]: Property<PackConfig[K]> } = {
    allowedIngressCidrs: {
        type: "array",
        items: { type: "string" },
        default: [],
        description:
            "CIDRs (IPv4/IPv6) allowed to reach internet-facing load balancers on ports 80 and 443; must equal the stack's dify-aws:albAllowedCidrs. Any other source CIDR on a load balancer's security group is a violation.",
    },
    allowedTlsPolicies: {
        type: "array",
        items: { type: "string" },
        minItems: 1,
        default: STRONG_TLS_POLICIES,
        description: "ELB security policies an HTTPS listener may use (a listener without sslPolicy gets ELBSecurityPolicy-2016-08, which allows TLS 1.0).",
    },
    requireCustomerManagedKeys: {
        type: "boolean",
        default: true,
        description: "Aurora/RDS, ElastiCache, S3, Secrets Manager secrets, SNS topics and CloudWatch log groups must use a customer-managed KMS key (not an AWS-managed or AWS-owned one).",
    },
    requireDeletionProtection: {
        type: "boolean",
        default: true,
        description:
            "RDS deletion protection and a final snapshot, ALB deletion protection, no S3 forceDestroy, and Pulumi protect on databases, caches, buckets and KMS keys.",
    },
    requireWaf: {
        type: "boolean",
        default: true,
        description: "Every internet-facing application load balancer must have an AWS WAF web ACL associated.",
    },
};

/** The configSchema of a policy that reads `keys`. */
export function configSchema(...keys: ConfigKey[]): PolicyConfigSchema {
    return { properties: Object.fromEntries(keys.map((k) => [k, CONFIG_PROPERTIES[k]])) };
}

/** Raised for a configuration value the schema or the pack cannot accept; names the policy, the key and the value. */
export class PolicyConfigError extends Error {}

function checkValue(key: ConfigKey, value: unknown): void {
    const fail = (allowed: string) => {
        throw new PolicyConfigError(`policy config ${key}=${JSON.stringify(value)} is invalid: expected ${allowed}`);
    };
    const schema = CONFIG_PROPERTIES[key];
    if (schema.type === "boolean" && typeof value !== "boolean") {
        fail("true or false");
    }
    if (schema.type === "array") {
        if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
            fail("a list of strings");
        }
        if ((value as string[]).length < (schema.minItems ?? 0)) {
            fail(`at least ${schema.minItems} item(s)`);
        }
    }
    if (key === "allowedIngressCidrs") {
        for (const cidr of value as string[]) {
            if (!parseCidr(cidr)) {
                fail(`IPv4/IPv6 CIDRs with no host bits set, such as 203.0.113.0/24 (not ${JSON.stringify(cidr)})`);
            }
        }
    }
}

/** Anything that hands out a policy's config: ResourceValidationArgs and StackValidationArgs both do. */
export interface ConfigSource {
    getConfig<T extends object>(): T;
}

/** The policy's config for `keys`, with schema defaults filled in and every value checked. */
export function readConfig<K extends ConfigKey>(source: ConfigSource, ...keys: K[]): Pick<PackConfig, K> {
    const given = source.getConfig<Partial<PackConfig>>();
    const out: Partial<PackConfig> = {};
    for (const key of keys) {
        const value = given[key] ?? CONFIG_PROPERTIES[key].default;
        checkValue(key, value);
        (out as Record<string, unknown>)[key] = value;
    }
    return out as Pick<PackConfig, K>;
}
