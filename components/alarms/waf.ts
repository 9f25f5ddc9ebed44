/** WAF alarms: requests blocked. */
import * as pulumi from "@pulumi/pulumi";
import type { AlarmThresholds } from "../../config/ops";
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
    return [
        header("WAF"),
        graph(
            "Allowed / blocked requests (per 5 min)",
            region,
            300,
            [
                [ns, "AllowedRequests", "WebACL", webAclName, "Region", region, "Rule", "ALL", { stat: "Sum", label: "allowed" }],
                [ns, "BlockedRequests", "WebACL", webAclName, "Region", region, "Rule", "ALL", { stat: "Sum", label: "blocked" }],
            ],
            t.wafBlockedRequests,
        ),
    ];
}
