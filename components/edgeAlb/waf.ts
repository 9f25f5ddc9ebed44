/** The regional WAF web ACL in front of the ALB: the allow-list (split by path with split exposure), rate limits, AWS managed rules. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { parseCidr } from "../../config/cidr";
import type { EdgeSettings, WafSettings } from "../../config/edge";
import { logGroup, LogGroupSettings } from "../logGroup";

export interface WebAclArgs {
    namePrefix: string;
    edge: EdgeSettings;
    waf: WafSettings;
    logs: LogGroupSettings;
    /** The machine paths (routes.ts machinePathRegex): with split exposure, the only paths open beyond the allow-list. */
    machinePathRegex: string;
}

/** The per-credential rate-based rules (their metric names are `<prefix>-<name>`). */
export const CREDENTIAL_RATE_RULES = { apiKey: "rate-limit-per-api-key", consoleUser: "rate-limit-per-console-user" } as const;

/** The name of the allow-list rule: with split exposure it blocks only what is not a machine path. */
export const ALLOW_LIST_RULE = "block-outside-allow-list";

/**
 * A regional web ACL on the ALB. Rules, cheapest and most decisive first (about 1,130 WCU, within the 1,500 a web ACL
 * gets without extra charge): the optional IP allow-list, a per-IP rate limit, then the AWS managed groups. Logs go to
 * `aws-waf-logs-<prefix>` (AWS WAF only delivers to log groups named `aws-waf-logs-*`).
 *
 * Split exposure (albMachinePathCidrs): the security group then admits the machine paths' callers too, so the
 * allow-list rule is what keeps the console and web UI to albAllowedCidrs. It blocks a request that comes from outside
 * the allow-list unless its path is a machine path (one regex, the same classification the listener rules use). Why the
 * WAF and not listener-rule source-ip conditions: a condition holds 3 values and a rule 5, so an allow-list of n CIDRs
 * would take n/3 rules per browser route, and the api and web would each need several rules where a progressive ECS
 * deployment needs exactly one production rule per service; an IP set holds 10,000 CIDRs and leaves the rules alone.
 * Its rate limits and managed rules stay in front of the opened paths.
 */
export function webAcl(name: string, parent: pulumi.Resource, args: WebAclArgs, alb: aws.lb.LoadBalancer): { acl: aws.wafv2.WebAcl; logGroup: aws.cloudwatch.LogGroup } {
    const opts = { parent };
    const { waf, edge } = args;
    const p = args.namePrefix;
    const visibility = (metric: string) => ({ cloudwatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName: `${p}-${metric}` });
    const rules: aws.types.input.wafv2.WebAclRule[] = [];
    let priority = 0;

    let allowListed: aws.types.input.wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatement | undefined;
    if (waf.ipAllowList) {
        const sets: aws.wafv2.IpSet[] = [];
        for (const version of [4, 6] as const) {
            const addresses = edge.allowedCidrs.filter((c) => parseCidr(c)?.version === version);
            if (addresses.length > 0) {
                sets.push(
                    new aws.wafv2.IpSet(
                        `${name}-allow-ipv${version}`,
                        { name: `${p}-edge-allow-ipv${version}`, scope: "REGIONAL", ipAddressVersion: `IPV${version}`, addresses },
                        opts,
                    ),
                );
            }
        }
        const refs = sets.map((s) => ({ ipSetReferenceStatement: { arn: s.arn } }));
        allowListed = refs.length === 1 ? refs[0] : { orStatement: { statements: refs } };
        const outside = { notStatement: { statement: refs.length === 1 ? refs[0] : { orStatement: { statements: refs } } } };
        const machinePath = {
            regexMatchStatement: { regexString: args.machinePathRegex, fieldToMatch: { uriPath: {} }, textTransformations: [{ priority: 0, type: "NONE" }] },
        };
        rules.push({
            name: ALLOW_LIST_RULE,
            priority: priority++,
            action: { block: {} },
            statement: edge.machinePathCidrs.length > 0 ? { andStatement: { statements: [outside, { notStatement: { statement: machinePath } }] } } : outside,
            visibilityConfig: visibility(ALLOW_LIST_RULE),
        });
    }
    // Per IP, for everyone outside the allow-list: the office and VPN ranges are a few NAT addresses shared by all their
    // people, so a per-IP limit would throttle the whole office at once. They are limited per credential below.
    rules.push({
        name: "rate-limit-per-ip",
        priority: priority++,
        action: { block: {} },
        statement: {
            rateBasedStatement: {
                limit: waf.rateLimit,
                evaluationWindowSec: waf.rateLimitWindowSeconds,
                aggregateKeyType: "IP",
                ...(allowListed ? { scopeDownStatement: { notStatement: { statement: allowListed } } } : {}),
            },
        },
        visibilityConfig: visibility("rate-limit-per-ip"),
    });
    // Per credential: an API key, web-app passport or bearer token on the machine paths (Authorization), and a console
    // user (the X-CSRF-Token every console call carries, one per signed-in user: web/config/index.ts, api/libs/token.py).
    // A request without the header is not counted by the rule (AWS WAF, "Rate-based rule aggregation": requests missing
    // a key are omitted). Count first, block by config (wafCredentialRateLimitBlock).
    const perCredential = (ruleName: string, header: string, path: aws.types.input.wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatement) =>
        rules.push({
            name: ruleName,
            priority: priority++,
            action: waf.credentialRateLimitBlock ? { block: {} } : { count: {} },
            statement: {
                rateBasedStatement: {
                    limit: waf.credentialRateLimit,
                    evaluationWindowSec: waf.rateLimitWindowSeconds,
                    aggregateKeyType: "CUSTOM_KEYS",
                    customKeys: [{ header: { name: header, textTransformations: [{ priority: 0, type: "NONE" }] } }],
                    scopeDownStatement: path,
                },
            },
            visibilityConfig: visibility(ruleName),
        });
    perCredential(CREDENTIAL_RATE_RULES.apiKey, "authorization", {
        regexMatchStatement: { regexString: args.machinePathRegex, fieldToMatch: { uriPath: {} }, textTransformations: [{ priority: 0, type: "NONE" }] },
    });
    perCredential(CREDENTIAL_RATE_RULES.consoleUser, "x-csrf-token", {
        byteMatchStatement: { searchString: "/console/api/", positionalConstraint: "STARTS_WITH", fieldToMatch: { uriPath: {} }, textTransformations: [{ priority: 0, type: "NONE" }] },
    });
    const managed = (group: string, overrides: string[] = []) => {
        rules.push({
            name: group,
            priority: priority++,
            overrideAction: { none: {} },
            statement: {
                managedRuleGroupStatement: {
                    vendorName: "AWS",
                    name: group,
                    ruleActionOverrides: overrides.length ? overrides.map((rule) => ({ name: rule, actionToUse: { count: {} } })) : undefined,
                },
            },
            visibilityConfig: visibility(group),
        });
    };
    managed("AWSManagedRulesAmazonIpReputationList");
    // Dify's request bodies are user content that is code and prompts by design: chat messages and prompt templates
    // quote HTML/JS and SQL, code nodes and workflow DSL carry scripts, file paths and queries, and users paste URLs
    // such as 169.254.169.254 into HTTP-request nodes. The *_BODY rules (XSS, LFI, RFI, EC2 metadata SSRF, SQLi)
    // would 403 such legitimate requests, and SizeRestrictions_BODY every upload and prompt over 8 KB, so by default
    // they count (matches are still labelled, logged and visible in metrics) while every rule on the query string,
    // URI path, cookies and headers, and all of KnownBadInputs (Log4j, Java deserialization), keeps blocking.
    // The list is wafCountRules (config/edge.ts validates each name against the groups' real rules).
    managed("AWSManagedRulesCommonRuleSet", [...waf.countRules.AWSManagedRulesCommonRuleSet]);
    managed("AWSManagedRulesKnownBadInputsRuleSet");
    managed("AWSManagedRulesSQLiRuleSet", [...waf.countRules.AWSManagedRulesSQLiRuleSet]);

    const acl = new aws.wafv2.WebAcl(
        `${name}-waf`,
        {
            name: `${p}-edge`,
            description: `Dify ${p}: allow-list, per-IP rate limit and AWS managed rules in front of the ALB`,
            scope: "REGIONAL",
            defaultAction: { allow: {} },
            rules,
            visibilityConfig: visibility("edge"),
        },
        opts,
    );
    new aws.wafv2.WebAclAssociation(`${name}-waf`, { resourceArn: alb.arn, webAclArn: acl.arn }, opts);
    const group = logGroup(`${name}-waf-logs`, `aws-waf-logs-${p}`, args.logs, opts);
    new aws.wafv2.WebAclLoggingConfiguration(
        `${name}-waf`,
        {
            resourceArn: acl.arn,
            logDestinationConfigs: [group.arn],
            // Dify API keys travel in Authorization and console sessions in cookies; Dify's signed file URLs
            // (/files/...?timestamp=&nonce=&sign=) are bearer links until they expire: keep all three out of the logs.
            redactedFields: [{ singleHeader: { name: "authorization" } }, { singleHeader: { name: "cookie" } }, { queryString: {} }],
        },
        opts,
    );
    return { acl, logGroup: group };
}
