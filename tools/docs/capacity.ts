/**
 * The README's capacity table: what dev and prd serve and hold at their maximum task counts, computed by the same
 * model the config check uses (config/capacity.ts), from each stack's validated settings.
 */
import { CACHE_CONNECTIONS, capacityInputs, capacityModel, CapacityModel, CONNECTION_HEADROOM_PERCENT } from "../../config/capacity";
import type { StackSettings } from "../../config";
import { API_CONNECTION_TARGET_PERCENT, apiScaleOutConnections } from "../../components/difyCluster/apiConcurrency";
import { Stack } from "../offline/runner";
import { loadSettingsFor } from "../offline/settings";

const n = (x: number) => x.toLocaleString("en-US");

/** The model of one stack's settings. */
export function stackCapacity(settings: StackSettings): CapacityModel {
    return capacityModel(capacityInputs(settings));
}

function row(stack: string, s: StackSettings, m: CapacityModel): string {
    const p = s.cluster.processes;
    const r = s.cluster.roles;
    const share = Math.round((m.connections / m.maxConnections) * 100);
    return [
        stack,
        `**${n(m.concurrentApiRequests)}** (${r.api.maxTasks} tasks x ${p.api.workers} worker x ${p.api.connectionsPerWorker})`,
        `**${n(m.celeryConcurrency)}** (${r.worker.maxTasks} tasks x ${p.worker.concurrency})`,
        `**${n(m.connections)}** of ${n(m.maxConnections)} (${m.maxConnectionsSource}): ${share} %`,
        n(m.rolloutConnections),
        `${n(apiScaleOutConnections(p.api))} connections per task (${API_CONNECTION_TARGET_PERCENT} % of ${n(p.api.workers * p.api.connectionsPerWorker)})`,
        `**${n(m.cacheConnections)}** (alarm at ${n(s.ops.thresholds.cacheConnections)})`,
    ].join(" | ");
}

/** The section between the capacity markers. */
export function capacitySection(stacks: Stack[] = ["dev", "prd"]): string {
    const models = stacks.map((stack) => {
        const { settings } = loadSettingsFor(stack);
        return { stack, settings, model: stackCapacity(settings) };
    });
    return [
        `| stack | concurrent api requests | Celery jobs at once | database connections (limit ${CONNECTION_HEADROOM_PERCENT} % of max_connections) | worst case during a rollout | api scales out at | cache connections (ElastiCache: ${n(CACHE_CONNECTIONS.elasticacheMaxClients)} per node) |`,
        "|---|---|---|---|---|---|---|",
        ...models.map(({ stack, settings, model }) => `| ${row(stack, settings, model)} |`),
        "",
        ...models.map(({ stack, model }) => `- ${stack}: ${model.lines.map((l) => `${l.what} x ${l.perProcess} = ${n(l.total)}`).join("; ")}.`),
        "",
        "Cache connections at maximum scale, from each client's own pool limit (config/capacity.ts, CACHE_CONNECTIONS):",
        "",
        ...models.map(({ stack, model }) => `- ${stack}: ${model.cacheLines.map((l) => `${l.what} x ${l.perProcess} = ${n(l.total)}`).join("; ")}.`),
    ].join("\n");
}
