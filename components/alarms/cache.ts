/** ElastiCache alarms per node: memory (noeviction), engine CPU, connections. */
import * as pulumi from "@pulumi/pulumi";
import type { AlarmThresholds } from "../../config/ops";
import { AlarmScope, AlarmedCache, FOR_15_MIN, FOR_5_MIN, Widget, graph, header } from "./types";

export function cacheAlarms(scope: AlarmScope, cache: AlarmedCache, t: AlarmThresholds): Widget[] {
    const region = scope.region;
    const ns = "AWS/ElastiCache";
    const memory: unknown[][] = [];
    const cpu: unknown[][] = [];
    const connections: unknown[][] = [];
    const primary: unknown[][] = [];
    cache.memberClusterIds.forEach((member, i) => {
        const n = i + 1;
        const dims = { CacheClusterId: member };
        // The parameter group sets maxmemory-policy noeviction (Celery's queues have no TTL): at 100 % every write
        // fails with OOM, which stops task dispatch. Maximum per minute, 5 minutes in a row, leaves time to act.
        scope.alarm({
            id: `cache-${n}-memory`,
            description: pulumi.interpolate`Cache node ${member} above ${t.cacheMemoryPercent} % of maxmemory for 5 minutes. With noeviction, writes (Celery's broker) fail at 100 %: scale the node type up.`,
            comparison: "GreaterThanThreshold",
            threshold: t.cacheMemoryPercent,
            window: FOR_5_MIN,
            treatMissingData: "missing",
            metric: { namespace: ns, name: "DatabaseMemoryUsagePercentage", dimensions: dims, statistic: "Maximum" },
        });
        // The engine's command thread, not the host CPU: on a multi-vCPU node host CPU hides a saturated engine.
        scope.alarm({
            id: `cache-${n}-engine-cpu`,
            description: pulumi.interpolate`Engine CPU of cache node ${member} above ${t.cacheEngineCpuPercent} % for 15 minutes.`,
            comparison: "GreaterThanThreshold",
            threshold: t.cacheEngineCpuPercent,
            window: FOR_15_MIN,
            treatMissingData: "missing",
            metric: { namespace: ns, name: "EngineCPUUtilization", dimensions: dims, statistic: "Average" },
        });
        scope.alarm({
            id: `cache-${n}-connections`,
            description: pulumi.interpolate`More than ${t.cacheConnections} client connections to cache node ${member} for 15 minutes (a connection leak, or far more tasks than planned).`,
            comparison: "GreaterThanThreshold",
            threshold: t.cacheConnections,
            window: FOR_15_MIN,
            treatMissingData: "missing",
            metric: { namespace: ns, name: "CurrConnections", dimensions: dims, statistic: "Maximum" },
        });
        memory.push([ns, "DatabaseMemoryUsagePercentage", "CacheClusterId", member, { stat: "Maximum" }]);
        cpu.push([ns, "EngineCPUUtilization", "CacheClusterId", member, { stat: "Average" }]);
        connections.push([ns, "CurrConnections", "CacheClusterId", member, { stat: "Maximum" }]);
        primary.push([ns, "IsMaster", "CacheClusterId", member, { stat: "Maximum" }]);
    });
    if (cache.memberClusterIds.length > 1) {
        // A failover: the primary role moves to a replica (IsMaster, 1 on the primary node; ElastiCache user guide,
        // "Host-level metrics"). Clients on the old primary reconnect, writes fail for the seconds it takes, Celery's
        // broker connection is re-established. ElastiCache sends no failover event to EventBridge (EventBridge
        // events reference, "Amazon ElastiCache events"): the change in IsMaster is the signal.
        scope.alarm({
            id: "cache-failover",
            description: pulumi.interpolate`The cache's primary moved to another node (a failover). Writes failed for its duration; check the api 5xx and Celery queue alarms, and the cache's events (aws elasticache describe-events).`,
            comparison: "GreaterThanThreshold",
            threshold: 0,
            // Two periods, so DIFF has the minute before to compare with.
            window: { period: 60, of: 2, breaching: 1 },
            treatMissingData: "notBreaching",
            queries: [
                ...cache.memberClusterIds.map((member, i) => ({
                    id: `node${i + 1}`,
                    returnData: false,
                    metric: { namespace: ns, metricName: "IsMaster", dimensions: { CacheClusterId: member }, period: 60, stat: "Maximum" },
                })),
                {
                    id: "moved",
                    expression: `${cache.memberClusterIds.map((_, i) => `ABS(DIFF(FILL(node${i + 1}, REPEAT)))`).join(" + ")}`,
                    label: "primary role changes",
                    returnData: true,
                },
            ],
        });
    }
    return [
        header("ElastiCache"),
        graph("Memory % of maxmemory", region, 60, memory, t.cacheMemoryPercent),
        graph("Engine CPU %", region, 300, cpu, t.cacheEngineCpuPercent),
        graph("Client connections", region, 300, connections, t.cacheConnections),
        ...(primary.length > 1 ? [graph("Primary node (1 = primary)", region, 60, primary)] : []),
    ];
}
