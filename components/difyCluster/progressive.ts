/**
 * Canary deployments of web and api (ECS native, deploymentConfiguration.strategy CANARY): the role ECS assumes to
 * move the production listener rule's weights, and the alarms that roll a deployment back.
 *
 * Why canary, not blue/green or linear: Dify's api streams answers for minutes, so a change of weights affects only new
 * requests while streams on the old tasks finish (they keep running through the bake); a small first share (10 %) shows
 * a bad release to few users, and two steps keep a deployment inside the time `pulumi up` waits. Blue/green would send
 * every user to the new version at once; linear takes many more steps for the same signal. The alarms that roll it back
 * are the Alarms component's (components/alarms/deployments.ts), which notify the topic like every other alarm.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterScope } from "./context";

/**
 * The infrastructure role for load balancers: ECS assumes it (trust `ecs.amazonaws.com`) to register tasks in the two
 * target groups and modify the production rule; AWS's managed policy grants exactly that (ECS developer guide,
 * "Amazon ECS infrastructure IAM role for load balancers").
 */
export function loadBalancerInfrastructureRole(scope: ClusterScope): aws.iam.Role {
    const { name, parent, args, ctx } = scope;
    const role = new aws.iam.Role(
        `${name}-ecs-infrastructure`,
        {
            description: `ECS moves ${args.namePrefix}'s canary traffic between target groups with this role`,
            assumeRolePolicy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [
                    {
                        Sid: "AllowAccessToECSForInfrastructureManagement",
                        Effect: "Allow",
                        Principal: { Service: "ecs.amazonaws.com" },
                        Action: "sts:AssumeRole",
                        Condition: { StringEquals: { "aws:SourceAccount": ctx.accountId } },
                    },
                ],
            }),
        },
        { parent },
    );
    new aws.iam.RolePolicyAttachment(
        `${name}-ecs-infrastructure`,
        { role: role.name, policyArn: pulumi.interpolate`arn:${ctx.partition}:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers` },
        { parent },
    );
    return role;
}
