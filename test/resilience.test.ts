/**
 * Runtime resilience (issue 18): each fault traced through prd's settings has the setting that bounds it, asserted
 * where it lands (the task definitions, the WAF, the alarms, the backup plan).
 */
import { expect } from "chai";
import { statementMatches } from "../tools/reachability/waf";
import { ContainerDefinition, containerOf, environmentOf, loadSettingsFor, stackRun } from "./harness";

describe("resilience: database sessions fail fast after a lost writer", () => {
    for (const stack of ["dev", "prd"] as const) {
        it(`${stack}: every dify-api mode bounds connect, idle-dead and unacknowledged time, and recycles pooled connections within two minutes`, async () => {
            const run = await stackRun(stack);
            for (const family of ["api", "worker", "beat", "migration", "api-websocket"]) {
                const e = environmentOf(containerOf(run, family));
                // Dify appends DB_EXTRAS to the SQLAlchemy URL as its query: libpq keywords.
                const extras = new URLSearchParams(e.DB_EXTRAS);
                expect(Number(extras.get("connect_timeout")), family).to.be.within(1, 10);
                expect(extras.get("keepalives"), family).to.equal("1");
                const detect = Number(extras.get("keepalives_idle")) + Number(extras.get("keepalives_interval")) * Number(extras.get("keepalives_count"));
                expect(detect, `${family}: a dead server is noticed within (s)`).to.be.within(1, 120);
                expect(Number(extras.get("tcp_user_timeout")), family).to.be.within(1000, 60_000);
                expect(Number(e.SQLALCHEMY_POOL_RECYCLE), family).to.be.within(30, 120);
                // The pgvector pool reads libpq's environment only.
                expect(Number(e.PGCONNECT_TIMEOUT), family).to.be.within(1, 10);
                expect(e.PGSSLMODE, family).to.equal("require");
            }
        });

        it(`${stack}: the plugin daemon's pool lives as briefly, and its connects time out`, async () => {
            const e = environmentOf(containerOf(await stackRun(stack), "plugin-daemon"));
            expect(Number(e.DB_CONN_MAX_LIFETIME)).to.be.within(30, 120);
            expect(Number(e.PGCONNECT_TIMEOUT)).to.be.within(1, 10);
            // Its DB_EXTRAS becomes the server's `options`: libpq keywords there would fail the connection.
            expect(e.DB_EXTRAS).to.equal(undefined);
        });
    }
});

describe("resilience: the WAF limits people and credentials, not the office they share", () => {
    for (const stack of ["prd"] as const) {
        it(`${stack}: the per-IP limit leaves the allow-listed office ranges out, and still limits everyone else`, async () => {
            const run = await stackRun(stack);
            const acl = run.one("aws:wafv2/webAcl:WebAcl");
            const perIp = acl.inputs.rules.find((r: { name: string }) => r.name === "rate-limit-per-ip").statement.rateBasedStatement;
            const sets = run.ofType("aws:wafv2/ipSet:IpSet");
            const office = { ip: "203.0.113.7", path: "/console/api/apps" };
            const stranger = { ip: "198.18.0.10", path: "/v1/chat-messages" };
            // A rate-based rule counts only what its scope-down statement matches.
            expect(statementMatches(perIp.scopeDownStatement, office, sets)).to.equal(false);
            expect(statementMatches(perIp.scopeDownStatement, stranger, sets)).to.equal(true);
        });

        it(`${stack}: each API credential and each console user has its own limit, counting first, with an alarm`, async () => {
            const run = await stackRun(stack);
            const rules = run.one("aws:wafv2/webAcl:WebAcl").inputs.rules as any[];
            const byName = (n: string) => rules.find((r) => r.name === n);
            const apiKey = byName("rate-limit-per-api-key");
            const console = byName("rate-limit-per-console-user");
            expect(apiKey.statement.rateBasedStatement.customKeys).to.deep.equal([{ header: { name: "authorization", textTransformations: [{ priority: 0, type: "NONE" }] } }]);
            expect(console.statement.rateBasedStatement.customKeys[0].header.name).to.equal("x-csrf-token");
            const sets = run.ofType("aws:wafv2/ipSet:IpSet");
            // The API-key rule looks at the machine paths, the console rule at the console's API.
            expect(statementMatches(apiKey.statement.rateBasedStatement.scopeDownStatement, { ip: "203.0.113.7", path: "/v1/chat-messages" }, sets)).to.equal(true);
            expect(statementMatches(apiKey.statement.rateBasedStatement.scopeDownStatement, { ip: "203.0.113.7", path: "/apps" }, sets)).to.equal(false);
            expect(statementMatches(console.statement.rateBasedStatement.scopeDownStatement, { ip: "203.0.113.7", path: "/console/api/apps" }, sets)).to.equal(true);
            for (const r of [apiKey, console]) {
                expect(r.action, r.name).to.deep.equal({ count: {} });
            }
            const alarm = run.ofType("aws:cloudwatch/metricAlarm:MetricAlarm").find((a) => a.inputs.name === `dify-${stack}-waf-credential-rate-limited`)!;
            expect(alarm.inputs.threshold).to.equal(0);
        });
    }
});

import { execFileSync } from "child_process";
import { evaluateMetricMath } from "./metricMath";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { QUEUE_METRICS, queueMetricsSidecar } from "../components/difyCluster/queueMetrics";
import { API_GRACEFUL_TIMEOUT_SECONDS } from "../components/difyEnvironment/api";

/**
 * Runs the queue-metrics script with a stand-in `redis` module holding `queues` (name -> messages, oldest last, as
 * kombu's LPUSH leaves them), for `rounds` rounds one minute apart; returns the EMF lines it printed.
 */
function runQueueMetrics(queues: Record<string, string[]>, rounds: number): Record<string, any>[] {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "queue-metrics-"));
    fs.writeFileSync(
        path.join(dir, "redis.py"),
        [
            "import json, time as _t",
            `Q = json.loads(${JSON.stringify(JSON.stringify(queues))})`,
            "class _R:",
            "    def scan_iter(self, match):",
            "        return [('_kombu.binding.' + q).encode() for q in Q]",
            "    def llen(self, q): return len(Q[q])",
            "    def lindex(self, q, i): return Q[q][i].encode()",
            "class Redis:",
            "    @staticmethod",
            "    def from_url(url, **kw): return _R()",
        ].join("\n"),
    );
    // A clock that moves a minute per sleep, and stops the loop after `rounds` rounds.
    fs.writeFileSync(
        path.join(dir, "sitecustomize.py"),
        [
            "import time",
            "_now = [1_800_000_000.0]",
            `_left = [${rounds}]`,
            "time.time = lambda: _now[0]",
            "def _sleep(s):",
            "    _left[0] -= 1",
            "    if _left[0] == 0: raise SystemExit(0)",
            "    _now[0] += s",
            "time.sleep = _sleep",
        ].join("\n"),
    );
    const { entryPoint, command } = queueMetricsSidecar("dify-prd", "(the broker URL comes from the environment below)");
    const out = execFileSync("python3", [...entryPoint.slice(1), ...command], {
        env: { ...process.env, PYTHONPATH: dir, CELERY_BROKER_URL: "rediss://:t@cache:6379/1", METRICS_NAMESPACE: QUEUE_METRICS.namespace, METRICS_STACK: "dify-prd", METRICS_INTERVAL: "60" },
    }).toString();
    fs.rmSync(dir, { recursive: true, force: true });
    return out.trim().split("\n").map((l) => JSON.parse(l));
}

describe("resilience: a Celery queue you can see and trust", () => {
    it("the queue-metrics sidecar prints CloudWatch EMF of the depth and of how long the oldest job has waited", () => {
        const all = runQueueMetrics({ dataset: ["m3", "m2", "m1"], mail: [], workflow_based_app_execution: ["w1"] }, 3);
        // Each round: the total (dimension Stack), then one record per queue (dimensions Stack and Queue).
        const lines = all.filter((l) => l.Queue === undefined);
        expect(lines).to.have.length(3);
        // A queue's own records come only while it holds messages (custom metrics bill by the hours they get data):
        // the empty mail queue has none.
        const perQueue = all.filter((l) => l.Queue !== undefined);
        expect(perQueue).to.have.length(6);
        expect(perQueue[0]._aws.CloudWatchMetrics[0].Dimensions).to.deep.equal([["Stack", "Queue"]]);
        expect(perQueue.slice(0, 2).map((l) => [l.Queue, l.QueueDepth])).to.deep.equal([["dataset", 3], ["workflow_based_app_execution", 1]]);
        // The dataset queue's head waits a minute longer each round.
        expect(perQueue.filter((l) => l.Queue === "dataset").map((l) => l.OldestMessageWaitSeconds)).to.deep.equal([0, 60, 120]);
        expect(perQueue.some((l) => l.Queue === "mail")).to.equal(false);
        const first = lines[0];
        expect(first._aws.CloudWatchMetrics[0]).to.deep.equal({
            Namespace: QUEUE_METRICS.namespace,
            Dimensions: [["Stack"]],
            Metrics: [
                { Name: "QueueDepth", Unit: "Count" },
                { Name: "OldestMessageWaitSeconds", Unit: "Seconds" },
            ],
        });
        expect(first.Stack).to.equal("dify-prd");
        expect(first.QueueDepth).to.equal(4);
        expect(first.Queues).to.deep.equal({ dataset: 3, mail: 0, workflow_based_app_execution: 1 });
        // Nobody takes the heads: their wait grows a minute a round.
        expect(lines.map((l) => l.OldestMessageWaitSeconds)).to.deep.equal([0, 60, 120]);
    });

    for (const stack of ["dev", "prd"] as const) {
        it(`${stack}: beat carries the publisher (not essential, the broker URL as a secret), and both queue alarms watch it`, async () => {
            const run = await stackRun(stack);
            const sidecar = containerOf(run, "beat", QUEUE_METRICS.container);
            expect(sidecar.essential).to.equal(false);
            expect(sidecar.image).to.equal(containerOf(run, "beat").image);
            expect(sidecar.secrets.map((s) => s.name)).to.deep.equal(["CELERY_BROKER_URL"]);
            const alarms = run.ofType("aws:cloudwatch/metricAlarm:MetricAlarm").map((a) => a.inputs);
            const depth = alarms.find((a) => a.name === `dify-${stack}-celery-queue-depth`)!;
            const stuck = alarms.find((a) => a.name === `dify-${stack}-celery-queue-stuck`)!;
            for (const a of [depth, stuck]) {
                expect(a.namespace).to.equal(QUEUE_METRICS.namespace);
                expect(a.dimensions).to.deep.equal({ Stack: `dify-${stack}` });
            }
            expect([depth.metricName, stuck.metricName]).to.deep.equal(["QueueDepth", "OldestMessageWaitSeconds"]);
            // The per-queue metrics have a graph: a search over the Stack,Queue dimension set, this stack only.
            const body = JSON.parse(run.one("aws:cloudwatch/dashboard:Dashboard").inputs.dashboardBody);
            const searches = body.widgets.flatMap((w: any) => w.properties?.metrics ?? []).flat().filter((m: any) => typeof m?.expression === "string");
            expect(searches.map((m: any) => m.expression)).to.include(`SEARCH('{${QUEUE_METRICS.namespace},Stack,Queue} Stack="dify-${stack}" MetricName="QueueDepth"', 'Maximum', 60)`);
        });

        it(`${stack}: a worker whose broker connection died fails its health check and is replaced`, async () => {
            const worker = JSON.parse((await stackRun(stack)).one("aws:ecs/taskDefinition:TaskDefinition", "dify-worker").inputs.containerDefinitions)[0];
            expect(worker.healthCheck.command[1]).to.contain('inspect ping -d "celery@$HOSTNAME"');
            expect(worker.healthCheck.retries * worker.healthCheck.interval).to.be.at.most(300);
        });

        it(`${stack}: the api drains its streams through the deregistration delay and then gunicorn's graceful timeout`, async () => {
            const run = await stackRun(stack);
            const api = JSON.parse(run.one("aws:ecs/taskDefinition:TaskDefinition", "dify-api").inputs.containerDefinitions)[0];
            const e = Object.fromEntries(api.environment.map((x: any) => [x.name, x.value]));
            expect(e.GUNICORN_CMD_ARGS).to.equal(`--graceful-timeout ${API_GRACEFUL_TIMEOUT_SECONDS}`);
            // SIGKILL comes stopTimeout after SIGTERM: the graceful timeout must end first.
            expect(API_GRACEFUL_TIMEOUT_SECONDS).to.be.lessThan(api.stopTimeout);
            expect(API_GRACEFUL_TIMEOUT_SECONDS).to.be.greaterThan(30);
        });
    }

    it("prd: the worker also scales on jobs waiting per running task (CPU stays low while jobs wait on models)", async () => {
        const run = await stackRun("prd");
        const policy = run.ofType("aws:appautoscaling/policy:Policy").find((p) => p.name === "dify-worker-queue-depth")!;
        const spec = policy.inputs.targetTrackingScalingPolicyConfiguration;
        const metrics = spec.customizedMetricSpecification.metrics as any[];
        expect(metrics.filter((m) => m.metricStat).map((m) => [m.id, m.metricStat.metric.metricName])).to.deep.equal([["waiting", "QueueDepth"], ["tasks", "RunningTaskCount"]]);
        // What the returned expression computes: jobs waiting per running task, and nothing while no task runs.
        const perTask = metrics.find((m) => m.returnData).expression;
        expect(evaluateMetricMath(perTask, { waiting: 30, tasks: 2 })).to.equal(15);
        expect(evaluateMetricMath(perTask, { waiting: 30 })).to.equal(0);
        expect(evaluateMetricMath(perTask, { tasks: 3 })).to.equal(0);
        expect(spec.targetValue).to.equal(loadSettingsFor("prd").settings.cluster.processes.worker.concurrency);
    });
});

import * as net from "net";
import { spawn } from "child_process";
import { API_CONCURRENCY } from "../components/difyCluster/apiConcurrency";

/** Starts a sidecar's own command (`python -c <script>`) here with python3: its task environment, then `extra`. */
function startSidecar(sidecar: ContainerDefinition, extra: NodeJS.ProcessEnv) {
    expect(sidecar.entryPoint).to.deep.equal(["python", "-c"]);
    return spawn("python3", [...sidecar.entryPoint!.slice(1), ...sidecar.command!], { env: { ...process.env, ...environmentOf(sidecar), ...extra } });
}

/** Runs the api task's concurrency sidecar (as the task definition has it) with `clients` connections open to `port`. */
async function countConnections(sidecar: ContainerDefinition, clients: number): Promise<Record<string, any>> {
    const server = net.createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    const sockets = await Promise.all(Array.from({ length: clients }, () => new Promise<net.Socket>((resolve) => { const s = net.connect(port, "127.0.0.1", () => resolve(s)); })));
    try {
        const child = startSidecar(sidecar, { API_PORT: String(port) });
        const line = await new Promise<string>((resolve, reject) => {
            let out = "";
            child.stdout.on("data", (d) => { out += d; if (out.includes("\n")) resolve(out.split("\n")[0]); });
            child.on("error", reject);
            setTimeout(() => reject(new Error("no line from the sidecar in 10 s")), 10_000);
        });
        child.kill();
        return JSON.parse(line);
    } finally {
        sockets.forEach((s) => s.destroy());
        server.close();
    }
}

describe("resilience: api scales on connections in flight, before its slots fill", () => {
    for (const stack of ["dev", "prd"] as const) {
        it(`${stack}: each api task carries a non-essential sidecar that publishes its established connections as CloudWatch EMF`, async () => {
            const run = await stackRun(stack);
            const sidecar = containerOf(run, "api", API_CONCURRENCY.container);
            const api = containerOf(run, "api");
            expect(sidecar.essential).to.equal(false);
            expect(sidecar.image).to.equal(api.image);
            // The port it counts is the api container's own.
            expect(environmentOf(sidecar).API_PORT).to.equal(String(api.portMappings![0].containerPort));
        });
    }

    it("the sidecar counts the server side of every established connection to the port, and nothing else", async function () {
        this.timeout(20_000);
        const sidecar = containerOf(await stackRun("prd"), "api", API_CONCURRENCY.container);
        const three = await countConnections(sidecar, 3);
        expect(three._aws.CloudWatchMetrics[0]).to.deep.equal({ Namespace: "Dify/Api", Dimensions: [["Stack"]], Metrics: [{ Name: "InFlightConnections", Unit: "Count" }] });
        expect(three.Stack).to.equal("dify-prd");
        expect(three.InFlightConnections).to.equal(3);
        expect((await countConnections(sidecar, 0)).InFlightConnections).to.equal(0);
    });

    for (const stack of ["dev", "prd"] as const) {
        it(`${stack}: target tracking holds connections per api task at 70 % of the task's slots (gunicorn workers x worker connections)`, async () => {
            const run = await stackRun(stack);
            const policy = run.ofType("aws:appautoscaling/policy:Policy").find((p) => p.name === "dify-api-connections")!;
            const spec = policy.inputs.targetTrackingScalingPolicyConfiguration;
            expect(spec.customizedMetricSpecification).to.deep.include({ namespace: "Dify/Api", metricName: "InFlightConnections", statistic: "Average" });
            expect(spec.customizedMetricSpecification.dimensions).to.deep.equal([{ name: "Stack", value: `dify-${stack}` }]);
            const api = loadSettingsFor(stack).settings.cluster.processes.api;
            expect(spec.targetValue).to.equal(Math.floor(api.workers * api.connectionsPerWorker * 0.7));
            expect(policy.inputs.resourceId).to.equal(run.ofType("aws:appautoscaling/target:Target").find((t) => /dify-api$/.test(t.name))!.inputs.resourceId);
        });
    }
});

import * as http from "http";
import { JOB_PROTECTION, protectionMinutes } from "../components/difyCluster/jobProtection";

/**
 * Runs the worker task's scale-in-protection sidecar (as the task definition has it) for `rounds` rounds against a
 * stand-in `celery` (answering `inspect active` with the given number of jobs per round) and a stand-in ECS agent;
 * returns the bodies the agent received.
 */
async function protectionRounds(sidecar: ContainerDefinition, activeJobs: number[]): Promise<Record<string, unknown>[]> {
    const bodies: Record<string, unknown>[] = [];
    const server = http.createServer((req, res) => {
        let body = "";
        req.on("data", (d) => (body += d));
        req.on("end", () => {
            if (req.method === "PUT" && req.url === "/v4/task/task-protection/v1/state") {
                bodies.push(JSON.parse(body));
            }
            res.end("{}");
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "job-protection-"));
    // `celery ... inspect active -d <node> --json`: the round's jobs for the node asked about, from a counter file.
    fs.writeFileSync(
        path.join(dir, "celery"),
        [
            "#!/usr/bin/env python3",
            "import json, sys, os",
            `rounds = ${JSON.stringify(activeJobs)}`,
            `f = ${JSON.stringify(path.join(dir, "round"))}`,
            "i = int(open(f).read()) if os.path.exists(f) else 0",
            "open(f, 'w').write(str(i + 1))",
            "node = sys.argv[sys.argv.index('-d') + 1]",
            "print(json.dumps({node: [{'id': str(n)} for n in range(rounds[min(i, len(rounds) - 1)])]}))",
        ].join("\n"),
        { mode: 0o755 },
    );
    // The loop's own sleeps end the run after the given rounds; other sleeps (subprocess polls its child with them) pass.
    fs.writeFileSync(
        path.join(dir, "sitecustomize.py"),
        [
            "import os, time",
            "_real = time.sleep",
            `_left = [${activeJobs.length}]`,
            "def _sleep(s):",
            "    if s != int(os.environ.get('PROTECTION_INTERVAL', '-1')): return _real(s)",
            "    _left[0] -= 1",
            "    if _left[0] == 0: raise SystemExit(0)",
            "time.sleep = _sleep",
        ].join("\n"),
    );
    try {
        const child = startSidecar(sidecar, {
            PATH: `${dir}:${process.env.PATH}`,
            PYTHONPATH: dir,
            ECS_AGENT_URI: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/v4/task`,
        });
        let out = "";
        child.stdout.on("data", (d) => (out += d));
        child.stderr.on("data", (d) => (out += d));
        const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
        expect(code, out).to.equal(0);
        expect(out, "the sidecar's errors").to.not.match(/scaleInProtectionError/);
        return bodies;
    } finally {
        server.close();
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

describe("resilience: a worker running jobs is not stopped by scale-in", () => {
    const sidecarOf = async (stack: "dev" | "prd") => containerOf(await stackRun(stack), "worker", JOB_PROTECTION.container);

    it("protects its task while the worker runs jobs, renews it each round, lifts it once idle, and leaves an idle task alone", async function () {
        this.timeout(20_000);
        const sidecar = await sidecarOf("prd");
        const minutes = Number(environmentOf(sidecar).PROTECTION_MINUTES);
        const bodies = await protectionRounds(sidecar, [0, 2, 1, 0, 0]);
        expect(bodies).to.deep.equal([
            { ProtectionEnabled: true, ExpiresInMinutes: minutes },
            { ProtectionEnabled: true, ExpiresInMinutes: minutes },
            { ProtectionEnabled: false },
        ]);
    });

    for (const stack of ["dev", "prd"] as const) {
        it(`${stack}: the protection outlasts the longest run the stack allows, the worker's role may set it on its own cluster's tasks, and up waits for it`, async () => {
            const run = await stackRun(stack);
            const { settings } = loadSettingsFor(stack);
            const sidecar = await sidecarOf(stack);
            expect(sidecar.essential).to.equal(false);
            const minutes = Number(environmentOf(sidecar).PROTECTION_MINUTES);
            expect(minutes * 60).to.be.greaterThan(settings.cluster.appMaxExecutionTimeSeconds);
            expect(minutes).to.equal(protectionMinutes(settings.cluster.appMaxExecutionTimeSeconds));
            // It reads the worker's broker settings, as the worker's own health check does.
            expect(sidecar.secrets.map((s: any) => s.name)).to.include("CELERY_BROKER_URL");
            const policy = JSON.parse(run.one("aws:iam/rolePolicy:RolePolicy", "dify-worker-task").inputs.policy);
            const protect = policy.Statement.find((s: any) => s.Sid === "ProtectOwnTaskWhileJobsRun");
            expect(protect.Action).to.deep.equal(["ecs:GetTaskProtection", "ecs:UpdateTaskProtection"]);
            expect(protect.Resource).to.equal(`arn:aws:ecs:ap-northeast-1:123456789012:task/dify-${stack}/*`);
            // A deployment waits for protected tasks: the worker service's timeout covers a whole protection.
            const svc = run.one("aws:ecs/service:Service", "dify-worker");
            const timeout = Number(String(svc.customTimeouts?.update ?? "").replace(/m$/, ""));
            expect(timeout, "worker update timeout (minutes)").to.be.at.least(minutes);
        });
    }
});
