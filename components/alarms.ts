import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AlarmThresholds } from "../config/ops";
import { awsContext } from "./awsContext";
import { EncryptionKey } from "./encryptionKey";

/** The load balancer signals: metrics are keyed by ARN suffixes (`app/<name>/<id>`, `targetgroup/<name>/<id>`). */
export interface AlarmedLoadBalancer {
    /** ARN suffix of the ALB (the `LoadBalancer` dimension). */
    arnSuffix: pulumi.Input<string>;
    /** ARN suffix of each target group (the `TargetGroup` dimension), by a short key used in names (`web`, `api`, ...). */
    targetGroupArnSuffixes: Record<string, pulumi.Input<string>>;
}

/** The ECS services. */
export interface AlarmedServices {
    clusterName: pulumi.Input<string>;
    /** The cluster's ARN: the ECS service events of this cluster go to the topic. */
    clusterArn: pulumi.Input<string>;
    /**
     * The cluster publishes Container Insights metrics (`enabled` or `enhanced`): the running-task alarms read them.
     * Without them only the ECS service events report tasks that fail to start.
     */
    containerInsights: boolean;
    /** Service name by role, every service that runs at its desired count (all but beat). */
    services: Record<string, pulumi.Input<string>>;
    /** The beat service: exactly one task, alarmed when there is none and when there is more than one. */
    beatServiceName: pulumi.Input<string>;
}

export interface AlarmedDatabase {
    /** The Aurora cluster identifier (`DBClusterIdentifier`). */
    clusterIdentifier: pulumi.Input<string>;
    /**
     * Every instance identifier (`DBInstanceIdentifier`), writer and readers alike: Aurora swaps the roles on failover,
     * so every instance gets the same alarms. More than one instance also adds the replica lag alarm.
     */
    instanceIdentifiers: pulumi.Input<string>[];
    /** Aurora Serverless v2: adds the capacity (ACU) alarm and graphs. */
    serverless: boolean;
    /**
     * max_connections of each instance as AWS documents it for the configured capacity (config/aurora.ts; Serverless
     * v2 derives it from the maximum ACU, and every instance has the same capacity). The connections alarm fires at
     * `dbConnectionsPercent` of it.
     */
    maxConnections: number;
}

export interface AlarmedCache {
    /** The member cluster ids of the replication group (`CacheClusterId`), one node each (cluster mode disabled). */
    memberClusterIds: pulumi.Input<string>[];
}

export interface AlarmsArgs {
    /** `dify-<stack>`: prefix of the topic, alarm and dashboard names. */
    namePrefix: string;
    /**
     * The stack's customer-managed KMS key. Its policy must let `cloudwatch.amazonaws.com` use it (EncryptionKey's does):
     * CloudWatch alarms can only publish to a topic encrypted with such a key; the AWS-managed `alias/aws/sns` key
     * cannot be granted to CloudWatch, so alarms on a topic encrypted with it never arrive. Undefined creates a
     * dedicated EncryptionKey for the topic.
     */
    kmsKeyArn?: pulumi.Input<string>;
    /** Email addresses subscribed to the topic (each receives a confirmation mail first). May be empty. */
    emails: string[];
    thresholds: AlarmThresholds;
    /** Omitted: no load balancer alarms. */
    loadBalancer?: AlarmedLoadBalancer;
    /** Omitted: no ECS alarms. */
    ecs?: AlarmedServices;
    /** Omitted: no database alarms. */
    database?: AlarmedDatabase;
    /** Omitted: no cache alarms. */
    cache?: AlarmedCache;
    /**
     * The stack scales every service to zero tasks outside its active hours. Metrics of a service without running
     * tasks are not published at all, so alarms on task counts and healthy targets must not read a night as an outage.
     */
    pausedOutsideActiveHours?: boolean;
    /**
     * The regional WAF web ACL in front of the ALB: its name (the `WebACL` dimension; the ACL's metric name must equal
     * it). The `Region` dimension is the stack's region, where a web ACL attached to the stack's ALB necessarily lives.
     * Omitted: WAF is off.
     */
    waf?: { webAclName: pulumi.Input<string> };
}

type Dimensions = Record<string, pulumi.Input<string>>;

/** How long a signal must breach: `breaching` of the last `of` datapoints of `period` seconds each (M out of N). */
interface Window {
    period: number;
    of: number;
    breaching: number;
}
const FOR_3_MIN: Window = { period: 60, of: 3, breaching: 3 };
const FOR_5_MIN: Window = { period: 60, of: 5, breaching: 5 };
const FOR_15_MIN: Window = { period: 300, of: 3, breaching: 3 };
type MissingData = "missing" | "ignore" | "breaching" | "notBreaching";

/** One metric alarm: the evaluation fields shared by every alarm of this component. */
interface AlarmSpec {
    /** Suffix of the logical and physical name, e.g. `alb-5xx-ratio`. */
    id: string;
    description: pulumi.Input<string>;
    comparison: "GreaterThanThreshold" | "LessThanThreshold";
    threshold: number;
    window: Window;
    treatMissingData: MissingData;
    /** A single metric, or metric math (`queries`, with exactly one returned expression). */
    metric?: { namespace: string; name: string; dimensions: Dimensions; statistic?: string; extendedStatistic?: string };
    queries?: aws.types.input.cloudwatch.MetricAlarmMetricQuery[];
}

/** A CloudWatch dashboard widget (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html). */
interface Widget {
    type: "metric" | "text" | "alarm";
    width: number;
    height: number;
    properties: Record<string, unknown>;
}

const MIB = 1024 * 1024;
/** Dashboard grid width (CloudWatch lays widgets out on 24 columns). */
const GRID = 24;
/** An alarm status widget shows at most 100 alarms. */
const ALARM_WIDGET_MAX = 100;

/** The name of the stack's rule for ECS service events (the topic policy names it before it exists). */
const ECS_EVENT_RULE = (prefix: string) => `${prefix}-ecs-service-events`;

function kebab(key: string): string {
    return key.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();
}

/**
 * The stack's alarms, their SNS topic and one CloudWatch dashboard. Alarms notify the topic on ALARM and on OK (so a
 * recovery is visible too), never on INSUFFICIENT_DATA. Thresholds come from config; periods, statistics and the
 * handling of missing data are chosen per signal and explained where each alarm is declared.
 */
export class Alarms extends pulumi.ComponentResource {
    public readonly topicArn: pulumi.Output<string>;
    public readonly dashboardName: pulumi.Output<string>;

    private readonly prefix: string;
    private readonly alarmActions: pulumi.Output<string>[];
    private readonly alarms: aws.cloudwatch.MetricAlarm[] = [];

    constructor(name: string, args: AlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dify-aws:ops:Alarms", name, {}, opts);
        this.prefix = args.namePrefix;
        const ctx = awsContext(this);
        const t = args.thresholds;

        const kmsKeyArn =
            args.kmsKeyArn ??
            new EncryptionKey(
                `${name}-topic-key`,
                { description: `Dify ${args.namePrefix}: alarm topic (SNS) encryption, usable by CloudWatch alarms`, alias: `${args.namePrefix}-alarms` },
                { parent: this },
            ).keyArn;

        const topic = new aws.sns.Topic(`${name}-topic`, { name: `${args.namePrefix}-alarms`, kmsMasterKeyId: kmsKeyArn }, { parent: this });
        new aws.sns.TopicPolicy(
            `${name}-topic-policy`,
            {
                arn: topic.arn,
                policy: pulumi.all([topic.arn, ctx.accountId, ctx.region, ctx.partition, ctx.dnsSuffix]).apply(([arn, account, region, partition, dnsSuffix]) =>
                    JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            {
                                Sid: "AccountManagesTopic",
                                Effect: "Allow",
                                Principal: { AWS: `arn:${partition}:iam::${account}:root` },
                                Action: ["sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:AddPermission", "sns:RemovePermission", "sns:DeleteTopic", "sns:Subscribe", "sns:ListSubscriptionsByTopic", "sns:Publish"],
                                Resource: arn,
                            },
                            ...(args.ecs
                                ? [
                                      {
                                          // The stack's ECS event rule (serviceEvents), and no other rule.
                                          Sid: "ThisStacksEcsEventRulePublishes",
                                          Effect: "Allow",
                                          Principal: { Service: `events.${dnsSuffix}` },
                                          Action: "sns:Publish",
                                          Resource: arn,
                                          Condition: { ArnEquals: { "aws:SourceArn": `arn:${partition}:events:${region}:${account}:rule/${ECS_EVENT_RULE(args.namePrefix)}` } },
                                      },
                                  ]
                                : []),
                            {
                                // Only this account's alarms in this region may publish (confused-deputy guard).
                                Sid: "ThisAccountsAlarmsPublish",
                                Effect: "Allow",
                                Principal: { Service: `cloudwatch.${dnsSuffix}` },
                                Action: "sns:Publish",
                                Resource: arn,
                                Condition: {
                                    ArnLike: { "aws:SourceArn": `arn:${partition}:cloudwatch:${region}:${account}:alarm:*` },
                                    StringEquals: { "aws:SourceAccount": account },
                                },
                            },
                        ],
                    }),
                ),
            },
            { parent: this },
        );
        args.emails.forEach((email, i) => {
            new aws.sns.TopicSubscription(`${name}-email-${i}`, { topic: topic.arn, protocol: "email", endpoint: email }, { parent: this });
        });
        this.alarmActions = [topic.arn];

        const widgets: Widget[] = [];
        const region = ctx.region;

        const paused = args.pausedOutsideActiveHours ?? false;
        if (args.loadBalancer) {
            widgets.push(...this.loadBalancerAlarms(name, args.loadBalancer, t, region, paused));
        }
        if (args.ecs) {
            widgets.push(...this.serviceAlarms(name, args.ecs, t, region, paused));
            this.serviceEvents(name, args.ecs, topic);
        }
        if (args.database) {
            widgets.push(...this.databaseAlarms(name, args.database, t, region));
        }
        if (args.cache) {
            widgets.push(...this.cacheAlarms(name, args.cache, t, region));
        }
        if (args.waf) {
            widgets.push(...this.wafAlarms(name, args.waf.webAclName, t, region));
        }

        const alarmArns = this.alarms.map((a) => a.arn);
        const statusWidgets: Widget[] = [];
        for (let i = 0; i < alarmArns.length; i += ALARM_WIDGET_MAX) {
            statusWidgets.push({
                type: "alarm",
                width: GRID,
                height: 6,
                properties: { title: "Alarms", alarms: alarmArns.slice(i, i + ALARM_WIDGET_MAX), sortBy: "stateUpdatedTimestamp" },
            });
        }
        const dashboard = new aws.cloudwatch.Dashboard(
            `${name}-dashboard`,
            {
                dashboardName: args.namePrefix,
                dashboardBody: pulumi.output([...statusWidgets, ...widgets]).apply((all) => JSON.stringify({ widgets: all })),
            },
            { parent: this },
        );

        this.topicArn = topic.arn;
        this.dashboardName = dashboard.dashboardName;
        this.registerOutputs({ topicArn: this.topicArn, dashboardName: this.dashboardName });
    }

    private alarm(name: string, spec: AlarmSpec): aws.cloudwatch.MetricAlarm {
        const m = spec.metric;
        const alarm = new aws.cloudwatch.MetricAlarm(
            `${name}-${spec.id}`,
            {
                name: `${this.prefix}-${spec.id}`,
                alarmDescription: spec.description,
                comparisonOperator: spec.comparison,
                threshold: spec.threshold,
                evaluationPeriods: spec.window.of,
                datapointsToAlarm: spec.window.breaching,
                treatMissingData: spec.treatMissingData,
                namespace: m?.namespace,
                metricName: m?.name,
                dimensions: m?.dimensions,
                statistic: m?.statistic,
                extendedStatistic: m?.extendedStatistic,
                // Percentiles over a handful of requests say nothing; keep the previous state instead of alarming.
                evaluateLowSampleCountPercentiles: m?.extendedStatistic ? "ignore" : undefined,
                period: m ? spec.window.period : undefined,
                metricQueries: spec.queries,
                alarmActions: this.alarmActions,
                okActions: this.alarmActions,
            },
            { parent: this },
        );
        this.alarms.push(alarm);
        return alarm;
    }

    private loadBalancerAlarms(name: string, lb: AlarmedLoadBalancer, t: AlarmThresholds, region: pulumi.Output<string>, paused: boolean): Widget[] {
        const ns = "AWS/ApplicationELB";
        const lbDim = { LoadBalancer: lb.arnSuffix };
        const count = (id: string, metricName: string) => ({
            id,
            metric: { namespace: ns, metricName, dimensions: lbDim, stat: "Sum", period: 60 },
        });
        // 5xx ratio = (5xx the ALB generated: 502/503/504, no healthy target, + 5xx from targets) / requests. Counts are
        // only published for minutes that have them, hence FILL. Under 10 requests a minute the ratio is noise (one
        // failed request on an idle stack is 100 %), so such minutes count as 0. Sustained: 3 of 5 minutes.
        this.alarm(name, {
            id: "alb-5xx-ratio",
            description: `More than ${t.alb5xxPercent} % of requests answered with 5xx (ALB or targets) in 3 of 5 minutes. Check the target groups' health, the api and web logs, and the latest deployment.`,
            comparison: "GreaterThanThreshold",
            threshold: t.alb5xxPercent,
            window: { period: 60, of: 5, breaching: 3 },
            treatMissingData: "notBreaching",
            queries: [
                { ...count("requests", "RequestCount"), returnData: false },
                { ...count("elb5xx", "HTTPCode_ELB_5XX_Count"), returnData: false },
                { ...count("target5xx", "HTTPCode_Target_5XX_Count"), returnData: false },
                {
                    id: "ratio",
                    expression: "IF(requests >= 10, 100 * (FILL(elb5xx, 0) + FILL(target5xx, 0)) / requests, 0)",
                    label: "5xx % of requests",
                    returnData: true,
                },
            ],
        });

        const p95: unknown[][] = [];
        const health: unknown[][] = [];
        for (const [key, tg] of Object.entries(lb.targetGroupArnSuffixes)) {
            const id = kebab(key);
            const dims = { LoadBalancer: lb.arnSuffix, TargetGroup: tg };
            // Time to the first response byte, so SSE streams count by their start, not their length. p95 over 5
            // minutes, 2 of 3 periods: one slow burst of LLM calls does not page, a slow backend does.
            this.alarm(name, {
                id: `alb-${id}-p95-response-time`,
                description: `p95 target response time of the ${key} target group above ${t.albResponseTimeP95Ms} ms in 2 of 3 five-minute periods.`,
                comparison: "GreaterThanThreshold",
                threshold: t.albResponseTimeP95Ms / 1000,
                window: { period: 300, of: 3, breaching: 2 },
                treatMissingData: "notBreaching",
                metric: { namespace: ns, name: "TargetResponseTime", dimensions: dims, extendedStatistic: "p95" },
            });
            // Published every minute for a target group behind the ALB. Targets still in their initial health checks
            // are not counted, so a healthy rolling deploy stays quiet; 5 minutes of an unhealthy target is a real
            // failure (the circuit breaker is usually rolling back by then).
            this.alarm(name, {
                id: `alb-${id}-unhealthy-hosts`,
                description: `The ${key} target group has had an unhealthy target for 5 minutes. See the service's events and the task logs.`,
                comparison: "GreaterThanThreshold",
                threshold: 0,
                window: FOR_5_MIN,
                treatMissingData: "notBreaching",
                metric: { namespace: ns, name: "UnHealthyHostCount", dimensions: dims, statistic: "Maximum" },
            });
            // No healthy target: every request to these paths gets a 503, whether or not traffic shows it yet. The
            // metric is published every minute, so silence means the target group left the ALB: breaching. A stack
            // that sleeps has no target every night, so there it alarms only while requests arrive and find none.
            this.alarm(
                name,
                paused
                    ? {
                          id: `alb-${id}-no-healthy-hosts`,
                          description: `Requests to the ${key} target group found no healthy target for 3 minutes (answered 503). Outside active hours that is expected.`,
                          comparison: "GreaterThanThreshold",
                          threshold: 0,
                          window: FOR_3_MIN,
                          treatMissingData: "notBreaching",
                          queries: [
                              { id: "healthy", metric: { namespace: ns, metricName: "HealthyHostCount", dimensions: dims, stat: "Minimum", period: 60 }, returnData: false },
                              { id: "requests", metric: { namespace: ns, metricName: "RequestCount", dimensions: dims, stat: "Sum", period: 60 }, returnData: false },
                              { id: "unserved", expression: "IF(FILL(requests, 0) > 0 AND FILL(healthy, 0) < 1, 1, 0)", label: "requests without a healthy target", returnData: true },
                          ],
                      }
                    : {
                          id: `alb-${id}-no-healthy-hosts`,
                          description: `The ${key} target group has had no healthy target for 3 minutes: its paths answer 503.`,
                          comparison: "LessThanThreshold",
                          threshold: 1,
                          window: FOR_3_MIN,
                          treatMissingData: "breaching",
                          metric: { namespace: ns, name: "HealthyHostCount", dimensions: dims, statistic: "Minimum" },
                      },
            );
            p95.push([ns, "TargetResponseTime", "LoadBalancer", lb.arnSuffix, "TargetGroup", tg, { stat: "p95", label: `${key} p95` }]);
            health.push([ns, "HealthyHostCount", "LoadBalancer", lb.arnSuffix, "TargetGroup", tg, { stat: "Minimum", label: `${key} healthy` }]);
            health.push([ns, "UnHealthyHostCount", "LoadBalancer", lb.arnSuffix, "TargetGroup", tg, { stat: "Maximum", label: `${key} unhealthy` }]);
        }

        return [
            header("Load balancer"),
            graph("Requests and 5xx", region, 60, [
                [ns, "RequestCount", "LoadBalancer", lb.arnSuffix, { stat: "Sum", label: "requests" }],
                [ns, "HTTPCode_ELB_5XX_Count", "LoadBalancer", lb.arnSuffix, { stat: "Sum", label: "ALB 5xx" }],
                [ns, "HTTPCode_Target_5XX_Count", "LoadBalancer", lb.arnSuffix, { stat: "Sum", label: "target 5xx" }],
            ]),
            graph("Target response time p95 (s)", region, 300, p95, t.albResponseTimeP95Ms / 1000),
            graph("Targets healthy / unhealthy", region, 60, health),
        ];
    }

    /**
     * ECS service events to the topic: a service that cannot start its tasks (SERVICE_TASK_START_IMPAIRED), place
     * them, or configure them, and a failed (rolled back) deployment. AWS delivers these whether or not Container
     * Insights is on, and scaling to zero at night raises none of them. The topic and its key let EventBridge publish.
     */
    private serviceEvents(name: string, ecs: AlarmedServices, topic: aws.sns.Topic): void {
        const rule = new aws.cloudwatch.EventRule(
            `${name}-ecs-events`,
            {
                name: ECS_EVENT_RULE(this.prefix),
                description: `Dify ${this.prefix}: ECS services failing to start, place or configure tasks, and failed deployments`,
                eventPattern: pulumi.jsonStringify({
                    source: ["aws.ecs"],
                    "detail-type": ["ECS Service Action", "ECS Deployment State Change"],
                    detail: { clusterArn: [ecs.clusterArn], eventType: ["WARN", "ERROR"] },
                }),
            },
            { parent: this },
        );
        new aws.cloudwatch.EventTarget(`${name}-ecs-events`, { rule: rule.name, arn: topic.arn }, { parent: this });
    }

    private serviceAlarms(name: string, ecs: AlarmedServices, t: AlarmThresholds, region: pulumi.Output<string>, paused: boolean): Widget[] {
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
            this.alarm(name, {
                id: `ecs-${id}-cpu`,
                description: `Average CPU of the ${role} service above ${t.ecsCpuPercent} % for 15 minutes (autoscaling at its maximum, or a task size too small).`,
                comparison: "GreaterThanThreshold",
                threshold: t.ecsCpuPercent,
                window: FOR_15_MIN,
                treatMissingData: "missing",
                metric: { namespace: "AWS/ECS", name: "CPUUtilization", dimensions: dims, statistic: "Average" },
            });
            this.alarm(name, {
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
            this.alarm(name, {
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
        this.alarm(name, {
            id: "ecs-beat-not-running",
            description: "No beat task for 5 minutes: scheduled workflows, plugin auto-upgrades and periodic cleanups are not dispatched.",
            comparison: "LessThanThreshold",
            threshold: 1,
            window: FOR_5_MIN,
            treatMissingData: paused ? "notBreaching" : "breaching",
            metric: { namespace: ci, name: "RunningTaskCount", dimensions: beatDims, statistic: "Maximum" },
        });
        this.alarm(name, {
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

    private databaseAlarms(name: string, db: AlarmedDatabase, t: AlarmThresholds, region: pulumi.Output<string>): Widget[] {
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
            this.alarm(name, {
                id: `db-${n}-cpu`,
                description: pulumi.interpolate`CPU of Aurora instance ${instance} above ${t.dbCpuPercent} % for 15 minutes.`,
                comparison: "GreaterThanThreshold",
                threshold: t.dbCpuPercent,
                window: FOR_15_MIN,
                treatMissingData: "missing",
                metric: { namespace: ns, name: "CPUUtilization", dimensions: dims, statistic: "Average" },
            });
            this.alarm(name, {
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
            this.alarm(name, {
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
                this.alarm(name, {
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
            this.alarm(name, {
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

    private cacheAlarms(name: string, cache: AlarmedCache, t: AlarmThresholds, region: pulumi.Output<string>): Widget[] {
        const ns = "AWS/ElastiCache";
        const memory: unknown[][] = [];
        const cpu: unknown[][] = [];
        const connections: unknown[][] = [];
        cache.memberClusterIds.forEach((member, i) => {
            const n = i + 1;
            const dims = { CacheClusterId: member };
            // The parameter group sets maxmemory-policy noeviction (Celery's queues have no TTL): at 100 % every write
            // fails with OOM, which stops task dispatch. Maximum per minute, 5 minutes in a row, leaves time to act.
            this.alarm(name, {
                id: `cache-${n}-memory`,
                description: pulumi.interpolate`Cache node ${member} above ${t.cacheMemoryPercent} % of maxmemory for 5 minutes. With noeviction, writes (Celery's broker) fail at 100 %: scale the node type up.`,
                comparison: "GreaterThanThreshold",
                threshold: t.cacheMemoryPercent,
                window: FOR_5_MIN,
                treatMissingData: "missing",
                metric: { namespace: ns, name: "DatabaseMemoryUsagePercentage", dimensions: dims, statistic: "Maximum" },
            });
            // The engine's command thread, not the host CPU: on a multi-vCPU node host CPU hides a saturated engine.
            this.alarm(name, {
                id: `cache-${n}-engine-cpu`,
                description: pulumi.interpolate`Engine CPU of cache node ${member} above ${t.cacheEngineCpuPercent} % for 15 minutes.`,
                comparison: "GreaterThanThreshold",
                threshold: t.cacheEngineCpuPercent,
                window: FOR_15_MIN,
                treatMissingData: "missing",
                metric: { namespace: ns, name: "EngineCPUUtilization", dimensions: dims, statistic: "Average" },
            });
            this.alarm(name, {
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

    private wafAlarms(name: string, webAclName: pulumi.Input<string>, t: AlarmThresholds, region: pulumi.Output<string>): Widget[] {
        const ns = "AWS/WAFV2";
        // Regional web ACLs publish per Region, WebACL and Rule; Rule "ALL" is the sum over the ACL's rules. Only
        // minutes with blocked requests have data, so silence is calm: notBreaching. One 5-minute spike is enough.
        const dims = { WebACL: webAclName, Region: region, Rule: "ALL" };
        this.alarm(name, {
            id: "waf-blocked-requests",
            description: `WAF blocked more than ${t.wafBlockedRequests} requests in 5 minutes (an attack, or a rule blocking legitimate traffic: check the WAF logs).`,
            comparison: "GreaterThanThreshold",
            threshold: t.wafBlockedRequests,
            window: { period: 300, of: 1, breaching: 1 },
            treatMissingData: "notBreaching",
            metric: { namespace: ns, name: "BlockedRequests", dimensions: dims, statistic: "Sum" },
        });
        return [
            header("WAF"),
            graph(
                "Allowed / blocked requests (per 5 min)",
                region,
                300,
                [
                    [ns, "AllowedRequests", "WebACL", webAclName, "Region", region, "Rule", "ALL", { stat: "Sum", label: "allowed" }],
                    [ns, "BlockedRequests", "WebACL", webAclName, "Region", region, "Rule", "ALL", { stat: "Sum", label: "blocked" }],
                ],
                t.wafBlockedRequests,
            ),
        ];
    }
}

function header(title: string): Widget {
    return { type: "text", width: GRID, height: 1, properties: { markdown: `## ${title}` } };
}

/**
 * A time-series widget (a third of the grid) with the alarm threshold drawn as a line when given. Its fields may hold
 * Outputs: the dashboard body resolves the whole widget tree at once.
 */
function graph(title: string, region: pulumi.Input<string>, period: number, metrics: unknown[][], threshold?: number): Widget {
    return {
        type: "metric",
        width: GRID / 3,
        height: 6,
        properties: {
            title,
            region,
            view: "timeSeries",
            stacked: false,
            period,
            metrics,
            ...(threshold === undefined ? {} : { annotations: { horizontal: [{ value: threshold, label: "alarm threshold" }] } }),
        },
    };
}
