import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { BackupSettings } from "../config/backup";
import { awsContext } from "./awsContext";

export interface BackupPlanArgs {
    /** Physical-name prefix (`dify-<stack>`): the vault `<prefix>-backup`, the plan, the selection and the role. */
    namePrefix: string;
    /** Retention, schedule, copy vault and lock, validated by config/backup.ts. */
    settings: BackupSettings;
    /**
     * ARNs of what is backed up: the Aurora cluster, the files bucket (versioned: AWS Backup for S3 requires it) and
     * each EFS file system.
     */
    resources: pulumi.Input<string>[];
    /**
     * The stack's customer-managed key: the vault's encryption key, and the key the backup role may use for the
     * resources encrypted with it. Undefined: AWS Backup's default key (`aws/backup`).
     */
    kmsKeyArn?: pulumi.Input<string>;
    /** Pulumi `protect` on the vault: destroying it would need every recovery point deleted first. */
    protect: boolean;
    /** The data guard (components/dataGuard.ts): the vault waits for its check. */
    dataGuard?: pulumi.Resource;
}

/**
 * The AWS managed policies AWS Backup documents for its service role: backups and restores of RDS/Aurora and EFS
 * (`service-role/` path), and the S3-specific pair, which the generic ones do not cover (AWS Backup guide,
 * "Amazon S3 backups": "add AWSBackupServiceRolePolicyForS3Backup and AWSBackupServiceRolePolicyForS3Restore").
 */
export const BACKUP_MANAGED_POLICIES = [
    "service-role/AWSBackupServiceRolePolicyForBackup",
    "service-role/AWSBackupServiceRolePolicyForRestores",
    "AWSBackupServiceRolePolicyForS3Backup",
    "AWSBackupServiceRolePolicyForS3Restore",
] as const;

/**
 * Minutes a backup may wait to start, and to complete, before AWS Backup cancels it (Plan rule startWindow,
 * completionWindow). A day to complete covers a first full S3 or EFS backup of a large store; the next run starts a
 * day later anyway.
 */
export const BACKUP_WINDOWS = { startMinutes: 60, completionMinutes: 24 * 60 };

/**
 * An AWS Backup plan for the stack's data: one daily rule into a vault of the stack's own, kept `retentionDays`,
 * optionally copied to a vault in another region or account and optionally locked. It adds to, not replaces,
 * Aurora's point-in-time recovery (the cluster's own backup retention) and the bucket's object versions; it is what
 * survives a lost region or account once copies are on.
 *
 * Aurora is backed up by snapshot, not as an AWS Backup continuous backup: a continuous backup takes over the
 * cluster's backup retention (AWS Backup guide, "Continuous backups and point-in-time restore"), which the program
 * already sets and would fight over.
 */
export class BackupPlan extends pulumi.ComponentResource {
    public readonly vaultName: pulumi.Output<string>;
    public readonly vaultArn: pulumi.Output<string>;
    public readonly planId: pulumi.Output<string>;
    public readonly roleArn: pulumi.Output<string>;

    constructor(name: string, args: BackupPlanArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dify-aws:data:BackupPlan", name, {}, opts);
        const parent = { parent: this };
        const ctx = awsContext(this);
        const s = args.settings;
        const p = args.namePrefix;

        const vault = new aws.backup.Vault(
            `${name}-vault`,
            { name: `${p}-backup`, kmsKeyArn: args.kmsKeyArn, forceDestroy: false, tags: { Name: `${p}-backup` } },
            { parent: this, protect: args.protect, dependsOn: args.dataGuard ? [args.dataGuard] : [] },
        );
        if (s.vaultLock !== "none") {
            new aws.backup.VaultLockConfiguration(
                `${name}-vault-lock`,
                {
                    backupVaultName: vault.name,
                    // Nobody may keep a recovery point for less than the plan does. Compliance mode becomes immutable
                    // after changeableForDays; 3 is AWS's minimum (its 72-hour cooling-off), governance has none.
                    minRetentionDays: s.retentionDays,
                    changeableForDays: s.vaultLock === "compliance" ? 3 : undefined,
                },
                parent,
            );
        }

        const role = new aws.iam.Role(
            `${name}-role`,
            {
                name: `${p}-backup`,
                description: `AWS Backup of Dify ${p}: Aurora, the files bucket and the EFS workspaces`,
                assumeRolePolicy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Effect: "Allow",
                            Principal: { Service: pulumi.interpolate`backup.${ctx.dnsSuffix}` },
                            Action: "sts:AssumeRole",
                            // Only AWS Backup acting for this account (confused-deputy guard).
                            Condition: { StringEquals: { "aws:SourceAccount": ctx.accountId } },
                        },
                    ],
                }),
            },
            parent,
        );
        const attachments: pulumi.Resource[] = BACKUP_MANAGED_POLICIES.map(
            (policy) =>
                new aws.iam.RolePolicyAttachment(
                    `${name}-${policy.replace(/^service-role\//, "").replace(/^AWSBackupServiceRolePolicyFor/, "").toLowerCase()}`,
                    { role: role.name, policyArn: pulumi.interpolate`arn:${ctx.partition}:iam::aws:policy/${policy}` },
                    parent,
                ),
        );
        if (args.kmsKeyArn) {
            // The data is encrypted with the stack's key: reading it for a backup and writing it back on a restore need
            // the key, through the service that owns the data only.
            attachments.push(
                new aws.iam.RolePolicy(
                    `${name}-key`,
                    {
                        role: role.name,
                        name: "stack-key",
                        policy: pulumi.jsonStringify({
                            Version: "2012-10-17",
                            Statement: [
                                {
                                    Effect: "Allow",
                                    Action: ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:CreateGrant"],
                                    Resource: args.kmsKeyArn,
                                    Condition: {
                                        StringLike: {
                                            "kms:ViaService": ["rds", "s3", "elasticfilesystem", "backup"].map((svc) => pulumi.interpolate`${svc}.${ctx.region}.${ctx.dnsSuffix}`),
                                        },
                                    },
                                },
                            ],
                        }),
                    },
                    parent,
                ),
            );
        }

        const plan = new aws.backup.Plan(
            `${name}-plan`,
            {
                name: `${p}-data`,
                rules: [
                    {
                        ruleName: "daily",
                        targetVaultName: vault.name,
                        schedule: s.schedule,
                        startWindow: BACKUP_WINDOWS.startMinutes,
                        completionWindow: BACKUP_WINDOWS.completionMinutes,
                        lifecycle: { deleteAfter: s.retentionDays },
                        copyActions: s.copyVaultArn ? [{ destinationVaultArn: s.copyVaultArn, lifecycle: { deleteAfter: s.copyRetentionDays } }] : undefined,
                        recoveryPointTags: { Stack: p },
                    },
                ],
                tags: { Name: `${p}-data` },
            },
            parent,
        );
        new aws.backup.Selection(
            `${name}-selection`,
            { name: `${p}-data`, planId: plan.id, iamRoleArn: role.arn, resources: args.resources },
            // A selection whose role cannot yet act fails its first job.
            { parent: this, dependsOn: attachments },
        );

        this.vaultName = vault.name;
        this.vaultArn = vault.arn;
        this.planId = plan.id;
        this.roleArn = role.arn;
        this.registerOutputs({ vaultName: this.vaultName, vaultArn: this.vaultArn, planId: this.planId, roleArn: this.roleArn });
    }
}
