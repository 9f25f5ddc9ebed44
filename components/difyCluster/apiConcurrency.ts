import { pythonSidecar, Sidecar } from "./sidecars";

/**
 * The api's concurrency signal: a small sidecar in each api task that counts the established TCP connections to the
 * api's port and writes them as a CloudWatch embedded-metric-format line every minute (CloudWatch user guide,
 * "Embedding metrics within logs"). Fargate tasks share one network namespace (awsvpc), so the sidecar's
 * /proc/net/tcp{,6} are the api container's sockets. It runs the api image's Python; no image of its own.
 *
 * Why connections and not CPU or requests: a streaming (SSE) chat holds one gevent greenlet and one connection for
 * minutes while using little CPU and counting as one request, so CPU and requests per target stay low while the
 * worker's connection slots fill (issue 18). Connections gunicorn has not accepted yet wait, established, in the
 * listen backlog and are counted too, so saturation shows as more than the task's slots.
 */
export const API_CONCURRENCY = { namespace: "Dify/Api", metric: "InFlightConnections", dimension: "Stack", intervalSeconds: 60, container: "concurrency-metrics" } as const;

/** The sidecar's Python, run with `python -c`: /proc/net/tcp lines are `sl local_address rem_address st ...`, hex. */
const SCRIPT = `
import json, os, time
port, ns, stack, every = int(os.environ["API_PORT"]), os.environ["METRICS_NAMESPACE"], os.environ["METRICS_STACK"], int(os.environ["METRICS_INTERVAL"])
def established():
    n = 0
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        n += 1
        except OSError:
            pass
    return n
while True:
    print(json.dumps({"_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [{"Namespace": ns, "Dimensions": [["Stack"]], "Metrics": [{"Name": "${API_CONCURRENCY.metric}", "Unit": "Count"}]}]}, "Stack": stack, "${API_CONCURRENCY.metric}": established()}), flush=True)
    time.sleep(every)
`.trim();

/** Each api task's sidecar, counting the connections to the api's port. */
export function apiConcurrencySidecar(apiPort: number, stack: string): Sidecar {
    return pythonSidecar(API_CONCURRENCY.container, SCRIPT, {
        environment: { API_PORT: String(apiPort), METRICS_NAMESPACE: API_CONCURRENCY.namespace, METRICS_STACK: stack, METRICS_INTERVAL: String(API_CONCURRENCY.intervalSeconds) },
        secrets: {},
    });
}

/**
 * The share of a task's connection slots (gunicorn workers x worker connections, config/capacity.ts) at which api
 * scales out: target tracking holds the average there, leaving the rest for the minutes a new task takes to start.
 */
export const API_CONNECTION_TARGET_PERCENT = 70;

/** Connections per api task at which target tracking adds tasks. */
export function apiScaleOutConnections(api: { workers: number; connectionsPerWorker: number }): number {
    return Math.max(1, Math.floor((api.workers * api.connectionsPerWorker * API_CONNECTION_TARGET_PERCENT) / 100));
}
