import type * as pulumi from "@pulumi/pulumi";
import { pythonSidecar, Sidecar } from "./sidecars";

/**
 * Celery queue metrics: a small sidecar in the beat task (one task, always running: never two publishers) that reads
 * the broker every minute and writes CloudWatch embedded-metric-format lines to its log stream, which CloudWatch Logs
 * turns into metrics (CloudWatch user guide, "Embedding metrics within logs"). It runs the api image's Python and
 * redis-py with the broker URL beat already holds; no image of its own.
 *
 * What it measures, over every queue (dimension Stack, which the alarms and the worker's scaling read) and per queue
 * (dimensions Stack and Queue, for the dashboard and for an operator's own alarms). A queue's own metrics are written
 * only while it holds messages, and once more when it empties: each custom metric is billed by the hours it receives
 * data, and Dify has some twenty queues, most of them idle. Kombu's Redis transport keeps each
 * queue as a list named after it, found through the `_kombu.binding.<queue>` sets, publishers LPUSH and workers
 * BRPOP, so the oldest message is the list's last element:
 * - QueueDepth: messages waiting over every queue;
 * - OldestMessageWaitSeconds: how long the oldest waiting message has sat at the head of its queue, a lower bound of
 *   its age (Celery's messages carry no enqueue time): it grows while workers take nothing from a queue that has work.
 */
export const QUEUE_METRICS = { namespace: "Dify/Celery", dimension: "Stack", intervalSeconds: 60, container: "queue-metrics" } as const;

/** The sidecar's Python, run with `python -c`. */
const SCRIPT = `
import json, os, time, redis
r = redis.Redis.from_url(os.environ["CELERY_BROKER_URL"], socket_timeout=10, socket_connect_timeout=10)
ns, stack, every = os.environ["METRICS_NAMESPACE"], os.environ["METRICS_STACK"], int(os.environ["METRICS_INTERVAL"])
heads, busy = {}, set()
while True:
    now = time.time()
    try:
        queues = sorted({k.decode().split("_kombu.binding.", 1)[1] for k in r.scan_iter(match="_kombu.binding.*")})
        depth, per, waits, seen = 0, {}, {}, {}
        for q in queues:
            n = r.llen(q)
            per[q], depth, waits[q] = n, depth + n, 0.0
            if n:
                head = (q, r.lindex(q, -1))
                seen[head] = heads.get(head, now)
                waits[q] = now - seen[head]
        heads = seen
        emf = lambda dims, props: json.dumps({"_aws": {"Timestamp": int(now * 1000), "CloudWatchMetrics": [{"Namespace": ns, "Dimensions": [dims], "Metrics": [{"Name": "QueueDepth", "Unit": "Count"}, {"Name": "OldestMessageWaitSeconds", "Unit": "Seconds"}]}]}, "Stack": stack, **props})
        print(emf(["Stack"], {"QueueDepth": depth, "OldestMessageWaitSeconds": round(max(waits.values(), default=0.0)), "Queues": per}), flush=True)
        for q in queues:
            if per[q] or q in busy:
                print(emf(["Stack", "Queue"], {"Queue": q, "QueueDepth": per[q], "OldestMessageWaitSeconds": round(waits[q])}), flush=True)
        busy = {q for q in queues if per[q]}
    except Exception as e:
        print(json.dumps({"queueMetricsError": repr(e)}), flush=True)
    time.sleep(every)
`.trim();

/** Beat's sidecar, reading the broker with the URL beat holds (a Secrets Manager reference). */
export function queueMetricsSidecar(stack: string, celeryBrokerUrlValueFrom: pulumi.Input<string>): Sidecar {
    return pythonSidecar(QUEUE_METRICS.container, SCRIPT, {
        environment: { METRICS_NAMESPACE: QUEUE_METRICS.namespace, METRICS_STACK: stack, METRICS_INTERVAL: String(QUEUE_METRICS.intervalSeconds) },
        secrets: { CELERY_BROKER_URL: celeryBrokerUrlValueFrom },
    });
}
