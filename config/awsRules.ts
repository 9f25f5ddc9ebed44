/**
 * What AWS accepts in the strings this program sends: names, descriptions, tags and other free text, per resource
 * type and input. Each rule is a fact taken from AWS's service model (the `service-2.json` of botocore, the same
 * shapes as aws/api-models-aws) or, where the model says nothing, from the API reference or user guide, cited on the
 * rule. The provider often checks only the length, so a value outside these rules passes `pulumi preview` and fails
 * `pulumi up` at the API call. test/awsAcceptance.test.ts holds every registered resource to them, and the config
 * loaders use them on what users type.
 */

/** One AWS constraint on one string. */
export interface AwsStringRule {
    /** The API parameter, as AWS names it (e.g. `CreateSecurityGroup GroupDescription`). */
    parameter: string;
    minLength?: number;
    maxLength?: number;
    /** Every character must match this one-character class. */
    chars?: RegExp;
    /** The whole value must match (anchored): structure beyond the characters (first character, no `--`, ...). */
    pattern?: RegExp;
    /** The allowed characters in AWS's own words, for messages. */
    allowed: string;
    /** Where two equal values collide, e.g. "per VPC" or "per account and region"; undefined when values may repeat. */
    uniqueIn?: "vpc" | "account-region" | "account" | "global" | "load-balancer" | "web-acl";
    /** The model shape or documentation page the rule comes from. */
    source: string;
}

/** The reasons a value breaks a rule; empty when AWS accepts it. */
export function ruleViolations(rule: AwsStringRule, value: string): string[] {
    const out: string[] = [];
    // AWS counts characters (UTF-16 code units in the SDKs' length checks); every value here is ASCII anyway.
    if (rule.minLength !== undefined && value.length < rule.minLength) {
        out.push(`shorter than ${rule.minLength} characters`);
    }
    if (rule.maxLength !== undefined && value.length > rule.maxLength) {
        out.push(`longer than ${rule.maxLength} characters (${value.length})`);
    }
    const bad = rule.chars ? [...new Set([...value].filter((c) => !rule.chars!.test(c)))] : [];
    if (bad.length > 0) {
        out.push(`has characters outside ${rule.allowed}: ${bad.map((c) => JSON.stringify(c)).join(" ")}`);
    }
    if (rule.pattern && !rule.pattern.test(value)) {
        out.push(`does not have the form ${rule.allowed}`);
    }
    return out;
}

// --- EC2 ---------------------------------------------------------------------------------------------------------

const EC2_SG_TEXT = "a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*";
const EC2_SG_CHARS = /^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]$/;

/**
 * Security group descriptions. The EC2 model types GroupDescription as a plain string; the character set is in the
 * API reference only ("Constraints for EC2-VPC: a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*").
 */
export const EC2_SECURITY_GROUP_DESCRIPTION: AwsStringRule = {
    parameter: "CreateSecurityGroup GroupDescription",
    minLength: 1,
    maxLength: 255,
    chars: EC2_SG_CHARS,
    allowed: EC2_SG_TEXT,
    source: "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html",
};

/** Security group rule descriptions (IpRange, Ipv6Range, PrefixListId, UserIdGroupPair, SecurityGroupRuleRequest). */
export const EC2_SECURITY_GROUP_RULE_DESCRIPTION: AwsStringRule = {
    parameter: "AuthorizeSecurityGroupIngress/Egress IpPermissions.*.Description",
    maxLength: 255,
    chars: EC2_SG_CHARS,
    allowed: EC2_SG_TEXT,
    source: "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_SecurityGroupRuleRequest.html",
};

/**
 * ALB listener rule quotas (Elastic Load Balancing, "Quotas for your Application Load Balancers", and "Condition types
 * for listener rules": "You can specify up to three match evaluations per condition and up to five match evaluations
 * per rule"). Rules count per load balancer, across its listeners.
 */
export const ALB_RULE_LIMITS = {
    valuesPerCondition: 3,
    valuesPerRule: 5,
    wildcardsPerRule: 5,
    rulesPerLoadBalancer: 100,
    /** Characters of one path-pattern value or regex (PathPatternConditionConfig). */
    valueLength: 128,
    priority: { min: 1, max: 50000 },
    targetGroupsPerForward: 5,
    source: "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html, https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html",
} as const;

/**
 * The rule each input of each resource type must meet, by input path: `a.b` nests, `a[]` is every item of a list,
 * `tags.*` every value of a map and `tags{}` every key of it.
 */
export const INPUT_RULES: Record<string, Record<string, AwsStringRule>> = {
    "aws:ec2/securityGroup:SecurityGroup": { description: EC2_SECURITY_GROUP_DESCRIPTION },
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": { description: EC2_SECURITY_GROUP_RULE_DESCRIPTION },
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": { description: EC2_SECURITY_GROUP_RULE_DESCRIPTION },
};

/** Every string at an input path (see INPUT_RULES), with the concrete path it was found at. */
export function valuesAt(inputs: unknown, path: string): { at: string; value: string }[] {
    const parts = path.split(".");
    const walk = (value: unknown, i: number, at: string): { at: string; value: string }[] => {
        if (i === parts.length) {
            return typeof value === "string" ? [{ at, value }] : [];
        }
        const part = parts[i];
        if (value === null || typeof value !== "object") {
            return [];
        }
        const record = value as Record<string, unknown>;
        if (part === "*") {
            return Object.entries(record).flatMap(([k, v]) => walk(v, i + 1, `${at}.${k}`));
        }
        if (part.endsWith("{}")) {
            const map = record[part.slice(0, -2)];
            return map && typeof map === "object" && i === parts.length - 1 ? Object.keys(map).map((k) => ({ at: `${at}.${part.slice(0, -2)}{${k}}`, value: k })) : [];
        }
        if (part.endsWith("[]")) {
            const list = record[part.slice(0, -2)];
            return Array.isArray(list) ? list.flatMap((v, j) => walk(v, i + 1, `${at}.${part.slice(0, -2)}[${j}]`)) : [];
        }
        return walk(record[part], i + 1, at ? `${at}.${part}` : part);
    };
    return walk(inputs, 0, "").map((v) => ({ ...v, at: v.at.replace(/^\./, "") }));
}

/** What a resource's inputs break, one line per value: `<path> = "<value>": <reasons> (<parameter>)`. */
export function inputViolations(type: string, inputs: Record<string, unknown>): string[] {
    const out: string[] = [];
    for (const [path, rule] of Object.entries(INPUT_RULES[type] ?? {})) {
        for (const { at, value } of valuesAt(inputs, path)) {
            const reasons = ruleViolations(rule, value);
            if (reasons.length > 0) {
                out.push(`${at} = ${JSON.stringify(value)}: ${reasons.join("; ")} (${rule.parameter}, ${rule.source})`);
            }
        }
    }
    return out;
}
