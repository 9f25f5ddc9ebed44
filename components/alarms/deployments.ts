/**
 * Deployment alarms: what rolls a canary of web or api back (ECS `alarms` with rollback; see
 * components/difyCluster/progressive.ts for the strategy). They watch both target groups of the role, old and new, and
 * only what a deployment changes: an alarm already in ALARM when a deployment starts is ignored for it (ECS), so these
 * are never the stack's standing alarms.
 * - 5xx: more than DEPLOYMENT_ALARM.errorPercent of either group's requests answered 5xx by its tasks, in 2 of 3
 *   minutes. Per group, not summed: a canary serves canaryPercent of the traffic, and its errors summed with the old
 *   group's would be diluted below the threshold (at 10 %, a canary failing under half its requests would never fire);
 *   a group with fewer than DEPLOYMENT_ALARM.minRequests requests in a minute counts as 0;
 * - web only, latency: the worse group's p90 response time above DEPLOYMENT_ALARM.webP90Seconds for 3 minutes. Not
 *   the api: its SSE answers last as long as the model writes, so their time says nothing about a bad release.
 */
import * as pulumi from "@pulumi/pulumi";
import { AlarmScope } from "./types";

export const DEPLOYMENT_ALARM = {
    errorPercent: 5,
    webP90Seconds: 3,
    periodSeconds: 60,
    minRequests: 10,
    errorWindow: { of: 3, breaching: 2 },
    latencyWindow: { of: 3, breaching: 3 },
} as const;

/** The worse group's 5xx percentage, as CloudWatch metric math over each group's 5xx (eN) and request (rN) counts. */
export function worstGroupErrorRate(groups: number): string {
    const rate = (n: number) => `IF(FILL(r${n},0) >= ${DEPLOYMENT_ALARM.minRequests}, 100 * FILL(e${n},0) / FILL(r${n},1), 0)`;
    return `MAX([${Array.from({ length: groups }, (_, i) => rate(i + 1)).join(", ")}])`;
}

/** The alarm ids (names `<prefix>-<id>`) that roll back a role's canary; the service names them before they exist. */
export function deploymentAlarmIds(role: "web" | "api"): string[] {
    return role === "web" ? ["web-deployment-5xx", "web-deployment-latency"] : ["api-deployment-5xx"];
}

export function deploymentAlarms(scope: AlarmScope, lbArnSuffix: pulumi.Input<string>, role: "web" | "api", groups: [pulumi.Input<string>, pulumi.Input<string>]): void {
    const metric = (id: string, metricName: string, stat: string, tg: pulumi.Input<string>) => ({
        id,
        returnData: false,
        metric: { namespace: "AWS/ApplicationELB", metricName, stat, period: DEPLOYMENT_ALARM.periodSeconds, dimensions: { LoadBalancer: lbArnSuffix, TargetGroup: tg } },
    });
    const [errors, latency] = deploymentAlarmIds(role);
    scope.alarm({
        id: errors,
        description: `Rolls back a ${role} canary: over ${DEPLOYMENT_ALARM.errorPercent} percent of either target group's requests answered 5xx by its tasks in ${DEPLOYMENT_ALARM.errorWindow.breaching} of ${DEPLOYMENT_ALARM.errorWindow.of} minutes.`,
        comparison: "GreaterThanThreshold",
        threshold: DEPLOYMENT_ALARM.errorPercent,
        window: { period: DEPLOYMENT_ALARM.periodSeconds, ...DEPLOYMENT_ALARM.errorWindow },
        treatMissingData: "notBreaching",
        queries: [
            metric("e1", "HTTPCode_Target_5XX_Count", "Sum", groups[0]),
            metric("e2", "HTTPCode_Target_5XX_Count", "Sum", groups[1]),
            metric("r1", "RequestCount", "Sum", groups[0]),
            metric("r2", "RequestCount", "Sum", groups[1]),
            { id: "rate", label: "5xx percent, worse group", returnData: true, expression: worstGroupErrorRate(2) },
        ],
    });
    if (latency) {
        scope.alarm({
            id: latency,
            description: `Rolls back a web canary: p90 page response time above ${DEPLOYMENT_ALARM.webP90Seconds} s in either target group for ${DEPLOYMENT_ALARM.latencyWindow.of} minutes.`,
            comparison: "GreaterThanThreshold",
            threshold: DEPLOYMENT_ALARM.webP90Seconds,
            window: { period: DEPLOYMENT_ALARM.periodSeconds, ...DEPLOYMENT_ALARM.latencyWindow },
            treatMissingData: "notBreaching",
            queries: [
                metric("l1", "TargetResponseTime", "p90", groups[0]),
                metric("l2", "TargetResponseTime", "p90", groups[1]),
                { id: "worst", label: "p90 seconds, worse group", returnData: true, expression: "MAX([FILL(l1,0), FILL(l2,0)])" },
            ],
        });
    }
}
