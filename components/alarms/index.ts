/**
 * Alarms: the stack's alarms, their SNS topic and one CloudWatch dashboard. This file reads as the outline; each
 * signal's alarms live beside it (loadBalancer.ts, services.ts, database.ts, cache.ts, waf.ts), with the topic
 * (topic.ts), the ECS service events (serviceEvents.ts) and the shared shapes (types.ts).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { awsContext } from "../awsContext";
import { backupEvents } from "./backups";
import { cacheAlarms } from "./cache";
import { databaseAlarms, databaseEvents } from "./database";
import { fileSystemAlarms } from "./fileSystems";
import { queueAlarms } from "./queues";
import { deploymentAlarms } from "./deployments";
import { loadBalancerAlarms } from "./loadBalancer";
import { serviceEvents } from "./serviceEvents";
import { serviceAlarms } from "./services";
import { alarmTopic } from "./topic";
import { AlarmScope, AlarmsArgs, declareAlarm, GRID, Widget } from "./types";
import { wafAlarms } from "./waf";

export type { AlarmedCache, AlarmedDatabase, AlarmedLoadBalancer, AlarmedServices, AlarmsArgs } from "./types";

/** An alarm status widget shows at most 100 alarms. */
const ALARM_WIDGET_MAX = 100;

/**
 * The stack's alarms, their SNS topic and one CloudWatch dashboard. Alarms notify the topic on ALARM and on OK (so a
 * recovery is visible too), never on INSUFFICIENT_DATA. Thresholds come from config; periods, statistics and the
 * handling of missing data are chosen per signal and explained where each alarm is declared.
 */
export class Alarms extends pulumi.ComponentResource {
    public readonly topicArn: pulumi.Output<string>;
    public readonly dashboardName: pulumi.Output<string>;

    constructor(name: string, args: AlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dify-aws:ops:Alarms", name, {}, opts);
        const t = args.thresholds;
        const base = { name, parent: this, prefix: args.namePrefix, region: awsContext(this).region };
        const topic = alarmTopic(base, args);
        const actions = [topic.arn];
        const alarms: aws.cloudwatch.MetricAlarm[] = [];
        const scope: AlarmScope = {
            ...base,
            alarm: (spec) => {
                const alarm = declareAlarm(base, actions, spec);
                alarms.push(alarm);
                return alarm;
            },
        };

        const paused = args.pausedOutsideActiveHours ?? false;
        const widgets: Widget[] = [];
        if (args.loadBalancer) {
            widgets.push(...loadBalancerAlarms(scope, args.loadBalancer, t, paused));
            for (const [role, alternate] of Object.entries(args.loadBalancer.alternateTargetGroupArnSuffixes ?? {})) {
                deploymentAlarms(scope, args.loadBalancer.arnSuffix, role as "web" | "api", [args.loadBalancer.targetGroupArnSuffixes[role], alternate]);
            }
        }
        if (args.ecs) {
            widgets.push(...serviceAlarms(scope, args.ecs, t, paused));
            serviceEvents(base, args.ecs, topic);
        }
        if (args.database) {
            widgets.push(...databaseAlarms(scope, args.database, t));
            databaseEvents(base, args.database, topic);
        }
        if (args.cache) {
            widgets.push(...cacheAlarms(scope, args.cache, t));
        }
        if (args.waf) {
            widgets.push(...wafAlarms(scope, args.waf.webAclName, t));
        }
        if (args.queues) {
            widgets.push(...queueAlarms(scope, args.queues, t, paused));
        }
        widgets.push(...fileSystemAlarms(scope, args.fileSystems ?? [], t, paused));
        if (args.backups) {
            backupEvents(base, topic);
        }

        const alarmArns = alarms.map((a) => a.arn);
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
}
