/** The shapes every alarm module shares: what is alarmed (the component's args), one alarm's spec, and dashboard widgets. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AlarmThresholds } from "../../config/ops";

export interface AlarmedLoadBalancer {
    /** ARN suffix of the ALB (the `LoadBalancer` dimension). */
    arnSuffix: pulumi.Input<string>;
    /** ARN suffix of each target group (the `TargetGroup` dimension), by a short key used in names (`web`, `api`, ...). */
    targetGroupArnSuffixes: Record<string, pulumi.Input<string>>;
    /**
     * The second target group of a role deployed as a canary (by the same key): the live tasks are in either group,
     * so its health is the two groups together, and its deployment alarms (deployments.ts) watch both.
     */
    alternateTargetGroupArnSuffixes?: Record<string, pulumi.Input<string>>;
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
    /** The Celery queue metrics beat publishes (queues.ts). Omitted: no queue alarms. */
    queues?: { namespace: string; stack: string };
    /** The stack has an AWS Backup plan: failed backup and copy jobs are mailed (backups.ts). */
    backups?: boolean;
    /** The EFS workspaces (fileSystems.ts). */
    fileSystems?: { key: string; fileSystemId: pulumi.Input<string>; bursting: boolean }[];
}


export type Dimensions = Record<string, pulumi.Input<string>>;

/** How long a signal must breach: `breaching` of the last `of` datapoints of `period` seconds each (M out of N). */
export interface Window {
    period: number;
    of: number;
    breaching: number;
}
export const FOR_3_MIN: Window = { period: 60, of: 3, breaching: 3 };
export const FOR_5_MIN: Window = { period: 60, of: 5, breaching: 5 };
export const FOR_15_MIN: Window = { period: 300, of: 3, breaching: 3 };
export type MissingData = "missing" | "ignore" | "breaching" | "notBreaching";

/** One metric alarm: the evaluation fields shared by every alarm of this component. */
export interface AlarmSpec {
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
export interface Widget {
    type: "metric" | "text" | "alarm";
    width: number;
    height: number;
    properties: Record<string, unknown>;
}

export const MIB = 1024 * 1024;
/** Dashboard grid width (CloudWatch lays widgets out on 24 columns). */
export const GRID = 24;

export function kebab(key: string): string {
    return key.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();
}

export function header(title: string): Widget {
    return { type: "text", width: GRID, height: 1, properties: { markdown: `## ${title}` } };
}

/**
 * A time-series widget (a third of the grid) with the alarm threshold drawn as a line when given. Its fields may hold
 * Outputs: the dashboard body resolves the whole widget tree at once.
 */
export function graph(title: string, region: pulumi.Input<string>, period: number, metrics: unknown[][], threshold?: number): Widget {
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

/** What each alarm module declares its alarms with: the component as parent, the stack's prefix and region. */
export interface AlarmScope {
    /** The component's logical name; alarm names derive from it. */
    name: string;
    parent: pulumi.Resource;
    /** `dify-<stack>`: prefix of every physical name. */
    prefix: string;
    region: pulumi.Output<string>;
    /** Declares one alarm notifying the topic on ALARM and OK; it also appears on the dashboard's status widget. */
    alarm(spec: AlarmSpec): aws.cloudwatch.MetricAlarm;
}

/** The alarm declaration shared by every signal: the evaluation fields, the topic on ALARM and on OK. */
export function declareAlarm(scope: Omit<AlarmScope, "alarm">, actions: pulumi.Input<string>[], spec: AlarmSpec): aws.cloudwatch.MetricAlarm {
    const m = spec.metric;
    return new aws.cloudwatch.MetricAlarm(
        `${scope.name}-${spec.id}`,
        {
            name: `${scope.prefix}-${spec.id}`,
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
            alarmActions: actions,
            okActions: actions,
        },
        { parent: scope.parent },
    );
}
