/**
 * The README's fault table: for each fault a platform team meets, what Dify's users see, for how long, and which alarm
 * names it, computed from a stack's validated settings and the constants the program deploys with (health checks,
 * database session timeouts, stop timeouts, scaling). test/faults.test.ts holds every named alarm to what the program
 * registers, so a row cannot promise an alarm that does not exist, and the README section to this output.
 */
import type { StackSettings } from "../../config";
import { stackCapacity } from "./capacity";
import { apiScaleOutConnections } from "../../components/difyCluster/apiConcurrency";
import { protectionMinutes } from "../../components/difyCluster/jobProtection";
import { ROLE_SPECS, SCALING } from "../../components/difyCluster/roles";
import { DB_POOL_RECYCLE_SECONDS, DB_SESSION } from "../../components/difyEnvironment/shared";
import { BACKUP_EVENT_RULE } from "../../components/alarms/backups";
import { DEPLOYMENT_ALARM } from "../../components/alarms/deployments";
import { DATABASE_EVENT_RULE } from "../../components/alarms/database";
import { ECS_EVENT_RULE } from "../../components/alarms/serviceEvents";
import { HEALTH_CHECK } from "../../components/edgeAlb/targets";
import { Stack } from "../offline/runner";
import { loadSettingsFor } from "../offline/settings";

export interface FaultRow {
    fault: string;
    /** What Dify's users see. */
    users: string;
    /** For how long, from the settings. */
    duration: string;
    /** The alarms (metric alarm names) and event rules (mailed to the same topic) that name it. At least one. */
    alarms: string[];
}

/** Seconds the ALB takes to stop sending requests to a target that stopped answering. */
export const ALB_DETECTION_SECONDS = HEALTH_CHECK.interval * HEALTH_CHECK.unhealthyThreshold;
/** Seconds a database session to a vanished server stays open: the keepalive probes, or tcp_user_timeout while sending. */
export const DB_DEAD_SESSION_SECONDS = DB_SESSION.keepalives.idle + DB_SESSION.keepalives.interval * DB_SESSION.keepalives.count;

/** The fault rows of one stack. */
export function faultRows(s: StackSettings): FaultRow[] {
    const p = s.common.prefix;
    const alarm = (id: string) => `${p}-${id}`;
    const insights = s.cluster.containerInsights !== "disabled";
    const waf = s.edge.waf !== undefined;
    const readers = s.data.database.readerCount;
    const replicas = s.data.cache.replicaCount;
    const api = s.cluster.roles.api;
    const canary = s.cluster.deployment.strategy === "canary";
    const spot = s.cluster.spotRoles.filter((r) => s.cluster.enabledRoles.includes(r));
    const model = stackCapacity(s);
    const belowDesired = (role: string) => (insights ? [alarm(`ecs-${role}-tasks-below-desired`)] : []);
    const efs = [s.data.pluginWorkspace ? "plugin-workspace" : undefined, s.cluster.features.agentV2 ? "agent-workspace" : undefined].filter((k): k is string => k !== undefined);
    const bursting = s.data.workspaceThroughputMode === "bursting";
    const workerCheck = ROLE_SPECS.worker.healthCheck!;

    const rows: FaultRow[] = [
        {
            fault: "An Availability Zone is lost",
            // Every stack spans at least two zones (availabilityZoneCount 2-3; an adopted VPC brings two subnets per tier).
            users: `Requests in flight on that zone's tasks fail; the ALB stops sending new ones there, ECS starts replacements in the other zones${readers > 0 ? "; if the Aurora writer was there, the database row below" : ""}${replicas > 0 ? "; if the cache primary was there, the cache row below" : ""}${s.network.vpc.mode === "new" && s.network.vpc.natGateways === "single" ? "; with one NAT gateway in that zone, every call to the internet (models, marketplace, mail) fails until the zone returns" : ""}.`,
            duration: `${ALB_DETECTION_SECONDS} s until the ALB stops routing to the zone (health check every ${HEALTH_CHECK.interval} s, ${HEALTH_CHECK.unhealthyThreshold} failures), then the minutes replacement tasks take to start and pass ${HEALTH_CHECK.healthyThreshold} checks.`,
            alarms: [alarm("alb-api-unhealthy-hosts"), alarm("alb-web-unhealthy-hosts"), ...belowDesired("api"), ECS_EVENT_RULE(p)],
        },
        {
            fault: "Aurora fails over (writer lost, or maintenance)",
            users: `Writes fail and open requests error until the new writer takes the cluster endpoint; sessions to the old writer are dropped after at most ${DB_DEAD_SESSION_SECONDS} s idle (keepalives ${DB_SESSION.keepalives.idle} + ${DB_SESSION.keepalives.count} x ${DB_SESSION.keepalives.interval} s) or ${DB_SESSION.tcpUserTimeoutMs / 1000} s with unacknowledged writes (tcp_user_timeout), and every pooled connection is replaced within ${DB_POOL_RECYCLE_SECONDS} s (pool recycle), so none keeps writing to a demoted reader.`,
            duration:
                readers > 0
                    ? `About 30 s for Aurora to promote the reader (Aurora FAQ: "typically completes within 30 seconds"), plus up to ${DB_DEAD_SESSION_SECONDS} s for a stale session.`
                    : `No reader: Aurora creates a new writer instance (Aurora FAQ: "typically under 15 minutes"); Dify's writes fail until then.`,
            alarms: [DATABASE_EVENT_RULE(p), alarm("alb-5xx-ratio")],
        },
        {
            fault: "The cache fails over (primary lost)",
            users:
                replicas > 0
                    ? "Cache and Celery broker calls fail until a replica is promoted and the clients reconnect; queued Celery jobs stay in the replicated lists, a job a worker had taken (acked early) and was running is lost if the worker restarts."
                    : "No replica: the node is replaced empty. Console sessions can no longer be refreshed (Dify keeps refresh tokens in Redis), so users sign in again when their access token expires; queued Celery jobs and the plugin daemon's cached state are lost.",
            duration: `${replicas > 0 ? "The promotion (ElastiCache states no bound; seconds to a few minutes) plus the clients' reconnect." : "Until ElastiCache replaces the node (minutes)."} Dify gives Celery no broker socket timeout or keepalive (it passes no broker_transport_options and reads no variable for them), so a worker left on a dead broker connection waits until its health check (celery inspect ping) has failed ${workerCheck.retries} times, ${workerCheck.interval} s apart, and ECS replaces it: up to ${workerCheck.retries * workerCheck.interval} s.`,
            alarms: [...(replicas > 0 ? [alarm("cache-failover")] : []), alarm("celery-queue-stuck"), alarm("alb-5xx-ratio")],
        },
        {
            fault: "A Fargate Spot task is interrupted",
            users:
                spot.length === 0
                    ? "Nothing: no role runs on Spot."
                    : `Roles on Spot (${spot.join(", ")}) get SIGTERM with two minutes' warning; the ALB drains the task, streams still open when it stops are cut; ECS starts a replacement.${spot.includes("worker") ? ` A Celery worker finishes what it can in its ${ROLE_SPECS.worker.stopTimeout} s (warm shutdown); a job still running then is lost (Dify acknowledges jobs on receipt), and scale-in protection does not stop a Spot interruption.` : ""}${spot.includes("api") || spot.includes("web") ? ` web and api keep ${s.cluster.spotOnDemandBase} on-demand task(s).` : ""}`,
            duration: spot.length === 0 ? "None (fargateSpotRoles is empty)." : `Up to ${Math.max(...spot.map((r) => ROLE_SPECS[r].stopTimeout))} s of drain (each role's stopTimeout, at most AWS's two minutes), then the replacement's start.`,
            alarms: [ECS_EVENT_RULE(p), ...belowDesired("api")],
        },
        {
            fault: "A deploy whose new tasks crash or fail health checks",
            users: canary
                ? `${s.cluster.deployment.canaryPercent} % of web and api traffic reaches the new tasks while they bake (${s.cluster.deployment.canaryBakeMinutes} min); their deployment alarms roll the canary back. Other roles: nothing, the old tasks keep serving.`
                : "Nothing: the old tasks keep serving; ECS's circuit breaker rolls the service back.",
            duration: canary
                ? `Until a deployment alarm fires (more than ${DEPLOYMENT_ALARM.errorPercent} % 5xx in either target group in ${DEPLOYMENT_ALARM.errorWindow.breaching} of ${DEPLOYMENT_ALARM.errorWindow.of} minutes; web also p90 above ${DEPLOYMENT_ALARM.webP90Seconds} s for ${DEPLOYMENT_ALARM.latencyWindow.of} minutes) or the ${s.cluster.deployment.canaryBakeMinutes}-minute bake ends; \`pulumi up\` fails (RolloutCheck) either way.`
                : "Until the circuit breaker counts enough failed tasks (ECS: half the desired count, at least 3, at most 200); `pulumi up` fails (RolloutCheck).",
            alarms: [ECS_EVENT_RULE(p), ...(canary ? [alarm("api-deployment-5xx"), alarm("web-deployment-5xx")] : [])],
        },
        {
            fault: "A credential changes (database password, cache token, Dify secret key)",
            users: "Rotated through the program (README, \"Rotating credentials\"): every consumer's task definition names the new secret version and rolls. The cache token rotates without errors (ElastiCache's ROTATE keeps both tokens valid); a new database password fails the new connections of tasks the roll has not reached yet; a new inner key fails calls between old and new tasks; a new SECRET_KEY signs everyone out. Changed behind the program's back (console, CLI): every new connection with the old value fails.",
            duration: `Rotated: the roll (each service's rollout, minutes); pooled database connections are renewed every ${DB_POOL_RECYCLE_SECONDS} s, so errors start within that. Behind its back: until the value is set back, or rotated through the program.`,
            alarms: [alarm("alb-5xx-ratio"), alarm("alb-api-unhealthy-hosts")],
        },
        {
            fault: "EFS is slow (throughput limit or burst credits used up)",
            users: "Plugin installs and plugin starts (daemon) and agent shells (agent sandbox) slow down or time out; chats without plugins are unaffected.",
            duration: bursting ? "Until the file system earns burst credits back (about 50 KiB/s per GiB stored), or workspaceThroughputMode is elastic." : "While the I/O limit is reached (elastic throughput itself has no credit balance).",
            alarms: efs.flatMap((k) => [alarm(`efs-${k}-io-limit`), ...(bursting ? [alarm(`efs-${k}-burst-credits`)] : [])]),
        },
        {
            fault: "Ten times the usual traffic for 30 minutes",
            users: `api adds tasks at ${apiScaleOutConnections(s.cluster.processes.api)} connections per task, ${SCALING.cpuPercent} % CPU or ${s.cluster.albRequestsPerTarget} requests per target, up to ${api.maxTasks} tasks (${model.concurrentApiRequests.toLocaleString("en-US")} requests at once); beyond that requests queue and slow down, and a task whose slots are all taken answers its health check late: after ${ALB_DETECTION_SECONDS} s the ALB routes new requests to the others and ECS replaces that task, cutting its streams (ECS replaces targets the ALB reports unhealthy; nothing in ECS lets a task only shed load)${waf ? `, and one client IP outside the allow-list above ${s.edge.waf!.rateLimit.toLocaleString("en-US")} requests in ${s.edge.waf!.rateLimitWindowSeconds / 60} minutes is blocked` : ""}. Celery jobs wait in the queue.`,
            duration: `A scale-out step every ${SCALING.scaleOutCooldown} s plus the new tasks' start; scale-in waits ${SCALING.scaleInCooldown} s between steps and spares worker tasks that are running jobs (scale-in protection, renewed while they run, lapsing ${protectionMinutes(s.cluster.appMaxExecutionTimeSeconds)} min after the last renewal).`,
            alarms: [alarm("alb-api-p95-response-time"), alarm("ecs-api-cpu"), alarm("celery-queue-depth"), ...(waf ? [alarm("waf-blocked-requests")] : [])],
        },
        {
            fault: "A database restore (the runbook's)",
            users: "Dify is stopped (every writer at 0 tasks) from the start of the restore until the services come back on the restored cluster; changes after the restore point are lost.",
            duration: `RPO: about 5 minutes inside the ${s.data.database.backupRetentionDays}-day point-in-time window (RDS: latest restorable time typically within 5 minutes)${s.data.backup.enabled ? `, a day from the AWS Backup vault (${s.data.backup.retentionDays} days${s.data.backup.copyVaultArn ? ", copied out of the region or account" : ""})` : ""}. RTO: the restore itself (grows with the database; measure it with tools/restoreDrill.ts) plus the identifier swap and the services' start.`,
            alarms: [...(s.data.backup.enabled ? [BACKUP_EVENT_RULE(p)] : []), DATABASE_EVENT_RULE(p)],
        },
    ];
    return rows;
}

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\s+/g, " ").trim();

/** The section between the fault-table markers: one table per stack. */
export function faultSection(stacks: Stack[] = ["dev", "prd"]): string {
    return stacks
        .flatMap((stack) => {
            const { settings } = loadSettingsFor(stack);
            return [
                `**${stack}**`,
                "",
                "| fault | what users see | for how long | alarm or event rule that names it |",
                "|---|---|---|---|",
                ...faultRows(settings).map((r) => `| ${cell(r.fault)} | ${cell(r.users)} | ${cell(r.duration)} | ${r.alarms.map((a) => `\`${a}\``).join(", ")} |`),
                "",
            ];
        })
        .join("\n")
        .trim();
}
