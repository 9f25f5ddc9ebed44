/**
 * Proves one row of the flow table (config/flows.ts) against what a program run registered: the security group rules
 * (securityGroups.ts), the ALB's listener rules (alb.ts), the web ACL (waf.ts), the SSRF proxies' squid.conf
 * (squid.ts), and whether the VPC routes to the internet (NAT). Returns whether the flow is possible and the step that
 * decided, so a failing row says where it broke.
 */
import { parseCidr } from "../../config/cidr";
import type { Client, Destination, Flow, StackService } from "../../config/flows";
import type { StackSettings } from "../../config";
import type { DifyRole } from "../../config/roles";
import { INTERNAL } from "../../components/difyEnvironment/shared";
import { KEBAB } from "../../components/difyCluster/context";
import { ROLE_SPECS } from "../../components/difyCluster/roles";
import type { ProgramRun } from "../offline/runner";
import { routeRequest } from "./alb";
import { SecurityGroupRules } from "./securityGroups";
import { squidDecision } from "./squid";
import { wafDecision } from "./waf";

export interface Verdict {
    /** The traffic gets through: to the flow's role (an `alb` flow: to any role when its row says "refused"). */
    allowed: boolean;
    /** The step that decided (the first that refused, or the last that allowed). */
    step: string;
}

/** A public address outside every list the stacks use, for "a stranger". */
export const STRANGER_IP = "198.18.0.10";
/** The Service Connect proxy answers a role's name on a loopback address inside the calling task. */
const SERVICE_CONNECT_IP = "127.255.0.1";
/** Which SSRF proxy a role's user-driven HTTP goes through. */
const PROXY_OF: Partial<Record<DifyRole, DifyRole>> = { api: "ssrfProxy", worker: "ssrfProxy", sandbox: "ssrfProxy", agentSandbox: "agentSsrfProxy" };

/** An address inside a CIDR (its network address plus n), for a task or an endpoint. */
function addressIn(cidr: string, n: number): string {
    const [base] = cidr.split("/");
    const parts = base.split(".").map(Number);
    parts[3] += n;
    return parts.join(".");
}

export class FlowEvaluator {
    private readonly sg: SecurityGroupRules;
    private readonly vpcCidr: string;

    constructor(
        private readonly run: ProgramRun,
        private readonly settings: StackSettings,
    ) {
        this.sg = new SecurityGroupRules(run.resources);
        this.vpcCidr = run.outputs.vpcCidr as string;
    }

    /** Both ends of the flow exist on this stack (a role of a feature that is off does not). */
    applies(flow: Flow): boolean {
        const roles = this.settings.cluster.enabledRoles;
        const needs: DifyRole[] = flow.how === "alb" ? (flow.to === "refused" ? [] : [flow.to]) : [flow.from, ...("role" in flow.to ? [flow.to.role] : [])];
        return needs.every((r) => roles.includes(r));
    }

    evaluate(flow: Flow): Verdict {
        if (flow.how === "alb") {
            return this.throughAlb(flow.from, flow.path, flow.to);
        }
        return flow.how === "direct" ? this.direct(flow.from, flow.to, flow.port) : this.throughProxy(flow.from, flow.to, flow.port, flow.request ?? {});
    }

    /** Whether the stack pulls images through the tasks' own network interfaces from Docker Hub (config/flows.ts PULL_CARVE_OUT). */
    imagesFromDockerHub(): boolean {
        const images = this.settings.cluster.images;
        return images.registryPrefix === undefined && !images.dockerHub.pullThroughCache;
    }

    private groupOfRole(role: DifyRole): string {
        return this.run.one("aws:ec2/securityGroup:SecurityGroup", `dify-${KEBAB[role]}`).id!;
    }

    private groupOfService(service: StackService): string | undefined {
        const o = this.run.outputs;
        const byName = (name: string) => this.run.resources.find((r) => r.type === "aws:ec2/securityGroup:SecurityGroup" && r.name === name)?.id;
        switch (service) {
            case "database":
                return o.databaseSecurityGroupId as string;
            case "cache":
                return o.cacheSecurityGroupId as string;
            case "alb":
                return o.albSecurityGroupId as string;
            case "vpcEndpoints":
                return o.endpointSecurityGroupId as string | undefined;
            case "pluginWorkspace":
                return byName("data-plugin-workspace-efs");
            case "agentWorkspace":
                return byName("data-agent-workspace-efs");
        }
    }

    private natRoutes(): boolean {
        const vpc = this.settings.network.vpc;
        return vpc.mode === "existing" || vpc.natGateways !== "none";
    }

    private direct(from: DifyRole, to: Destination, port: number): Verdict {
        const source = this.groupOfRole(from);
        if ("role" in to) {
            const ok = this.sg.connects(source, this.groupOfRole(to.role), port);
            return { allowed: ok, step: `security groups ${KEBAB[from]} -> ${KEBAB[to.role]}:${port}` };
        }
        if ("service" in to) {
            const group = this.groupOfService(to.service);
            if (group === undefined) {
                return { allowed: false, step: `no ${to.service} in this stack` };
            }
            if (to.service === "vpcEndpoints") {
                // An interface endpoint's address is in the VPC; its group admits the VPC's addresses.
                const endpointIp = addressIn(this.vpcCidr, 10);
                const ok = this.sg.leaves(source, { ip: endpointIp }, port) && this.sg.admits(group, { ip: addressIn(this.vpcCidr, 20) }, port);
                return { allowed: ok, step: `security groups ${KEBAB[from]} -> VPC endpoints:${port}` };
            }
            return { allowed: this.sg.connects(source, group, port), step: `security groups ${KEBAB[from]} -> ${to.service}:${port}` };
        }
        if ("internet" in to) {
            if (!this.sg.leaves(source, { ip: to.internet.ip }, port)) {
                return { allowed: false, step: `egress of ${KEBAB[from]} to ${to.internet.ip}:${port}` };
            }
            return { allowed: this.natRoutes(), step: this.natRoutes() ? "NAT" : "no NAT: no route to the internet" };
        }
        const ip = "peered" in to ? to.peered.ip : to.ip;
        return { allowed: this.sg.leaves(source, { ip }, port), step: `egress of ${KEBAB[from]} to ${ip}:${port}` };
    }

    private throughProxy(from: DifyRole, to: Destination, port: number, request: { method?: string; path?: string }): Verdict {
        const proxy = PROXY_OF[from];
        if (!proxy) {
            throw new Error(`${from} has no SSRF proxy`);
        }
        const proxyPort = ROLE_SPECS[proxy].port!;
        if (!this.sg.connects(this.groupOfRole(from), this.groupOfRole(proxy), proxyPort)) {
            return { allowed: false, step: `security groups ${KEBAB[from]} -> ${KEBAB[proxy]}:${proxyPort}` };
        }
        const td = this.run.one("aws:ecs/taskDefinition:TaskDefinition", `dify-${KEBAB[proxy]}`);
        const conf = (JSON.parse(td.inputs.containerDefinitions)[0].environment as { name: string; value: string }[]).find((e) => e.name === "SQUID_CONF")!.value;
        const target =
            "role" in to
                ? { host: (INTERNAL as Record<string, { dns?: string }>)[to.role].dns ?? to.role, ip: SERVICE_CONNECT_IP }
                : "internet" in to
                  ? { host: to.internet.host ?? to.internet.ip, ip: to.internet.ip }
                  : "peered" in to
                    ? { host: to.peered.ip, ip: to.peered.ip }
                    : "service" in to
                      ? { host: to.service, ip: addressIn(this.vpcCidr, 30) }
                      : { host: to.ip, ip: to.ip };
        const squid = squidDecision(conf, { clientIp: addressIn(this.vpcCidr, 40), method: request.method ?? "GET", host: target.host, ip: target.ip, port, path: request.path });
        if (squid.action === "deny") {
            return { allowed: false, step: `${KEBAB[proxy]} squid: ${squid.line}` };
        }
        // Then the proxy's own connection: a role behind Service Connect, or the internet through NAT.
        if ("role" in to) {
            return { allowed: this.sg.connects(this.groupOfRole(proxy), this.groupOfRole(to.role), port), step: `security groups ${KEBAB[proxy]} -> ${KEBAB[to.role]}:${port}` };
        }
        return this.direct(proxy, to, port);
    }

    private clientIp(client: Client): string {
        const edge = this.settings.edge;
        const first = (cidr: string) => (parseCidr(cidr)!.version === 4 ? addressIn(cidr, 10) : cidr.replace(/::\/\d+$/, "::10"));
        if (client === "allowListed") {
            return first(edge.allowedCidrs.find((c) => parseCidr(c)!.version === 4)!);
        }
        if (client === "machineCaller") {
            const machine = edge.machinePathCidrs.find((c) => !edge.allowedCidrs.includes(c) && parseCidr(c)!.version === 4);
            return machine ? first(machine) : STRANGER_IP;
        }
        return STRANGER_IP;
    }

    private throughAlb(client: Client, path: string, to: DifyRole | "refused"): Verdict {
        const ip = this.clientIp(client);
        const rules = this.run.ofType("aws:lb/listenerRule:ListenerRule");
        const listener = this.run.ofType("aws:lb/listener:Listener").find((l) => rules.some((r) => r.inputs.listenerArn === l.state.arn))!;
        const port = listener.inputs.port as number;
        const albGroup = this.groupOfService("alb")!;
        const refused = (step: string): Verdict => ({ allowed: false, step });
        if (!this.sg.admits(albGroup, { ip }, port)) {
            return refused(`the ALB's security group refuses ${ip}:${port}`);
        }
        const acl = this.run.ofType("aws:wafv2/webAcl:WebAcl")[0];
        if (acl) {
            const waf = wafDecision(acl, this.run.ofType("aws:wafv2/ipSet:IpSet"), { ip, path });
            if (waf.action === "block") {
                return refused(`WAF rule ${waf.rule}`);
            }
        }
        const outcome = routeRequest(listener, rules, { path, sourceIp: ip });
        if (outcome.kind !== "forward") {
            return refused(`listener: ${outcome.kind} (${outcome.rule})`);
        }
        const groups = { ...(this.run.outputs.targetGroupArns as Record<string, string>) };
        const alternates = (this.run.outputs.alternateTargetGroupArns ?? {}) as Record<string, string>;
        const role = Object.keys(groups).find((r) => outcome.targetGroupArns.includes(groups[r]) || outcome.targetGroupArns.includes(alternates[r])) as DifyRole | undefined;
        if (!role) {
            return refused(`listener forwards to an unknown target group (${outcome.rule})`);
        }
        if (to === "refused") {
            return { allowed: true, step: `reached ${role} through ${outcome.rule}` };
        }
        if (role !== to) {
            return { allowed: false, step: `routed to ${role}, not ${to} (${outcome.rule})` };
        }
        const ok = this.sg.connects(albGroup, this.groupOfRole(role), ROLE_SPECS[role].port!);
        return { allowed: ok, step: ok ? `${outcome.rule} -> ${KEBAB[role]}` : `security groups alb -> ${KEBAB[role]}` };
    }
}
