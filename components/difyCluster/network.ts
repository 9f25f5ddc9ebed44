/** Security groups per role and every allowed path between roles, the ALB, the data stores and the internet. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { DifyRole } from "../../config/roles";
import { INTERNAL } from "../difyEnvironment";
import { NFS_PORT } from "../pluginWorkspace";
import { SAFE_PORTS } from "../ssrfProxyConfig";
import { ClusterScope, KEBAB, ROLES } from "./context";
import { DATA_ROLES, SERVER_ROLES, SERVICE_CALLS } from "./roles";

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
    for (const role of ROLES) {
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

    allow(alb, ref("web"), INTERNAL.web.port, "HTTP (everything but the api and /e/ paths)");
    allow(alb, ref("api"), INTERNAL.api.port, "HTTP (console, service and web-app APIs, files, triggers)");
    allow(alb, ref("pluginDaemon"), INTERNAL.pluginDaemon.port, "HTTP (plugin endpoints under /e/)");
    for (const call of SERVICE_CALLS) {
        allow(ref(call.caller), ref(call.server), SERVER_ROLES[call.server].port, call.why);
    }
    const dataPaths: Partial<Record<DifyRole, pulumi.Resource[]>> = {};
    for (const caller of DATA_ROLES) {
        dataPaths[caller] = [...allow(ref(caller), db, args.database.port, "PostgreSQL (TLS)"), ...allow(ref(caller), redis, args.cache.port, "Redis (TLS)")];
    }
    if (args.pluginWorkspace) {
        const efs: SgRef = { key: "plugin-workspace", label: "the plugin workspace (EFS)", id: args.pluginWorkspace.securityGroupId };
        dataPaths.pluginDaemon!.push(...allow(ref("pluginDaemon"), efs, NFS_PORT, "NFS over TLS (PLUGIN_WORKING_PATH)"));
    }

    // Outbound to the internet: image pulls, Secrets Manager and CloudWatch (through the endpoints or NAT), model
    // providers and the plugin marketplace (daemon), and for the proxy whatever users' workflows call on 80/443.
    const internet = {} as Record<DifyRole, pulumi.Resource[]>;
    const sandboxStartsPrivately = imagesFromEcr && SANDBOX_PRIVATE_START_ENDPOINTS.every((e) => args.vpcInterfaceEndpoints.includes(e));
    for (const role of ROLES) {
        if (role === "sandbox" && sandboxStartsPrivately) {
            internet[role] = sandboxEndpointEgress(scope, sgs[role].id);
            all.push(...internet[role]);
            continue;
        }
        // The sandbox runs users' code. Its HTTP clients go through the SSRF proxy, but code can open a socket
        // itself, and this rule (needed because Fargate pulls images and reads secrets through the task's ENI) lets
        // it reach any address on 443, the VPC and peered networks included. Images from ECR in the stack's region
        // (dockerHubPullThroughCache) with the endpoints above remove this rule; see sandboxEndpointEgress.
        // The proxy reaches what squid's Safe_ports allow (ssrfProxyConfig.ts), every other role HTTPS only.
        const ports = role === "ssrfProxy" ? SAFE_PORTS.map((p) => (typeof p === "number" ? { from: p, to: p } : p)) : [{ from: 443, to: 443 }];
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
                    description:
                        role === "ssrfProxy"
                            ? `Dify ssrf-proxy to the internet on ${label}: requests from workflows, tools and code (private ranges denied by squid)`
                            : `Dify ${KEBAB[role]} to HTTPS: image pulls, AWS APIs${role === "pluginDaemon" ? ", model providers, marketplace, PyPI" : ""}`,
                },
                { parent },
            );
        });
        all.push(...internet[role]);
    }
    return { all, dataPaths, internet };
}

/**
 * The sandbox's only egress besides the SSRF proxy when images come from ECR: 443 to the VPC (the interface
 * endpoints: ecr.api and ecr.dkr for the pull, secretsmanager for its API key, logs) and to the S3 gateway
 * endpoint's prefix list, where ECR serves image layers from. User code cannot reach the internet on 443 directly;
 * it can reach in-VPC listeners on 443, which is why every endpoint and load balancer must keep its own policy.
 */
function sandboxEndpointEgress(scope: ClusterScope, securityGroupId: pulumi.Input<string>): pulumi.Resource[] {
    const { name, parent, ctx } = scope;
    const s3 = aws.ec2.getPrefixListOutput({ name: pulumi.interpolate`com.amazonaws.${ctx.region}.s3` }, { parent });
    const rule = (key: string, target: { cidrIpv4: pulumi.Input<string> } | { prefixListId: pulumi.Input<string> }, description: string) =>
        new aws.vpc.SecurityGroupEgressRule(
            `${name}-sandbox-to-${key}-443`,
            { securityGroupId, ipProtocol: "tcp", fromPort: 443, toPort: 443, description, ...target },
            { parent },
        );
    return [
        rule("vpc-endpoints", { cidrIpv4: scope.args.vpcCidr }, "Dify sandbox to the VPC interface endpoints on 443: ECR, Secrets Manager, CloudWatch Logs"),
        rule("s3-endpoint", { prefixListId: s3.id }, "Dify sandbox to S3 through the gateway endpoint on 443: ECR image layers"),
    ];
}
