import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { awsContext } from "./awsContext";

export interface EncryptionKeyArgs {
    /** Human-readable purpose, used as the key description. */
    description: string;
    /** Alias without the `alias/` prefix, e.g. `dify-prd`. */
    alias: string;
    /**
     * Days KMS waits before deleting the key once scheduled (7-30). Defaults to 30: every encrypted snapshot, secret
     * and log is unreadable once the key is gone, so the longest window is the safe one.
     */
    deletionWindowInDays?: number;
    /** Pulumi `protect` on the key (set when the stack protects data: deleting the key loses the data it encrypts). */
    protect?: boolean;
    /** The data guard: the key waits for its check (components/dataGuard.ts). */
    dataGuard?: pulumi.Resource;
    /**
     * Other accounts that copy what this key encrypts: the account of an AWS Backup copy vault (backupCopyVaultArn).
     * A cross-account copy of an encrypted Aurora snapshot needs the destination allowed to use the source key (RDS
     * user guide, "Sharing a DB cluster snapshot": encrypted snapshots, and AWS Backup guide, "Creating backup copies
     * across AWS accounts"). The stack's own account is left out.
     */
    copyAccounts?: string[];
}

/**
 * The stack's customer-managed KMS key, with annual rotation. Services that encrypt through their caller's IAM
 * permissions (RDS, ElastiCache, S3, Secrets Manager) rely on the account-root statement; CloudWatch Logs and
 * CloudWatch alarms publishing to an encrypted SNS topic act as service principals and get their own statements.
 */
export class EncryptionKey extends pulumi.ComponentResource {
    public readonly keyArn: pulumi.Output<string>;
    public readonly keyId: pulumi.Output<string>;
    public readonly aliasName: pulumi.Output<string>;

    constructor(name: string, args: EncryptionKeyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dify-aws:security:EncryptionKey", name, {}, opts);
        const ctx = awsContext(this);

        const policy = pulumi
            .all([ctx.accountId, ctx.region, ctx.partition, ctx.dnsSuffix])
            .apply(([account, region, partition, dnsSuffix]) =>
                JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Sid: "AccountAdministersKeyThroughIam",
                            Effect: "Allow",
                            Principal: { AWS: `arn:${partition}:iam::${account}:root` },
                            Action: "kms:*",
                            Resource: "*",
                        },
                        {
                            Sid: "CloudWatchLogsEncryptsThisAccountsLogGroups",
                            Effect: "Allow",
                            Principal: { Service: `logs.${region}.${dnsSuffix}` },
                            Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                            Resource: "*",
                            Condition: {
                                ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:${partition}:logs:${region}:${account}:log-group:*` },
                            },
                        },
                        {
                            // EventBridge delivering to an encrypted SNS topic (the ECS service and backup job rules),
                            // as AWS documents it for SNS targets; the topic policy decides which rule may publish.
                            // Only for this account's rules: without the condition any account's EventBridge could
                            // use the key (EventBridge user guide, "Encryption key policy": add aws:SourceAccount).
                            Sid: "EventBridgePublishesToEncryptedTopics",
                            Effect: "Allow",
                            Principal: { Service: `events.${dnsSuffix}` },
                            Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
                            Resource: "*",
                            Condition: { StringEquals: { "aws:SourceAccount": account } },
                        },
                        {
                            Sid: "CloudWatchAlarmsPublishToEncryptedTopics",
                            Effect: "Allow",
                            Principal: { Service: `cloudwatch.${dnsSuffix}` },
                            Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
                            Resource: "*",
                            Condition: { StringEquals: { "aws:SourceAccount": account } },
                        },
                        ...[...new Set(args.copyAccounts ?? [])]
                            .filter((a) => a !== account)
                            .map((a) => ({
                                Sid: `CopiesInAccount${a}`,
                                Effect: "Allow",
                                Principal: { AWS: `arn:${partition}:iam::${a}:root` },
                                Action: ["kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
                                Resource: "*",
                            })),
                    ],
                }),
            );

        const key = new aws.kms.Key(
            `${name}-key`,
            {
                description: args.description,
                enableKeyRotation: true,
                deletionWindowInDays: args.deletionWindowInDays ?? 30,
                policy,
            },
            { parent: this, protect: args.protect, dependsOn: args.dataGuard ? [args.dataGuard] : [] },
        );
        const alias = new aws.kms.Alias(`${name}-alias`, { name: `alias/${args.alias}`, targetKeyId: key.keyId }, { parent: this });

        this.keyArn = key.arn;
        this.keyId = key.keyId;
        this.aliasName = alias.name;
        this.registerOutputs({ keyArn: this.keyArn, keyId: this.keyId, aliasName: this.aliasName });
    }
}
