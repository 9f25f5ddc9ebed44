/**
 * Which config keys can destroy data a user has, and how: each reaches an input that forces the replacement (a new,
 * empty resource; the old one deleted) or the deletion of a data resource. The data guard (components/dataGuard.ts)
 * compares these values with the ones the stack was last deployed with, and refuses a change that would lose data
 * unless `acknowledgeDataLoss` names it.
 *
 * Replace-forcing inputs, from the provider's resource documentation ("Forces new resource"):
 * - aws_s3_bucket `bucket`;
 * - aws_rds_cluster `kms_key_id`, `storage_encrypted`;
 * - aws_elasticache_replication_group `kms_key_id`, `at_rest_encryption_enabled`; an `engine` change other than
 *   redis to valkey, and a lower `engine_version`, are refused in place (the provider plans a replacement);
 * - aws_efs_file_system `kms_key_id`, `encrypted`;
 * - aws_backup_vault `kms_key_arn`;
 * and a resource the program stops declaring is deleted (the key, a workspace, the access-log bucket, the backup
 * vault: AWS refuses to delete a vault that still holds recovery points, so that `up` would fail half-way instead).
 */
import type { StackSettings } from "./index";

/** The data a change may lose. */
export const DATA_ITEMS = {
    files: "the files bucket with every object and object version (uploaded documents, images, plugin packages)",
    database: "the Aurora cluster (every workspace, app, conversation, dataset and embedding; its automated backups go with it where deletion protection is off)",
    cache: "the cache's data (queued Celery jobs, login sessions, in-flight workflow state)",
    pluginWorkspace: "the plugin daemon's EFS working path (every installed plugin's environment, rebuilt on next start)",
    agentWorkspace: "the agent sandbox's EFS workspaces (every agent's home and files)",
    key: "the customer-managed KMS key (scheduled for deletion: what it encrypted, snapshots and logs included, becomes unreadable once it is deleted)",
    accessLogs: "the files bucket's S3 server access logs (who read, wrote or deleted which object)",
    backups: "the AWS Backup vault and its recovery points (the daily backups of the database, the files bucket and the workspaces)",
} as const;
export type DataItem = keyof typeof DATA_ITEMS;
export const DATA_ITEM_NAMES = Object.keys(DATA_ITEMS) as DataItem[];

/**
 * How a field's change loses its data: any change, a lower version, or true to false (the resource goes away; adding
 * it is harmless).
 */
export type LossRule = "change" | "decrease" | "removal";

export interface GuardedField {
    /** The config key, without the `dify-aws:` namespace. */
    key: string;
    value: string;
    rule: LossRule;
}

/** Every data item's guarded fields, from the validated settings. */
export function guardedFields(s: StackSettings): Record<DataItem, GuardedField[]> {
    const cmk = { key: "customerManagedKey", value: String(s.common.customerManagedKey), rule: "change" as const };
    return {
        files: [{ key: "bucketName", value: s.data.bucket.name ?? "(derived from the stack, account and region)", rule: "change" }],
        database: [cmk],
        cache: [cmk, { key: "cacheEngine", value: s.data.cache.engine, rule: "change" }, { key: "cacheEngineVersion", value: s.data.cache.engineVersion, rule: "decrease" }],
        pluginWorkspace: [cmk, { key: "pluginDaemonSharedStorage", value: String(s.data.pluginWorkspace), rule: "removal" }],
        agentWorkspace: [cmk, { key: "agentV2Enabled", value: String(s.cluster.features.agentV2), rule: "removal" }],
        key: [{ key: "customerManagedKey", value: String(s.common.customerManagedKey), rule: "removal" }],
        accessLogs: [{ key: "bucketAccessLogs", value: String(s.data.bucket.accessLogs), rule: "removal" }],
        // The vault exists only with a plan: the key matters only then (a stack without one has nothing to lose).
        backups: [{ key: "backupPlan", value: String(s.data.backup.enabled), rule: "removal" }, ...(s.data.backup.enabled ? [cmk] : [])],
    };
}
