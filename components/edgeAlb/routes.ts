/**
 * Dify's path routing on the ALB: upstream's nginx locations (config/upstream, per release) turned into listener rules
 * within the ALB's limits, each path family marked as a browser path (the console and web UI, which SSO may put behind
 * a sign-in) or a machine path (called by API clients, webhook senders and other servers, which must never get a
 * login redirect). Pure functions: no resources, tested through the listener rules they produce (test/sso.test.ts, test/reachability.test.ts).
 */
import { ALB_RULE_LIMITS } from "../../config/awsRules";
import type { UpstreamRelease } from "../../config/upstream/types";

/** The roles behind the ALB. */
export type LbTarget = "web" | "api" | "pluginDaemon" | "apiWebsocket";

/** Who calls a path: a person's browser, or a machine. */
export type Audience = "browser" | "machine";

/** What an unauthenticated browser request to a path gets under SSO: a redirect to sign in, or 401 (XHR, websockets). */
export type Unauthenticated = "authenticate" | "deny";

/** The compose service each nginx location proxies to, as the role behind the ALB. */
const SERVICE_TARGETS: Record<string, LbTarget> = { api: "api", web: "web", plugin_daemon: "pluginDaemon", api_websocket: "apiWebsocket" };

/**
 * Every nginx location upstream serves, classified. Browser paths: the console's pages and its XHR API (same-origin
 * fetch with the session cookie, web/service/fetch.ts), the collaboration websocket (opened by the console with the
 * same cookie) and web's catch-all. Machine paths: the web-app API (published apps authenticate with X-App-Code and
 * X-App-Passport headers, not the console session), files (signed URLs), the service API and MCP (API keys),
 * triggers and plugin endpoints (webhook senders), /openapi (the user-scoped bearer API of difyctl, with a device
 * flow). A location added upstream and missing here stops the program (classify it; test/parity.test.ts and test/sso.test.ts walk every location).
 */
export const LOCATION_AUDIENCE: Readonly<Record<string, { audience: Audience; unauthenticated?: Unauthenticated }>> = {
    "/console/api": { audience: "browser", unauthenticated: "deny" },
    "/socket.io/": { audience: "browser", unauthenticated: "deny" },
    "/explore": { audience: "browser", unauthenticated: "authenticate" },
    "/": { audience: "browser", unauthenticated: "authenticate" },
    "/api": { audience: "machine" },
    "/v1": { audience: "machine" },
    "/openapi": { audience: "machine" },
    "/files": { audience: "machine" },
    "/mcp": { audience: "machine" },
    "/triggers": { audience: "machine" },
    "/e/": { audience: "machine" },
};

/**
 * A location this program routes that upstream's nginx does not: MCP clients (the 2025 MCP authorization spec) probe
 * `/.well-known/oauth-protected-resource` on the server's host before they connect to Dify's /mcp; they must get the
 * api's plain 404, not the web UI or a sign-in redirect.
 */
export const EXTRA_LOCATIONS: readonly { location: string; service: string; why: string }[] = [
    { location: "/.well-known", service: "api", why: "MCP clients probe OAuth metadata on the host; it must answer 404 from the api, never a sign-in redirect" },
];

/** One listener rule to declare: its conditions, target and, under SSO, how it treats a browser without a session. */
export interface PlannedRule {
    /** Logical-name suffix, e.g. `api`, `console-api`, `web`. */
    id: string;
    priority: number;
    target: LbTarget;
    audience: Audience;
    /** The path condition: wildcard values, or one regex (ALB path-pattern regexValues). */
    paths: { values: string[] } | { regexValues: string[] };
    /** Present when the rule authenticates first (SSO on, a browser path). */
    authenticate?: Unauthenticated;
    /** The nginx locations the rule stands for. */
    locations: string[];
}

export interface RoutePlanOptions {
    /** SSO in front of the browser paths. */
    sso: boolean;
    /** The collaboration websocket runs (its location is routed only then). */
    collaboration: boolean;
}

/** An nginx prefix location as an ALB regex alternative: `/api` matches `/api` and `/api/...`, never `/apps`. */
function prefixOf(location: string): string {
    return location.replace(/^\//, "").replace(/\/$/, "").replace(/\./g, "\\.");
}

/**
 * The listener rules for a release's locations. One rule per distinct (target, audience, authentication), so that a
 * role whose paths share one treatment has exactly one rule (what ECS needs of a production listener rule in a
 * progressive deployment): the api's machine paths (and, without SSO, the console API too) as one regex, the plugin
 * endpoints, the websocket, and web's catch-all `/*` last (the listener's default action then never serves Dify).
 * nginx prefix locations match `/apifoo` too; the ALB patterns here match the location and what is below it only, so
 * no web page (`/apps`) is caught by an api prefix (`/api`).
 */
export function planListenerRules(release: Pick<UpstreamRelease, "routes">, o: RoutePlanOptions): PlannedRule[] {
    const locations = [...release.routes.locations, ...EXTRA_LOCATIONS];
    const groups = new Map<string, { target: LbTarget; audience: Audience; authenticate?: Unauthenticated; locations: string[] }>();
    for (const { location, service } of locations) {
        const target = SERVICE_TARGETS[service];
        const klass = LOCATION_AUDIENCE[location] ?? (EXTRA_LOCATIONS.some((e) => e.location === location) ? { audience: "machine" as const } : undefined);
        if (target === undefined || klass === undefined) {
            throw new Error(`upstream's nginx routes ${location} to ${service}, which components/edgeAlb/routes.ts does not classify: add it to LOCATION_AUDIENCE (browser or machine) and SERVICE_TARGETS`);
        }
        if (target === "apiWebsocket" && !o.collaboration) {
            continue;
        }
        const authenticate = o.sso && klass.audience === "browser" ? klass.unauthenticated : undefined;
        // Without SSO every api path is treated alike: one rule. With it, the console API authenticates apart.
        const audience = !o.sso && target === "api" ? "machine" : klass.audience;
        const key = `${target}|${audience}|${authenticate ?? ""}`;
        const group = groups.get(key) ?? { target, audience, authenticate, locations: [] };
        group.locations.push(location);
        groups.set(key, group);
    }
    const rules: PlannedRule[] = [];
    const band = { machine: 100, browser: 200 };
    const order: LbTarget[] = ["api", "pluginDaemon", "apiWebsocket", "web"];
    const sorted = [...groups.values()].sort((a, b) => order.indexOf(a.target) - order.indexOf(b.target) || a.audience.localeCompare(b.audience));
    for (const g of sorted) {
        if (g.target === "web") {
            // The catch-all: every path no other rule took (nginx's `location /`), last.
            rules.push({ id: "web", priority: CATCH_ALL_PRIORITY, target: "web", audience: g.audience, paths: { values: ["/*"] }, authenticate: g.authenticate, locations: g.locations });
            continue;
        }
        const paths =
            g.locations.length === 1 && g.locations[0].endsWith("/")
                ? { values: [`${g.locations[0]}*`] }
                : { regexValues: [`^/(${g.locations.map(prefixOf).join("|")})(/.*)?$`] };
        const id = g.target === "api" && g.audience === "browser" ? "console-api" : RULE_IDS[g.target];
        rules.push({ id, priority: band[g.audience]++, target: g.target, audience: g.audience, paths, authenticate: g.authenticate, locations: g.locations });
    }
    checkLimits(rules);
    return rules;
}

const RULE_IDS: Record<LbTarget, string> = { api: "api", pluginDaemon: "plugin-daemon", apiWebsocket: "websocket", web: "web" };
/** web's catch-all comes after every other rule. */
export const CATCH_ALL_PRIORITY = 1000;

/** Fails when a plan would break an ALB limit (AWS rejects the rule at `up`, after preview passed). */
export function checkLimits(rules: readonly PlannedRule[]): void {
    const L = ALB_RULE_LIMITS;
    if (rules.length > L.rulesPerLoadBalancer) {
        throw new Error(`${rules.length} listener rules: more than the ALB's ${L.rulesPerLoadBalancer}`);
    }
    const priorities = new Set<number>();
    for (const r of rules) {
        const values = "values" in r.paths ? r.paths.values : r.paths.regexValues;
        const wildcards = "values" in r.paths ? values.join("").replace(/[^*?]/g, "").length : 0;
        const problems = [
            values.length > L.valuesPerCondition && `${values.length} values in one condition (at most ${L.valuesPerCondition})`,
            values.length > L.valuesPerRule && `${values.length} values in one rule (at most ${L.valuesPerRule})`,
            wildcards > L.wildcardsPerRule && `${wildcards} wildcards (at most ${L.wildcardsPerRule})`,
            values.some((v) => v.length > L.valueLength) && `a value longer than ${L.valueLength} characters`,
            (r.priority < L.priority.min || r.priority > L.priority.max || priorities.has(r.priority)) && `priority ${r.priority} outside ${L.priority.min}-${L.priority.max} or taken`,
        ].filter(Boolean);
        if (problems.length > 0) {
            throw new Error(`listener rule ${r.id}: ${problems.join("; ")} (${L.source})`);
        }
        priorities.add(r.priority);
    }
}

/**
 * The machine paths of a release as one regex (for the WAF's split-exposure rule): every location classified as a
 * machine path, whichever rule serves it.
 */
export function machinePathRegex(release: Pick<UpstreamRelease, "routes">): string {
    const machine = [...release.routes.locations, ...EXTRA_LOCATIONS]
        .map((l) => l.location)
        .filter((location) => (LOCATION_AUDIENCE[location]?.audience ?? "machine") === "machine");
    return `^/(${machine.map(prefixOf).join("|")})(/.*)?$`;
}
