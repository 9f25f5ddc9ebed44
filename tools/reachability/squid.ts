/**
 * What a squid.conf (the SSRF proxies' generated SQUID_CONF) does with one request: `http_access` lines in order, each
 * allowing or denying when all of its ACLs match (`!` negates), the last line's opposite when none matches (squid's
 * documented default). ACL types read: src, dst (CIDRs), port (numbers and ranges), method, dstdomain (with -n: the
 * URL's host as written, no reverse lookup), urlpath_regex, and squid's built-in `all` and `manager`.
 */
import { cidrContains, parseCidr } from "../../config/cidr";

export interface ProxyRequest {
    /** The client's address (a task in the VPC). */
    clientIp: string;
    method: string;
    /** The host the URL (or CONNECT) names, and the address it resolves to. */
    host: string;
    ip: string;
    port: number;
    path?: string;
}

type Acl = (req: ProxyRequest) => boolean;

const inCidrs = (cidrs: string[], ip: string) => {
    const host = parseCidr(`${ip}/${ip.includes(":") ? 128 : 32}`)!;
    return cidrs.some((c) => {
        const cidr = parseCidr(c.includes("/") ? c : `${c}/${c.includes(":") ? 128 : 32}`);
        return cidr !== undefined && cidr.version === host.version && cidrContains(cidr, host);
    });
};

function parseAcl(type: string, args: string[]): Acl {
    switch (type) {
        case "src":
            return (r) => inCidrs(args, r.clientIp);
        case "dst":
            return (r) => inCidrs(args, r.ip);
        case "port":
            return (r) =>
                args.some((a) => {
                    const [from, to] = a.split("-").map(Number);
                    return r.port >= from && r.port <= (to ?? from);
                });
        case "method":
            return (r) => args.includes(r.method);
        case "dstdomain": {
            const names = args.filter((a) => a !== "-n");
            return (r) => names.some((n) => (n.startsWith(".") ? r.host.endsWith(n) || r.host === n.slice(1) : r.host === n));
        }
        case "urlpath_regex":
            return (r) => r.method !== "CONNECT" && args.some((re) => new RegExp(re).test(r.path ?? "/"));
        default:
            throw new Error(`the squid evaluator does not know acl type ${type}`);
    }
}

/** "allow" or "deny", and the http_access line that decided. */
export function squidDecision(conf: string, req: ProxyRequest): { action: "allow" | "deny"; line: string } {
    const acls = new Map<string, Acl>([
        ["all", () => true],
        ["manager", () => false],
    ]);
    let last: "allow" | "deny" = "deny";
    for (const line of conf.split("\n").map((l) => l.trim())) {
        const words = line.split(/\s+/);
        if (words[0] === "acl") {
            const [, name, type, ...args] = words;
            const acl = parseAcl(type, args);
            const previous = acls.get(name);
            // Repeated acl lines of one name add values (OR).
            acls.set(name, previous ? (r) => previous(r) || acl(r) : acl);
        } else if (words[0] === "http_access") {
            const [, action, ...names] = words as [string, "allow" | "deny", ...string[]];
            last = action;
            const all = names.every((n) => {
                const negated = n.startsWith("!");
                const acl = acls.get(negated ? n.slice(1) : n);
                if (!acl) {
                    throw new Error(`http_access names an undefined acl ${n}`);
                }
                return negated ? !acl(req) : acl(req);
            });
            if (all) {
                return { action, line };
            }
        }
    }
    return { action: last === "allow" ? "deny" : "allow", line: "(implicit)" };
}
