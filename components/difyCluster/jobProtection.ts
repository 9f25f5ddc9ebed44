import { ContainerEnvironment, withExtras } from "../difyEnvironment";
import { pythonSidecar, Sidecar } from "./sidecars";

/**
 * Scale-in protection for Celery workers while they run jobs: a small sidecar in each worker task asks its own worker
 * (`celery inspect active`, addressed to `celery@<hostname>`: in awsvpc mode the hostname is the task's, the same in
 * each of its containers, and Fargate sets HOSTNAME to it; awsdocs/amazon-ecs-developer-guide#98,
 * aws/containers-roadmap#1325) whether it is running jobs, and sets the task's protection through the ECS agent
 * (PUT $ECS_AGENT_URI/task-protection/v1/state; ECS developer guide, "Amazon ECS task scale-in protection endpoint").
 * A protected task is not stopped by service auto scaling's scale-in, nor replaced by a deployment, until the
 * protection ends or expires.
 *
 * Why: Dify acknowledges a Celery job when a worker receives it (task_acks_late off), so a job running when its task
 * is stopped is lost, and a workflow may run for APP_MAX_EXECUTION_TIME (default 1,200 s), ten times Fargate's longest
 * stopTimeout (120 s). Protection expires a little after the longest run the stack allows, so a wedged job cannot pin a
 * task for ever; it is renewed while jobs run, and lifted when the worker is idle.
 */
export const JOB_PROTECTION = { container: "scale-in-protection", intervalSeconds: 60, graceMinutes: 2 } as const;

/** Minutes each protection lasts: the longest run the stack allows, rounded up, plus a margin for the next renewal. */
export function protectionMinutes(appMaxExecutionTimeSeconds: number): number {
    return Math.ceil(appMaxExecutionTimeSeconds / 60) + JOB_PROTECTION.graceMinutes;
}

/** The sidecar's Python, run with `python -c` in the api image (whose celery_healthcheck app is the worker's health check's). */
const SCRIPT = `
import json, os, socket, subprocess, time, urllib.request
state = os.environ["ECS_AGENT_URI"] + "/task-protection/v1/state"
node = "celery@" + socket.gethostname()
every, minutes = int(os.environ["PROTECTION_INTERVAL"]), int(os.environ["PROTECTION_MINUTES"])
protected = False
def busy():
    r = subprocess.run(["celery", "-A", "celery_healthcheck.celery", "inspect", "active", "-d", node, "--json", "--timeout", "10"], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        return None
    return len(json.loads(r.stdout.strip().splitlines()[-1]).get(node) or []) > 0
while True:
    try:
        b = busy()
        if b is not None and (b or protected):
            body = {"ProtectionEnabled": b, **({"ExpiresInMinutes": minutes} if b else {})}
            req = urllib.request.Request(state, data=json.dumps(body).encode(), method="PUT", headers={"Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=10).read()
            if b != protected:
                print(json.dumps({"scaleInProtection": b}), flush=True)
            protected = b
    except Exception as e:
        print(json.dumps({"scaleInProtectionError": repr(e)}), flush=True)
    time.sleep(every)
`.trim();

/**
 * Each worker task's sidecar: the worker's own environment (the health check's Celery app reads its broker settings)
 * and the protection's interval and length.
 */
export function jobProtectionSidecar(workerEnvironment: ContainerEnvironment, appMaxExecutionTimeSeconds: number): Sidecar {
    return pythonSidecar(
        JOB_PROTECTION.container,
        SCRIPT,
        withExtras(workerEnvironment, { PROTECTION_INTERVAL: String(JOB_PROTECTION.intervalSeconds), PROTECTION_MINUTES: String(protectionMinutes(appMaxExecutionTimeSeconds)) }, []),
    );
}
