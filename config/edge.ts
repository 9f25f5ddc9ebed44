import * as pulumi from "@pulumi/pulumi";
import { isWholeInternet, parseCidr } from "./cidr";
import { ACCEPTED_TLS_POLICIES, ALB_TLS13_POLICIES } from "./tlsPolicies";
import type { NetworkSettings } from "./network";
import { ConfigReader } from "./reader";

/** How clients reach Dify: HTTPS with a certificate (given or issued by ACM), or plain HTTP on an opted-in dev stack. */
export type EdgeTls =
    | {
          mode: "https";
          /** The public host name, e.g. `dify.example.com`. */
          domainName: string;
          /** An existing certificate for domainName; undefined means ACM issues one, DNS-validated in hostedZoneId. */
          certificateArn?: string;
          /** ELB security policy of the HTTPS listener; always a TLS 1.3 policy. */
          sslPolicy: string;
      }
    | { mode: "httpOnly" };

export interface WafSettings {
    /** Requests one client IP may send per window before it is blocked (AWS WAF allows 10 to 2,000,000,000). */
    rateLimit: number;
    /** The rate-limit window in seconds: 60, 120, 300 or 600 (AWS WAF's choices). */
    rateLimitWindowSeconds: number;
    /** Also block, at the WAF, every source outside the ALB allow-list (defence in depth behind the security group). */
    ipAllowList: boolean;
    /** Per managed rule group, the rules whose action is overridden to count (match, label and log, but not block). */
    countRules: Readonly<Record<WafCountableGroup, readonly string[]>>;
}

/** The AWS managed rule groups whose individual rules `wafCountRules` may switch to count. */
export type WafCountableGroup = "AWSManagedRulesCommonRuleSet" | "AWSManagedRulesSQLiRuleSet";

/**
 * Every rule of the two groups, by AWS's rule name (AWS WAF Developer Guide, "Core rule set (CRS) managed rule group"
 * and "SQL database managed rule group"). A RuleActionOverride must name a rule exactly; a typo would otherwise surface
 * only when AWS rejects the web ACL, or, worse, leave the intended rule blocking.
 */
export const WAF_COUNTABLE_RULES: Readonly<Record<string, WafCountableGroup>> = {
    NoUserAgent_HEADER: "AWSManagedRulesCommonRuleSet",
    UserAgent_BadBots_HEADER: "AWSManagedRulesCommonRuleSet",
    SizeRestrictions_QUERYSTRING: "AWSManagedRulesCommonRuleSet",
    SizeRestrictions_Cookie_HEADER: "AWSManagedRulesCommonRuleSet",
    SizeRestrictions_BODY: "AWSManagedRulesCommonRuleSet",
    SizeRestrictions_URIPATH: "AWSManagedRulesCommonRuleSet",
    EC2MetaDataSSRF_BODY: "AWSManagedRulesCommonRuleSet",
    EC2MetaDataSSRF_COOKIE: "AWSManagedRulesCommonRuleSet",
    EC2MetaDataSSRF_URIPATH: "AWSManagedRulesCommonRuleSet",
    EC2MetaDataSSRF_QUERYARGUMENTS: "AWSManagedRulesCommonRuleSet",
    GenericLFI_QUERYARGUMENTS: "AWSManagedRulesCommonRuleSet",
    GenericLFI_URIPATH: "AWSManagedRulesCommonRuleSet",
    GenericLFI_BODY: "AWSManagedRulesCommonRuleSet",
    RestrictedExtensions_URIPATH: "AWSManagedRulesCommonRuleSet",
    RestrictedExtensions_QUERYARGUMENTS: "AWSManagedRulesCommonRuleSet",
    GenericRFI_QUERYARGUMENTS: "AWSManagedRulesCommonRuleSet",
    GenericRFI_BODY: "AWSManagedRulesCommonRuleSet",
    GenericRFI_URIPATH: "AWSManagedRulesCommonRuleSet",
    CrossSiteScripting_COOKIE: "AWSManagedRulesCommonRuleSet",
    CrossSiteScripting_QUERYARGUMENTS: "AWSManagedRulesCommonRuleSet",
    CrossSiteScripting_BODY: "AWSManagedRulesCommonRuleSet",
    CrossSiteScripting_URIPATH: "AWSManagedRulesCommonRuleSet",
    SQLi_QUERYARGUMENTS: "AWSManagedRulesSQLiRuleSet",
    SQLiExtendedPatterns_QUERYARGUMENTS: "AWSManagedRulesSQLiRuleSet",
    SQLi_BODY: "AWSManagedRulesSQLiRuleSet",
    SQLiExtendedPatterns_BODY: "AWSManagedRulesSQLiRuleSet",
    SQLi_COOKIE: "AWSManagedRulesSQLiRuleSet",
    SQLi_URIPATH: "AWSManagedRulesSQLiRuleSet",
};

// Regional web ACLs inspect only the first 8 KB of a body, and this rule blocks anything longer: Dify's file uploads,
// long prompts and workflow DSL imports are routinely larger, so counting it is not optional.
const ALWAYS_COUNTED = "SizeRestrictions_BODY";

export interface EdgeSettings {
    /** internal: the ALB gets private addresses in the private subnets; else internet-facing in the public subnets. */
    internal: boolean;
    /** ipv4, or dualstack (needs subnets with IPv6 CIDRs; adds AAAA records). */
    ipAddressType: "ipv4" | "dualstack";
    /** CIDRs (IPv4 and IPv6) allowed to reach 443 and 80; each becomes its own security-group rule. */
    allowedCidrs: string[];
    /** Seconds a connection may stay silent before the ALB closes it (AWS: 1-4000). Dify's SSE streams go quiet while an LLM thinks. */
    idleTimeoutSeconds: number;
    desyncMitigationMode: "defensive" | "strictest";
    /** Seconds the api target group lets in-flight requests (SSE answers) finish when a task is deregistered. */
    apiDeregistrationDelaySeconds: number;
    tls: EdgeTls;
    /** Route53 hosted zone for the alias record (and ACM validation); undefined means no DNS records are managed. */
    hostedZoneId?: string;
    /** undefined when WAF is off. */
    waf?: WafSettings;
}

// Security groups hold 60 inbound rules per IP version by default; each allow-listed CIDR takes two (443 and 80).
export const MAX_CIDRS_PER_IP_VERSION = 30;
// AWS's ALB idle timeout range (LoadBalancerAttributes idle_timeout.timeout_seconds).
export const IDLE_TIMEOUT_BOUNDS = { min: 1, max: 4000 };
// AWS WAF rate-based statement: lowest limit 10, highest 2,000,000,000; evaluation windows 60/120/300/600 s.
export const WAF_RATE_LIMIT_BOUNDS = { min: 10, max: 2_000_000_000 };
export const WAF_RATE_WINDOWS = [60, 120, 300, 600] as const;

const DOMAIN = {
    regex: /^(?=.{1,253}$)(?!-)([a-z0-9-]{1,63}(?<!-)\.)+[a-z]{2,63}$/,
    allowed: "a lower-case fully qualified host name such as dify.example.com",
};
const HOSTED_ZONE_ID = { regex: /^Z[0-9A-Z]{1,31}$/, allowed: "a Route53 hosted zone id such as Z0123456789ABCDEFGHIJ" };
const CERTIFICATE_ARN = {
    regex: /^arn:aws(-cn|-us-gov)?:acm:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:certificate\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    allowed: "an ACM certificate ARN such as arn:aws:acm:ap-northeast-1:123456789012:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
};

export function loadEdgeSettings(r: ConfigReader, network: NetworkSettings): EdgeSettings {
    const internal = r.boolean("albInternal");
    const ipAddressType = r.oneOf("albIpAddressType", ["ipv4", "dualstack"] as const);
    if (ipAddressType === "dualstack" && network.vpc.mode === "new") {
        r.fail("albIpAddressType", ipAddressType, `"ipv4": a VPC this program creates has no IPv6 CIDR, so a dual-stack ALB cannot be placed in it`);
    }
    if (ipAddressType === "dualstack" && internal) {
        r.fail("albIpAddressType", ipAddressType, `"ipv4" for an internal ALB`);
    }
    const allowedCidrs = loadAllowList(r);
    const tls = loadTls(r);
    const hostedZoneId = r.optionalString("hostedZoneId", HOSTED_ZONE_ID);
    if (tls.mode === "https" && tls.certificateArn === undefined && hostedZoneId === undefined) {
        r.fail("domainName", tls.domainName, `a domain with either ${"dify-aws:hostedZoneId"} (ACM issues and DNS-validates the certificate) or ${"dify-aws:certificateArn"}`);
    }
    if (tls.mode === "httpOnly" && hostedZoneId !== undefined) {
        r.fail("hostedZoneId", hostedZoneId, `no zone on an HTTP-only stack (set ${"dify-aws:domainName"} to serve HTTPS under that zone)`);
    }
    return {
        internal,
        ipAddressType,
        allowedCidrs,
        idleTimeoutSeconds: r.integer("albIdleTimeoutSeconds", IDLE_TIMEOUT_BOUNDS),
        desyncMitigationMode: r.oneOf("albDesyncMitigationMode", ["defensive", "strictest"] as const),
        // 0-3600 s is AWS's deregistration-delay range.
        apiDeregistrationDelaySeconds: r.integer("albApiDeregistrationDelaySeconds", { min: 0, max: 3600 }),
        tls,
        hostedZoneId,
        waf: loadWaf(r, allowedCidrs),
    };
}

/**
 * The ALB allow-list. Empty, or containing the whole internet, is only accepted with the explicit public opt-in;
 * an empty list with the opt-in means "everyone" (0.0.0.0/0 and ::/0).
 */
function loadAllowList(r: ConfigReader): string[] {
    const key = "albAllowedCidrs";
    const list = r.stringList(key);
    const publicIngress = r.boolean("albPublicIngress");
    const parsed = list.map((text) => {
        const cidr = parseCidr(text);
        if (!cidr) {
            r.fail(key, text, "every item must be an IPv4 or IPv6 CIDR with no host bits set, such as 203.0.113.0/24 or 2001:db8::/32");
        }
        return cidr;
    });
    if (!publicIngress) {
        if (list.length === 0) {
            r.fail(key, list, `at least one CIDR allowed to reach the ALB (or ${"dify-aws:albPublicIngress"}=true to open it to the internet)`);
        }
        const open = parsed.find(isWholeInternet);
        if (open) {
            r.fail(key, open.text, `CIDRs narrower than /0; opening the ALB to the whole internet needs ${"dify-aws:albPublicIngress"}=true`);
        }
    }
    for (const version of [4, 6] as const) {
        const count = parsed.filter((c) => c.version === version).length;
        if (count > MAX_CIDRS_PER_IP_VERSION) {
            r.fail(key, list, `at most ${MAX_CIDRS_PER_IP_VERSION} IPv${version} CIDRs: each takes two of the security group's 60 IPv${version} inbound rules`);
        }
    }
    return publicIngress && list.length === 0 ? ["0.0.0.0/0", "::/0"] : list;
}

function loadTls(r: ConfigReader): EdgeTls {
    const domainName = r.optionalString("domainName", DOMAIN);
    const certificateArn = r.optionalString("certificateArn", CERTIFICATE_ARN);
    const httpOnly = r.boolean("albAllowHttpOnly");
    const sslPolicy = r.string("albSslPolicy");
    if (!ACCEPTED_TLS_POLICIES.includes(sslPolicy)) {
        const oldest = ALB_TLS13_POLICIES[sslPolicy];
        r.fail(
            "albSslPolicy",
            sslPolicy,
            oldest
                ? `a TLS 1.3 policy that accepts nothing older than TLS 1.2 (this one still accepts TLS ${oldest}): ${ACCEPTED_TLS_POLICIES.join(", ")}`
                : `one of the ALB's TLS 1.3 security policies that accept nothing older than TLS 1.2: ${ACCEPTED_TLS_POLICIES.join(", ")}`,
        );
    }
    const stackRegion = new pulumi.Config("aws").get("region");
    const certificateRegion = certificateArn?.split(":")[3];
    if (certificateRegion !== undefined && stackRegion !== undefined && certificateRegion !== stackRegion) {
        // An ALB can only use an ACM certificate of its own region (CloudFront's us-east-1 rule does not apply).
        r.failKeys({ certificateArn, "aws:region": stackRegion }, `a certificate issued in ${stackRegion}, the stack's region: an ALB uses ACM certificates of its own region only (this one is in ${certificateRegion})`);
    }
    if (httpOnly) {
        if (domainName !== undefined || certificateArn !== undefined) {
            r.fail("albAllowHttpOnly", httpOnly, `false when ${"dify-aws:domainName"} or ${"dify-aws:certificateArn"} is set (HTTP-only is for a stack without a domain)`);
        }
        return { mode: "httpOnly" };
    }
    if (domainName === undefined) {
        if (certificateArn !== undefined) {
            r.fail("domainName", domainName, `the host name ${"dify-aws:certificateArn"} was issued for`);
        }
        r.fail(
            "domainName",
            domainName,
            `a host name to serve HTTPS on (with ${"dify-aws:hostedZoneId"} or ${"dify-aws:certificateArn"}); a stack without a domain must opt in to plain HTTP with ${"dify-aws:albAllowHttpOnly"}=true`,
        );
    }
    return { mode: "https", domainName, certificateArn, sslPolicy };
}

function loadWaf(r: ConfigReader, allowedCidrs: string[]): WafSettings | undefined {
    // Read every WAF key even when WAF is off, so a mistake in a stack file surfaces before WAF is switched on.
    const enabled = r.boolean("wafEnabled");
    const rateLimit = r.integer("wafRateLimit", WAF_RATE_LIMIT_BOUNDS);
    const rateLimitWindowSeconds = r.integer("wafRateLimitWindowSeconds", { min: WAF_RATE_WINDOWS[0], max: WAF_RATE_WINDOWS[WAF_RATE_WINDOWS.length - 1] });
    if (!(WAF_RATE_WINDOWS as readonly number[]).includes(rateLimitWindowSeconds)) {
        r.fail("wafRateLimitWindowSeconds", rateLimitWindowSeconds, `one of ${WAF_RATE_WINDOWS.join(", ")} (AWS WAF's evaluation windows)`);
    }
    const ipAllowList = r.boolean("wafIpAllowList");
    if (enabled && ipAllowList && allowedCidrs.some((c) => isWholeInternet(parseCidr(c)!))) {
        // WAF IP sets accept every prefix length except /0, and an allow-list of everyone would filter nothing.
        r.fail("wafIpAllowList", ipAllowList, `false while the ALB is open to the whole internet (AWS WAF IP sets cannot hold /0)`);
    }
    const countRules = loadCountRules(r);
    return enabled ? { rateLimit, rateLimitWindowSeconds, ipAllowList, countRules } : undefined;
}

function loadCountRules(r: ConfigReader): Record<WafCountableGroup, string[]> {
    const key = "wafCountRules";
    const names = r.stringList(key);
    const known = Object.keys(WAF_COUNTABLE_RULES);
    const byGroup: Record<WafCountableGroup, string[]> = { AWSManagedRulesCommonRuleSet: [], AWSManagedRulesSQLiRuleSet: [] };
    for (const name of names) {
        if (!Object.prototype.hasOwnProperty.call(WAF_COUNTABLE_RULES, name)) {
            r.fail(key, name, `every item must be a rule of AWSManagedRulesCommonRuleSet or AWSManagedRulesSQLiRuleSet, spelled as AWS does: ${known.join(", ")}`);
        }
        byGroup[WAF_COUNTABLE_RULES[name]].push(name);
    }
    if (!names.includes(ALWAYS_COUNTED)) {
        r.fail(
            key,
            names,
            `a list that includes ${ALWAYS_COUNTED}: it blocks every request body over 8 KB, and Dify's file uploads, long prompts and workflow DSL imports exceed that`,
        );
    }
    return byGroup;
}
