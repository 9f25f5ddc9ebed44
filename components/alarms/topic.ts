/** The alarm topic: SNS encrypted with a key CloudWatch may use, published to by this account's alarms and ECS event rule. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { awsContext } from "../awsContext";
import { EncryptionKey } from "../encryptionKey";
import { ECS_EVENT_RULE } from "./serviceEvents";
import type { AlarmScope, AlarmsArgs } from "./types";

export function alarmTopic(scope: Omit<AlarmScope, "alarm" | "region">, args: AlarmsArgs): aws.sns.Topic {
    const ctx = awsContext(scope.parent);
    const kmsKeyArn =
        args.kmsKeyArn ??
        new EncryptionKey(
            `${scope.name}-topic-key`,
            { description: `Dify ${args.namePrefix}: alarm topic (SNS) encryption, usable by CloudWatch alarms`, alias: `${args.namePrefix}-alarms` },
            { parent: scope.parent },
        ).keyArn;

    const topic = new aws.sns.Topic(`${scope.name}-topic`, { name: `${args.namePrefix}-alarms`, kmsMasterKeyId: kmsKeyArn }, { parent: scope.parent });
    new aws.sns.TopicPolicy(
        `${scope.name}-topic-policy`,
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
        { parent: scope.parent },
    );
    args.emails.forEach((email, i) => {
        new aws.sns.TopicSubscription(`${scope.name}-email-${i}`, { topic: topic.arn, protocol: "email", endpoint: email }, { parent: scope.parent });
    });
    return topic;
}
