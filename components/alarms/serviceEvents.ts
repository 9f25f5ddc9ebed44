/** ECS service events (tasks that cannot start, failed deployments) mailed to the topic. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AlarmScope, AlarmedServices } from "./types";

/** The name of the stack's rule for ECS service events (the topic policy names it before it exists). */
export const ECS_EVENT_RULE = (prefix: string) => `${prefix}-ecs-service-events`;

export function serviceEvents(scope: Omit<AlarmScope, "alarm">, ecs: AlarmedServices, topic: aws.sns.Topic): void {
    const { name } = scope;
    const rule = new aws.cloudwatch.EventRule(
        `${name}-ecs-events`,
        {
            name: ECS_EVENT_RULE(scope.prefix),
            description: `Dify ${scope.prefix}: ECS services failing to start, place or configure tasks, and failed deployments`,
            eventPattern: pulumi.jsonStringify({
                source: ["aws.ecs"],
                "detail-type": ["ECS Service Action", "ECS Deployment State Change"],
                detail: { clusterArn: [ecs.clusterArn], eventType: ["WARN", "ERROR"] },
            }),
        },
        { parent: scope.parent },
    );
    new aws.cloudwatch.EventTarget(`${name}-ecs-events`, { rule: rule.name, arn: topic.arn }, { parent: scope.parent });
}
