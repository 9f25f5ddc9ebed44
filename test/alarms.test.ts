/**
 * Alarms: the SNS topic (encrypted with a key CloudWatch may use), the alarm set per signal with the statistics,
 * dimensions and missing-data handling CloudWatch's metrics need, and the dashboard. The component is exercised
 * directly (every optional part on and off) and through the whole program for dev and prd.
 */
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { Alarms, AlarmsArgs } from "../components/alarms";
import { AlarmThresholds } from "../config/ops";
import { PROJECT } from "../config/reader";
import { configErrorFor, loadSettingsFor, ProgramRun, stackConfig, stackRun } from "./harness";
import { ACCOUNT_ID, RegisteredResource } from "./mocks";
import { mocks, unhandled } from "./setup";

const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const TOPIC = "aws:sns/topic:Topic";
const DASHBOARD = "aws:cloudwatch/dashboard:Dashboard";
const KEY = "aws:kms/key:Key";
const REGION = "ap-northeast-1";

/** CloudWatch's standard statistics (PutMetricAlarm `Statistic`); percentiles go in `ExtendedStatistic` as pNN. */
const STATISTICS = ["SampleCount", "Average", "Sum", "Minimum", "Maximum"];
const MISSING_DATA = ["breaching", "notBreaching", "ignore", "missing"];

const THRESHOLDS: AlarmThresholds = {
    alb5xxPercent: 5,
    albResponseTimeP95Ms: 4000,
    ecsCpuPercent: 85,
    ecsMemoryPercent: 90,
    dbCpuPercent: 80,
    dbFreeableMemoryMiB: 300,
    dbConnectionsPercent: 75,
    dbAcuUtilizationPercent: 90,
    dbReplicaLagMs: 1500,
    cacheMemoryPercent: 75,
    cacheEngineCpuPercent: 70,
    cacheConnections: 4000,
    wafBlockedRequests: 250,
    queueDepth: 800,
    queueWaitSeconds: 900,
    efsIoLimitPercent: 85,
    efsBurstCreditGiB: 50,
};

const SERVICES = { web: "dify-t-web", api: "dify-t-api", worker: "dify-t-worker", pluginDaemon: "dify-t-plugin-daemon", sandbox: "dify-t-sandbox", ssrfProxy: "dify-t-ssrf-proxy" };
const TARGET_GROUPS = { web: "targetgroup/dify-t-web/1111", api: "targetgroup/dify-t-api/2222", pluginDaemon: "targetgroup/dify-t-pd/3333" };
const LB = "app/dify-t/abcd";
const STACK_KEY = `arn:aws:kms:${REGION}:${ACCOUNT_ID}:key/11111111-2222-4333-8444-555555555555`;

function fullArgs(overrides: Partial<AlarmsArgs> = {}): AlarmsArgs {
    return {
        namePrefix: "dify-t",
        emails: ["ops@example.com", "oncall@example.com"],
        thresholds: THRESHOLDS,
        loadBalancer: { arnSuffix: LB, targetGroupArnSuffixes: TARGET_GROUPS },
        ecs: { clusterName: "dify-t", clusterArn: "arn:aws:ecs:ap-northeast-1:123456789012:cluster/dify-t", containerInsights: true, services: SERVICES, beatServiceName: "dify-t-beat" },
        database: { clusterIdentifier: "dify-t-db", instanceIdentifiers: ["dify-t-db-1", "dify-t-db-2"], serverless: true, maxConnections: 3360 },
        cache: { memberClusterIds: ["dify-t-cache-001", "dify-t-cache-002"] },
        waf: { webAclName: "dify-t-waf" },
        ...overrides,
    };
}

/** Constructs only the Alarms component under the mocks and returns what it registered. */
async function construct(args: AlarmsArgs): Promise<RegisteredResource[]> {
    const { config, secretKeys } = stackConfig("dev");
    pulumi.runtime.setAllConfig(config, secretKeys);
    mocks.reset();
    unhandled.length = 0;
    pulumi.runtime.setMocks(mocks, PROJECT, "dev", false);
    new Alarms("ops", args);
    await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
    if (unhandled.length > 0) {
        throw new Error(`unhandled rejection: ${String(unhandled[0])}`);
    }
    return [...mocks.resources];
}

const alarmsOf = (resources: RegisteredResource[]) => resources.filter((r) => r.type === ALARM);
const byName = (resources: RegisteredResource[]) => new Map(alarmsOf(resources).map((a) => [a.inputs.name as string, a.inputs]));

/** All metrics an alarm reads: its own metric, or the metrics of its metric-math queries. */
function metricsOf(alarm: Record<string, any>): { namespace: string; metricName: string; dimensions: Record<string, string>; stat?: string }[] {
    if (alarm.metricQueries) {
        return alarm.metricQueries.filter((q: any) => q.metric).map((q: any) => ({ ...q.metric }));
    }
    return [{ namespace: alarm.namespace, metricName: alarm.metricName, dimensions: alarm.dimensions, stat: alarm.statistic ?? alarm.extendedStatistic }];
}

/** The alarms reading a metric (by name), with their inputs. */
function alarmsOn(resources: RegisteredResource[], metricName: string): Record<string, any>[] {
    return alarmsOf(resources)
        .map((a) => a.inputs)
        .filter((a) => metricsOf(a).some((m) => m.metricName === metricName));
}

/** Structural rules every CloudWatch metric alarm must satisfy (PutMetricAlarm). */
function expectValidAlarm(a: Record<string, any>): void {
    const label = a.name;
    expect(a.name.length, label).to.be.at.most(255);
    expect(MISSING_DATA, `${label} treatMissingData`).to.include(a.treatMissingData);
    expect(a.datapointsToAlarm, label).to.be.within(1, a.evaluationPeriods);
    if (a.metricQueries) {
        // With metric math, the alarm itself carries no metric, statistic or period.
        expect(a.metricName, label).to.be.undefined;
        expect(a.statistic, label).to.be.undefined;
        expect(a.metricQueries.filter((q: any) => q.returnData), `${label}: exactly one query returns data`).to.have.length(1);
        const ids = a.metricQueries.map((q: any) => q.id);
        for (const q of a.metricQueries) {
            expect(q.id, label).to.match(/^[a-z][a-zA-Z0-9_]*$/);
            if (q.metric) {
                // A percentile (p90) is a valid MetricStat statistic too.
                expect(STATISTICS.includes(q.metric.stat) || /^p\d{1,2}(\.\d+)?$/.test(q.metric.stat), `${label}/${q.id}: ${q.metric.stat}`).to.equal(true);
                expect(q.metric.period % 60, label).to.equal(0);
            }
            if (q.expression) {
                // Metric math functions are upper case (IF, FILL); every lower-case word must be a query id.
                for (const word of q.expression.match(/\b[a-z][a-zA-Z0-9_]*\b/g) ?? []) {
                    expect(ids, `${label}: ${q.expression} references ${word}`).to.include(word);
                }
            }
        }
        expect(a.evaluationPeriods * a.metricQueries.find((q: any) => q.metric).metric.period, label).to.be.at.most(86400);
    } else {
        // AWS's namespaces, and the stack's own Celery queue metrics (components/difyCluster/queueMetrics.ts).
        expect(a.namespace, label).to.match(/^(AWS\/|ECS\/ContainerInsights$|Dify\/Celery$)/);
        expect(Boolean(a.statistic) !== Boolean(a.extendedStatistic), `${label}: statistic xor extendedStatistic`).to.equal(true);
        if (a.statistic) {
            expect(STATISTICS, label).to.include(a.statistic);
        } else {
            expect(a.extendedStatistic, label).to.match(/^p\d{1,2}(\.\d+)?$/);
        }
        expect(a.period % 60, `${label}: standard-resolution metrics have 60 s granularity`).to.equal(0);
        // CloudWatch evaluates at most one day of data for periods of a minute or more.
        expect(a.period * a.evaluationPeriods, label).to.be.at.most(86400);
    }
}

describe("alarms", () => {
    describe("config", () => {
        it("loads the defaults: no subscribers, thresholds inside CloudWatch's units and ranges", () => {
            for (const stack of ["dev", "prd"] as const) {
                const { ops } = loadSettingsFor(stack).settings;
                expect(ops.alarmEmails).to.deep.equal([]);
                for (const key of ["alb5xxPercent", "ecsCpuPercent", "ecsMemoryPercent", "dbCpuPercent", "dbAcuUtilizationPercent", "cacheMemoryPercent", "cacheEngineCpuPercent"] as const) {
                    expect(ops.thresholds[key], key).to.be.within(1, 99);
                }
                // ElastiCache caps client connections at 65,000: a threshold above it could never fire.
                expect(ops.thresholds.cacheConnections).to.be.below(65_000);
            }
        });

        it("reads the alarm email list", () => {
            const { ops } = loadSettingsFor("prd", { alarmEmails: ["ops@example.com", "sre@example.org"] }).settings;
            expect(ops.alarmEmails).to.deep.equal(["ops@example.com", "sre@example.org"]);
        });

        it("rejects malformed emails, duplicates and out-of-range thresholds, naming the key", () => {
            expect(configErrorFor("prd", { alarmEmails: ["ops@example.com, sre@example.org"] })).to.match(/alarmEmails.*email address/);
            expect(configErrorFor("prd", { alarmEmails: ["not-an-address"] })).to.match(/alarmEmails/);
            expect(configErrorFor("prd", { alarmEmails: ["a@example.com", "a@example.com"] })).to.match(/alarmEmails.*at most once/);
            expect(configErrorFor("dev", { alarmAlb5xxPercent: 0 })).to.match(/alarmAlb5xxPercent.*from 1 to 100/);
            expect(configErrorFor("dev", { alarmCacheMemoryPercent: 101 })).to.match(/alarmCacheMemoryPercent/);
            expect(configErrorFor("dev", { alarmDbConnectionsPercent: 2.5 })).to.match(/alarmDbConnectionsPercent.*whole number/);
            expect(configErrorFor("dev", { alarmDbConnectionsPercent: 120 })).to.match(/alarmDbConnectionsPercent.*from 1 to 100/);
            expect(configErrorFor("dev", { alarmCacheConnections: 70000 })).to.match(/alarmCacheConnections/);
        });
    });

    describe("component, everything on (serverless Aurora with a reader, two cache nodes, WAF)", () => {
        let resources: RegisteredResource[];
        let alarms: Map<string, Record<string, any>>;
        before(async () => {
            resources = await construct(fullArgs({ kmsKeyArn: STACK_KEY }));
            alarms = byName(resources);
        });

        it("registers a dify-aws:ops:Alarms component that parents everything it creates", () => {
            const component = resources.filter((r) => r.type === "dify-aws:ops:Alarms");
            expect(component).to.have.length(1);
            for (const r of resources.filter((r) => r.custom)) {
                expect(r.parent, `${r.type} ${r.name}`).to.equal(component[0].urn);
            }
        });

        it("every alarm is well-formed for CloudWatch and notifies the topic on ALARM and on OK only", () => {
            const topicArn = `arn:aws:sns:${REGION}:${ACCOUNT_ID}:dify-t-alarms`;
            expect(alarms.size).to.be.greaterThan(30);
            for (const a of alarms.values()) {
                expectValidAlarm(a);
                expect(a.alarmActions, a.name).to.deep.equal([topicArn]);
                expect(a.okActions, a.name).to.deep.equal([topicArn]);
                expect(a.insufficientDataActions ?? [], a.name).to.deep.equal([]);
                expect(a.alarmDescription, a.name).to.be.a("string").and.not.be.empty;
            }
            expect(new Set(alarmsOf(resources).map((a) => a.name)).size, "unique logical names").to.equal(alarms.size);
        });

        it("encrypts the topic with the given customer-managed key and creates no other key", () => {
            const topic = resources.find((r) => r.type === TOPIC)!;
            expect(topic.inputs.kmsMasterKeyId).to.equal(STACK_KEY);
            expect(resources.filter((r) => r.type === KEY)).to.have.length(0);
        });

        it("lets only this account's CloudWatch alarms publish to the topic", () => {
            const policy = JSON.parse(resources.find((r) => r.type === "aws:sns/topicPolicy:TopicPolicy")!.inputs.policy);
            const cw = policy.Statement.filter((s: any) => s.Principal?.Service === "cloudwatch.amazonaws.com");
            expect(cw).to.have.length(1);
            expect(cw[0].Action).to.equal("sns:Publish");
            expect(cw[0].Condition.StringEquals["aws:SourceAccount"]).to.equal(ACCOUNT_ID);
            expect(cw[0].Condition.ArnLike["aws:SourceArn"]).to.equal(`arn:aws:cloudwatch:${REGION}:${ACCOUNT_ID}:alarm:*`);
            expect(policy.Statement.some((s: any) => s.Principal === "*" || s.Principal?.AWS === "*")).to.equal(false);
        });

        it("subscribes every configured email to the topic", () => {
            const subs = resources.filter((r) => r.type === "aws:sns/topicSubscription:TopicSubscription");
            expect(subs.map((s) => [s.inputs.protocol, s.inputs.endpoint])).to.deep.equal([
                ["email", "ops@example.com"],
                ["email", "oncall@example.com"],
            ]);
            expect(new Set(subs.map((s) => s.inputs.topic))).to.deep.equal(new Set([`arn:aws:sns:${REGION}:${ACCOUNT_ID}:dify-t-alarms`]));
        });

        describe("load balancer", () => {
            it("alarms on the 5xx ratio with metric math over ALB and target 5xx counts and the request count (Sums)", () => {
                const ratio = alarmsOn(resources, "HTTPCode_ELB_5XX_Count");
                expect(ratio).to.have.length(1);
                const q = ratio[0].metricQueries as any[];
                const metrics = Object.fromEntries(q.filter((x) => x.metric).map((x) => [x.metric.metricName, x.metric]));
                expect(Object.keys(metrics).sort()).to.deep.equal(["HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count", "RequestCount"]);
                for (const m of Object.values(metrics) as any[]) {
                    expect(m.namespace).to.equal("AWS/ApplicationELB");
                    expect(m.stat, "counts are summed, not averaged").to.equal("Sum");
                    expect(m.dimensions).to.deep.equal({ LoadBalancer: LB });
                }
                const expr = q.find((x) => x.returnData).expression as string;
                // A percentage of requests: divides by the request count, scales by 100, and treats absent 5xx as 0.
                expect(expr).to.match(/100/).and.match(/\/\s*requests/).and.match(/FILL\(/);
                expect(ratio[0].threshold).to.equal(THRESHOLDS.alb5xxPercent);
                expect(ratio[0].comparisonOperator).to.equal("GreaterThanThreshold");
                expect(ratio[0].treatMissingData, "no traffic is not an outage").to.equal("notBreaching");
            });

            it("alarms on p95 TargetResponseTime per target group, in seconds (the metric's unit)", () => {
                const p95 = alarmsOn(resources, "TargetResponseTime");
                expect(p95.map((a) => a.dimensions.TargetGroup).sort()).to.deep.equal(Object.values(TARGET_GROUPS).sort());
                for (const a of p95) {
                    expect(a.extendedStatistic).to.equal("p95");
                    expect(a.statistic).to.be.undefined;
                    expect(a.dimensions.LoadBalancer).to.equal(LB);
                    expect(a.threshold).to.equal(THRESHOLDS.albResponseTimeP95Ms / 1000);
                    expect(a.evaluateLowSampleCountPercentiles, "few samples must not decide a percentile alarm").to.equal("ignore");
                }
            });

            it("alarms on UnHealthyHostCount (Maximum > 0) and on no healthy host, per target group", () => {
                const unhealthy = alarmsOn(resources, "UnHealthyHostCount");
                expect(unhealthy.map((a) => a.dimensions.TargetGroup).sort()).to.deep.equal(Object.values(TARGET_GROUPS).sort());
                for (const a of unhealthy) {
                    expect([a.statistic, a.comparisonOperator, a.threshold]).to.deep.equal(["Maximum", "GreaterThanThreshold", 0]);
                    expect(a.dimensions).to.have.keys("LoadBalancer", "TargetGroup");
                }
                const healthy = alarmsOn(resources, "HealthyHostCount");
                expect(healthy).to.have.length(Object.keys(TARGET_GROUPS).length);
                for (const a of healthy) {
                    expect([a.statistic, a.comparisonOperator, a.threshold]).to.deep.equal(["Minimum", "LessThanThreshold", 1]);
                }
            });
        });

        describe("ECS", () => {
            it("alarms when a service runs fewer tasks than desired, from Container Insights", () => {
                const below = alarmsOn(resources, "DesiredTaskCount");
                expect(below.map((a) => metricsOf(a)[0].dimensions.ServiceName).sort()).to.deep.equal(Object.values(SERVICES).sort());
                for (const a of below) {
                    const ms = metricsOf(a);
                    expect(ms.map((m) => m.namespace)).to.deep.equal(["ECS/ContainerInsights", "ECS/ContainerInsights"]);
                    expect(ms.map((m) => m.metricName).sort()).to.deep.equal(["DesiredTaskCount", "RunningTaskCount"]);
                    for (const m of ms) {
                        expect(m.dimensions.ClusterName).to.equal("dify-t");
                    }
                    const expr = a.metricQueries.find((q: any) => q.returnData).expression;
                    const desired = a.metricQueries.find((q: any) => q.metric?.metricName === "DesiredTaskCount").id;
                    const running = a.metricQueries.find((q: any) => q.metric?.metricName === "RunningTaskCount").id;
                    expect(expr.replace(/\s/g, "")).to.equal(`${desired}-${running}`);
                    expect([a.comparisonOperator, a.threshold]).to.deep.equal(["GreaterThanThreshold", 0]);
                    // Container Insights reports every service every minute: silence means it is off or the service is gone.
                    expect(a.treatMissingData).to.equal("breaching");
                }
            });

            it("alarms on beat separately: fewer than 1 running (and more than 1)", () => {
                const beat = alarmsOf(resources)
                    .map((a) => a.inputs)
                    .filter((a) => a.dimensions?.ServiceName === "dify-t-beat" && a.metricName === "RunningTaskCount");
                const none = beat.find((a) => a.comparisonOperator === "LessThanThreshold")!;
                expect([none.namespace, none.threshold, none.statistic, none.treatMissingData]).to.deep.equal(["ECS/ContainerInsights", 1, "Maximum", "breaching"]);
                const many = beat.find((a) => a.comparisonOperator === "GreaterThanThreshold")!;
                expect([many.threshold, many.statistic]).to.deep.equal([1, "Minimum"]);
                expect(alarmsOn(resources, "DesiredTaskCount").some((a) => metricsOf(a)[0].dimensions.ServiceName === "dify-t-beat")).to.equal(false);
            });

            it("alarms on CPU and memory of every service, beat included (AWS/ECS averages)", () => {
                for (const metric of ["CPUUtilization", "MemoryUtilization"]) {
                    const ecs = alarmsOn(resources, metric).filter((a) => a.namespace === "AWS/ECS");
                    expect(ecs.map((a) => a.dimensions.ServiceName).sort()).to.deep.equal([...Object.values(SERVICES), "dify-t-beat"].sort());
                    for (const a of ecs) {
                        expect(a.statistic).to.equal("Average");
                        expect(a.dimensions).to.have.keys("ClusterName", "ServiceName");
                        expect(a.threshold).to.equal(metric === "CPUUtilization" ? THRESHOLDS.ecsCpuPercent : THRESHOLDS.ecsMemoryPercent);
                    }
                }
            });
        });

        describe("Aurora", () => {
            it("alarms on CPU, freeable memory (bytes) and connections of every instance", () => {
                const instances = ["dify-t-db-1", "dify-t-db-2"];
                const rds = (metric: string) => alarmsOn(resources, metric).filter((a) => a.namespace === "AWS/RDS");
                expect(rds("CPUUtilization").map((a) => a.dimensions.DBInstanceIdentifier).sort()).to.deep.equal(instances);
                const memory = rds("FreeableMemory");
                expect(memory.map((a) => a.dimensions.DBInstanceIdentifier).sort()).to.deep.equal(instances);
                for (const a of memory) {
                    expect([a.comparisonOperator, a.statistic, a.threshold]).to.deep.equal(["LessThanThreshold", "Minimum", THRESHOLDS.dbFreeableMemoryMiB * 1024 * 1024]);
                }
                const connections = rds("DatabaseConnections");
                expect(connections.map((a) => [a.dimensions.DBInstanceIdentifier, a.statistic, a.threshold])).to.have.deep.members(instances.map((i) => [i, "Maximum", 2520]));
            });

            it("alarms on Serverless v2 ACU utilisation per instance", () => {
                const acu = alarmsOn(resources, "ACUUtilization");
                expect(acu.map((a) => a.dimensions.DBInstanceIdentifier).sort()).to.deep.equal(["dify-t-db-1", "dify-t-db-2"]);
                expect(acu.every((a) => a.threshold === THRESHOLDS.dbAcuUtilizationPercent && a.namespace === "AWS/RDS")).to.equal(true);
            });

            it("alarms on the cluster's maximum replica lag (milliseconds), which survives a failover", () => {
                const lag = alarmsOn(resources, "AuroraReplicaLagMaximum");
                expect(lag).to.have.length(1);
                expect(lag[0].dimensions).to.deep.equal({ DBClusterIdentifier: "dify-t-db" });
                expect([lag[0].statistic, lag[0].threshold]).to.deep.equal(["Maximum", THRESHOLDS.dbReplicaLagMs]);
            });
        });

        describe("ElastiCache", () => {
            it("alarms on memory % (the noeviction limit), engine CPU and connections of every node", () => {
                const members = ["dify-t-cache-001", "dify-t-cache-002"];
                for (const [metric, stat, threshold] of [
                    ["DatabaseMemoryUsagePercentage", "Maximum", THRESHOLDS.cacheMemoryPercent],
                    ["EngineCPUUtilization", "Average", THRESHOLDS.cacheEngineCpuPercent],
                    ["CurrConnections", "Maximum", THRESHOLDS.cacheConnections],
                ] as const) {
                    const as = alarmsOn(resources, metric);
                    expect(as.map((a) => a.dimensions.CacheClusterId).sort(), metric).to.deep.equal(members);
                    for (const a of as) {
                        expect([a.namespace, a.statistic, a.threshold], metric).to.deep.equal(["AWS/ElastiCache", stat, threshold]);
                    }
                }
            });
        });

        describe("WAF", () => {
            it("alarms on BlockedRequests of the web ACL (Sum, regional dimensions with Rule ALL)", () => {
                const waf = alarmsOn(resources, "BlockedRequests").filter((a) => a.metricName === "BlockedRequests");
                expect(waf).to.have.length(1);
                expect(waf[0].namespace).to.equal("AWS/WAFV2");
                expect(waf[0].dimensions).to.deep.equal({ WebACL: "dify-t-waf", Region: REGION, Rule: "ALL" });
                expect([waf[0].statistic, waf[0].threshold, waf[0].treatMissingData]).to.deep.equal(["Sum", THRESHOLDS.wafBlockedRequests, "notBreaching"]);
            });
        });

        describe("dashboard", () => {
            let body: { widgets: { type: string; x?: number; width: number; height: number; properties: any }[] };
            before(() => {
                const dashboards = resources.filter((r) => r.type === DASHBOARD);
                expect(dashboards).to.have.length(1);
                expect(dashboards[0].inputs.dashboardName).to.equal("dify-t");
                body = JSON.parse(dashboards[0].inputs.dashboardBody);
            });

            it("is a valid dashboard body: widgets on the 24-column grid", () => {
                expect(body.widgets.length).to.be.greaterThan(10);
                for (const w of body.widgets) {
                    expect(["metric", "text", "alarm"]).to.include(w.type);
                    expect(w.width).to.be.within(1, 24);
                    expect(w.height).to.be.within(1, 1000);
                }
            });

            it("shows the state of every alarm", () => {
                const shown = body.widgets.filter((w) => w.type === "alarm").flatMap((w) => w.properties.alarms as string[]);
                const expected = [...alarms.keys()].map((n) => `arn:aws:cloudwatch:${REGION}:${ACCOUNT_ID}:alarm:${n}`);
                expect(shown.sort()).to.deep.equal(expected.sort());
            });

            it("graphs every signal an alarm watches, in the stack's region", () => {
                const graphs = body.widgets.filter((w) => w.type === "metric");
                const graphed = new Set(graphs.flatMap((w) => (w.properties.metrics as unknown[][]).map((m) => `${m[0]}/${m[1]}`)));
                for (const a of alarms.values()) {
                    // Desired tasks are the alarm's reference line, not a signal of their own.
                    for (const m of metricsOf(a).filter((m) => m.metricName !== "DesiredTaskCount")) {
                        expect(graphed.has(`${m.namespace}/${m.metricName}`), `${a.name}: ${m.namespace}/${m.metricName}`).to.equal(true);
                    }
                }
                expect(graphed.has("AWS/RDS/ServerlessDatabaseCapacity"), "serverless capacity in ACUs").to.equal(true);
                expect(graphed.has("AWS/WAFV2/AllowedRequests")).to.equal(true);
                for (const w of graphs) {
                    expect(w.properties.region).to.equal(REGION);
                }
            });
        });
    });

    describe("component, optional parts off", () => {
        it("without a customer-managed key, encrypts the topic with a dedicated key whose policy lets CloudWatch use it", async () => {
            const resources = await construct(fullArgs({ kmsKeyArn: undefined }));
            const keys = resources.filter((r) => r.type === KEY);
            expect(keys).to.have.length(1);
            expect(resources.find((r) => r.type === "aws:kms/alias:Alias")!.inputs.name).to.equal("alias/dify-t-alarms");
            const topic = resources.find((r) => r.type === TOPIC)!;
            expect(topic.inputs.kmsMasterKeyId).to.match(/^arn:aws:kms:/);
            expect(topic.inputs.kmsMasterKeyId, "alias/aws/sns cannot be used by CloudWatch").to.not.match(/alias\/aws\/sns/);
            const policy = JSON.parse(keys[0].inputs.policy);
            const cw = policy.Statement.find((s: any) => s.Principal?.Service === "cloudwatch.amazonaws.com");
            expect(cw, "key policy statement for CloudWatch").to.exist;
            expect(cw.Action).to.include.members(["kms:Decrypt"]);
            expect(cw.Action.some((a: string) => a.startsWith("kms:GenerateDataKey"))).to.equal(true);
            expect(keys[0].inputs.enableKeyRotation).to.equal(true);
        });

        it("provisioned Aurora without readers: no ACU and no replica lag alarm; no WAF: no WAF alarm", async () => {
            const resources = await construct(
                fullArgs({
                    kmsKeyArn: STACK_KEY,
                    database: { clusterIdentifier: "dify-t-db", instanceIdentifiers: ["dify-t-db-1"], serverless: false, maxConnections: 1600 },
                    waf: undefined,
                    emails: [],
                }),
            );
            expect(alarmsOn(resources, "ACUUtilization")).to.have.length(0);
            expect(alarmsOn(resources, "AuroraReplicaLagMaximum")).to.have.length(0);
            expect(alarmsOn(resources, "BlockedRequests")).to.have.length(0);
            expect(alarmsOn(resources, "CPUUtilization").filter((a) => a.namespace === "AWS/RDS")).to.have.length(1);
            // 75 % of the 1,600 connections given for the instance.
            expect(alarmsOn(resources, "DatabaseConnections").map((a) => a.threshold)).to.deep.equal([1200]);
            expect(resources.filter((r) => r.type === "aws:sns/topicSubscription:TopicSubscription")).to.have.length(0);
            const body = JSON.parse(resources.find((r) => r.type === DASHBOARD)!.inputs.dashboardBody);
            const graphed = body.widgets.filter((w: any) => w.type === "metric").flatMap((w: any) => w.properties.metrics.map((m: unknown[]) => m[1]));
            expect(graphed).to.not.include.members(["ServerlessDatabaseCapacity"]);
            expect(graphed).to.not.include("BlockedRequests");
        });

        it("with only a topic (no parts), registers no alarm and a dashboard without alarm widgets", async () => {
            const resources = await construct({ namePrefix: "dify-t", emails: [], thresholds: THRESHOLDS, kmsKeyArn: STACK_KEY });
            expect(alarmsOf(resources)).to.have.length(0);
            expect(resources.filter((r) => r.type === TOPIC)).to.have.length(1);
            const body = JSON.parse(resources.find((r) => r.type === DASHBOARD)!.inputs.dashboardBody);
            expect(body.widgets.filter((w: any) => w.type === "alarm")).to.have.length(0);
        });
    });
    for (const stack of ["dev", "prd"] as const) {
        describe(`the ${stack} program`, () => {
            let run: ProgramRun;
            let alarms: Record<string, any>[];
            let topicArn: string;
            const settings = () => loadSettingsFor(stack).settings;
            before(async () => {
                run = await stackRun(stack);
                alarms = run.ofType(ALARM).map((a) => a.inputs);
                topicArn = String(run.outputs.alarmTopicArn);
            });
            const on = (metric: string) => alarms.filter((a) => metricsOf(a).some((m) => m.metricName === metric));
            const alarmTopics = () => run.ofType(TOPIC).filter((t) => t.inputs.name === `dify-${stack}-alarms`);

            it("has one Alarms component, one alarm topic and one dashboard, exported", () => {
                expect(run.ofType("dify-aws:ops:Alarms")).to.have.length(1);
                expect(alarmTopics()).to.have.length(1);
                expect(topicArn).to.equal(`arn:aws:sns:${REGION}:${ACCOUNT_ID}:dify-${stack}-alarms`);
                expect(run.ofType(DASHBOARD)).to.have.length(1);
                expect(run.outputs.dashboardName).to.equal(`dify-${stack}`);
            });

            it("every alarm notifies the topic, and only the topic", () => {
                expect(alarms.length).to.be.greaterThan(30);
                for (const a of alarms) {
                    expectValidAlarm(a);
                    expect(a.alarmActions, a.name).to.deep.equal([topicArn]);
                    expect(a.okActions, a.name).to.deep.equal([topicArn]);
                }
            });

            it("encrypts the topic with a customer-managed key CloudWatch may use (the stack key, or a dedicated one)", () => {
                const topic = alarmTopics()[0];
                const keyArn = topic.inputs.kmsMasterKeyId as string;
                expect(keyArn).to.match(/^arn:aws:kms:/);
                if (settings().common.customerManagedKey) {
                    expect(keyArn).to.equal(run.outputs.kmsKeyArn);
                    expect(run.ofType("aws:kms/alias:Alias").map((a) => a.inputs.name)).to.not.include(`alias/dify-${stack}-alarms`);
                } else {
                    expect(run.ofType("aws:kms/alias:Alias").map((a) => a.inputs.name)).to.include(`alias/dify-${stack}-alarms`);
                }
                // Whichever key it is, every key of the stack is an EncryptionKey whose policy lets CloudWatch use it.
                const policies = run.ofType(KEY).map((k) => JSON.parse(k.inputs.policy));
                expect(policies.every((p) => p.Statement.some((st: any) => st.Principal?.Service === "cloudwatch.amazonaws.com" && st.Action.includes("kms:Decrypt")))).to.equal(true);
            });

            it("watches the ALB and every target group it registered", () => {
                const arns = { ...(run.outputs.targetGroupArns as Record<string, string>), ...Object.fromEntries(Object.entries(run.outputs.alternateTargetGroupArns as Record<string, string>).map(([k, v]) => [`${k}2`, v])) };
                const tgSuffixes = Object.values(arns).map((arn) => arn.split(":").pop());
                expect(tgSuffixes).to.have.length(run.ofType("aws:lb/targetGroup:TargetGroup").length);
                // Every group (a canary's second one too) is watched for slowness, unhealthy and missing targets.
                for (const metric of ["TargetResponseTime", "UnHealthyHostCount", "HealthyHostCount"]) {
                    const watched = new Set(on(metric).flatMap((a) => metricsOf(a).filter((m) => m.metricName === metric).map((m) => m.dimensions.TargetGroup)));
                    expect([...watched].sort(), metric).to.deep.equal([...tgSuffixes].sort());
                    expect(new Set(on(metric).flatMap((a) => metricsOf(a).map((m) => m.dimensions.LoadBalancer)))).to.deep.equal(new Set([run.outputs.albArnSuffix]));
                }
                // The load balancer's own 5xx ratio once; the canaries' deployment alarms per role.
                expect(on("HTTPCode_Target_5XX_Count").filter((a) => metricsOf(a).every((m) => m.dimensions.TargetGroup === undefined))).to.have.length(1);
            });

            it("watches every ECS service of the cluster, beat separately (task counts where Container Insights is on)", () => {
                const services = run.outputs.serviceNames as Record<string, string>;
                const registered = run.ofType("aws:ecs/service:Service").map((s) => s.inputs.name).sort();
                expect(Object.values(services).sort()).to.deep.equal(registered);
                const { beat, ...rest } = services;
                const insights = settings().cluster.containerInsights !== "disabled";
                expect(on("DesiredTaskCount").map((a) => metricsOf(a)[0].dimensions.ServiceName).sort()).to.deep.equal(insights ? Object.values(rest).sort() : []);
                const beatAlarms = alarms.filter((a) => a.dimensions?.ServiceName === beat && a.metricName === "RunningTaskCount");
                expect(beatAlarms.map((a) => a.comparisonOperator).sort()).to.deep.equal(insights ? ["GreaterThanThreshold", "LessThanThreshold"] : []);
                for (const a of on("CPUUtilization").filter((a) => a.namespace === "AWS/ECS")) {
                    expect(a.dimensions.ClusterName).to.equal(run.outputs.clusterName);
                }
                expect(on("MemoryUtilization").map((a) => a.dimensions.ServiceName).sort()).to.deep.equal(registered);
            });

            it("reads task counts only from a cluster that publishes Container Insights (prd), and mails ECS service events on every stack", () => {
                const cluster = run.one("aws:ecs/cluster:Cluster");
                const insights = (cluster.inputs.settings as { name: string; value: string }[]).find((s) => s.name === "containerInsights")?.value;
                expect(insights).to.equal(stack === "prd" ? "enabled" : "disabled");
                if (insights === "disabled") {
                    expect(alarms.filter((a) => (a.namespace ?? metricsOf(a)[0]?.namespace) === "ECS/ContainerInsights")).to.deep.equal([]);
                }
                const rule = run.one("aws:cloudwatch/eventRule:EventRule", /ecs-events$/);
                const pattern = JSON.parse(rule.inputs.eventPattern);
                expect(pattern).to.deep.equal({
                    source: ["aws.ecs"],
                    "detail-type": ["ECS Service Action", "ECS Deployment State Change"],
                    detail: { clusterArn: [run.one("aws:ecs/cluster:Cluster").state.arn], eventType: ["WARN", "ERROR"] },
                });
                const target = run.one("aws:cloudwatch/eventTarget:EventTarget", /ecs-events$/);
                expect(target.inputs.arn).to.equal(run.outputs.alarmTopicArn);
                // The topic lets exactly this rule publish, the topic's key lets EventBridge encrypt.
                const policy = JSON.parse(run.one("aws:sns/topicPolicy:TopicPolicy").inputs.policy);
                const events = policy.Statement.find((s: { Principal: { Service?: string } }) => s.Principal.Service === "events.amazonaws.com");
                // Exactly the stack's rules: this one, and on a stack with a backup plan its backup job rule.
                const rules = run.ofType("aws:cloudwatch/eventRule:EventRule").map((r) => `arn:aws:events:ap-northeast-1:123456789012:rule/${r.inputs.name}`);
                expect(rules).to.include(`arn:aws:events:ap-northeast-1:123456789012:rule/${rule.inputs.name}`);
                expect([...events.Condition.ArnEquals["aws:SourceArn"]].sort()).to.deep.equal(rules.sort());
                const key = run.ofType("aws:kms/key:Key").find((k) => k.inputs.policy && JSON.parse(k.inputs.policy).Statement.some((s: { Sid: string }) => s.Sid === "CloudWatchAlarmsPublishToEncryptedTopics"))!;
                expect(JSON.parse(key.inputs.policy).Statement.find((s: { Principal: { Service?: string } }) => s.Principal.Service === "events.amazonaws.com").Action).to.have.members(["kms:Decrypt", "kms:GenerateDataKey*"]);
            });

            it("watches every Aurora instance, ACUs only when serverless, replica lag only with readers", () => {
                const db = settings().data.database;
                const instances = run.outputs.databaseInstanceIdentifiers as string[];
                expect(instances).to.have.length(db.readerCount + 1);
                expect(run.ofType("aws:rds/clusterInstance:ClusterInstance")).to.have.length(instances.length);
                for (const metric of ["FreeableMemory", "DatabaseConnections"]) {
                    expect(on(metric).map((a) => a.dimensions.DBInstanceIdentifier).sort(), metric).to.deep.equal([...instances].sort());
                }
                expect(on("ACUUtilization")).to.have.length(db.capacity.mode === "serverless" ? instances.length : 0);
                const lag = on("AuroraReplicaLagMaximum");
                expect(lag).to.have.length(db.readerCount > 0 ? 1 : 0);
                for (const a of lag) {
                    expect(a.dimensions.DBClusterIdentifier).to.equal(run.outputs.databaseClusterIdentifier);
                }
            });

            it("watches every cache node", () => {
                const members = run.outputs.cacheMemberClusterIds as string[];
                expect(members).to.have.length(settings().data.cache.replicaCount + 1);
                for (const metric of ["DatabaseMemoryUsagePercentage", "EngineCPUUtilization", "CurrConnections"]) {
                    expect(on(metric).map((a) => a.dimensions.CacheClusterId).sort(), metric).to.deep.equal([...members].sort());
                }
            });

            it("watches WAF exactly when the stack has a web ACL", () => {
                const waf = on("BlockedRequests").filter((a) => a.metricName === "BlockedRequests");
                if (settings().edge.waf !== undefined) {
                    expect(waf).to.have.length(1);
                    // And the per-credential limits, over both of their rules.
                    const credential = alarms.find((a) => a.name === `dify-${stack}-waf-credential-rate-limited`)!;
                    expect(new Set(metricsOf(credential).map((m) => m.dimensions.Rule))).to.deep.equal(new Set([`dify-${stack}-rate-limit-per-api-key`, `dify-${stack}-rate-limit-per-console-user`]));
                    expect(waf[0].dimensions).to.deep.equal({ WebACL: run.outputs.webAclName, Region: REGION, Rule: "ALL" });
                } else {
                    expect(waf).to.have.length(0);
                    expect(run.ofType("aws:wafv2/webAcl:WebAcl")).to.have.length(0);
                }
            });

            it("shows every alarm on the dashboard", () => {
                const body = JSON.parse(run.one(DASHBOARD).inputs.dashboardBody);
                const shown = body.widgets.filter((w: any) => w.type === "alarm").flatMap((w: any) => w.properties.alarms);
                expect(shown.sort()).to.deep.equal(alarms.map((a) => `arn:aws:cloudwatch:${REGION}:${ACCOUNT_ID}:alarm:${a.name}`).sort());
            });
        });
    }
});
