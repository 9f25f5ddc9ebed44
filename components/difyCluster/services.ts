/** ECS services: capacity providers, rolling deployments, Service Connect, the load balancer, and autoscaling. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { DifyRole, ScaledRole, SingleRole } from "../../config/roles";
import { cronAt } from "../../config/schedule";
import { ClusterScope, KEBAB } from "./context";
import { execEnabled } from "./iam";
import { API_CONCURRENCY, apiScaleOutConnections } from "./apiConcurrency";
import { QUEUE_METRICS } from "./queueMetrics";
import { LbRole, ROLE_SPECS, SCALING } from "./roles";

export interface ServiceSpec {
    clusterArn: pulumi.Output<string>;
    namespaceArn: pulumi.Output<string>;
    taskDefinitionArn: pulumi.Output<string>;
    securityGroupId: pulumi.Output<string>;
    /** Create the service with no tasks; its scalable target starts them (roles.ts, STARTS_WITHOUT_TASKS). */
    startsWithoutTasks: boolean;
    /** A canary deployment (progressive.ts): the infrastructure role ECS moves traffic with, and the rollback alarms. */
    canary?: { infrastructureRoleArn: pulumi.Output<string>; alarmNames: pulumi.Output<string>[] };
    /** Minutes `up` waits for this service's deployment (serviceTimeoutMinutes). */
    timeoutMinutes: number;
    dependsOn: pulumi.Resource[];
}

/** Minutes a new task may take to be provisioned, pull its image (dify-api is over 1 GB) and start its process. */
export const TASK_START_MINUTES = 10;

/**
 * The slowest rollout of a role that still succeeds, and then its rollback, in minutes: new tasks start, pass their
 * health-check grace, the old ones drain (the target group's deregistration delay, `drainSeconds`) and stop
 * (stopTimeout); a failing one is rolled back by the circuit breaker, which takes the same again.
 */
export function rolloutBudgetMinutes(role: DifyRole, drainSeconds: number, bakeMinutes = 0): number {
    const spec = ROLE_SPECS[role];
    const once = TASK_START_MINUTES + ((spec.loadBalancer?.graceSeconds ?? 0) + drainSeconds + spec.stopTimeout) / 60;
    // A canary bakes (its canary share, then the old tasks kept) before it drains; its rollback is a weight change,
    // but the old tasks must start again when the rollback comes after CLEAN_UP (a circuit breaker's): count it whole.
    return Math.ceil(2 * once + bakeMinutes);
}

/**
 * How long `pulumi up` waits for a role's service to reach steady state (its create and update timeouts), in minutes:
 * its rollout budget, with at least the provider's own default of 20.
 */
export function serviceTimeoutMinutes(role: DifyRole, drainSeconds: number, bakeMinutes: number): number {
    return Math.max(20, rolloutBudgetMinutes(role, drainSeconds, bakeMinutes));
}

export function service(scope: ClusterScope, role: DifyRole, o: ServiceSpec): aws.ecs.Service {
    const { args } = scope;
    const s = args.settings;
    const spec = ROLE_SPECS[role];
    const kebab = spec.kebab;
    const lbRole = spec.loadBalancer ? (role as LbRole) : undefined;
    const targetGroup = lbRole ? args.edge.targetGroups[lbRole] : undefined;
    const exclusive = spec.deployment === "exclusive";
    const scaled = spec.deployment === "rolling";
    const spot = s.spotRoles.includes(role);
    // web and api keep on-demand tasks under their Spot ones (fargateSpotOnDemandBase), so an interruption never
    // empties them.
    const onDemandBase = role === "web" || role === "api" ? s.spotOnDemandBase : 0;
    const capacityProviderStrategies = spot
        ? [
              { capacityProvider: "FARGATE", base: onDemandBase, weight: 0 },
              { capacityProvider: "FARGATE_SPOT", base: 0, weight: 1 },
          ]
        : [{ capacityProvider: "FARGATE", base: 0, weight: 1 }];
    const desiredCount = o.startsWithoutTasks ? 0 : scaled ? s.roles[role as ScaledRole].minTasks : 1;
    return new aws.ecs.Service(
        `${scope.name}-${kebab}`,
        {
            name: `${args.namePrefix}-${kebab}`,
            cluster: o.clusterArn,
            taskDefinition: o.taskDefinitionArn,
            desiredCount,
            capacityProviderStrategies,
            // The provider replaces a service whose capacity provider strategy changes unless this is true, and a
            // replacement of a service with a fixed name fails as a duplicate (or deletes the running service
            // first). With it, changing fargateSpotRoles is an in-place rolling deployment. It forces a new
            // deployment only when `pulumi up` updates the service anyway, never on an unchanged one.
            forceNewDeployment: true,
            platformVersion: "LATEST",
            networkConfiguration: { subnets: args.privateSubnetIds, securityGroups: [o.securityGroupId], assignPublicIp: false },
            // exclusive roles (beat, the agent sandbox): stop the old task before the new one starts, so two never run at
            // once. Everything else: never drop below the running capacity, start the new tasks beside the old ones.
            deploymentMinimumHealthyPercent: exclusive ? 0 : 100,
            deploymentMaximumPercent: exclusive ? 100 : 200,
            deploymentCircuitBreaker: { enable: true, rollback: true },
            // web and api on a canary stack: a full set of new tasks in the alternate group takes canaryPercent of the
            // traffic for canaryBakeMinutes, then all of it; the old ones stay bakeMinutes more. Either alarm rolls back.
            ...(o.canary
                ? {
                      deploymentConfiguration: {
                          strategy: "CANARY",
                          bakeTimeInMinutes: String(s.deployment.bakeMinutes),
                          canaryConfiguration: { canaryPercent: s.deployment.canaryPercent, canaryBakeTimeInMinutes: String(s.deployment.canaryBakeMinutes) },
                      },
                      alarms: { alarmNames: o.canary.alarmNames, enable: true, rollback: true },
                  }
                : {}),
            // Keeps tasks spread over the AZs after scaling or an AZ outage.
            availabilityZoneRebalancing: scaled ? "ENABLED" : "DISABLED",
            // `pulumi up` fails (after the circuit breaker rolled back) instead of reporting a deployment that never became healthy.
            waitForSteadyState: true,
            enableExecuteCommand: execEnabled(scope, role),
            propagateTags: "SERVICE",
            enableEcsManagedTags: true,
            ...(spec.loadBalancer && targetGroup
                ? {
                      healthCheckGracePeriodSeconds: spec.loadBalancer.graceSeconds,
                      loadBalancers: [
                          {
                              // Carries the listener's dependency: tasks register only once its rules forward to the group.
                              targetGroupArn: pulumi.all([targetGroup.arn, args.edge.listenerArn]).apply(([tg]) => tg),
                              containerName: kebab,
                              containerPort: spec.port!,
                              ...(o.canary && targetGroup.progressive
                                  ? {
                                        advancedConfiguration: {
                                            alternateTargetGroupArn: targetGroup.progressive.alternateArn,
                                            productionListenerRule: targetGroup.progressive.productionListenerRuleArn,
                                            roleArn: o.canary.infrastructureRoleArn,
                                        },
                                    }
                                  : {}),
                          },
                      ],
                  }
                : {}),
            serviceConnectConfiguration: {
                enabled: true,
                namespace: o.namespaceArn,
                services: spec.serviceConnectName
                    ? [
                          {
                              portName: kebab,
                              discoveryName: spec.serviceConnectName,
                              clientAlias: [{ port: spec.port!, dnsName: spec.serviceConnectName }],
                              // TCP mode (no appProtocol): no 15 s per-request timeout on streamed plugin/LLM calls;
                              // an idle connection lives an hour, like nginx's proxy_read_timeout in compose.
                              timeout: { idleTimeoutSeconds: 3600 },
                          },
                      ]
                    : undefined,
            },
            tags: { "dify-aws:role": kebab },
        },
        // Application Auto Scaling owns the desired count once the service exists: its target tracking, and the
        // active-hours schedule (which also scales the single-task roles).
        {
            parent: scope.parent,
            dependsOn: o.dependsOn,
            // A canary leaves the service on whichever group went live; its load balancer entry is ECS's from then on.
            ignoreChanges: [...(!scaled && !args.activeHours ? [] : ["desiredCount"]), ...(o.canary ? ["loadBalancers"] : [])],
            // The provider's default of 20 minutes can be shorter than a slow healthy rollout followed by a circuit-breaker
            // rollback, or than a canary's bakes (rolloutBudgetMinutes); a timed-out wait fails `up` while ECS deploys.
            customTimeouts: { create: `${o.timeoutMinutes}m`, update: `${o.timeoutMinutes}m` },
        },
    );
}

/** A service's scalable target (the desired count between min and max tasks). */
function scalableTarget(scope: ClusterScope, role: DifyRole, clusterName: pulumi.Output<string>, svc: aws.ecs.Service, min: number, max: number, dependsOn: pulumi.Resource[]) {
    return new aws.appautoscaling.Target(
        `${scope.name}-${KEBAB[role]}`,
        {
            serviceNamespace: "ecs",
            scalableDimension: "ecs:service:DesiredCount",
            resourceId: pulumi.interpolate`service/${clusterName}/${svc.name}`,
            minCapacity: min,
            maxCapacity: max,
        },
        // Registering the target moves the service's desired count into [min, max] (RegisterScalableTarget), which
        // starts the first tasks of a service created without any.
        { parent: scope.parent, dependsOn },
    );
}

/**
 * Active hours: at `stop` the target's range becomes [0, 0], so Application Auto Scaling scales the service in to 0
 * tasks; at `start` it becomes [min, max] again and the service scales out to its minimum (PutScheduledAction: "if the
 * current capacity is below the minimum capacity, Application Auto Scaling scales out to the minimum capacity"). The
 * time zone makes the schedule follow daylight saving time.
 */
function scheduleActiveHours(scope: ClusterScope, role: DifyRole, target: aws.appautoscaling.Target, min: number, max: number): void {
    const hours = scope.args.activeHours;
    if (!hours) {
        return;
    }
    const kebab = KEBAB[role];
    for (const [when, time, range] of [
        ["stop", hours.stop, { minCapacity: 0, maxCapacity: 0 }],
        ["start", hours.start, { minCapacity: min, maxCapacity: max }],
    ] as const) {
        new aws.appautoscaling.ScheduledAction(
            `${scope.name}-${kebab}-${when}`,
            {
                name: `${scope.args.namePrefix}-${kebab}-${when}`,
                serviceNamespace: target.serviceNamespace,
                scalableDimension: target.scalableDimension,
                resourceId: target.resourceId,
                schedule: cronAt(time, hours.weekdays),
                timezone: hours.timezone,
                scalableTargetAction: range,
            },
            { parent: scope.parent },
        );
    }
}

/** A single-task role has no scaling policy; with active hours it gets a target fixed at one task, for the schedule to move. */
export function singleTaskSchedule(scope: ClusterScope, role: SingleRole, clusterName: pulumi.Output<string>, svc: aws.ecs.Service): void {
    if (!scope.args.activeHours) {
        return;
    }
    const target = scalableTarget(scope, role, clusterName, svc, 1, 1, []);
    scheduleActiveHours(scope, role, target, 1, 1);
}

/** Target tracking on CPU and memory for every scaled role, and on ALB requests per target for web and api. */
export function autoscaling(scope: ClusterScope, role: ScaledRole, clusterName: pulumi.Output<string>, svc: aws.ecs.Service, dependsOn: pulumi.Resource[]): void {
    const { name, parent, args } = scope;
    const s = args.settings;
    const kebab = KEBAB[role];
    const { minTasks, maxTasks } = s.roles[role];
    const target = scalableTarget(scope, role, clusterName, svc, minTasks, maxTasks, dependsOn);
    scheduleActiveHours(scope, role, target, minTasks, maxTasks);
    // One target tracking policy on the service's task count, with the cluster's cooldowns.
    const track = (suffix: string, metric: Omit<aws.types.input.appautoscaling.PolicyTargetTrackingScalingPolicyConfiguration, "scaleOutCooldown" | "scaleInCooldown">) =>
        new aws.appautoscaling.Policy(
            `${name}-${suffix}`,
            {
                policyType: "TargetTrackingScaling",
                serviceNamespace: target.serviceNamespace,
                scalableDimension: target.scalableDimension,
                resourceId: target.resourceId,
                targetTrackingScalingPolicyConfiguration: { ...metric, scaleOutCooldown: SCALING.scaleOutCooldown, scaleInCooldown: SCALING.scaleInCooldown },
            },
            { parent },
        );
    const policy = (metric: string, value: number, resourceLabel?: pulumi.Input<string>) =>
        track(`${kebab}-${metric.replace(/^(ECSServiceAverage|ALB)/, "").toLowerCase()}`, { predefinedMetricSpecification: { predefinedMetricType: metric, resourceLabel }, targetValue: value });
    if (role === "worker" && s.containerInsights !== "disabled") {
        // Jobs waiting per running worker task (beat's queue metrics over Container Insights' running count): CPU
        // stays low while jobs wait on models and tools, so CPU alone lets a queue grow. One task runs `concurrency`
        // jobs at once; more waiting than that per task adds tasks.
        track("worker-queue-depth", {
            customizedMetricSpecification: {
                metrics: [
                    {
                        id: "waiting",
                        returnData: false,
                        metricStat: { metric: { namespace: QUEUE_METRICS.namespace, metricName: "QueueDepth", dimensions: [{ name: QUEUE_METRICS.dimension, value: args.namePrefix }] }, stat: "Maximum" },
                    },
                    {
                        id: "tasks",
                        returnData: false,
                        metricStat: {
                            metric: {
                                namespace: "ECS/ContainerInsights",
                                metricName: "RunningTaskCount",
                                dimensions: [
                                    { name: "ClusterName", value: clusterName },
                                    { name: "ServiceName", value: svc.name },
                                ],
                            },
                            stat: "Average",
                        },
                    },
                    { id: "perTask", expression: "IF(FILL(tasks, 0) > 0, FILL(waiting, 0) / FILL(tasks, 1), 0)", returnData: true },
                ],
            },
            targetValue: s.processes.worker.concurrency,
        });
    }
    if (role === "api") {
        // Connections in flight per api task (apiConcurrency.ts), held below the task's slots: streams fill the
        // slots long before CPU or requests per target rise, and a full task queues its own /health behind them.
        track("api-connections", {
            customizedMetricSpecification: {
                namespace: API_CONCURRENCY.namespace,
                metricName: API_CONCURRENCY.metric,
                dimensions: [{ name: API_CONCURRENCY.dimension, value: args.namePrefix }],
                // Each task writes one value a minute: the average is connections per task.
                statistic: "Average",
            },
            targetValue: apiScaleOutConnections(s.processes.api),
        });
    }
    policy("ECSServiceAverageCPUUtilization", SCALING.cpuPercent);
    if (ROLE_SPECS[role].scalesOnMemory ?? true) {
        policy("ECSServiceAverageMemoryUtilization", SCALING.memoryPercent);
    }
    if (role === "web" || role === "api") {
        const tg = args.edge.targetGroups[role];
        if (!tg.progressive) {
            policy("ALBRequestCountPerTarget", s.albRequestsPerTarget, pulumi.interpolate`${args.edge.loadBalancerArnSuffix}/${tg.arnSuffix}`);
        } else {
            // A canary moves the live tasks between two groups, so the predefined metric of one group would read 0
            // after a swap and scale in: track the busier group's requests per target instead.
            const perTarget = (id: string, group: pulumi.Input<string>) => ({
                id,
                returnData: false,
                metricStat: {
                    metric: {
                        namespace: "AWS/ApplicationELB",
                        metricName: "RequestCountPerTarget",
                        dimensions: [
                            { name: "LoadBalancer", value: args.edge.loadBalancerArnSuffix },
                            { name: "TargetGroup", value: group },
                        ],
                    },
                    stat: "Sum",
                },
            });
            track(`${kebab}-requestcountpertarget`, {
                customizedMetricSpecification: {
                    metrics: [perTarget("blue", tg.arnSuffix), perTarget("green", tg.progressive.alternateArnSuffix), { id: "busier", expression: "MAX([FILL(blue,0), FILL(green,0)])", returnData: true }],
                },
                targetValue: s.albRequestsPerTarget,
            });
        }
    }
}
