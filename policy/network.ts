/** Network exposure: security-group ingress, the load balancer allow-list, public databases, public IPs, public buckets. */
import * as aws from "@pulumi/aws";
import { PolicyResource, validateResourceOfType } from "@pulumi/policy";
import { Cidr, cidrContains, isWholeInternet, parseCidr } from "../config/cidr";
import { configSchema, readConfig } from "./config";
import { bucketCompanions, describe, internetFacingLoadBalancers, known, knownList, PackPolicy, referencedBy, s3Buckets, Unknown, UNKNOWN } from "./resources";

/**
 * One ingress permission, whichever way it is declared: an inline `ingress` block of a security group, an
 * `aws.ec2.SecurityGroupRule` of type ingress, or an `aws.vpc.SecurityGroupIngressRule`.
 */
export interface IngressPermission {
    /** Where it is declared, for messages: `ingress[0]` for inline blocks, else the rule itself. */
    label: string;
    /** `-1` means every protocol and port. */
    protocol: string | Unknown;
    fromPort: number | undefined | Unknown;
    toPort: number | undefined | Unknown;
    /** Source CIDRs, IPv4 and IPv6. */
    cidrs: (string | Unknown)[];
    /** Source managed prefix lists. */
    prefixLists: number;
    /** Sources that are security groups (another group, or the group itself). */
    groupSources: number;
}

const strings = (values: unknown[]): (string | Unknown)[] => values.filter((c): c is string | Unknown => typeof c === "string" || c === UNKNOWN);

/** Normalizes protocol names and numbers: "all"/"-1" → "-1", "6" → "tcp", "17" → "udp". */
function normalizeProtocol(p: unknown): string | Unknown {
    if (p === UNKNOWN) {
        return UNKNOWN;
    }
    const text = String(p ?? "").toLowerCase();
    return ({ all: "-1", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6" } as Record<string, string>)[text] ?? text;
}

/** An inline `ingress` block, a SecurityGroupRule or a SecurityGroupIngressRule, read from a resource's properties. */
function permission(label: string, props: Record<string, any>, style: "inline" | "rule" | "vpcRule"): IngressPermission {
    const ports = { fromPort: known(() => props.fromPort), toPort: known(() => props.toPort) };
    if (style === "vpcRule") {
        return {
            label,
            protocol: normalizeProtocol(known(() => props.ipProtocol)),
            ...ports,
            cidrs: strings([...knownList(() => props.cidrIpv4), ...knownList(() => props.cidrIpv6)]),
            prefixLists: knownList(() => props.prefixListId).length,
            groupSources: knownList(() => props.referencedSecurityGroupId).length,
        };
    }
    const groups = knownList(() => (style === "inline" ? props.securityGroups : props.sourceSecurityGroupId));
    return {
        label,
        protocol: normalizeProtocol(known(() => props.protocol)),
        ...ports,
        cidrs: strings([...knownList(() => props.cidrBlocks), ...knownList(() => props.ipv6CidrBlocks)]),
        prefixLists: knownList(() => props.prefixListIds).length,
        groupSources: groups.length + (known(() => props.self) === true ? 1 : 0),
    };
}

/** The ingress permissions a resource declares (none for resources that declare none); UNKNOWN if not known yet. */
export function ingressPermissions(type: string, props: Record<string, any>): IngressPermission[] | Unknown {
    switch (type) {
        case "aws:ec2/securityGroup:SecurityGroup":
        case "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": {
            const blocks = knownList(() => props.ingress);
            if (blocks.includes(UNKNOWN)) {
                return UNKNOWN;
            }
            return blocks.map((block, i) => permission(`ingress[${i}]`, block as Record<string, any>, "inline"));
        }
        case "aws:ec2/securityGroupRule:SecurityGroupRule": {
            const kind = known(() => props.type);
            return kind === "ingress" ? [permission("rule", props, "rule")] : kind === UNKNOWN ? UNKNOWN : [];
        }
        case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
            return [permission("rule", props, "vpcRule")];
        default:
            return [];
    }
}

const INGRESS_TYPES = [
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
    "aws:ec2/securityGroupRule:SecurityGroupRule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
];

/** True when the permission opens only TCP 80 or only TCP 443, the ports a load balancer serves clients on. */
export function onlyWebPorts(p: IngressPermission): boolean {
    return p.protocol === "tcp" && p.fromPort === p.toPort && (p.fromPort === 80 || p.fromPort === 443);
}

function describePorts(p: IngressPermission): string {
    if (p.protocol === "-1") {
        return "all protocols and ports";
    }
    const ports = p.fromPort === p.toPort ? `port ${String(p.fromPort)}` : `ports ${String(p.fromPort)}-${String(p.toPort)}`;
    return `${String(p.protocol)} ${ports}`;
}

function isWorld(cidr: string | Unknown): boolean {
    if (cidr === UNKNOWN) {
        return false;
    }
    const parsed = parseCidr(cidr);
    return parsed !== undefined && isWholeInternet(parsed);
}

export const noWorldIngress: PackPolicy = {
    name: "no-world-ingress",
    description:
        "No security-group ingress from 0.0.0.0/0 or ::/0, on any port, in inline rules, aws.ec2.SecurityGroupRule or aws.vpc.SecurityGroupIngressRule. Only TCP 80/443 rules are left to alb-ingress-allow-list, which allows them on an internet-facing load balancer's security group when the allow-list says so.",
    remediationSteps:
        "Admit traffic from the security group of the caller (referencedSecurityGroupId) or from a narrow CIDR instead. Reach tasks and databases through the load balancer, ECS Exec or SSM, never an open port.",
    validateResource: (args, reportViolation) => {
        if (!INGRESS_TYPES.includes(args.type)) {
            return;
        }
        const permissions = ingressPermissions(args.type, args.props);
        if (permissions === UNKNOWN) {
            return;
        }
        for (const p of permissions) {
            const open = p.cidrs.filter(isWorld);
            if (open.length > 0 && !onlyWebPorts(p)) {
                reportViolation(`${p.label} admits ${open.join(" and ")} on ${describePorts(p)}.`);
            }
        }
    },
};

/** Every ingress permission of the stack with the security groups it applies to. */
function stackIngress(resources: PolicyResource[], groups: PolicyResource[]): { owner: PolicyResource; permission: IngressPermission; targets: PolicyResource[] | Unknown }[] {
    const out: { owner: PolicyResource; permission: IngressPermission; targets: PolicyResource[] | Unknown }[] = [];
    for (const r of resources) {
        if (!INGRESS_TYPES.includes(r.type)) {
            continue;
        }
        const permissions = ingressPermissions(r.type, r.props);
        if (permissions === UNKNOWN) {
            continue;
        }
        const targets = r.type.startsWith("aws:ec2/securityGroup:") || r.type.startsWith("aws:ec2/defaultSecurityGroup:") ? [r] : referencedBy(r, "securityGroupId", groups, ["id"]);
        for (const permission of permissions) {
            out.push({ owner: r, permission, targets });
        }
    }
    return out;
}

const securityGroups = (resources: PolicyResource[]) => resources.filter((r) => r.isType(aws.ec2.SecurityGroup));

const ALLOW_LIST_KEYS = ["allowedIngressCidrs"] as const;
export const albIngressAllowList: PackPolicy = {
    name: "alb-ingress-allow-list",
    description:
        "An internet-facing load balancer's security groups admit only TCP 80 and 443, and only from CIDRs inside the configured allow-list (anything outside it is a violation). 80/443 from 0.0.0.0/0 or ::/0 is allowed nowhere else.",
    remediationSteps:
        "Keep allowedIngressCidrs equal to the stack's dify-aws:albAllowedCidrs and create one rule per allowed CIDR and port (443, and 80 for the redirect) on the load balancer's security group; put no other sources or ports on it.",
    configSchema: configSchema(...ALLOW_LIST_KEYS),
    validateStack: (args, reportViolation) => {
        const allowed = readConfig(args, ...ALLOW_LIST_KEYS).allowedIngressCidrs.map((c) => parseCidr(c) as Cidr);
        const groups = securityGroups(args.resources);
        const lbGroups = new Set<string>();
        let lbGroupsKnown = true;
        for (const lb of internetFacingLoadBalancers(args.resources)) {
            const refs = referencedBy(lb, "securityGroups", groups, ["id"]);
            if (refs === UNKNOWN) {
                lbGroupsKnown = false;
            } else {
                refs.forEach((g) => lbGroups.add(g.urn));
            }
        }
        for (const { owner, permission: p, targets } of stackIngress(args.resources, groups)) {
            if (targets === UNKNOWN) {
                continue;
            }
            const where = `${describe(owner)}${p.label === "rule" ? "" : ` ${p.label}`}`;
            if (targets.some((t) => lbGroups.has(t.urn))) {
                const world = p.cidrs.some(isWorld);
                if (world && !onlyWebPorts(p)) {
                    continue; // no-world-ingress reports it.
                }
                if ((p.cidrs.length > 0 || p.prefixLists > 0) && !onlyWebPorts(p)) {
                    reportViolation(`${where} opens ${describePorts(p)} on a load balancer security group; only TCP 80 and 443 are allowed.`, owner.urn);
                }
                for (const cidr of p.cidrs) {
                    if (cidr === UNKNOWN) {
                        continue;
                    }
                    const parsed = parseCidr(cidr);
                    if (!parsed || !allowed.some((a) => cidrContains(a, parsed))) {
                        reportViolation(`${where} admits ${cidr} to a load balancer, outside the allow-list (${allowed.map((a) => a.text).join(", ") || "empty"}).`, owner.urn);
                    }
                }
                if (p.prefixLists > 0) {
                    reportViolation(`${where} admits a managed prefix list to a load balancer; its CIDRs cannot be checked against the allow-list.`, owner.urn);
                }
            } else if (lbGroupsKnown && onlyWebPorts(p) && p.cidrs.some(isWorld)) {
                reportViolation(`${where} admits ${p.cidrs.filter(isWorld).join(" and ")} on ${describePorts(p)} to a security group that is not an internet-facing load balancer's.`, owner.urn);
            }
        }
    },
};

/** The resources whose security groups hold data, with the input that names those groups. */
const DATA_GROUP_INPUTS: { cls: { new (...args: any[]): any }; property: string }[] = [
    { cls: aws.rds.Cluster, property: "vpcSecurityGroupIds" },
    { cls: aws.rds.Instance, property: "vpcSecurityGroupIds" },
    { cls: aws.elasticache.ReplicationGroup, property: "securityGroupIds" },
    { cls: aws.elasticache.Cluster, property: "securityGroupIds" },
    { cls: aws.elasticache.ServerlessCache, property: "securityGroupIds" },
    { cls: aws.efs.MountTarget, property: "securityGroups" },
];

export const dataGroupsAdmitOnlyGroups: PackPolicy = {
    name: "data-sg-no-cidr-ingress",
    description:
        "The security groups of Aurora/RDS, ElastiCache and EFS mount targets admit only other security groups, never CIDRs or prefix lists, and every database, cache and mount target names its security groups (else it gets the VPC's default group).",
    remediationSteps:
        "Give the database, cache and mount targets their own security groups, and add one aws.vpc.SecurityGroupIngressRule per calling service with referencedSecurityGroupId set to that service's security group.",
    validateStack: (args, reportViolation) => {
        const groups = securityGroups(args.resources);
        const dataGroups = new Set<string>();
        for (const r of args.resources) {
            const entry = DATA_GROUP_INPUTS.find((d) => r.isType(d.cls));
            if (!entry || (r.isType(aws.rds.Instance) && String(known(() => r.props.engine)).startsWith("aurora"))) {
                continue;
            }
            if (knownList(() => r.props[entry.property]).length === 0) {
                reportViolation(`${describe(r)} names no security group (${entry.property}), so it gets the VPC's default security group.`, r.urn);
                continue;
            }
            const refs = referencedBy(r, entry.property, groups, ["id"]);
            if (refs !== UNKNOWN) {
                refs.forEach((g) => dataGroups.add(g.urn));
            }
        }
        for (const { owner, permission: p, targets } of stackIngress(args.resources, groups)) {
            if (targets === UNKNOWN || !targets.some((t) => dataGroups.has(t.urn))) {
                continue;
            }
            const cidrs = p.cidrs.filter((c): c is string => c !== UNKNOWN);
            if (cidrs.length > 0 || p.prefixLists > 0) {
                const where = `${describe(owner)}${p.label === "rule" ? "" : ` ${p.label}`}`;
                const sources = [...cidrs, ...(p.prefixLists > 0 ? ["a managed prefix list"] : [])].join(", ");
                reportViolation(`${where} admits ${sources} to a database, cache or file-system security group; only security groups may be sources.`, owner.urn);
            }
        }
    },
};

function checkNotPublic(instance: { publiclyAccessible?: boolean }, reportViolation: (message: string) => void): void {
    if (instance.publiclyAccessible === true) {
        reportViolation("publiclyAccessible is true: the database gets a public DNS address reachable from the internet.");
    }
}

export const rdsNotPublic: PackPolicy = {
    name: "rds-not-publicly-accessible",
    description: "RDS instances and Aurora cluster instances are not publicly accessible (no public DNS address).",
    remediationSteps: "Set publiclyAccessible: false (the default) and place the database in the isolated data subnets.",
    validateResource: [
        validateResourceOfType(aws.rds.Instance, (instance, _args, reportViolation) => checkNotPublic(instance, reportViolation)),
        validateResourceOfType(aws.rds.ClusterInstance, (instance, _args, reportViolation) => checkNotPublic(instance, reportViolation)),
    ],
};

export const ecsNoPublicIp: PackPolicy = {
    name: "ecs-no-public-ip",
    description: "ECS services do not assign public IPs to their tasks; tasks run in private subnets and reach the internet through NAT.",
    remediationSteps: "Set networkConfiguration.assignPublicIp: false (the default) and use the private subnets.",
    validateResource: validateResourceOfType(aws.ecs.Service, (service, _args, reportViolation) => {
        if (service.networkConfiguration?.assignPublicIp === true) {
            reportViolation("networkConfiguration.assignPublicIp is true: every task gets a public IP address.");
        }
    }),
};

const PUBLIC_ACCESS_BLOCKS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"] as const;

export const s3PublicAccessBlock: PackPolicy = {
    name: "s3-public-access-block",
    description:
        "Every S3 bucket has an aws.s3.BucketPublicAccessBlock with all four settings true (blockPublicAcls, blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets), and no public access block anywhere in the stack turns one off, whether or not its bucket is in the stack. A missing setting is false.",
    remediationSteps: "Add an aws.s3.BucketPublicAccessBlock with bucket: <bucket>.id and the four settings set to true; never manage a bucket's block with a setting off.",
    validateStack: (args, reportViolation) => {
        const blocks = args.resources.filter((r) => r.isType(aws.s3.BucketPublicAccessBlock));
        for (const bucket of s3Buckets(args.resources)) {
            const { matched, undetermined } = bucketCompanions(bucket, blocks);
            if (matched.length === 0 && !undetermined) {
                reportViolation(`${describe(bucket)} has no public access block.`, bucket.urn);
            }
        }
        // Every block, including one for a bucket of another stack or made by hand: a block that turns a setting off
        // opens that bucket whoever owns it.
        for (const block of blocks) {
            const off = PUBLIC_ACCESS_BLOCKS.filter((k) => {
                const v = known(() => block.props[k]);
                return v !== true && v !== UNKNOWN;
            });
            if (off.length > 0) {
                const bucket = known(() => block.props.bucket);
                const target = typeof bucket === "string" ? `bucket ${bucket}` : "its bucket";
                reportViolation(`${describe(block)} for ${target} leaves ${off.join(", ")} off.`, block.urn);
            }
        }
    },
};

export const networkPolicies: PackPolicy[] = [noWorldIngress, albIngressAllowList, dataGroupsAdmitOnlyGroups, rdsNotPublic, ecsNoPublicIp, s3PublicAccessBlock];
