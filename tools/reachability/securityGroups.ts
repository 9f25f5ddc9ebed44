/**
 * What the registered security group rules allow: a TCP connection from a group to another group, to an address, or
 * to a managed prefix list, on a port. EC2 semantics (VPC user guide, "Security group rules"): a connection needs an
 * egress rule of the source group that matches the destination and port and, for a destination in a group, an
 * ingress rule of that group that matches the source; rules only allow, and rules of a group add up.
 */
import { cidrContains, parseCidr } from "../../config/cidr";
import type { RegisteredResource } from "../offline/mocks";

export type SgTarget = { group: string } | { ip: string } | { prefixListId: string };

interface Rule {
    securityGroupId: string;
    ipProtocol: string;
    fromPort?: number;
    toPort?: number;
    referencedSecurityGroupId?: string;
    cidrIpv4?: string;
    cidrIpv6?: string;
    prefixListId?: string;
}

const portMatches = (r: Rule, port: number) => r.ipProtocol === "-1" || (r.ipProtocol === "tcp" && (r.fromPort ?? 0) <= port && port <= (r.toPort ?? 65535));
const hostCidr = (ip: string) => parseCidr(`${ip}/${ip.includes(":") ? 128 : 32}`)!;

function matchesPeer(r: Rule, peer: SgTarget): boolean {
    if ("group" in peer) {
        return r.referencedSecurityGroupId === peer.group;
    }
    if ("prefixListId" in peer) {
        return r.prefixListId === peer.prefixListId;
    }
    const cidr = r.cidrIpv4 ?? r.cidrIpv6;
    return cidr !== undefined && cidrContains(parseCidr(cidr)!, hostCidr(peer.ip));
}

export class SecurityGroupRules {
    private readonly egress: Rule[];
    private readonly ingress: Rule[];

    constructor(resources: readonly RegisteredResource[]) {
        const of = (type: string) => resources.filter((r) => r.type === type).map((r) => r.inputs as Rule);
        this.egress = of("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule");
        this.ingress = of("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
    }

    /** The source group may send to the target on the port (its egress). */
    leaves(sourceGroup: string, to: SgTarget, port: number): boolean {
        return this.egress.some((r) => r.securityGroupId === sourceGroup && portMatches(r, port) && matchesPeer(r, to));
    }

    /** The group admits the peer on the port (its ingress). */
    admits(group: string, from: SgTarget, port: number): boolean {
        return this.ingress.some((r) => r.securityGroupId === group && portMatches(r, port) && matchesPeer(r, from));
    }

    /** A connection between two groups: the source's egress and the destination's ingress. */
    connects(sourceGroup: string, destinationGroup: string, port: number): boolean {
        return this.leaves(sourceGroup, { group: destinationGroup }, port) && this.admits(destinationGroup, { group: sourceGroup }, port);
    }

    /** Every ingress rule of a group that admits addresses rather than groups (for "never from the internet"). */
    addressIngress(group: string): Rule[] {
        return this.ingress.filter((r) => r.securityGroupId === group && (r.cidrIpv4 !== undefined || r.cidrIpv6 !== undefined || r.prefixListId !== undefined));
    }
}
