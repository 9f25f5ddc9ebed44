/** WAF alarms: requests blocked. */
import * as pulumi from "@pulumi/pulumi";
import type { AlarmThresholds } from "../../config/ops";
import { CREDENTIAL_RATE_RULES } from "../edgeAlb/waf";
import { AlarmScope, Widget, graph, header } from "./types";

export function wafAlarms(scope: AlarmScope, webAclName: pulumi.Input<string>, t: AlarmThresholds): Widget[] {
    const region = scope.region;
    const ns = "AWS/WAFV2";
    // Regional web ACLs publish per Region, WebACL and Rule; Rule "ALL" is the sum over the ACL's rules. Only
    // minutes with blocked requests have data, so silence is calm: notBreaching. One 5-minute spike is enough.
    const dims = { WebACL: webAclName, Region: region, Rule: "ALL" };
    scope.alarm({
        id: "waf-blocked-requests",
        description: `WAF blocked more than ${t.wafBlockedRequests} requests in 5 minutes (an attack, or a rule blocking legitimate traffic: check the WAF logs).`,
        comparison: "GreaterThanThreshold",
        threshold: t.wafBlockedRequests,
        window: { period: 300, of: 1, breaching: 1 },
        treatMissingData: "notBreaching",
        metric: { namespace: ns, name: "BlockedRequests", dimensions: dims, statistic: "Sum" },
    });
    // The per-credential rate limits (components/edgeAlb/waf.ts) start in count mode: a rate-based rule counts (or
    // blocks) only the requests over its limit, so any is one credential or console user above it.
    const credentialRules = Object.values(CREDENTIAL_RATE_RULES).map((rule) => `${scope.prefix}-${rule}`);
    const over = credentialRules.flatMap((rule, i) =>
        (["CountedRequests", "BlockedRequests"] as const).map((metricName, j) => ({
            id: `r${i}m${j}`,
            returnData: false,
            metric: { namespace: ns, metricName, dimensions: { WebACL: webAclName, Region: region, Rule: rule }, stat: "Sum", period: 300 },
        })),
    );
    scope.alarm({
        id: "waf-credential-rate-limited",
        description: `One API credential or console user went over wafCredentialRateLimit in a window (counted, or blocked with wafCredentialRateLimitBlock). See the WAF logs for the key; raise the limit, or block.`,
        comparison: "GreaterThanThreshold",
        threshold: 0,
        window: { period: 300, of: 1, breaching: 1 },
        treatMissingData: "notBreaching",
        queries: [...over, { id: "over", label: "requests over the per-credential limit", returnData: true, expression: over.map((m) => `FILL(${m.id}, 0)`).join(" + ") }],
    });
    return [
        header("WAF"),
        graph(
            "Allowed / blocked requests (per 5 min)",
            region,
            300,
            [
                [ns, "AllowedRequests", "WebACL", webAclName, "Region", region, "Rule", "ALL", { stat: "Sum", label: "allowed" }],
                [ns, "BlockedRequests", "WebACL", webAclName, "Region", region, "Rule", "ALL", { stat: "Sum", label: "blocked" }],
                ...credentialRules.map((rule) => [ns, "CountedRequests", "WebACL", webAclName, "Region", region, "Rule", rule, { stat: "Sum", label: `over the limit: ${rule}` }]),
            ],
            t.wafBlockedRequests,
        ),
    ];
}
