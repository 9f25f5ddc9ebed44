/** AWS Backup jobs that failed, mailed to the topic. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AlarmScope } from "./types";

/** The name of the stack's rule for failed backup and copy jobs (the topic policy names it before it exists). */
export const BACKUP_EVENT_RULE = (prefix: string) => `${prefix}-backup-jobs`;

/**
 * Job states that leave a day without a recovery point (API_BackupJob / API_CopyJob State). AWS Backup sends job
 * state changes to EventBridge, best effort, every 5 minutes (AWS Backup guide, "Monitoring AWS Backup events using
 * Amazon EventBridge").
 */
export const FAILED_JOB_STATES = ["FAILED", "ABORTED", "EXPIRED"] as const;

/**
 * The rule matches the region's backup and copy jobs, not only this stack's vault: the vault's name is not a field
 * this program can rely on in both event types, and a failed job of another plan in the account is worth a mail too.
 */
export function backupEvents(scope: Omit<AlarmScope, "alarm">, topic: aws.sns.Topic): void {
    const rule = new aws.cloudwatch.EventRule(
        `${scope.name}-backup-events`,
        {
            name: BACKUP_EVENT_RULE(scope.prefix),
            description: `Dify ${scope.prefix}: AWS Backup backup and copy jobs that failed, were aborted or expired before they ran`,
            eventPattern: pulumi.jsonStringify({
                source: ["aws.backup"],
                "detail-type": ["Backup Job State Change", "Copy Job State Change"],
                detail: { state: [...FAILED_JOB_STATES] },
            }),
        },
        { parent: scope.parent },
    );
    new aws.cloudwatch.EventTarget(`${scope.name}-backup-events`, { rule: rule.name, arn: topic.arn }, { parent: scope.parent });
}
