/** Aurora alarms per instance (CPU, memory, connections, ACU), the cluster's replica lag, and its failover events. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AlarmThresholds } from "../../config/ops";
import { AlarmScope, AlarmedDatabase, FOR_15_MIN, FOR_5_MIN, MIB, Widget, graph, header } from "./types";

export function databaseAlarms(scope: AlarmScope, db: AlarmedDatabase, t: AlarmThresholds): Widget[] {
    const region = scope.region;
    const ns = "AWS/RDS";
    const cpu: unknown[][] = [];
    const memory: unknown[][] = [];
    const connections: unknown[][] = [];
    const capacity: unknown[][] = [];
    const acuUtilization: unknown[][] = [];
    const connectionsThreshold = Math.floor((db.maxConnections * t.dbConnectionsPercent) / 100);

    db.instanceIdentifiers.forEach((instance, i) => {
        const n = i + 1;
        const dims = { DBInstanceIdentifier: instance };
        // Instance metrics are published every minute while the instance runs: missing data keeps the state.
        scope.alarm({
            id: `db-${n}-cpu`,
            description: pulumi.interpolate`CPU of Aurora instance ${instance} above ${t.dbCpuPercent} % for 15 minutes.`,
            comparison: "GreaterThanThreshold",
            threshold: t.dbCpuPercent,
            window: FOR_15_MIN,
            treatMissingData: "missing",
            metric: { namespace: ns, name: "CPUUtilization", dimensions: dims, statistic: "Average" },
        });
        scope.alarm({
            id: `db-${n}-freeable-memory`,
            description: pulumi.interpolate`Freeable memory of Aurora instance ${instance} below ${t.dbFreeableMemoryMiB} MiB for 15 minutes.`,
            comparison: "LessThanThreshold",
            threshold: t.dbFreeableMemoryMiB * MIB,
            window: FOR_15_MIN,
            treatMissingData: "missing",
            metric: { namespace: ns, name: "FreeableMemory", dimensions: dims, statistic: "Minimum" },
        });
        // Every api/worker/beat/plugin-daemon process holds a pool (config/capacity.ts counts them at maximum scale);
        // the peak matters, because max_connections refuses the next one.
        scope.alarm({
            id: `db-${n}-connections`,
            description: pulumi.interpolate`More than ${connectionsThreshold} connections (${t.dbConnectionsPercent} % of max_connections ${db.maxConnections}) to Aurora instance ${instance} for 15 minutes: compare with the capacity table (pool sizes and task maxima) or raise the database capacity.`,
            comparison: "GreaterThanThreshold",
            threshold: connectionsThreshold,
            window: FOR_15_MIN,
            treatMissingData: "missing",
            metric: { namespace: ns, name: "DatabaseConnections", dimensions: dims, statistic: "Maximum" },
        });
        if (db.serverless) {
            // ACUUtilization = current capacity / maximum ACUs: near 100 % the instance cannot scale any further.
            scope.alarm({
                id: `db-${n}-acu-utilization`,
                description: pulumi.interpolate`Aurora Serverless v2 instance ${instance} above ${t.dbAcuUtilizationPercent} % of its maximum capacity for 15 minutes: raise databaseMaxCapacity.`,
                comparison: "GreaterThanThreshold",
                threshold: t.dbAcuUtilizationPercent,
                window: FOR_15_MIN,
                treatMissingData: "missing",
                metric: { namespace: ns, name: "ACUUtilization", dimensions: dims, statistic: "Average" },
            });
            capacity.push([ns, "ServerlessDatabaseCapacity", "DBInstanceIdentifier", instance, { stat: "Average" }]);
            acuUtilization.push([ns, "ACUUtilization", "DBInstanceIdentifier", instance, { stat: "Average" }]);
        }
        cpu.push([ns, "CPUUtilization", "DBInstanceIdentifier", instance, { stat: "Average" }]);
        memory.push([ns, "FreeableMemory", "DBInstanceIdentifier", instance, { stat: "Minimum" }]);
        connections.push([ns, "DatabaseConnections", "DBInstanceIdentifier", instance, { stat: "Maximum" }]);
    });

    const widgets: Widget[] = [
        header("Aurora PostgreSQL"),
        graph("CPU %", region, 300, cpu, t.dbCpuPercent),
        graph("Freeable memory (bytes)", region, 300, memory, t.dbFreeableMemoryMiB * MIB),
        graph("Connections", region, 300, connections, connectionsThreshold),
    ];
    if (db.serverless) {
        widgets.push(graph("Serverless v2 capacity (ACU)", region, 300, capacity));
        widgets.push(graph("Serverless v2 capacity, % of maximum", region, 300, acuUtilization, t.dbAcuUtilizationPercent));
    }
    if (db.instanceIdentifiers.length > 1) {
        // Cluster-level maximum over all readers: stays right whichever instance is the writer after a failover.
        // Readers serve stale reads and are slower failover targets while lagging. Sparse when no reader exists
        // (mid-replacement): notBreaching.
        const dims = { DBClusterIdentifier: db.clusterIdentifier };
        scope.alarm({
            id: "db-replica-lag",
            description: `An Aurora reader has lagged more than ${t.dbReplicaLagMs} ms behind the writer for 5 minutes.`,
            comparison: "GreaterThanThreshold",
            threshold: t.dbReplicaLagMs,
            window: FOR_5_MIN,
            treatMissingData: "notBreaching",
            metric: { namespace: ns, name: "AuroraReplicaLagMaximum", dimensions: dims, statistic: "Maximum" },
        });
        widgets.push(graph("Replica lag, max (ms)", region, 60, [[ns, "AuroraReplicaLagMaximum", "DBClusterIdentifier", db.clusterIdentifier, { stat: "Maximum" }]], t.dbReplicaLagMs));
    }
    return widgets;
}

/** The name of the stack's rule for Aurora failovers and failures (the topic policy names it before it exists). */
export const DATABASE_EVENT_RULE = (prefix: string) => `${prefix}-database-events`;

/**
 * Aurora failovers and failures, mailed to the topic: RDS sends its events to EventBridge ("RDS DB Cluster Event",
 * "RDS DB Instance Event", with the event categories and the source identifier in the detail; RDS user guide, "Creating
 * a rule that triggers on an Amazon RDS event"). A failover is a minute of failed writes and the reason the writer
 * moved; no metric alarm names it.
 */
export function databaseEvents(scope: Omit<AlarmScope, "alarm">, db: AlarmedDatabase, topic: aws.sns.Topic): void {
    const rule = new aws.cloudwatch.EventRule(
        `${scope.name}-database-events`,
        {
            name: DATABASE_EVENT_RULE(scope.prefix),
            description: `Dify ${scope.prefix}: Aurora failovers and failures of the cluster and its instances`,
            eventPattern: pulumi.jsonStringify({
                source: ["aws.rds"],
                "detail-type": ["RDS DB Cluster Event", "RDS DB Instance Event"],
                detail: { EventCategories: ["failover", "failure"], SourceIdentifier: [db.clusterIdentifier, ...db.instanceIdentifiers] },
            }),
        },
        { parent: scope.parent },
    );
    new aws.cloudwatch.EventTarget(`${scope.name}-database-events`, { rule: rule.name, arn: topic.arn }, { parent: scope.parent });
}
