import { ConfigReader } from "./reader";

/**
 * AWS Backup of the stack's data (components/backupPlan.ts): Aurora, the files bucket and the EFS workspaces, into a
 * vault of the stack's own, optionally copied to a vault in another region or account and locked.
 *
 * Limits, from the AWS Backup developer guide and API reference:
 * - a vault name is 2-50 of `a-zA-Z0-9-_` (API_CreateBackupVault, BackupVaultName);
 * - a recovery point's lifecycle deletes it after at least 1 day (API_Lifecycle, DeleteAfterDays);
 * - a vault lock's ChangeableForDays is at least 3 (the 72-hour cooling-off) and at most 36,500; MinRetentionDays at
 *   least 1 (API_PutBackupVaultLockConfiguration); a job whose retention is below the lock's minimum fails;
 * - schedules are EventBridge cron expressions with six fields (`cron(0 17 * * ? *)`, UTC unless a time zone is given).
 */
export interface BackupSettings {
    /** Whether the stack has an AWS Backup plan at all. */
    enabled: boolean;
    /** Days each daily recovery point is kept (1-36,500). */
    retentionDays: number;
    /** When the daily backup starts: an EventBridge cron expression in UTC. */
    schedule: string;
    /** A vault in another region or account that every recovery point is copied to; undefined copies nothing. */
    copyVaultArn?: string;
    /** Days each copy is kept in that vault (1-36,500). */
    copyRetentionDays: number;
    /**
     * A vault lock: "governance" (users with the IAM permission may still remove it), "compliance" (after 3 days of
     * grace nobody can shorten retention or delete a recovery point, not even the account root), or "none".
     */
    vaultLock: "none" | "governance" | "compliance";
}

/** The 12-digit account and the region of a backup vault ARN, or undefined when it is not one. */
export function parseBackupVaultArn(arn: string): { partition: string; region: string; account: string; name: string } | undefined {
    const m = /^arn:(aws[a-z-]*):backup:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):backup-vault:([A-Za-z0-9_-]{2,50})$/.exec(arn);
    return m ? { partition: m[1], region: m[2], account: m[3], name: m[4] } : undefined;
}

const CRON = {
    regex: /^cron\((\S+ ){5}\S+\)$/,
    allowed: 'an EventBridge cron expression with six fields, in UTC, e.g. "cron(0 17 * * ? *)" (daily at 17:00 UTC)',
};
const DAYS = { min: 1, max: 36_500 };

/** Reads and validates the backup plan's keys; every key is read whatever backupPlan says, so a stale value fails now. */
export function loadBackupSettings(r: ConfigReader): BackupSettings {
    const enabled = r.boolean("backupPlan");
    const retentionDays = r.integer("backupRetentionDays", DAYS);
    const schedule = r.string("backupSchedule", CRON);
    const copyVaultArn = r.optionalString("backupCopyVaultArn");
    if (copyVaultArn !== undefined && !parseBackupVaultArn(copyVaultArn)) {
        r.fail("backupCopyVaultArn", copyVaultArn, "an AWS Backup vault ARN such as arn:aws:backup:ap-northeast-3:210987654321:backup-vault:dify-prd-copies");
    }
    const copyRetentionDays = r.integer("backupCopyRetentionDays", DAYS);
    const vaultLock = r.oneOf("backupVaultLock", ["none", "governance", "compliance"] as const);
    if (!enabled && (copyVaultArn !== undefined || vaultLock !== "none")) {
        r.failKeys(
            { backupPlan: false, backupCopyVaultArn: copyVaultArn, backupVaultLock: vaultLock },
            "backupPlan true for a copy vault or a vault lock (they belong to the plan's vault), or no backupCopyVaultArn and backupVaultLock \"none\"",
        );
    }
    return { enabled, retentionDays, schedule, copyVaultArn, copyRetentionDays, vaultLock };
}
