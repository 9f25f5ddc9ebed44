/**
 * What the web ACL does with one request (AWS WAF developer guide, "How AWS WAF processes a web ACL"): rules in
 * priority order; the first matching rule whose action is block (or allow) decides, count continues; the default
 * action otherwise. Evaluated for a single well-formed request: rate-based statements (no burst) and AWS managed rule
 * groups (no attack signature) do not match; any other statement this evaluator does not know fails loudly.
 */
import { cidrContains, parseCidr } from "../../config/cidr";
import type { RegisteredResource } from "../offline/mocks";

export interface WafRequest {
    ip: string;
    path: string;
    headers?: Record<string, string>;
}

type Statement = Record<string, any>;

/** Whether one statement (a rule's, or a rate-based rule's scope-down) matches the request. */
export function statementMatches(s: Statement, req: WafRequest, ipSetResources: readonly RegisteredResource[]): boolean {
    return matches(s, req, new Map(ipSetResources.map((x) => [x.state.arn as string, x.inputs.addresses as string[]])));
}

function matches(s: Statement, req: WafRequest, ipSets: Map<string, string[]>): boolean {
    if (s.ipSetReferenceStatement) {
        const host = parseCidr(`${req.ip}/${req.ip.includes(":") ? 128 : 32}`)!;
        return (ipSets.get(s.ipSetReferenceStatement.arn) ?? []).some((c) => cidrContains(parseCidr(c)!, host));
    }
    if (s.notStatement) {
        return !matches(s.notStatement.statement, req, ipSets);
    }
    if (s.andStatement) {
        return s.andStatement.statements.every((x: Statement) => matches(x, req, ipSets));
    }
    if (s.orStatement) {
        return s.orStatement.statements.some((x: Statement) => matches(x, req, ipSets));
    }
    if (s.regexMatchStatement && s.regexMatchStatement.fieldToMatch?.uriPath) {
        return new RegExp(s.regexMatchStatement.regexString).test(req.path);
    }
    if (s.byteMatchStatement && s.byteMatchStatement.fieldToMatch?.uriPath) {
        const b = s.byteMatchStatement;
        const value: string = b.searchString;
        return b.positionalConstraint === "STARTS_WITH" ? req.path.startsWith(value) : b.positionalConstraint === "EXACTLY" ? req.path === value : req.path.includes(value);
    }
    if (s.rateBasedStatement || s.managedRuleGroupStatement) {
        return false;
    }
    throw new Error(`the WAF evaluator does not know the statement ${JSON.stringify(Object.keys(s))}`);
}

/** "allow" or "block", and which rule decided ("(default)" for the default action). */
export function wafDecision(acl: RegisteredResource, ipSetResources: readonly RegisteredResource[], req: WafRequest): { action: "allow" | "block"; rule: string } {
    const ipSets = new Map(ipSetResources.map((s) => [s.state.arn as string, s.inputs.addresses as string[]]));
    const rules = [...(acl.inputs.rules as Statement[])].sort((a, b) => a.priority - b.priority);
    for (const rule of rules) {
        const action = rule.action ? Object.keys(rule.action)[0] : "none";
        if (action === "count" || action === "none" || !matches(rule.statement, req, ipSets)) {
            continue;
        }
        if (action === "block" || action === "allow") {
            return { action, rule: rule.name };
        }
    }
    return { action: acl.inputs.defaultAction.block ? "block" : "allow", rule: "(default)" };
}
