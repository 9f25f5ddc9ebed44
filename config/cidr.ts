/** CIDR parsing and arithmetic for config validation (no resources, no Pulumi). */

export interface Ipv4Cidr {
    version: 4;
    /** The network address as an unsigned 32-bit number. */
    network: number;
    prefix: number;
    text: string;
}

export interface Ipv6Cidr {
    version: 6;
    /** The network address as a 128-bit number. */
    network: bigint;
    prefix: number;
    text: string;
}

export type Cidr = Ipv4Cidr | Ipv6Cidr;

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** Parses `a.b.c.d/n`; returns undefined for anything malformed, including host bits set (`10.0.0.1/16`). */
export function parseIpv4Cidr(text: string): Ipv4Cidr | undefined {
    const m = IPV4.exec(text);
    if (!m) {
        return undefined;
    }
    const octets = m.slice(1, 5).map(Number);
    const prefix = Number(m[5]);
    if (octets.some((o) => o > 255) || prefix > 32 || m.slice(1, 5).some((o) => o.length > 1 && o.startsWith("0"))) {
        return undefined;
    }
    const network = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
    const hostMask = prefix === 32 ? 0 : (0xffffffff >>> prefix) >>> 0;
    if ((network & hostMask) !== 0) {
        return undefined;
    }
    return { version: 4, network, prefix, text };
}

/** Parses an IPv6 CIDR (with `::` compression); undefined when malformed or host bits are set. */
export function parseIpv6Cidr(text: string): Ipv6Cidr | undefined {
    const slash = text.lastIndexOf("/");
    if (slash < 0) {
        return undefined;
    }
    const addr = text.slice(0, slash);
    const prefixText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > 128 || !/^[0-9a-fA-F:]+$/.test(addr)) {
        return undefined;
    }
    const halves = addr.split("::");
    if (halves.length > 2) {
        return undefined;
    }
    const parse = (s: string) => (s === "" ? [] : s.split(":"));
    const head = parse(halves[0]);
    const tail = halves.length === 2 ? parse(halves[1]) : [];
    const groups =
        halves.length === 2 ? [...head, ...Array(8 - head.length - tail.length).fill("0"), ...tail] : head;
    if (groups.length !== 8 || groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) {
        return undefined;
    }
    const network = groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
    const prefix = Number(prefixText);
    const hostBits = 128n - BigInt(prefix);
    if (hostBits > 0n && (network & ((1n << hostBits) - 1n)) !== 0n) {
        return undefined;
    }
    return { version: 6, network, prefix, text };
}

export function parseCidr(text: string): Cidr | undefined {
    return text.includes(":") ? parseIpv6Cidr(text) : parseIpv4Cidr(text);
}

/** True when `inner` lies entirely within `outer` (same IP version). */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
    if (outer.version !== inner.version || inner.prefix < outer.prefix) {
        return false;
    }
    if (outer.version === 4 && inner.version === 4) {
        const mask = outer.prefix === 0 ? 0 : (0xffffffff << (32 - outer.prefix)) >>> 0;
        return ((inner.network & mask) >>> 0) === outer.network;
    }
    const o = outer as Ipv6Cidr;
    const i = inner as Ipv6Cidr;
    const shift = 128n - BigInt(o.prefix);
    return i.network >> shift === o.network >> shift;
}

/** `0.0.0.0/0` or `::/0`: the whole internet. */
export function isWholeInternet(c: Cidr): boolean {
    return c.prefix === 0;
}

/**
 * Whether subnets of the given prefix lengths fit into each availability zone's share of the VPC, using the layout of
 * awsx's "Auto" subnet strategy: the VPC is split into 2^ceil(log2(azCount)) equal zone blocks, and inside a zone each
 * subnet is placed in order at the next address aligned to its own size.
 * Returns the number of addresses a zone needs and the number it has.
 */
export function zoneLayout(vpcPrefix: number, azCount: number, subnetPrefixes: number[]): { needed: number; available: number } {
    const zoneBits = Math.ceil(Math.log2(azCount));
    const available = 2 ** (32 - vpcPrefix - zoneBits);
    let cursor = 0;
    for (const p of subnetPrefixes) {
        const size = 2 ** (32 - p);
        cursor = Math.ceil(cursor / size) * size + size;
    }
    return { needed: cursor, available };
}
