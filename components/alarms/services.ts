/** ECS service alarms: CPU and memory per service, tasks below desired (Container Insights), beat missing or doubled. */
import * as pulumi from "@pulumi/pulumi";
import type { AlarmThresholds } from "../../config/ops";
import { AlarmScope, AlarmedServices, FOR_15_MIN, FOR_5_MIN, Widget, graph, header, kebab } from "./types";

export function serviceAlarms(scope: AlarmScope, ecs: AlarmedServices, t: AlarmThresholds, paused: boolean): Widget[] {
    const region = scope.region;
    const ci = "ECS/ContainerInsights";
    const all: [string, pulumi.Input<string>][] = [...Object.entries(ecs.services), ["beat", ecs.beatServiceName]];
    const cpu: unknown[][] = [];
    const memory: unknown[][] = [];
    const tasks: unknown[][] = [];

    for (const [role, serviceName] of all) {
        const id = kebab(role);
        const dims = { ClusterName: ecs.clusterName, ServiceName: serviceName };
        // Averages over the service's tasks, 3 consecutive 5-minute periods: autoscaling gets time to add tasks
        // first. Missing data (no task running) keeps the state; the running-task alarms cover that case.
        scope.alarm({
            id: `ecs-${id}-cpu`,
            description: `Average CPU of the ${role} service above ${t.ecsCpuPercent} % for 15 minutes (autoscaling at its maximum, or a task size too small).`,
            comparison: "GreaterThanThreshold",
            threshold: t.ecsCpuPercent,
            window: FOR_15_MIN,
            treatMissingData: "missing",
            metric: { namespace: "AWS/ECS", name: "CPUUtilization", dimensions: dims, statistic: "Average" },
        });
        scope.alarm({
            id: `ecs-${id}-memory`,
            description: `Average memory of the ${role} service above ${t.ecsMemoryPercent} % for 15 minutes; at 100 % tasks are OOM-killed.`,
            comparison: "GreaterThanThreshold",
            threshold: t.ecsMemoryPercent,
            window: FOR_15_MIN,
            treatMissingData: "missing",
            metric: { namespace: "AWS/ECS", name: "MemoryUtilization", dimensions: dims, statistic: "Average" },
        });
        cpu.push(["AWS/ECS", "CPUUtilization", "ClusterName", ecs.clusterName, "ServiceName", serviceName, { stat: "Average", label: role }]);
        memory.push(["AWS/ECS", "MemoryUtilization", "ClusterName", ecs.clusterName, "ServiceName", serviceName, { stat: "Average", label: role }]);
        tasks.push([ci, "RunningTaskCount", "ClusterName", ecs.clusterName, "ServiceName", serviceName, { stat: "Average", label: `${role} running` }]);

        if (role === "beat" || !ecs.containerInsights) {
            continue;
        }
        // Container Insights publishes a service's metrics only while it has running tasks ("if ... that service has
        // no tasks in a RUNNING state, there will be no metrics sent", ECS developer guide): no data means no task
        // at all, breaching; on a stack that sleeps it is every night, so there it is notBreaching (and the ECS
        // service events still report tasks that cannot start). Within a minute the lowest desired count is
        // compared with the highest running count, so tasks starting during a scale-out do not count as missing;
        // 5 minutes in a row below desired means tasks fail to start or keep crashing.
        scope.alarm({
            id: `ecs-${id}-tasks-below-desired`,
            description: `The ${role} service has run fewer tasks than desired for 5 minutes. See its events (aws ecs describe-services) and the stopped tasks' reasons.`,
            comparison: "GreaterThanThreshold",
            threshold: 0,
            window: FOR_5_MIN,
            treatMissingData: paused ? "notBreaching" : "breaching",
            queries: [
                { id: "desired", metric: { namespace: ci, metricName: "DesiredTaskCount", dimensions: dims, stat: "Minimum", period: 60 }, returnData: false },
                { id: "running", metric: { namespace: ci, metricName: "RunningTaskCount", dimensions: dims, stat: "Maximum", period: 60 }, returnData: false },
                { id: "missing", expression: "desired - running", label: "tasks missing", returnData: true },
            ],
        });
    }

    const widgets = [
        header("ECS services"),
        ...(ecs.containerInsights ? [graph("Running tasks", region, 60, tasks)] : []),
        graph("CPU % (service average)", region, 300, cpu, t.ecsCpuPercent),
        graph("Memory % (service average)", region, 300, memory, t.ecsMemoryPercent),
    ];
    if (!ecs.containerInsights) {
        return widgets;
    }
    // Beat is one task, replaced stop-first on deploy (a second beat would dispatch every schedule twice), so a
    // deploy leaves it at 0 for a minute or two: 5 minutes without it means schedules are not firing. No data is
    // no task (see above), except on a stack that sleeps.
    const beatDims = { ClusterName: ecs.clusterName, ServiceName: ecs.beatServiceName };
    scope.alarm({
        id: "ecs-beat-not-running",
        description: "No beat task for 5 minutes: scheduled workflows, plugin auto-upgrades and periodic cleanups are not dispatched.",
        comparison: "LessThanThreshold",
        threshold: 1,
        window: FOR_5_MIN,
        treatMissingData: paused ? "notBreaching" : "breaching",
        metric: { namespace: ci, name: "RunningTaskCount", dimensions: beatDims, statistic: "Maximum" },
    });
    scope.alarm({
        id: "ecs-beat-duplicate",
        description: "More than one beat task for 5 minutes: every scheduled job is dispatched once per beat. Set the beat service's desired count back to 1.",
        comparison: "GreaterThanThreshold",
        threshold: 1,
        window: FOR_5_MIN,
        treatMissingData: "notBreaching",
        metric: { namespace: ci, name: "RunningTaskCount", dimensions: beatDims, statistic: "Minimum" },
    });
    return widgets;
}
