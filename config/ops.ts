import { ConfigReader } from "./reader";

/**
 * Alarm thresholds. Every value is a whole number because Pulumi project config has no float type; percentages are
 * 1-100. Each alarm's period, statistic and how many breaching periods it needs are fixed in the Alarms component,
 * next to the reason for them; only the level that matters for a given workload is configured.
 */
export interface AlarmThresholds {
    /** ALB 5xx responses (from the ALB itself and from targets) as a percentage of requests, per minute. */
    alb5xxPercent: number;
    /** p95 of the time targets take to start responding, per target group, in milliseconds. */
    albResponseTimeP95Ms: number;
    /** Average CPU of an ECS service's tasks, percent of the task's CPU. */
    ecsCpuPercent: number;
    /** Average memory of an ECS service's tasks, percent of the task's memory (at 100 % the task is OOM-killed). */
    ecsMemoryPercent: number;
    /** Aurora instance CPU, percent (Serverless v2: of the current capacity). */
    dbCpuPercent: number;
    /** Aurora instance freeable memory below this many MiB. */
    dbFreeableMemoryMiB: number;
    /** Connections to one Aurora instance, percent of the max_connections AWS documents for its capacity. */
    dbConnectionsPercent: number;
    /** Aurora Serverless v2 capacity in use, percent of the configured maximum ACUs. */
    dbAcuUtilizationPercent: number;
    /** Largest lag of any Aurora reader behind the writer, in milliseconds. */
    dbReplicaLagMs: number;
    /** ElastiCache memory in use, percent of maxmemory. With `noeviction`, writes (Celery's broker) fail at 100 %. */
    cacheMemoryPercent: number;
    /** CPU of the cache engine's (single) thread, percent. */
    cacheEngineCpuPercent: number;
    /** Client connections to one cache node (ElastiCache allows 65,000). */
    cacheConnections: number;
    /** Requests WAF blocked in 5 minutes. */
    wafBlockedRequests: number;
    /** Celery messages waiting over every queue (components/difyCluster/queueMetrics.ts), for 10 minutes. */
    queueDepth: number;
    /** Seconds the oldest waiting Celery message has sat at the head of its queue. */
    queueWaitSeconds: number;
    /** EFS: percent of the I/O limit used (General Purpose), or burst credits left in GiB (bursting throughput). */
    efsIoLimitPercent: number;
    efsBurstCreditGiB: number;
}

export interface OpsSettings {
    /** Addresses subscribed (by email, each must confirm) to the stack's alarm topic; may be empty. */
    alarmEmails: string[];
    thresholds: AlarmThresholds;
}

// Deliberately loose (SNS validates and mails a confirmation); catches list-shape mistakes such as "a@b.c, d@e.f".
const EMAIL = { regex: /^[^\s@,;<>]+@[^\s@,;<>]+\.[^\s@,;<>]+$/, allowed: "an email address such as ops@example.com" };

const PERCENT = { min: 1, max: 100 };

/** Reads and validates the alarm topic's subscribers and the alarm thresholds. */
export function loadOpsSettings(r: ConfigReader): OpsSettings {
    return {
        alarmEmails: r.stringList("alarmEmails", { item: EMAIL }),
        thresholds: {
            alb5xxPercent: r.integer("alarmAlb5xxPercent", PERCENT),
            // ALB target response time is measured to the first byte, so SSE streams do not inflate it; the upper
            // bound is the longest blocking Dify API call worth alarming on (ALB idle timeouts go up to 4000 s).
            albResponseTimeP95Ms: r.integer("alarmAlbResponseTimeP95Ms", { min: 100, max: 600_000 }),
            ecsCpuPercent: r.integer("alarmEcsCpuPercent", PERCENT),
            ecsMemoryPercent: r.integer("alarmEcsMemoryPercent", PERCENT),
            dbCpuPercent: r.integer("alarmDbCpuPercent", PERCENT),
            dbFreeableMemoryMiB: r.integer("alarmDbFreeableMemoryMiB", { min: 1, max: 1_048_576 }),
            dbConnectionsPercent: r.integer("alarmDbConnectionsPercent", PERCENT),
            dbAcuUtilizationPercent: r.integer("alarmDbAcuUtilizationPercent", PERCENT),
            dbReplicaLagMs: r.integer("alarmDbReplicaLagMs", { min: 1, max: 3_600_000 }),
            cacheMemoryPercent: r.integer("alarmCacheMemoryPercent", PERCENT),
            cacheEngineCpuPercent: r.integer("alarmCacheEngineCpuPercent", PERCENT),
            cacheConnections: r.integer("alarmCacheConnections", { min: 1, max: 65_000 }),
            wafBlockedRequests: r.integer("alarmWafBlockedRequests", { min: 1, max: 100_000_000 }),
            queueDepth: r.integer("alarmQueueDepth", { min: 1, max: 10_000_000 }),
            queueWaitSeconds: r.integer("alarmQueueWaitSeconds", { min: 60, max: 86_400 }),
            efsIoLimitPercent: r.integer("alarmEfsIoLimitPercent", PERCENT),
            efsBurstCreditGiB: r.integer("alarmEfsBurstCreditGiB", { min: 1, max: 2_100 }),
        },
    };
}
