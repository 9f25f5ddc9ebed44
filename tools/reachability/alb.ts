/**
 * How the ALB answers a request, from what the program registers: the listener's rules in priority order (the
 * default action last), path-pattern conditions (wildcard values or regexValues, matched against the path only) and
 * source-ip conditions, then the rule's actions (authenticate first, then forward, redirect or fixed-response).
 * Semantics from the ELB user guide ("Listener rules", "Condition types for listener rules"): `*` matches 0 or more
 * characters, `?` exactly one, comparison is case-sensitive and over the whole path.
 */
import { cidrContains, parseCidr } from "../../config/cidr";
import type { RegisteredResource } from "../offline/mocks";

export interface AlbRequest {
    path: string;
    /** The client address; undefined skips source-ip conditions (none are used today). */
    sourceIp?: string;
    /** The browser holds a valid ALB session (has signed in through the rule's authenticate action). */
    authenticated?: boolean;
}

export type AlbOutcome =
    | { kind: "forward"; targetGroupArns: string[]; rule: string; authenticated: boolean }
    | { kind: "redirect"; rule: string; location: string }
    | { kind: "authenticate"; rule: string; onUnauthenticated: "authenticate" | "deny" | "allow" }
    | { kind: "fixed-response"; rule: string; status: string };

/** An ALB path-pattern value as a regular expression. */
export function pathPatternRegex(value: string): RegExp {
    const escaped = value.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
    return new RegExp(`^${escaped}$`);
}

interface Condition {
    pathPattern?: { values?: string[]; regexValues?: string[] };
    sourceIp?: { values: string[] };
}

function matches(conditions: Condition[], request: AlbRequest): boolean {
    return conditions.every((c) => {
        if (c.pathPattern) {
            const byValue = (c.pathPattern.values ?? []).some((v) => pathPatternRegex(v).test(request.path));
            const byRegex = (c.pathPattern.regexValues ?? []).some((v) => new RegExp(v).test(request.path));
            return byValue || byRegex;
        }
        if (c.sourceIp) {
            const source = request.sourceIp;
            const ip = source === undefined ? undefined : parseCidr(source.includes("/") ? source : `${source}/${source.includes(":") ? 128 : 32}`);
            return ip !== undefined && c.sourceIp.values.some((v) => cidrContains(parseCidr(v)!, ip));
        }
        // A condition this evaluator does not know: fail loudly rather than guess.
        throw new Error(`unknown listener-rule condition ${JSON.stringify(c)}`);
    });
}

interface Action {
    type: string;
    order?: number;
    targetGroupArn?: string;
    forward?: { targetGroups: { arn: string; weight?: number }[] };
    redirect?: { protocol?: string; port?: string };
    fixedResponse?: { statusCode: string };
    authenticateOidc?: { onUnauthenticatedRequest?: "authenticate" | "deny" | "allow" };
    authenticateCognito?: { onUnauthenticatedRequest?: "authenticate" | "deny" | "allow" };
}

function perform(rule: string, actions: Action[], request: AlbRequest): AlbOutcome {
    const ordered = [...actions].sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
    let authenticated = false;
    for (const a of ordered) {
        if (a.type === "authenticate-oidc" || a.type === "authenticate-cognito") {
            const on = (a.authenticateOidc ?? a.authenticateCognito)?.onUnauthenticatedRequest ?? "authenticate";
            if (!request.authenticated && on !== "allow") {
                return { kind: "authenticate", rule, onUnauthenticated: on };
            }
            authenticated = true;
            continue;
        }
        if (a.type === "forward") {
            const arns = a.forward ? a.forward.targetGroups.filter((t) => (t.weight ?? 1) > 0).map((t) => t.arn) : [a.targetGroupArn!];
            return { kind: "forward", targetGroupArns: arns, rule, authenticated };
        }
        if (a.type === "redirect") {
            return { kind: "redirect", rule, location: `${a.redirect?.protocol ?? "#{protocol}"}:${a.redirect?.port ?? "#{port}"}` };
        }
        if (a.type === "fixed-response") {
            return { kind: "fixed-response", rule, status: a.fixedResponse!.statusCode };
        }
    }
    throw new Error(`rule ${rule} has no routing action`);
}

/** What the listener does with a request: the first matching rule by priority, else the default action. */
export function routeRequest(listener: RegisteredResource, rules: RegisteredResource[], request: AlbRequest): AlbOutcome {
    const mine = rules.filter((r) => r.inputs.listenerArn === listener.state.arn).sort((a, b) => a.inputs.priority - b.inputs.priority);
    for (const r of mine) {
        if (matches(r.inputs.conditions as Condition[], request)) {
            return perform(r.name, r.inputs.actions as Action[], request);
        }
    }
    return perform("(default)", listener.inputs.defaultActions as Action[], request);
}
