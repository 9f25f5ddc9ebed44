import { AURORA_POSTGRES_INSTANCE_CLASSES } from "./aurora";
import { BackupSettings, loadBackupSettings } from "./backup";
import { ConfigReader } from "./reader";
import { parseDailyWindow, parseWeeklyWindow, TimeWindow, windowsOverlap } from "./windows";

/**
 * Aurora PostgreSQL major versions this program deploys. Every minor release of each ships pgvector >= 0.5 (HNSW
 * indexes; 16.1 shipped 0.5.1, current 16.x minors ship 0.8.x), so AWS's default minor at creation is always good
 * enough and only the major is configured (see ManagedData for why a minor is never pinned).
 */
export const AURORA_POSTGRES_MAJOR_VERSIONS = ["16", "17", "18"] as const;
export type AuroraPostgresMajorVersion = (typeof AURORA_POSTGRES_MAJOR_VERSIONS)[number];

/** The cluster parameter group family of an Aurora PostgreSQL major version: derived, so the two cannot disagree. */
export function auroraPostgresFamily(majorVersion: AuroraPostgresMajorVersion): string {
    return `aurora-postgresql${majorVersion}`;
}

export type CacheEngine = "valkey" | "redis";
export const CACHE_ENGINES: readonly CacheEngine[] = ["valkey", "redis"];

/**
 * ElastiCache engine versions (major.minor; AWS applies patch releases itself) and their parameter group families,
 * from the ElastiCache "engine specific parameters" documentation. Redis OSS before 6.2 lacks the TLS + AUTH
 * behaviour Dify's clients rely on and is not offered.
 */
export const CACHE_ENGINE_VERSIONS: Record<CacheEngine, Record<string, string>> = {
    valkey: { "7.2": "valkey7", "8.0": "valkey8", "8.1": "valkey8", "8.2": "valkey8", "9.0": "valkey9" },
    redis: { "6.2": "redis6.x", "7.0": "redis7", "7.1": "redis7" },
};

/** The parameter group family of a cache engine version; throws for a pair the loader would have rejected. */
export function cacheParameterFamily(engine: CacheEngine, version: string): string {
    const family = CACHE_ENGINE_VERSIONS[engine]?.[version];
    if (family === undefined) {
        throw new Error(`no ElastiCache parameter group family known for ${engine} ${version}`);
    }
    return family;
}

/** Aurora Serverless v2 capacity in ACUs (each ACU is ~2 GiB of memory). */
export interface ServerlessCapacity {
    mode: "serverless";
    /** 0 lets Aurora pause an idle instance (only on a stack with active hours: Dify's pools keep it busy otherwise). */
    minAcu: number;
    maxAcu: number;
    /** With minAcu 0: seconds an instance must be idle before Aurora pauses it. */
    secondsUntilAutoPause: number;
}

/** Provisioned Aurora instances of one class (writer and readers alike, so a failover keeps the capacity). */
export interface ProvisionedCapacity {
    mode: "provisioned";
    instanceClass: string;
}

export interface DatabaseSettings {
    /** Aurora PostgreSQL major version ("16"); AWS picks and upgrades the minor. */
    engineVersion: AuroraPostgresMajorVersion;
    capacity: ServerlessCapacity | ProvisionedCapacity;
    /** Reader instances besides the writer, 0-15 (Aurora's replica limit). */
    readerCount: number;
    /** Days of automated backups (point-in-time recovery), 1-35. */
    backupRetentionDays: number;
    /** Daily backup window, `hh24:mi-hh24:mi` UTC, at least 30 minutes. */
    backupWindow: string;
    /** Weekly maintenance window, `ddd:hh24:mi-ddd:hh24:mi` UTC, at least 30 minutes, not overlapping the backup window. */
    maintenanceWindow: string;
    /** Enhanced monitoring granularity in seconds: 1, 5, 10, 15, 30 or 60. */
    monitoringIntervalSeconds: number;
}

export interface CacheSettings {
    engine: CacheEngine;
    /** Engine major.minor, one of CACHE_ENGINE_VERSIONS[engine]. */
    engineVersion: string;
    /** Node type, e.g. `cache.t4g.micro`. */
    nodeType: string;
    /** Read replicas besides the primary, 0-5; at least 1 turns on automatic failover and Multi-AZ. */
    replicaCount: number;
    /** Days of daily snapshots to keep, 0-35 (0 turns snapshots off). */
    snapshotRetentionDays: number;
    /** Daily snapshot window, `hh24:mi-hh24:mi` UTC, at least 60 minutes. */
    snapshotWindow: string;
    /** Weekly maintenance window, `ddd:hh24:mi-ddd:hh24:mi` UTC, at least 60 minutes, not overlapping the snapshot window. */
    maintenanceWindow: string;
}

export interface BucketSettings {
    /** Explicit bucket name; undefined derives `<prefix>-files-<account>-<region>`, which is globally unique. */
    name?: string;
    /** Days a replaced or deleted object version is kept before S3 expires it. */
    noncurrentVersionExpirationDays: number;
    /** S3 server access logs of the bucket, into a log bucket of the stack's (kept logRetentionDays). */
    accessLogs: boolean;
}

export interface DataSettings {
    database: DatabaseSettings;
    cache: CacheSettings;
    bucket: BucketSettings;
    /** Apply database and cache modifications now instead of in the next maintenance window. */
    applyImmediately: boolean;
    /**
     * The plugin daemon's working path (PLUGIN_WORKING_PATH) on a shared, encrypted EFS file system, so a new daemon
     * task reuses the plugins' built environments (index.ts then gives ManagedData the daemon's subnets); false keeps
     * it on each task's own storage.
     */
    pluginWorkspace: boolean;
    /** EFS throughput mode of the shared workspaces (the plugin daemon's working path, the agent sandbox's workspace). */
    workspaceThroughputMode: "elastic" | "bursting";
    /** The AWS Backup plan over the database, the bucket and the workspaces (config/backup.ts). */
    backup: BackupSettings;
}

const INSTANCE_CLASS = { regex: /^db\.(?!serverless$)[a-z0-9]+\.[a-z0-9]+$/, allowed: 'an Aurora instance class such as "db.r7g.large" (set databaseCapacityMode "serverless" for Serverless v2)' };
const NODE_TYPE = { regex: /^cache\.[a-z0-9]+\.[a-z0-9]+$/, allowed: 'an ElastiCache node type such as "cache.t4g.micro" or "cache.r7g.large"' };
const MONITORING_INTERVALS = [1, 5, 10, 15, 30, 60];

/** Aurora Serverless v2 capacity bounds (ACUs) and granularity. */
export const AURORA_ACU = { max: 256, step: 0.5, minWithoutAutoPause: 0.5, smallestMax: 1 };

/** Reads and validates the database, cache and bucket settings. */
export function loadDataSettings(r: ConfigReader): DataSettings {
    return {
        database: loadDatabase(r),
        cache: loadCache(r),
        bucket: loadBucket(r),
        applyImmediately: r.boolean("dataApplyImmediately"),
        pluginWorkspace: r.boolean("pluginDaemonSharedStorage"),
        workspaceThroughputMode: r.oneOf("workspaceThroughputMode", ["elastic", "bursting"] as const),
        backup: loadBackupSettings(r),
    };
}

function loadDatabase(r: ConfigReader): DatabaseSettings {
    const version = r.string("databaseEngineVersion");
    if (!(AURORA_POSTGRES_MAJOR_VERSIONS as readonly string[]).includes(version)) {
        const minor = /^(\d+)\.\d+$/.exec(version);
        r.fail(
            "databaseEngineVersion",
            version,
            minor && (AURORA_POSTGRES_MAJOR_VERSIONS as readonly string[]).includes(minor[1])
                ? `the major version only ("${minor[1]}"): AWS upgrades the minor version automatically, and a pinned minor makes the next \`pulumi up\` try to downgrade the engine`
                : `an Aurora PostgreSQL major version with pgvector HNSW support: ${AURORA_POSTGRES_MAJOR_VERSIONS.map((v) => `"${v}"`).join(", ")}`,
        );
    }
    const engineVersion = version as AuroraPostgresMajorVersion;

    // Both capacity shapes are read and validated whatever the mode, so switching modes never meets a stale bad value.
    const mode = r.oneOf("databaseCapacityMode", ["serverless", "provisioned"] as const);
    const instanceClass = r.string("databaseInstanceClass", INSTANCE_CLASS);
    if (!(instanceClass in AURORA_POSTGRES_INSTANCE_CLASSES)) {
        const family = /^db\.([a-z0-9]+)\./.exec(instanceClass)?.[1];
        const sameFamily = Object.keys(AURORA_POSTGRES_INSTANCE_CLASSES).filter((c) => c.startsWith(`db.${family}.`));
        r.fail(
            "databaseInstanceClass",
            instanceClass,
            sameFamily.length > 0
                ? `a size Aurora PostgreSQL offers in that family: ${sameFamily.join(", ")}`
                : `an instance class Aurora PostgreSQL offers (db.t3.micro/small and db.t4g.small are not): families ${[...new Set(Object.keys(AURORA_POSTGRES_INSTANCE_CLASSES).map((c) => c.split(".").slice(0, 2).join(".")))].join(", ")}, e.g. db.r7g.large; db.t4g.medium for test stacks`,
        );
    }
    // 0 ACU means auto-pause; config/index.ts allows it only on a stack that sleeps outside its active hours.
    const minAcu = r.number("databaseMinCapacity", { min: 0, max: AURORA_ACU.max, step: AURORA_ACU.step });
    // Aurora pauses an instance idle this long (RDS: 300 to 86,400 seconds, default 300); only with a minimum of 0.
    const secondsUntilAutoPause = r.integer("databaseSecondsUntilAutoPause", { min: 300, max: 86_400 });
    const maxAcu = r.number("databaseMaxCapacity", { min: AURORA_ACU.smallestMax, max: AURORA_ACU.max, step: AURORA_ACU.step });
    if (minAcu > maxAcu) {
        r.fail("databaseMinCapacity", minAcu, `at most databaseMaxCapacity (${maxAcu} ACU)`);
    }
    const capacity: ServerlessCapacity | ProvisionedCapacity = mode === "serverless" ? { mode, minAcu, maxAcu, secondsUntilAutoPause } : { mode, instanceClass };

    const backupWindow = dailyWindow(r, "databaseBackupWindow", 30);
    const maintenanceWindow = weeklyWindow(r, "databaseMaintenanceWindow", 30);
    // RDS rejects a maintenance window that overlaps the backup window.
    if (windowsOverlap(backupWindow, maintenanceWindow)) {
        r.fail("databaseMaintenanceWindow", maintenanceWindow.text, `a window that does not overlap databaseBackupWindow (${backupWindow.text})`);
    }
    const monitoringIntervalSeconds = r.integer("databaseMonitoringInterval", { min: 1, max: 60 });
    if (!MONITORING_INTERVALS.includes(monitoringIntervalSeconds)) {
        r.fail("databaseMonitoringInterval", monitoringIntervalSeconds, `one of ${MONITORING_INTERVALS.join(", ")} seconds (the intervals enhanced monitoring offers)`);
    }
    return {
        engineVersion,
        capacity,
        readerCount: r.integer("databaseReaderCount", { min: 0, max: 15 }),
        backupRetentionDays: r.integer("databaseBackupRetentionDays", { min: 1, max: 35 }),
        backupWindow: backupWindow.text,
        maintenanceWindow: maintenanceWindow.text,
        monitoringIntervalSeconds,
    };
}

function loadCache(r: ConfigReader): CacheSettings {
    const engine = r.oneOf("cacheEngine", CACHE_ENGINES);
    const versions = Object.keys(CACHE_ENGINE_VERSIONS[engine]);
    const engineVersion = r.string("cacheEngineVersion");
    if (!versions.includes(engineVersion)) {
        r.fail("cacheEngineVersion", engineVersion, `a ${engine} version ElastiCache offers, as major.minor: ${versions.map((v) => `"${v}"`).join(", ")}`);
    }
    // ElastiCache: snapshot and maintenance windows are at least 60 minutes and must not overlap.
    const snapshotWindow = dailyWindow(r, "cacheSnapshotWindow", 60);
    const maintenanceWindow = weeklyWindow(r, "cacheMaintenanceWindow", 60);
    if (windowsOverlap(snapshotWindow, maintenanceWindow)) {
        r.fail("cacheMaintenanceWindow", maintenanceWindow.text, `a window that does not overlap cacheSnapshotWindow (${snapshotWindow.text})`);
    }
    return {
        engine,
        engineVersion,
        nodeType: r.string("cacheNodeType", NODE_TYPE),
        // A cluster-mode-disabled replication group has one primary and at most five replicas.
        replicaCount: r.integer("cacheReplicaCount", { min: 0, max: 5 }),
        snapshotRetentionDays: r.integer("cacheSnapshotRetentionDays", { min: 0, max: 35 }),
        snapshotWindow: snapshotWindow.text,
        maintenanceWindow: maintenanceWindow.text,
    };
}

function loadBucket(r: ConfigReader): BucketSettings {
    const name = r.optionalString("bucketName");
    if (name !== undefined) {
        const problem = s3BucketNameProblem(name);
        if (problem) {
            r.fail("bucketName", name, problem);
        }
    }
    return {
        name,
        noncurrentVersionExpirationDays: r.integer("bucketNoncurrentVersionExpirationDays", { min: 1, max: 36500 }),
        accessLogs: r.boolean("bucketAccessLogs"),
    };
}

function dailyWindow(r: ConfigReader, key: string, minMinutes: number): TimeWindow {
    const text = r.string(key);
    const window = parseDailyWindow(text);
    if (!window || window.minutes < minMinutes) {
        r.fail(key, text, `a daily UTC window "hh24:mi-hh24:mi" of at least ${minMinutes} minutes, e.g. "17:00-18:00"`);
    }
    return window;
}

function weeklyWindow(r: ConfigReader, key: string, minMinutes: number): TimeWindow {
    const text = r.string(key);
    const window = parseWeeklyWindow(text);
    if (!window || window.minutes < minMinutes) {
        r.fail(key, text, `a weekly UTC window "ddd:hh24:mi-ddd:hh24:mi" (days sun..sat) of at least ${minMinutes} minutes, e.g. "sun:18:30-sun:19:30"`);
    }
    return window;
}

/**
 * What is wrong with a general-purpose S3 bucket name, or undefined when it follows S3's naming rules. Dots are
 * rejected too: they break virtual-hosted-style HTTPS (the wildcard certificate covers one label only).
 */
export function s3BucketNameProblem(name: string): string | undefined {
    if (name.length < 3 || name.length > 63) {
        return "a bucket name of 3-63 characters";
    }
    if (!/^[a-z0-9][a-z0-9-]*[a-z0-9]$/.test(name)) {
        return "lower-case letters, digits and hyphens, starting and ending with a letter or digit (no dots: they break HTTPS to the bucket)";
    }
    const reservedPrefix = ["xn--", "sthree-", "amzn-s3-demo-"].find((p) => name.startsWith(p));
    const reservedSuffix = ["-s3alias", "--ol-s3", "--x-s3", "--table-s3"].find((s) => name.endsWith(s));
    if (reservedPrefix || reservedSuffix) {
        return `a name without the prefix or suffix S3 reserves (${reservedPrefix ?? reservedSuffix})`;
    }
    return undefined;
}
