import { cidrContains, parseIpv4Cidr, zoneLayout } from "./cidr";
import { ConfigReader } from "./reader";

/** How NAT gateways are laid out: none, one for the VPC, or one per availability zone (no cross-AZ dependency). */
export type NatGateways = "none" | "single" | "perAz";
export const NAT_GATEWAY_MODES: readonly NatGateways[] = ["none", "single", "perAz"];

export interface NewVpcSettings {
    mode: "new";
    /** IPv4 CIDR of the VPC, /16 to /24 (AWS allows /16-/28; smaller cannot hold three subnet tiers). */
    cidr: string;
    /** Availability zones the subnets span: 2 or 3. */
    azCount: number;
    natGateways: NatGateways;
    /** Prefix lengths of each tier's subnet (one subnet per tier per AZ). */
    subnetPrefix: { public: number; private: number; data: number };
}

export interface ExistingVpcSettings {
    mode: "existing";
    vpcId: string;
    publicSubnetIds: string[];
    privateSubnetIds: string[];
    dataSubnetIds: string[];
}

/** How many private subnets (one per availability zone) the tasks run in. */
export function privateSubnetCount(vpc: NewVpcSettings | ExistingVpcSettings): number {
    return vpc.mode === "new" ? vpc.azCount : vpc.privateSubnetIds.length;
}

export interface NetworkSettings {
    vpc: NewVpcSettings | ExistingVpcSettings;
    /**
     * Interface endpoint service short names (`ecr.api`, `logs`, ...), created in the private subnets (or, with
     * createEndpoints false, the ones an adopted VPC already has). With a NAT they are optional: every AWS API the
     * tasks use is reachable through it.
     */
    interfaceEndpoints: string[];
    /** Create the S3 gateway and interface endpoints (false only for an adopted VPC that already has them). */
    createEndpoints: boolean;
    /** What the VPC flow log records. */
    flowLogTrafficType: "ALL" | "ACCEPT" | "REJECT";
}

/**
 * SES's SMTP interface endpoint (com.amazonaws.<region>.email-smtp) and the ports SES serves SMTP on: 25, 587 and 2587
 * with STARTTLS, 465 and 2465 with TLS from the first byte (SES developer guide, "Connecting to an Amazon SES SMTP
 * endpoint"; "Setting up VPC endpoints with Amazon SES").
 */
export const SES_SMTP_ENDPOINT = "email-smtp";
export const SES_SMTP_PORTS = [25, 465, 587, 2465, 2587];

const VPC_ID = { regex: /^vpc-([0-9a-f]{8}|[0-9a-f]{17})$/, allowed: "a VPC id such as vpc-0123456789abcdef0" };
const SUBNET_ID = { regex: /^subnet-([0-9a-f]{8}|[0-9a-f]{17})$/, allowed: "a subnet id such as subnet-0123456789abcdef0" };
// Interface endpoint short names as they appear in com.amazonaws.<region>.<name>; S3 is always a gateway endpoint here.
const ENDPOINT_NAME = { regex: /^(?!s3$)[a-z0-9]+([.-][a-z0-9]+)*$/, allowed: "an interface endpoint service name such as ecr.api (s3 is added as a gateway endpoint)" };

/**
 * Endpoints Fargate tasks need to start and run without NAT: image pulls (ECR's API and registry; layers come from
 * S3 through the gateway endpoint), logs (awslogs), secrets (Secrets Manager; SSM for SSM-parameter extraSecrets) and
 * ECS Exec (ssmmessages).
 */
export const REQUIRED_ENDPOINTS = ["ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm", "ssmmessages"];

export function loadNetworkSettings(r: ConfigReader): NetworkSettings {
    const mode = r.oneOf("vpcMode", ["new", "existing"] as const);
    const interfaceEndpoints = r.stringList("interfaceEndpoints", { item: ENDPOINT_NAME });
    const flowLogTrafficType = r.oneOf("flowLogTrafficType", ["ALL", "ACCEPT", "REJECT"] as const);
    const createEndpoints = r.boolean("createVpcEndpoints");
    if (!createEndpoints && mode === "new") {
        r.fail("createVpcEndpoints", createEndpoints, `true when vpcMode is "new": false is only for an adopted VPC that already has the endpoints`);
    }
    const vpc = mode === "new" ? loadNewVpc(r) : loadExistingVpc(r);
    const missing = REQUIRED_ENDPOINTS.filter((e) => !interfaceEndpoints.includes(e));
    if (vpc.mode === "new" && vpc.natGateways === "none" && missing.length > 0) {
        r.failKeys(
            { interfaceEndpoints, natGateways: vpc.natGateways },
            `a list that includes ${REQUIRED_ENDPOINTS.join(", ")} (missing ${missing.join(", ")}): without NAT, tasks reach ECR, CloudWatch Logs, Secrets Manager, SSM and ECS Exec only through these endpoints`,
        );
    }
    return { vpc, interfaceEndpoints, createEndpoints, flowLogTrafficType };
}

function loadNewVpc(r: ConfigReader): NewVpcSettings {
    const cidrText = r.string("vpcCidr");
    const cidr = parseIpv4Cidr(cidrText);
    if (!cidr) {
        r.fail("vpcCidr", cidrText, "an IPv4 CIDR with no host bits set, such as 10.40.0.0/16");
    }
    if (cidr.prefix < 16 || cidr.prefix > 24) {
        r.fail("vpcCidr", cidrText, "a prefix length from /16 (AWS's largest VPC) to /24 (smaller cannot hold three subnet tiers)");
    }
    const rfc1918 = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"].map((c) => parseIpv4Cidr(c)!);
    if (!rfc1918.some((range) => cidrContains(range, cidr))) {
        r.fail("vpcCidr", cidrText, "a private (RFC 1918) range: 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16");
    }
    const azCount = r.integer("availabilityZoneCount", { min: 2, max: 3 });
    const natGateways = r.oneOf("natGateways", NAT_GATEWAY_MODES);
    if (natGateways === "none" && !r.boolean("acknowledgeNoInternetEgress")) {
        r.fail(
            "natGateways",
            natGateways,
            `"single" or "perAz"; "none" leaves Dify unable to reach model providers, the plugin marketplace and PyPI, ` +
                `so it also needs ${"dify-aws:acknowledgeNoInternetEgress"}=true`,
        );
    }
    // AWS subnets are /16 to /28; one that does not fit the VPC is reported below, with the VPC and every prefix.
    const subnetBounds = { min: 16, max: 28 };
    const subnetPrefix = {
        public: r.integer("publicSubnetPrefix", subnetBounds),
        private: r.integer("privateSubnetPrefix", subnetBounds),
        data: r.integer("dataSubnetPrefix", subnetBounds),
    };
    const prefixes = [subnetPrefix.public, subnetPrefix.private, subnetPrefix.data];
    const { needed, available } = zoneLayout(cidr.prefix, azCount, prefixes);
    if (needed > available) {
        // What would fit: the same subnets in a larger VPC (AWS's largest is a /16), or this VPC with the largest
        // subnets that fit, found by halving the largest subnet until the zone holds them all (AWS's smallest is /28).
        const fits = (vpcPrefix: number, ps: number[]) => {
            const z = zoneLayout(vpcPrefix, azCount, ps);
            return z.needed <= z.available;
        };
        const largestVpc = Array.from({ length: cidr.prefix - 15 }, (_, i) => cidr.prefix - i).find((p) => fits(p, prefixes));
        let shrink: number[] | undefined = [...prefixes];
        while (shrink && !fits(cidr.prefix, shrink)) {
            const largest = shrink.indexOf(Math.min(...shrink));
            shrink = shrink[largest] >= 28 ? undefined : shrink.map((p, i) => (i === largest ? p + 1 : p));
        }
        const options = [
            largestVpc !== undefined ? `a vpcCidr of /${largestVpc} or larger with these subnets` : undefined,
            shrink ? `in this /${cidr.prefix}, publicSubnetPrefix ${shrink[0]}, privateSubnetPrefix ${shrink[1]} and dataSubnetPrefix ${shrink[2]} (the largest subnets that fit)` : undefined,
        ].filter((o) => o !== undefined);
        r.failKeys(
            { vpcCidr: cidrText, availabilityZoneCount: azCount, publicSubnetPrefix: subnetPrefix.public, privateSubnetPrefix: subnetPrefix.private, dataSubnetPrefix: subnetPrefix.data },
            `a VPC large enough for ${azCount} zones of /${subnetPrefix.public} public + /${subnetPrefix.private} private + /${subnetPrefix.data} data subnets ` +
                `(each zone needs ${needed} addresses, a zone of this VPC has ${available}): ${options.join("; or ")}`,
        );
    }
    return { mode: "new", cidr: cidrText, azCount, natGateways, subnetPrefix };
}

function loadExistingVpc(r: ConfigReader): ExistingVpcSettings {
    const vpcId = r.optionalString("existingVpcId", VPC_ID);
    if (vpcId === undefined) {
        r.fail("existingVpcId", vpcId, `${VPC_ID.allowed}, required when vpcMode is "existing"`);
    }
    const subnets = (key: string): string[] => {
        const ids = r.stringList(key, { item: SUBNET_ID });
        if (ids.length < 2 || ids.length > 3) {
            r.fail(key, ids, `2 or 3 subnet ids, one per availability zone, required when vpcMode is "existing"`);
        }
        return ids;
    };
    const publicSubnetIds = subnets("existingPublicSubnetIds");
    const privateSubnetIds = subnets("existingPrivateSubnetIds");
    const dataSubnetIds = subnets("existingDataSubnetIds");
    const all = [...publicSubnetIds, ...privateSubnetIds, ...dataSubnetIds];
    const shared = all.find((id, i) => all.indexOf(id) !== i);
    if (shared !== undefined) {
        r.fail("existingDataSubnetIds", shared, "subnet ids that appear in only one tier (public, private or data)");
    }
    return { mode: "existing", vpcId, publicSubnetIds, privateSubnetIds, dataSubnetIds };
}
