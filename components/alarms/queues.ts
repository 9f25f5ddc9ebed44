/**
 * Celery queue alarms, on the metrics beat's sidecar publishes (components/difyCluster/queueMetrics.ts): work piling
 * up, and work that waits with nobody taking it (a wedged worker, a broker connection that died silently). The
 * publisher writes a point every minute, so silence means it stopped: breaching, except on a stack that sleeps.
 */
import type { AlarmThresholds } from "../../config/ops";
import { AlarmScope, graph, header, Widget } from "./types";

export interface AlarmedQueues {
    namespace: string;
    /** The `Stack` dimension value the publisher writes. */
    stack: string;
}

export function queueAlarms(scope: AlarmScope, q: AlarmedQueues, t: AlarmThresholds, paused: boolean): Widget[] {
    const dims = { Stack: q.stack };
    scope.alarm({
        id: "celery-queue-depth",
        description: `More than ${t.queueDepth} Celery jobs waiting for 10 minutes: workers cannot keep up (see the worker's CPU, its scaling and the queue metrics log of beat).`,
        comparison: "GreaterThanThreshold",
        threshold: t.queueDepth,
        window: { period: 60, of: 10, breaching: 10 },
        treatMissingData: paused ? "notBreaching" : "breaching",
        metric: { namespace: q.namespace, name: "QueueDepth", dimensions: dims, statistic: "Maximum" },
    });
    scope.alarm({
        id: "celery-queue-stuck",
        description: `A Celery job has waited at the head of its queue for over ${t.queueWaitSeconds} s: no worker takes it (workers wedged, or not consuming that queue). The queue is named in beat's queue-metrics log.`,
        comparison: "GreaterThanThreshold",
        threshold: t.queueWaitSeconds,
        window: { period: 60, of: 3, breaching: 3 },
        treatMissingData: paused ? "notBreaching" : "breaching",
        metric: { namespace: q.namespace, name: "OldestMessageWaitSeconds", dimensions: dims, statistic: "Maximum" },
    });
    return [
        header("Celery queues"),
        graph("Waiting jobs", scope.region, 60, [[q.namespace, "QueueDepth", "Stack", q.stack, { stat: "Maximum", label: "waiting" }]], t.queueDepth),
        graph("Oldest job waiting (s)", scope.region, 60, [[q.namespace, "OldestMessageWaitSeconds", "Stack", q.stack, { stat: "Maximum", label: "oldest waiting" }]], t.queueWaitSeconds),
        // Per queue: the sidecar writes a queue's own metrics only while it holds messages, so a search finds the
        // queues that had a backlog in the graph's range (CloudWatch user guide, "Use search expressions in graphs").
        graph("Waiting jobs per queue", scope.region, 60, [[{ expression: `SEARCH('{${q.namespace},Stack,Queue} Stack="${q.stack}" MetricName="QueueDepth"', 'Maximum', 60)`, id: "perQueue", label: "" }]]),
    ];
}
