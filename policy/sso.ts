/**
 * Single sign-on on the load balancer (dify-aws:consoleAuth): with SSO on, every browser path (the console and web UI)
 * signs the browser in before it forwards, and no machine path (API clients, webhook senders, MCP clients, published
 * apps) ever meets a sign-in. Which path is which comes from components/edgeAlb/routes.ts, the table the program
 * routes by, so a location upstream adds is classified once for both.
 *
 * SSO is "on" for a load balancer when any rule or default action of any of its listeners has an `authenticate-oidc` or
 * `authenticate-cognito` action: the program adds them exactly when consoleAuth is not "none", and then every
 * listener of that load balancer must honour it (a second listener forwarding the console unauthenticated would be a
 * way around the sign-in). The checks walk each listener's rules as the ALB does: for each path, the rules in priority
 * order whose path-pattern condition matches it (wildcard `values` or `regexValues`), the first one without other
 * conditions (host, header, method, query, source IP) serving it; a rule with other conditions may serve it for some
 * requests, so it is checked and the walk goes on; the listener's default action serves what no rule took.
 */
import * as aws from "@pulumi/aws";
import type { PolicyResource, ReportViolation } from "@pulumi/policy";
import { type Audience, EXTRA_LOCATIONS, LOCATION_AUDIENCE } from "../components/edgeAlb/routes";
import { pathPatternRegex } from "../tools/reachability/alb";
import { describe, known, knownList, PackPolicy, referencedBy, Unknown, UNKNOWN } from "./resources";

/** Every location Dify's nginx serves (and the ones this program adds), longest first: nginx's prefix match. */
const LOCATIONS: readonly { location: string; audience: Audience }[] = [
    ...Object.entries(LOCATION_AUDIENCE).map(([location, c]) => ({ location, audience: c.audience })),
    ...EXTRA_LOCATIONS.filter((e) => !(e.location in LOCATION_AUDIENCE)).map((e) => ({ location: e.location, audience: "machine" as const })),
].sort((a, b) => b.location.length - a.location.length);

/** Who calls a path, as Dify's nginx routes it: the audience of the longest location that prefixes it (`/` is a browser's). */
export function audienceOf(path: string): Audience {
    return LOCATIONS.find((l) => path.startsWith(l.location))?.audience ?? "browser";
}

/** A path segment no Dify location uses, to probe what lies below a location or behind a wildcard. */
const PROBE = "sso-probe";

/** A path the checks route, and how a message names it (the location or the rule's pattern it stands for). */
interface Probe {
    path: string;
    label: string;
    audience: Audience;
}

/** Each location itself and a path below it: `/v1` and `/v1/sso-probe`, `/e/` and `/e/sso-probe`, `/` and `/sso-probe`. */
const LOCATION_PROBES: readonly Probe[] = LOCATIONS.flatMap(({ location }) =>
    [location, location.endsWith("/") ? `${location}${PROBE}` : `${location}/${PROBE}`].map((path) => ({ path, label: location, audience: audienceOf(path) })),
);

/** The paths a wildcard path pattern stands for: `*` as nothing and as a segment, `?` as one character. */
function wildcardProbes(pattern: string): Probe[] {
    return [pattern.replace(/\*/g, ""), pattern.replace(/\*/g, PROBE)]
        .map((p) => p.replace(/\?/g, "x"))
        .filter((p) => p.startsWith("/"))
        .map((path) => ({ path, label: pattern, audience: audienceOf(path) }));
}

const AUTHENTICATE = ["authenticate-oidc", "authenticate-cognito"];
const ROUTING = ["forward", "redirect", "fixed-response"];
const OTHER_CONDITIONS = ["hostHeader", "httpHeader", "httpRequestMethod", "queryStrings", "sourceIp"] as const;

interface ActionView {
    type: string;
    order: number;
    /** The authenticate action's onUnauthenticatedRequest (AWS's default: authenticate); UNKNOWN during preview. */
    onUnauthenticated?: string | Unknown;
}

/** A rule or a listener's default action, as the walk sees it. */
interface Candidate {
    resource: PolicyResource;
    label: string;
    /** Infinity for a listener's default action; UNKNOWN when the rule's priority is not known yet. */
    priority: number | Unknown;
    /** Path-pattern conditions (all must match; none: any path); UNKNOWN when the conditions are not known yet. */
    paths: { values: string[]; regexValues: string[] }[] | Unknown;
    /** Has conditions besides the path: serves a matching path for some requests only. */
    conditional: boolean;
    actions: ActionView[] | Unknown;
    /** Wildcard patterns of its path conditions, probed too. */
    patterns: string[];
}

/** The actions of a rule or listener (`actions` / `defaultActions`), each read on its own; UNKNOWN if one's type is not known. */
function readActions(read: () => unknown): ActionView[] | Unknown {
    const items = knownList(read);
    if (items.includes(UNKNOWN)) {
        return UNKNOWN;
    }
    const views: ActionView[] = [];
    for (const [i, item] of items.entries()) {
        const action = item as aws.types.output.lb.ListenerRuleAction;
        const type = known(() => action.type);
        if (typeof type !== "string") {
            return UNKNOWN;
        }
        const order = known(() => action.order);
        const config = known(() => action.authenticateOidc ?? action.authenticateCognito);
        const onUnauthenticated = config === UNKNOWN ? UNKNOWN : config ? known(() => config.onUnauthenticatedRequest) : undefined;
        // The provider's default order is the action's position in the list.
        views.push({ type, order: typeof order === "number" ? order : i + 1, onUnauthenticated });
    }
    return views;
}

/** A rule's conditions: its path patterns and whether anything else narrows it; UNKNOWN if a condition is not known. */
function readConditions(rule: PolicyResource): Pick<Candidate, "paths" | "conditional" | "patterns"> {
    const unknown: Pick<Candidate, "paths" | "conditional" | "patterns"> = { paths: UNKNOWN, conditional: true, patterns: [] };
    const items = knownList(() => rule.props.conditions);
    if (items.includes(UNKNOWN)) {
        return unknown;
    }
    const paths: { values: string[]; regexValues: string[] }[] = [];
    let conditional = false;
    for (const item of items) {
        const condition = item as aws.types.output.lb.ListenerRuleCondition;
        const pathPattern = known(() => condition.pathPattern);
        if (pathPattern === UNKNOWN) {
            return unknown;
        }
        if (pathPattern) {
            const values = knownList(() => pathPattern.values);
            const regexValues = knownList(() => pathPattern.regexValues);
            if (![...values, ...regexValues].every((v) => typeof v === "string")) {
                return unknown;
            }
            paths.push({ values: values as string[], regexValues: regexValues as string[] });
        }
        // Another condition, or one not known yet: the rule may or may not take a request on this path.
        conditional ||= OTHER_CONDITIONS.some((k) => {
            const v = known(() => condition[k]);
            return v === UNKNOWN || (v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0));
        });
    }
    return { paths, conditional, patterns: paths.flatMap((p) => p.values) };
}

/** Whether a candidate's path conditions take this path (ALB: case-sensitive, the whole path); UNKNOWN if they are not known. */
function takesPath(c: Candidate, path: string): boolean | Unknown {
    if (c.paths === UNKNOWN) {
        return UNKNOWN;
    }
    for (const p of c.paths) {
        const byValue = p.values.some((v) => pathPatternRegex(v).test(path));
        let byRegex = false;
        for (const r of p.regexValues) {
            try {
                byRegex ||= new RegExp(r).test(path);
            } catch {
                return UNKNOWN; // A regex JavaScript cannot read: say nothing about this path.
            }
        }
        if (!byValue && !byRegex) {
            return false;
        }
    }
    return true;
}

/** What a candidate does with a request: authenticate actions it has, and whether it forwards before any sign-in. */
function judge(actions: ActionView[]): { authenticates: string[]; forwardsWithoutSignIn: boolean } {
    const sorted = [...actions].sort((a, b) => a.order - b.order);
    const routing = sorted.findIndex((a) => ROUTING.includes(a.type));
    const before = routing < 0 ? sorted : sorted.slice(0, routing);
    // onUnauthenticatedRequest "allow" forwards a browser without a session: no sign-in at all.
    const signsIn = before.some((a) => AUTHENTICATE.includes(a.type) && a.onUnauthenticated !== "allow");
    return {
        authenticates: [...new Set(sorted.filter((a) => AUTHENTICATE.includes(a.type)).map((a) => a.type))],
        forwardsWithoutSignIn: routing >= 0 && sorted[routing].type === "forward" && !signsIn,
    };
}

/** What one rule or default action does wrong under SSO: the browser paths it forwards unauthenticated, the machine paths it authenticates. */
export interface SsoFinding {
    resource: PolicyResource;
    label: string;
    /** The authenticate action types of this rule (for machine-path messages). */
    authenticates: string[];
    browser: string[];
    machine: string[];
    /** A rule of the same load balancer that signs browsers in (names where SSO comes from). */
    ssoFrom: string;
}

const isListener = (r: PolicyResource) => r.isType(aws.lb.Listener) || r.isType(aws.alb.Listener);
const isRule = (r: PolicyResource) => r.isType(aws.lb.ListenerRule) || r.isType(aws.alb.ListenerRule);
const isLoadBalancer = (r: PolicyResource) => r.isType(aws.lb.LoadBalancer) || r.isType(aws.alb.LoadBalancer);

/**
 * Walks every listener of the stack whose load balancer has SSO on, and returns each rule or default action that
 * forwards a browser path without signing in first, or puts an authenticate action in front of a machine path.
 * A path whose serving rule cannot be told yet (a priority, condition or listener unknown during preview) is skipped.
 */
export function ssoFindings(resources: PolicyResource[]): SsoFinding[] {
    const listeners = resources.filter(isListener);
    const loadBalancers = resources.filter(isLoadBalancer);
    const groups = new Map<string, { listener?: PolicyResource; candidates: Candidate[] }>();
    const floating: Candidate[] = [];
    for (const l of listeners) {
        const defaultCandidate: Candidate = {
            resource: l,
            label: `the default action of ${describe(l)}`,
            priority: Infinity,
            paths: [],
            conditional: false,
            actions: readActions(() => l.props.defaultActions),
            patterns: [],
        };
        groups.set(l.urn, { listener: l, candidates: [defaultCandidate] });
    }
    for (const rule of resources.filter(isRule)) {
        const priority = known(() => rule.props.priority);
        const candidate: Candidate = {
            resource: rule,
            label: describe(rule),
            priority: typeof priority === "number" ? priority : UNKNOWN,
            ...readConditions(rule),
            actions: readActions(() => rule.props.actions),
        };
        const on = referencedBy(rule, "listenerArn", listeners, ["arn", "id"]);
        const arn = known(() => rule.props.listenerArn);
        const key = on !== UNKNOWN && on.length > 0 ? on[0].urn : on !== UNKNOWN && typeof arn === "string" ? `arn:${arn}` : undefined;
        if (key === undefined) {
            // Its listener is not known yet: it may take any path it matches first, and is never reported itself.
            floating.push(candidate);
            continue;
        }
        const group = groups.get(key) ?? { candidates: [] };
        group.candidates.push(candidate);
        groups.set(key, group);
    }

    // Where SSO is on: per load balancer (or per listener when its load balancer is not known).
    const scopeOf = (key: string, listener?: PolicyResource): string => {
        if (!listener) {
            return key;
        }
        const lb = referencedBy(listener, "loadBalancerArn", loadBalancers, ["arn", "id"]);
        const arn = known(() => listener.props.loadBalancerArn);
        return lb !== UNKNOWN && lb.length > 0 ? lb[0].urn : lb !== UNKNOWN && typeof arn === "string" ? `arn:${arn}` : key;
    };
    const ssoFrom = new Map<string, string>();
    for (const [key, group] of groups) {
        const scope = scopeOf(key, group.listener);
        const signing = group.candidates.find((c) => c.actions !== UNKNOWN && c.actions.some((a) => AUTHENTICATE.includes(a.type)));
        if (signing && !ssoFrom.has(scope)) {
            ssoFrom.set(scope, signing.label);
        }
    }

    const findings = new Map<string, SsoFinding>();
    for (const [key, group] of groups) {
        const from = ssoFrom.get(scopeOf(key, group.listener));
        if (from === undefined) {
            continue;
        }
        const placed = group.candidates.filter((c) => c.priority !== UNKNOWN).sort((a, b) => (a.priority as number) - (b.priority as number));
        // Rules whose place in the walk is not known (no listener or priority yet) may take any path they match first.
        const unplaced = [...floating, ...group.candidates.filter((c) => c.priority === UNKNOWN)];
        const probes = new Map<string, Probe>();
        for (const p of [...LOCATION_PROBES, ...group.candidates.flatMap((c) => c.patterns.flatMap(wildcardProbes))]) {
            probes.set(p.path, probes.get(p.path) ?? p);
        }
        for (const probe of probes.values()) {
            if (unplaced.some((c) => takesPath(c, probe.path) !== false)) {
                continue;
            }
            const servers: Candidate[] = [];
            let undetermined = false;
            for (const c of placed) {
                const takes = takesPath(c, probe.path);
                if (takes === false) {
                    continue;
                }
                if (takes === UNKNOWN) {
                    undetermined = true;
                    break;
                }
                servers.push(c);
                if (!c.conditional) {
                    break;
                }
            }
            if (undetermined) {
                continue;
            }
            for (const server of servers) {
                if (server.actions === UNKNOWN) {
                    continue;
                }
                const verdict = judge(server.actions);
                const wrong = probe.audience === "browser" ? verdict.forwardsWithoutSignIn : verdict.authenticates.length > 0;
                if (!wrong) {
                    continue;
                }
                const finding = findings.get(server.resource.urn) ?? { resource: server.resource, label: server.label, authenticates: verdict.authenticates, browser: [], machine: [], ssoFrom: from };
                const list = probe.audience === "browser" ? finding.browser : finding.machine;
                if (!list.includes(probe.label)) {
                    list.push(probe.label);
                }
                findings.set(server.resource.urn, finding);
            }
        }
    }
    return [...findings.values()];
}

const list = (paths: string[]) => paths.map((p) => `\`${p}\``).join(", ");

export const albSsoBrowserPaths: PackPolicy = {
    name: "alb-sso-browser-paths",
    description:
        "With SSO on a load balancer (any of its listener rules has an authenticate-oidc or authenticate-cognito action), every rule or default action that serves a browser path of Dify (the console API /console/api, the websocket /socket.io/, /explore and the web UI's catch-all /) signs the browser in before it forwards; onUnauthenticatedRequest \"allow\" does not count.",
    remediationSteps:
        "Put the stack's authenticate action (order 1) before the forward of each rule serving browser paths, as components/edgeAlb does (onUnauthenticatedRequest \"authenticate\" for pages, \"deny\" for the console API and the websocket), or route those paths to such a rule at a higher priority; never forward the console or web UI from another listener of the same load balancer.",
    validateStack: (args, reportViolation: ReportViolation) => {
        for (const f of ssoFindings(args.resources).filter((f) => f.browser.length > 0)) {
            reportViolation(
                `${f.label} forwards browser paths ${list(f.browser)} without signing the browser in first, while SSO is on for this load balancer (${f.ssoFrom} authenticates): the console and web UI are reachable without the identity provider. Add the authenticate action (order 1, before the forward) to it, or let a rule that has one serve these paths.`,
                f.resource.urn,
            );
        }
    },
};

export const albSsoMachinePaths: PackPolicy = {
    name: "alb-sso-machine-paths",
    description:
        "With SSO on a load balancer, no rule or default action that serves a machine path of Dify (the service API /v1, the web-app API /api and /files, plugin endpoints /e/, /triggers, /mcp, /.well-known, /openapi and every machine location components/edgeAlb/routes.ts lists) has an authenticate action: those callers use Dify's own credentials and must never get a sign-in redirect or an ALB 401.",
    remediationSteps:
        "Remove the authenticate-oidc/authenticate-cognito action from the rule serving the machine paths, or route them to a forward-only rule at a higher priority (lower number) than the authenticated one, as components/edgeAlb does; classify any new location in components/edgeAlb/routes.ts.",
    validateStack: (args, reportViolation: ReportViolation) => {
        for (const f of ssoFindings(args.resources).filter((f) => f.machine.length > 0)) {
            reportViolation(
                `${f.label} puts ${f.authenticates.join(" and ")} in front of machine paths ${list(f.machine)}: API clients, webhook senders, MCP clients and published apps get a sign-in redirect or 401 instead of Dify's own authentication. Remove the authenticate action from it, or serve these paths from a forward-only rule of higher priority.`,
                f.resource.urn,
            );
        }
    },
};

export const ssoPolicies: PackPolicy[] = [albSsoBrowserPaths, albSsoMachinePaths];
