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
    });
    return [
        header("ElastiCache"),
        graph("Memory % of maxmemory", region, 60, memory, t.cacheMemoryPercent),
        graph("Engine CPU %", region, 300, cpu, t.cacheEngineCpuPercent),
        graph("Client connections", region, 300, connections, t.cacheConnections),
    ];
}
