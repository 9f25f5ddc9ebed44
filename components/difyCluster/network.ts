/** Security groups per role and every allowed path between roles, the ALB, the data stores and the internet. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { DifyRole } from "../../config/roles";
import { NFS_PORT } from "../sharedWorkspace";
import { SAFE_PORTS } from "../ssrfProxyConfig";
import { ClusterScope, KEBAB } from "./context";
import { ROLE_SPECS, SERVICE_CALLS } from "./roles";

interface SgRef {
    key: string;
    label: string;
    id: pulumi.Input<string>;
}

/**
 * What a task reaches while it starts, besides S3 (the gateway endpoint): ECR's API and registry for the image, Secrets
 * Manager for its secrets, CloudWatch Logs for the awslogs driver. With all four as interface endpoints and images
 * from ECR, the sandbox (users' code) needs no route to the internet at all.
 */
export const SANDBOX_PRIVATE_START_ENDPOINTS = ["ecr.api", "ecr.dkr", "secretsmanager", "logs"];

/** The ALB's paths to each role behind it, for the rule descriptions (EdgeAlb's route table has the paths). */
const ALB_PATHS: Partial<Record<DifyRole, string>> = {
    web: "the console and web app pages",
    api: "console, service and web-app APIs, files, triggers, MCP",
    pluginDaemon: "plugin endpoints under /e/",
    apiWebsocket: "collaboration websockets under /socket.io/",
};

/** Roles that run users' code: with images from ECR they need no internet, only the endpoints and their proxy. */
const RUNS_USERS_CODE: readonly DifyRole[] = ["sandbox", "agentSandbox"];
/** The roles Dify sends mail from (api: synchronous sends; worker: Celery's mail queue), as the environment gives SMTP_* to. */
export const MAIL_SENDERS: readonly DifyRole[] = ["api", "worker"];
/** The squid proxies: the only roles that reach the internet on more than 443, and only through squid's rules. */
const PROXY_ROLES: readonly DifyRole[] = ["ssrfProxy", "agentSsrfProxy"];

export interface SecurityGroupGraph {
    /** Every rule, for the services to depend on. */
    all: pulumi.Resource[];
    /** Per data role, its rules to the database and the cache. */
    dataPaths: Partial<Record<DifyRole, pulumi.Resource[]>>;
    /** Per role, its egress rules beyond the VPC. */
    internet: Record<DifyRole, pulumi.Resource[]>;
}

/** One security group per role, with no rules of its own: the graph below adds each allowed path. */
export function roleSecurityGroups(scope: ClusterScope): Record<DifyRole, aws.ec2.SecurityGroup> {
    const sgs = {} as Record<DifyRole, aws.ec2.SecurityGroup>;
    for (const role of scope.roles) {
        sgs[role] = new aws.ec2.SecurityGroup(
            `${scope.name}-${KEBAB[role]}`,
            {
                vpcId: scope.args.vpcId,
                description: `Dify ${KEBAB[role]} tasks: only the callers of this role may connect`,
                tags: { Name: `${scope.args.namePrefix}-${KEBAB[role]}` },
            },
            { parent: scope.parent },
        );
    }
    return sgs;
}

/**
 * Every allowed path is a pair of rules: ingress on the callee from the caller's group and egress on the caller to
 * the callee's group, each its own resource with a description.
 */
export function securityGroupGraph(scope: ClusterScope, sgs: Record<DifyRole, aws.ec2.SecurityGroup>, imagesFromEcr: boolean): SecurityGroupGraph {
    const { args, name, parent } = scope;
    const all: pulumi.Resource[] = [];
    const ref = (role: DifyRole): SgRef => ({ key: KEBAB[role], label: `Dify ${KEBAB[role]}`, id: sgs[role].id });
    const alb: SgRef = { key: "alb", label: "the ALB", id: args.edge.securityGroupId };
    const db: SgRef = { key: "db", label: "Aurora PostgreSQL", id: args.database.securityGroupId };
    const redis: SgRef = { key: "redis", label: "ElastiCache", id: args.cache.securityGroupId };
    const allow = (from: SgRef, to: SgRef, port: pulumi.Input<number>, why: string): pulumi.Resource[] => {
        const base = `${name}-${from.key}-to-${to.key}`;
        const description = `${from.label} to ${to.label}: ${why}`;
        const rules: pulumi.Resource[] = [
            new aws.vpc.SecurityGroupIngressRule(
                `${base}-in`,
                { securityGroupId: to.id, referencedSecurityGroupId: from.id, ipProtocol: "tcp", fromPort: port, toPort: port, description },
                { parent },
            ),
            new aws.vpc.SecurityGroupEgressRule(
                `${base}-out`,
                { securityGroupId: from.id, referencedSecurityGroupId: to.id, ipProtocol: "tcp", fromPort: port, toPort: port, description },
                { parent },
            ),
        ];
        all.push(...rules);
        return rules;
    };

    const running = (role: DifyRole) => scope.roles.includes(role);
    for (const role of scope.roles) {
        const lb = ALB_PATHS[role];
        if (lb) {
            allow(alb, ref(role), ROLE_SPECS[role].port!, `HTTP (${lb})`);
        }
    }
    for (const call of SERVICE_CALLS.filter((c) => running(c.caller) && running(c.server))) {
        allow(ref(call.caller), ref(call.server), ROLE_SPECS[call.server].port!, call.why);
    }
    const dataPaths: Partial<Record<DifyRole, pulumi.Resource[]>> = {};
    for (const caller of scope.roles) {
        const reaches = ROLE_SPECS[caller].reaches;
        dataPaths[caller] = [
            ...(reaches.database ? allow(ref(caller), db, args.database.port, "PostgreSQL (TLS)") : []),
            ...(reaches.cache ? allow(ref(caller), redis, args.cache.port, "Redis (TLS)") : []),
        ];
    }
    const mount = (role: DifyRole, key: string, label: string, securityGroupId: pulumi.Input<string>, why: string) =>
        dataPaths[role]!.push(...allow(ref(role), { key, label, id: securityGroupId }, NFS_PORT, why));
    if (args.pluginWorkspace) {
        mount("pluginDaemon", "plugin-workspace", "the plugin workspace (EFS)", args.pluginWorkspace.securityGroupId, "NFS over TLS (PLUGIN_WORKING_PATH)");
    }
    if (args.agentWorkspace && running("agentSandbox")) {
        mount("agentSandbox", "agent-workspace", "the agent workspace (EFS)", args.agentWorkspace.securityGroupId, "NFS over TLS (homes and workspaces)");
    }

    // Outbound to the internet: image pulls, Secrets Manager and CloudWatch (through the endpoints or NAT), model
    // providers and the plugin marketplace (daemon), and for the proxy whatever users' workflows call on 80/443.
    const internet = {} as Record<DifyRole, pulumi.Resource[]>;
    const sandboxStartsPrivately = imagesFromEcr && SANDBOX_PRIVATE_START_ENDPOINTS.every((e) => args.vpcInterfaceEndpoints.includes(e));
    for (const role of scope.roles) {
        if (RUNS_USERS_CODE.includes(role) && sandboxStartsPrivately) {
            internet[role] = sandboxEndpointEgress(scope, role, sgs[role].id);
            all.push(...internet[role]);
            continue;
        }
        // The sandbox runs users' code. Its HTTP clients go through the SSRF proxy, but code can open a socket
        // itself, and this rule (needed because Fargate pulls images and reads secrets through the task's ENI) lets
        // it reach any address on 443, the VPC and peered networks included. Images from ECR in the stack's region
        // (dockerHubPullThroughCache) with the endpoints above remove this rule; see sandboxEndpointEgress.
        // The proxies reach what squid's Safe_ports allow (ssrfProxyConfig.ts), every other role HTTPS only.
        const proxy = PROXY_ROLES.includes(role);
        const ports = proxy ? SAFE_PORTS.map((p) => (typeof p === "number" ? { from: p, to: p } : p)) : [{ from: 443, to: 443 }];
        internet[role] = ports.map(({ from, to }) => {
            const label = from === to ? String(from) : `${from}-${to}`;
            return new aws.vpc.SecurityGroupEgressRule(
                `${name}-${KEBAB[role]}-to-internet-${label}`,
                {
                    securityGroupId: sgs[role].id,
                    cidrIpv4: "0.0.0.0/0",
                    ipProtocol: "tcp",
                    fromPort: from,
                    toPort: to,
                    description: proxy
                        ? `Dify ${KEBAB[role]} to the internet on ${label}: requests from ${role === "agentSsrfProxy" ? "agent shells" : "workflows, tools and code"} (private ranges denied by squid)`
                        : `Dify ${KEBAB[role]} to HTTPS: image pulls, AWS APIs${role === "pluginDaemon" ? ", model providers, marketplace, PyPI" : ""}`,
                },
                { parent },
            );
        });
        all.push(...internet[role]);
    }

    // Mail: Dify sends it from the api (invitations, password resets) and the worker (Celery mail tasks) straight to
    // SMTP_SERVER:SMTP_PORT, not through the SSRF proxy. Through SES's SMTP endpoint it stays in the VPC.
    const smtp = args.settings.smtp;
    for (const role of smtp ? MAIL_SENDERS.filter(running) : []) {
        const viaEndpoint = smtp!.route === "endpoint";
        const rule = new aws.vpc.SecurityGroupEgressRule(
            `${name}-${KEBAB[role]}-to-smtp-${smtp!.port}`,
            {
                securityGroupId: sgs[role].id,
                cidrIpv4: viaEndpoint ? args.vpcCidr : "0.0.0.0/0",
                ipProtocol: "tcp",
                fromPort: smtp!.port,
                toPort: smtp!.port,
                description: `Dify ${KEBAB[role]} to SMTP on ${smtp!.port}: ${viaEndpoint ? "the SES SMTP endpoint in the VPC" : smtp!.server} (invitations, password resets, notifications)`,
            },
            { parent },
        );
        internet[role].push(rule);
        all.push(rule);
    }
    // Model servers on other ports or in other networks (modelEndpointEgress): model-provider plugins run in the
    // daemon and call them directly.
    for (const [i, e] of running("pluginDaemon") ? args.settings.modelEndpointEgress.entries() : []) {
        const ports = e.fromPort === e.toPort ? String(e.fromPort) : `${e.fromPort}-${e.toPort}`;
        const d = e.destination;
        const rule = new aws.vpc.SecurityGroupEgressRule(
            `${name}-plugin-daemon-to-model-${i + 1}`,
            {
                securityGroupId: sgs.pluginDaemon.id,
                ipProtocol: "tcp",
                fromPort: e.fromPort,
                toPort: e.toPort,
                ...("prefixListId" in d ? { prefixListId: d.prefixListId } : d.version === 6 ? { cidrIpv6: d.cidr } : { cidrIpv4: d.cidr }),
                description: `Dify plugin-daemon to a model server on ${ports} at ${"prefixListId" in d ? d.prefixListId : d.cidr} (modelEndpointEgress)`,
            },
            { parent },
        );
        internet.pluginDaemon.push(rule);
        all.push(rule);
    }
    return { all, dataPaths, internet };
}

/**
 * The sandbox's only egress besides the SSRF proxy when images come from ECR: 443 to the VPC (the interface
 * endpoints: ecr.api and ecr.dkr for the pull, secretsmanager for its API key, logs) and to the S3 gateway
 * endpoint's prefix list, where ECR serves image layers from. User code cannot reach the internet on 443 directly;
 * it can reach in-VPC listeners on 443, which is why every endpoint and load balancer must keep its own policy.
 */
function sandboxEndpointEgress(scope: ClusterScope, role: DifyRole, securityGroupId: pulumi.Input<string>): pulumi.Resource[] {
    const { name, parent, ctx } = scope;
    const kebab = KEBAB[role];
    const s3 = aws.ec2.getPrefixListOutput({ name: pulumi.interpolate`com.amazonaws.${ctx.region}.s3` }, { parent });
    const rule = (key: string, target: { cidrIpv4: pulumi.Input<string> } | { prefixListId: pulumi.Input<string> }, description: string) =>
        new aws.vpc.SecurityGroupEgressRule(
            `${name}-${kebab}-to-${key}-443`,
            { securityGroupId, ipProtocol: "tcp", fromPort: 443, toPort: 443, description, ...target },
            { parent },
        );
    return [
        rule("vpc-endpoints", { cidrIpv4: scope.args.vpcCidr }, `Dify ${kebab} to the VPC interface endpoints on 443: ECR, Secrets Manager, CloudWatch Logs`),
        rule("s3-endpoint", { prefixListId: s3.id }, `Dify ${kebab} to S3 through the gateway endpoint on 443: ECR image layers`),
    ];
}
