/** The alarm topic: SNS encrypted with a key CloudWatch may use, published to by this account's alarms and the stack's event rules. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { awsContext } from "../awsContext";
import { EncryptionKey } from "../encryptionKey";
import { BACKUP_EVENT_RULE } from "./backups";
import { DATABASE_EVENT_RULE } from "./database";
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

    const eventRules = [
        ...(args.ecs ? [ECS_EVENT_RULE(args.namePrefix)] : []),
        ...(args.database ? [DATABASE_EVENT_RULE(args.namePrefix)] : []),
        ...(args.backups ? [BACKUP_EVENT_RULE(args.namePrefix)] : []),
    ];
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
                        ...(eventRules.length > 0
                            ? [
                                  {
                                      // The stack's event rules (ECS service events, database failovers, backup jobs), and no other rule.
                                      Sid: "ThisStacksEventRulesPublish",
                                      Effect: "Allow",
                                      Principal: { Service: `events.${dnsSuffix}` },
                                      Action: "sns:Publish",
                                      Resource: arn,
                                      Condition: { ArnEquals: { "aws:SourceArn": eventRules.map((rule) => `arn:${partition}:events:${region}:${account}:rule/${rule}`) } },
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
