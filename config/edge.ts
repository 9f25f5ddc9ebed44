import * as pulumi from "@pulumi/pulumi";
import { isWholeInternet, parseCidr } from "./cidr";
import { ACCEPTED_TLS_POLICIES, ALB_TLS13_POLICIES } from "./tlsPolicies";
import type { NetworkSettings } from "./network";
import { ConfigReader } from "./reader";
import { optionalStackSecret } from "./secrets";

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
    /**
     * Per-credential rate limits: requests one API credential (the Authorization header of the machine paths) and one
     * console user (the X-CSRF-Token header every console XHR carries) may send per window. `block` false: the rules
     * only count (and alarm), until the team has seen the numbers.
     */
    credentialRateLimit: number;
    credentialRateLimitBlock: boolean;
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

/** Single sign-on in front of the console and web UI (ALB authenticate actions on the browser paths). */
export type ConsoleAuth = OidcAuth | CognitoAuth;

interface SessionSettings {
    /** The scopes asked of the identity provider (space-separated), e.g. `openid email`. */
    scope: string;
    /** Seconds an ALB session lasts before the user signs in again (AWS: 1-604800). */
    sessionTimeoutSeconds: number;
    /** The ALB's session cookie. */
    sessionCookieName: string;
}

export interface OidcAuth extends SessionSettings {
    kind: "oidc";
    issuer: string;
    authorizationEndpoint: string;
    tokenEndpoint: string;
    userInfoEndpoint: string;
    clientId: string;
    /** Set with `pulumi config set --secret`; never printed. */
    clientSecret: pulumi.Output<string>;
}

export interface CognitoAuth extends SessionSettings {
    kind: "cognito";
    userPoolArn: string;
    userPoolClientId: string;
    /** The user pool's domain: its prefix (`<prefix>.auth.<region>.amazoncognito.com`) or a custom domain name. */
    userPoolDomain: string;
}

export interface EdgeSettings {
    /** internal: the ALB gets private addresses in the private subnets; else internet-facing in the public subnets. */
    internal: boolean;
    /** ipv4, or dualstack (needs subnets with IPv6 CIDRs; adds AAAA records). */
    ipAddressType: "ipv4" | "dualstack";
    /** CIDRs (IPv4 and IPv6) allowed to reach 443 and 80; each becomes its own security-group rule. */
    allowedCidrs: string[];
    /**
     * Split exposure: CIDRs (besides allowedCidrs) that may reach Dify's machine paths (the service API, webhooks,
     * plugin endpoints, the web-app API and files) and nothing else; 0.0.0.0/0 opens them to the internet. The WAF
     * blocks every other path from outside allowedCidrs. Empty: every path is the allow-list's.
     */
    machinePathCidrs: string[];
    /** SSO in front of the console and web UI; undefined leaves them to Dify's own sign-in. */
    consoleAuth?: ConsoleAuth;
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
    const machinePathCidrs = loadMachinePathCidrs(r, allowedCidrs, ipAddressType);
    const consoleAuth = loadConsoleAuth(r, tls);
    const hostedZoneId = r.optionalString("hostedZoneId", HOSTED_ZONE_ID);
    if (tls.mode === "https" && tls.certificateArn === undefined && hostedZoneId === undefined) {
        r.fail("domainName", tls.domainName, `a domain with either ${"dify-aws:hostedZoneId"} (ACM issues and DNS-validates the certificate) or ${"dify-aws:certificateArn"}`);
    }
    if (tls.mode === "httpOnly" && hostedZoneId !== undefined) {
        r.fail("hostedZoneId", hostedZoneId, `no zone on an HTTP-only stack (set ${"dify-aws:domainName"} to serve HTTPS under that zone)`);
    }
    const waf = loadWaf(r, allowedCidrs);
    if (machinePathCidrs.length > 0 && (!waf || !waf.ipAllowList)) {
        // The security group must admit the machine paths' callers on 443, so only the WAF can still keep the
        // console from them; without it the whole UI would be as open as the machine paths.
        r.failKeys(
            { albMachinePathCidrs: machinePathCidrs, wafEnabled: waf !== undefined, wafIpAllowList: r.boolean("wafIpAllowList") },
            "wafEnabled and wafIpAllowList true with albMachinePathCidrs: the WAF keeps every path but the machine paths to albAllowedCidrs, since the security group must admit the machine paths' callers",
        );
    }
    return {
        internal,
        ipAddressType,
        allowedCidrs,
        machinePathCidrs,
        consoleAuth,
        idleTimeoutSeconds: r.integer("albIdleTimeoutSeconds", IDLE_TIMEOUT_BOUNDS),
        desyncMitigationMode: r.oneOf("albDesyncMitigationMode", ["defensive", "strictest"] as const),
        // 0-3600 s is AWS's deregistration-delay range.
        apiDeregistrationDelaySeconds: r.integer("albApiDeregistrationDelaySeconds", { min: 0, max: 3600 }),
        tls,
        hostedZoneId,
        waf,
    };
}

/** A CIDR list key: every item parsed, /0 kept (the caller decides), at most `max` per IP version. */
function cidrList(r: ConfigReader, key: string): { text: string; version: 4 | 6; whole: boolean }[] {
    return r.stringList(key).map((text) => {
        const cidr = parseCidr(text);
        if (!cidr) {
            r.fail(key, text, "every item must be an IPv4 or IPv6 CIDR with no host bits set, such as 203.0.113.0/24 or 2001:db8::/32");
        }
        return { text, version: cidr.version, whole: isWholeInternet(cidr) };
    });
}

/**
 * The machine paths' callers: API clients, webhook senders, plugin endpoint callers (partners' ranges, or 0.0.0.0/0
 * for the internet). Each takes one security-group rule (443) beside the allow-list's two per CIDR.
 */
function loadMachinePathCidrs(r: ConfigReader, allowedCidrs: string[], ipAddressType: "ipv4" | "dualstack"): string[] {
    const key = "albMachinePathCidrs";
    const list = cidrList(r, key);
    for (const version of [4, 6] as const) {
        const allowList = allowedCidrs.filter((c) => parseCidr(c)?.version === version).length;
        const machine = list.filter((c) => c.version === version).length;
        if (2 * allowList + machine > 2 * MAX_CIDRS_PER_IP_VERSION) {
            r.failKeys(
                { albAllowedCidrs: allowedCidrs, [key]: list.map((c) => c.text) },
                `at most ${2 * MAX_CIDRS_PER_IP_VERSION} IPv${version} inbound rules on the ALB's security group: two per albAllowedCidrs entry (443 and 80) and one per albMachinePathCidrs entry (443)`,
            );
        }
    }
    const v6 = list.find((c) => c.version === 6);
    if (v6 && ipAddressType !== "dualstack") {
        r.failKeys({ [key]: v6.text, albIpAddressType: ipAddressType }, `IPv4 CIDRs only, or albIpAddressType "dualstack": an IPv4 ALB is never reached over IPv6`);
    }
    return list.map((c) => c.text);
}

/** How the ALB's OIDC and Cognito fields are checked (AuthenticateOidcActionConfig: full https URLs). */
const HTTPS_URL = { regex: /^https:\/\/[^\s/]+(\/\S*)?$/, allowed: "an https:// URL of the identity provider" };
const COGNITO_USER_POOL_ARN = { regex: /^arn:aws[a-z-]*:cognito-idp:[a-z0-9-]+:\d{12}:userpool\/[\w-]+_[0-9a-zA-Z]+$/, allowed: "a Cognito user pool ARN such as arn:aws:cognito-idp:ap-northeast-1:123456789012:userpool/ap-northeast-1_AbCdEf123" };
const COGNITO_CLIENT_ID = { regex: /^[\w+]+$/, allowed: "a Cognito app client id (letters, digits, _ and +)" };
const COGNITO_DOMAIN = {
    regex: /^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?|(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63})$/,
    allowed: "the user pool's domain prefix (lower-case letters, digits, hyphens) or its custom domain name",
};
// A cookie name is an RFC 6265 token; the ALB shards its session into `<name>-0`, `<name>-1`, ...
const COOKIE_NAME = { regex: /^[A-Za-z0-9_-]{1,64}$/, allowed: "a cookie name of letters, digits, _ and -" };
const SCOPE = { regex: /^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/, allowed: "space-separated OAuth scopes, e.g. \"openid email\"" };
/** AuthenticateOidcActionConfig / AuthenticateCognitoActionConfig SessionTimeout, seconds. */
export const SESSION_TIMEOUT_BOUNDS = { min: 1, max: 604800 };

/**
 * consoleAuth and its keys. Every key is read whatever the mode, so a mistake in one surfaces before SSO is switched
 * on; each mode then requires its own.
 */
function loadConsoleAuth(r: ConfigReader, tls: EdgeTls): ConsoleAuth | undefined {
    const kind = r.oneOf("consoleAuth", ["none", "oidc", "cognito"] as const);
    const session: SessionSettings = {
        scope: r.string("consoleAuthScope", SCOPE),
        sessionTimeoutSeconds: r.integer("consoleAuthSessionTimeoutSeconds", SESSION_TIMEOUT_BOUNDS),
        sessionCookieName: r.string("consoleAuthSessionCookieName", COOKIE_NAME),
    };
    const oidc = {
        issuer: r.optionalString("oidcIssuer", HTTPS_URL),
        authorizationEndpoint: r.optionalString("oidcAuthorizationEndpoint", HTTPS_URL),
        tokenEndpoint: r.optionalString("oidcTokenEndpoint", HTTPS_URL),
        userInfoEndpoint: r.optionalString("oidcUserInfoEndpoint", HTTPS_URL),
        clientId: r.optionalString("oidcClientId"),
    };
    const clientSecret = optionalStackSecret(r, "oidcClientSecret");
    const cognito = {
        userPoolArn: r.optionalString("cognitoUserPoolArn", COGNITO_USER_POOL_ARN),
        userPoolClientId: r.optionalString("cognitoUserPoolClientId", COGNITO_CLIENT_ID),
        userPoolDomain: r.optionalString("cognitoUserPoolDomain", COGNITO_DOMAIN),
    };
    if (kind === "none") {
        return undefined;
    }
    if (tls.mode !== "https") {
        // ALB authenticate actions exist on HTTPS listeners only (and an IdP would send the code over plain HTTP).
        r.failKeys({ consoleAuth: kind, albAllowHttpOnly: true }, "HTTPS (a domainName) for consoleAuth: the ALB authenticates users on HTTPS listeners only");
    }
    if (kind === "oidc") {
        const missing = Object.entries({ ...oidc, clientSecret }).filter(([, v]) => v === undefined).map(([k]) => `oidc${k[0].toUpperCase()}${k.slice(1)}`);
        if (missing.length > 0) {
            r.failKeys({ consoleAuth: kind, ...Object.fromEntries(missing.map((k) => [k, undefined])) }, `every OIDC setting with consoleAuth "oidc": ${missing.join(", ")} (oidcClientSecret with \`pulumi config set --secret\`)`);
        }
        const o = oidc as { [K in keyof typeof oidc]: string };
        return { kind, ...session, ...o, clientSecret: clientSecret! };
    }
    const missing = Object.entries(cognito).filter(([, v]) => v === undefined).map(([k]) => `cognito${k[0].toUpperCase()}${k.slice(1)}`);
    if (missing.length > 0) {
        r.failKeys({ consoleAuth: kind, ...Object.fromEntries(missing.map((k) => [k, undefined])) }, `every Cognito setting with consoleAuth "cognito": ${missing.join(", ")}`);
    }
    const c = cognito as { [K in keyof typeof cognito]: string };
    return { kind, ...session, ...c };
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
    const credentialRateLimit = r.integer("wafCredentialRateLimit", WAF_RATE_LIMIT_BOUNDS);
    const credentialRateLimitBlock = r.boolean("wafCredentialRateLimitBlock");
    return enabled ? { rateLimit, rateLimitWindowSeconds, ipAllowList, countRules, credentialRateLimit, credentialRateLimitBlock } : undefined;
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
