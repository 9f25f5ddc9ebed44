/** Load balancer alarms: the 5xx ratio, and per target group slow responses, unhealthy and no healthy targets. */
import type * as pulumi from "@pulumi/pulumi";
import type { AlarmThresholds } from "../../config/ops";
import { AlarmScope, AlarmedLoadBalancer, FOR_3_MIN, FOR_5_MIN, Widget, graph, header, kebab } from "./types";

export function loadBalancerAlarms(scope: AlarmScope, lb: AlarmedLoadBalancer, t: AlarmThresholds, paused: boolean): Widget[] {
    const region = scope.region;
    const ns = "AWS/ApplicationELB";
    const lbDim = { LoadBalancer: lb.arnSuffix };
    const count = (id: string, metricName: string) => ({
        id,
        metric: { namespace: ns, metricName, dimensions: lbDim, stat: "Sum", period: 60 },
    });
    // 5xx ratio = (5xx the ALB generated: 502/503/504, no healthy target, + 5xx from targets) / requests. Counts are
    // only published for minutes that have them, hence FILL. Under 10 requests a minute the ratio is noise (one
    // failed request on an idle stack is 100 %), so such minutes count as 0. Sustained: 3 of 5 minutes.
    scope.alarm({
        id: "alb-5xx-ratio",
        description: `More than ${t.alb5xxPercent} % of requests answered with 5xx (ALB or targets) in 3 of 5 minutes. Check the target groups' health, the api and web logs, and the latest deployment.`,
        comparison: "GreaterThanThreshold",
        threshold: t.alb5xxPercent,
        window: { period: 60, of: 5, breaching: 3 },
        treatMissingData: "notBreaching",
        queries: [
            { ...count("requests", "RequestCount"), returnData: false },
            { ...count("elb5xx", "HTTPCode_ELB_5XX_Count"), returnData: false },
            { ...count("target5xx", "HTTPCode_Target_5XX_Count"), returnData: false },
            {
                id: "ratio",
                expression: "IF(requests >= 10, 100 * (FILL(elb5xx, 0) + FILL(target5xx, 0)) / requests, 0)",
                label: "5xx % of requests",
                returnData: true,
            },
        ],
    });

    const p95: unknown[][] = [];
    const health: unknown[][] = [];
    for (const [key, tg] of Object.entries(lb.targetGroupArnSuffixes)) {
        const id = kebab(key);
        // A canary role's tasks live in either of its two groups: each group's slowness and unhealthy targets are its
        // own, but "no healthy target" is the two together (after a canary the old group is empty by design).
        const alternate = lb.alternateTargetGroupArnSuffixes?.[key];
        const groups: [string, pulumi.Input<string>][] = alternate ? [[id, tg], [`${id}2`, alternate]] : [[id, tg]];
        for (const [gid, group] of groups) {
            const dims = { LoadBalancer: lb.arnSuffix, TargetGroup: group };
            // Time to the first response byte, so SSE streams count by their start, not their length. p95 over 5
            // minutes, 2 of 3 periods: one slow burst of LLM calls does not page, a slow backend does.
            scope.alarm({
                id: `alb-${gid}-p95-response-time`,
                description: `p95 target response time of the ${key} target group${gid !== id ? " (its second, canary group)" : ""} above ${t.albResponseTimeP95Ms} ms in 2 of 3 five-minute periods.`,
                comparison: "GreaterThanThreshold",
                threshold: t.albResponseTimeP95Ms / 1000,
                window: { period: 300, of: 3, breaching: 2 },
                treatMissingData: "notBreaching",
                metric: { namespace: ns, name: "TargetResponseTime", dimensions: dims, extendedStatistic: "p95" },
            });
            // Published every minute for a target group behind the ALB. Targets still in their initial health checks
            // are not counted, so a healthy rolling deploy stays quiet; 5 minutes of an unhealthy target is a real
            // failure (the circuit breaker is usually rolling back by then).
            scope.alarm({
                id: `alb-${gid}-unhealthy-hosts`,
                description: `The ${key} target group${gid !== id ? " (its second, canary group)" : ""} has had an unhealthy target for 5 minutes. See the service's events and the task logs.`,
                comparison: "GreaterThanThreshold",
                threshold: 0,
                window: FOR_5_MIN,
                treatMissingData: "notBreaching",
                metric: { namespace: ns, name: "UnHealthyHostCount", dimensions: dims, statistic: "Maximum" },
            });
            p95.push([ns, "TargetResponseTime", "LoadBalancer", lb.arnSuffix, "TargetGroup", group, { stat: "p95", label: `${gid} p95` }]);
            health.push([ns, "HealthyHostCount", "LoadBalancer", lb.arnSuffix, "TargetGroup", group, { stat: "Minimum", label: `${gid} healthy` }]);
            health.push([ns, "UnHealthyHostCount", "LoadBalancer", lb.arnSuffix, "TargetGroup", group, { stat: "Maximum", label: `${gid} unhealthy` }]);
        }
        // No healthy target: every request to these paths gets a 503, whether or not traffic shows it yet. The
        // metric is published every minute, so silence means the target group left the ALB: breaching. A stack
        // that sleeps has no target every night, so there it alarms only while requests arrive and find none.
        const healthy = groups.map(([, group], i) => ({
            id: `healthy${i}`,
            metric: { namespace: ns, metricName: "HealthyHostCount", dimensions: { LoadBalancer: lb.arnSuffix, TargetGroup: group }, stat: "Minimum", period: 60 },
            returnData: false,
        }));
        const sum = healthy.map((h) => `FILL(${h.id}, 0)`).join(" + ");
        scope.alarm(
            paused
                ? {
                      id: `alb-${id}-no-healthy-hosts`,
                      description: `Requests to the ${key} target group found no healthy target for 3 minutes (answered 503). Outside active hours that is expected.`,
                      comparison: "GreaterThanThreshold",
                      threshold: 0,
                      window: FOR_3_MIN,
                      treatMissingData: "notBreaching",
                      queries: [
                          ...healthy,
                          ...groups.map(([, group], i) => ({
                              id: `requests${i}`,
                              metric: { namespace: ns, metricName: "RequestCount", dimensions: { LoadBalancer: lb.arnSuffix, TargetGroup: group }, stat: "Sum", period: 60 },
                              returnData: false,
                          })),
                          {
                              id: "unserved",
                              expression: `IF((${groups.map((_, i) => `FILL(requests${i}, 0)`).join(" + ")}) > 0 AND (${sum}) < 1, 1, 0)`,
                              label: "requests without a healthy target",
                              returnData: true,
                          },
                      ],
                  }
                : alternate
                  ? {
                        id: `alb-${id}-no-healthy-hosts`,
                        description: `The ${key} target groups (live and canary) have had no healthy target for 3 minutes: its paths answer 503.`,
                        comparison: "LessThanThreshold",
                        threshold: 1,
                        window: FOR_3_MIN,
                        treatMissingData: "breaching",
                        queries: [...healthy, { id: "healthy", expression: sum, label: "healthy targets, both groups", returnData: true }],
                    }
                  : {
                        id: `alb-${id}-no-healthy-hosts`,
                        description: `The ${key} target group has had no healthy target for 3 minutes: its paths answer 503.`,
                        comparison: "LessThanThreshold",
                        threshold: 1,
                        window: FOR_3_MIN,
                        treatMissingData: "breaching",
                        metric: { namespace: ns, name: "HealthyHostCount", dimensions: { LoadBalancer: lb.arnSuffix, TargetGroup: tg }, statistic: "Minimum" },
                    },
        );
    }

    return [
        header("Load balancer"),
        graph("Requests and 5xx", region, 60, [
            [ns, "RequestCount", "LoadBalancer", lb.arnSuffix, { stat: "Sum", label: "requests" }],
            [ns, "HTTPCode_ELB_5XX_Count", "LoadBalancer", lb.arnSuffix, { stat: "Sum", label: "ALB 5xx" }],
            [ns, "HTTPCode_Target_5XX_Count", "LoadBalancer", lb.arnSuffix, { stat: "Sum", label: "target 5xx" }],
        ]),
        graph("Target response time p95 (s)", region, 300, p95, t.albResponseTimeP95Ms / 1000),
        graph("Targets healthy / unhealthy", region, 60, health),
    ];
}

