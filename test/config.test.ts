import { expect } from "chai";
import { LOG_RETENTION_DAYS } from "../config";
import { parseCidr, zoneLayout } from "../config/cidr";
import { REQUIRED_ENDPOINTS } from "../config/network";
import { configErrorFor, loadSettingsFor, readProjectFile, readStackFile, runProgramExpectingError } from "./harness";

/** Asserts the message names the key (with its namespace), shows the value and says what is allowed. */
function expectConfigError(message: string, key: string, value: string, allowed: RegExp): void {
    expect(message).to.include(`dify-aws:${key}`);
    expect(message).to.include(value);
    expect(message).to.match(allowed);
}

describe("config: the loader", () => {
    it("loads both stacks and they differ only where the stack files say so", () => {
        const dev = loadSettingsFor("dev").settings;
        const prd = loadSettingsFor("prd").settings;
        expect(dev.common.prefix).to.equal("dify-dev");
        expect(prd.common.prefix).to.equal("dify-prd");
        // prd keeps the production-safe defaults of Pulumi.yaml; dev relaxes them in Pulumi.dev.yaml.
        expect(prd.common.deletionProtection).to.equal(true);
        expect(prd.common.customerManagedKey).to.equal(true);
        expect(dev.common.deletionProtection).to.equal(false);
        expect(prd.network.vpc.mode === "new" && prd.network.vpc.natGateways).to.equal("perAz");
        expect(prd.network.vpc.mode === "new" && prd.network.vpc.azCount).to.equal(3);
        expect(dev.network.vpc.mode === "new" && dev.network.vpc.natGateways).to.equal("single");
    });

    it("declares every key it reads in Pulumi.yaml with a type and a description, and reads every declared key", () => {
        const declared = readProjectFile().config;
        const read = new Set<string>();
        const variants: [("dev" | "prd"), Record<string, unknown>][] = [
            ["dev", {}],
            ["prd", {}],
            ["dev", { natGateways: "none", dockerHubPullThroughCache: true, dockerHubCredentialsSecretArn: "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf", acknowledgeNoInternetEgress: true, pipMirrorUrl: "https://pypi.internal.example.com/simple/", interfaceEndpoints: REQUIRED_ENDPOINTS }],
            [
                "prd",
                {
                    vpcMode: "existing",
                    existingVpcId: "vpc-0123456789abcdef0",
                    existingPublicSubnetIds: ["subnet-0000000000000000a", "subnet-0000000000000000b"],
                    existingPrivateSubnetIds: ["subnet-0000000000000001a", "subnet-0000000000000001b"],
                    existingDataSubnetIds: ["subnet-0000000000000002a", "subnet-0000000000000002b"],
                },
            ],
        ];
        for (const [stack, overrides] of variants) {
            loadSettingsFor(stack, overrides).keysRead.forEach((k) => read.add(k));
        }
        for (const key of read) {
            expect(declared, `Pulumi.yaml declares ${key}`).to.have.property(key);
            expect(declared[key].type, `${key} has a type`).to.be.oneOf(["string", "integer", "boolean", "array"]);
            expect(declared[key].description, `${key} has a description`).to.be.a("string").and.not.be.empty;
        }
        const unread = Object.keys(declared).filter((k) => !k.includes(":") && !read.has(k));
        expect(unread, "declared keys the loader never reads").to.deep.equal([]);
    });

    it("stack files set only declared keys", () => {
        const declared = readProjectFile().config;
        for (const stack of ["dev", "prd"]) {
            for (const key of Object.keys(readStackFile(stack).config)) {
                if (key.startsWith("dify-aws:")) {
                    expect(declared, `Pulumi.${stack}.yaml sets ${key}`).to.have.property(key.slice("dify-aws:".length));
                }
            }
        }
    });

    it("rejects a misspelt key and suggests the declared one", () => {
        const message = configErrorFor("dev", { natGateway: "single" });
        expectConfigError(message, "natGateway", '"single"', /not declared in Pulumi\.yaml.*did you mean dify-aws:natGateways\?/);
    });

    it("rejects a stack name that would push derived names past AWS's 32-character limits", async () => {
        const { error, registered } = await runProgramExpectingError("production-eu1", {});
        expect(error.message).to.include('"production-eu1"').and.to.match(/1-12 lower-case letters/);
        expect(registered).to.equal(0);
    });

    it("fails before any resource is declared", async () => {
        const { error, registered } = await runProgramExpectingError("prd", { vpcCidr: "10.40.0.0/33" });
        expect(error.name).to.equal("ConfigError");
        expect(error.message).to.include("dify-aws:vpcCidr");
        expect(registered).to.equal(0);
    });
});

describe("config: network errors", () => {
    const cases: { title: string; overrides: Record<string, unknown>; key: string; value: string; allowed: RegExp }[] = [
        { title: "a malformed VPC CIDR", overrides: { vpcCidr: "10.40.0/16" }, key: "vpcCidr", value: '"10.40.0/16"', allowed: /IPv4 CIDR/ },
        { title: "a VPC CIDR with host bits set", overrides: { vpcCidr: "10.40.1.0/16" }, key: "vpcCidr", value: '"10.40.1.0/16"', allowed: /no host bits/ },
        { title: "an octet over 255", overrides: { vpcCidr: "10.256.0.0/16" }, key: "vpcCidr", value: '"10.256.0.0/16"', allowed: /IPv4 CIDR/ },
        { title: "a VPC larger than AWS allows", overrides: { vpcCidr: "10.0.0.0/8" }, key: "vpcCidr", value: '"10.0.0.0/8"', allowed: /\/16/ },
        { title: "a public VPC range", overrides: { vpcCidr: "8.8.0.0/16" }, key: "vpcCidr", value: '"8.8.0.0/16"', allowed: /RFC 1918/ },
        {
            title: "a VPC too small for the subnet tiers",
            overrides: { vpcCidr: "10.40.0.0/20", privateSubnetPrefix: 22 },
            key: "vpcCidr",
            value: '"10.40.0.0/20"',
            allowed: /large enough for 3 zones of \/24 public \+ \/22 private \+ \/24 data.*needs 2304 addresses.*has 1024/,
        },
        { title: "one availability zone", overrides: { availabilityZoneCount: 1 }, key: "availabilityZoneCount", value: '"1"', allowed: /from 2 to 3/ },
        { title: "four availability zones", overrides: { availabilityZoneCount: 4 }, key: "availabilityZoneCount", value: '"4"', allowed: /from 2 to 3/ },
        { title: "a fractional AZ count", overrides: { availabilityZoneCount: 2.5 }, key: "availabilityZoneCount", value: '"2.5"', allowed: /whole number/ },
        { title: "an unknown NAT mode", overrides: { natGateways: "two" }, key: "natGateways", value: '"two"', allowed: /one of "none", "single", "perAz"/ },
        {
            title: "NAT none without the acknowledgement",
            overrides: { natGateways: "none" },
            key: "natGateways",
            value: '"none"',
            allowed: /model providers.*acknowledgeNoInternetEgress/,
        },
        { title: "an unknown VPC mode", overrides: { vpcMode: "shared" }, key: "vpcMode", value: '"shared"', allowed: /"new", "existing"/ },
        { title: "a subnet prefix beyond AWS's /28", overrides: { dataSubnetPrefix: 29 }, key: "dataSubnetPrefix", value: '"29"', allowed: /to 28/ },
        {
            title: "a subnet as large as the VPC (named with the VPC, and what would fit)",
            overrides: { privateSubnetPrefix: 16 },
            key: "privateSubnetPrefix",
            value: "dify-aws:vpcCidr = \"10.40.0.0/16\"",
            allowed: /privateSubnetPrefix = 16.*a zone of this VPC has 16384.*publicSubnetPrefix 24, privateSubnetPrefix 20 and dataSubnetPrefix 24 \(the largest subnets that fit\)/,
        },
        {
            title: "interface endpoints without ECR in a VPC without NAT",
            overrides: { interfaceEndpoints: ["logs", "secretsmanager", "ssm", "ssmmessages"], natGateways: "none", acknowledgeNoInternetEgress: true, pipMirrorUrl: "https://pypi.internal.example.com/simple/" },
            key: "interfaceEndpoints",
            value: 'dify-aws:natGateways = "none"',
            allowed: /missing ecr\.api, ecr\.dkr.*only through these endpoints/,
        },
        { title: "s3 as an interface endpoint", overrides: { interfaceEndpoints: ["s3"] }, key: "interfaceEndpoints", value: '"s3"', allowed: /gateway endpoint/ },
        { title: "an unknown flow-log traffic type", overrides: { flowLogTrafficType: "SOME" }, key: "flowLogTrafficType", value: '"SOME"', allowed: /"ALL", "ACCEPT", "REJECT"/ },
        {
            title: "skipping the endpoints of a VPC this program creates",
            overrides: { createVpcEndpoints: false },
            key: "createVpcEndpoints",
            value: "false",
            allowed: /only for an adopted VPC/,
        },
        { title: "a retention CloudWatch rejects", overrides: { logRetentionDays: 10 }, key: "logRetentionDays", value: "10", allowed: /7, 14, 30/ },
        { title: "a non-boolean flag", overrides: { deletionProtection: "yes" }, key: "deletionProtection", value: '"yes"', allowed: /true or false/ },
    ];
    for (const c of cases) {
        it(`rejects ${c.title}`, () => {
            expectConfigError(configErrorFor("prd", c.overrides), c.key, c.value, c.allowed);
        });
    }

    const existing = {
        vpcMode: "existing",
        existingVpcId: "vpc-0123456789abcdef0",
        existingPublicSubnetIds: ["subnet-0000000000000000a", "subnet-0000000000000000b"],
        existingPrivateSubnetIds: ["subnet-0000000000000001a", "subnet-0000000000000001b"],
        existingDataSubnetIds: ["subnet-0000000000000002a", "subnet-0000000000000002b"],
    };
    it("accepts a well-formed existing VPC", () => {
        const vpc = loadSettingsFor("prd", existing).settings.network.vpc;
        expect(vpc.mode).to.equal("existing");
    });
    it("rejects adopting a VPC without its id", () => {
        expectConfigError(configErrorFor("prd", { ...existing, existingVpcId: "" }), "existingVpcId", "(not set)", /vpc-.*required when vpcMode is "existing"/);
    });
    it("rejects a malformed VPC id", () => {
        expectConfigError(configErrorFor("prd", { ...existing, existingVpcId: "vpc-xyz" }), "existingVpcId", '"vpc-xyz"', /VPC id such as/);
    });
    it("rejects missing subnet ids", () => {
        expectConfigError(configErrorFor("prd", { ...existing, existingDataSubnetIds: [] }), "existingDataSubnetIds", "[]", /2 or 3 subnet ids/);
    });
    it("rejects a malformed subnet id", () => {
        const message = configErrorFor("prd", { ...existing, existingPrivateSubnetIds: ["subnet-0000000000000001a", "sn-123"] });
        expectConfigError(message, "existingPrivateSubnetIds", '"sn-123"', /subnet id such as/);
    });
    it("rejects a subnet used by two tiers", () => {
        const message = configErrorFor("prd", { ...existing, existingDataSubnetIds: existing.existingPrivateSubnetIds });
        expectConfigError(message, "existingDataSubnetIds", "subnet-0000000000000001a", /only one tier/);
    });
});

describe("config: CIDR arithmetic", () => {
    it("parses IPv4 and IPv6 and rejects host bits", () => {
        expect(parseCidr("0.0.0.0/0")?.prefix).to.equal(0);
        expect(parseCidr("2001:db8::/32")?.version).to.equal(6);
        expect(parseCidr("::/0")?.prefix).to.equal(0);
        expect(parseCidr("2001:db8::1/32")).to.equal(undefined);
        expect(parseCidr("2001:db8:::/32")).to.equal(undefined);
        expect(parseCidr("192.168.1.1/24")).to.equal(undefined);
        expect(parseCidr("192.168.1.0/24")?.version).to.equal(4);
    });

    it("lays subnets out like awsx's Auto strategy: zone blocks of 2^ceil(log2(azs)), aligned subnets", () => {
        // A /16 split for 3 zones gives four /18 blocks (16384 addresses) of which three are used. In a zone: a /24
        // public subnet (256), padding to the /20's 4096 boundary (3840), the /20 (4096), then a /24 data subnet (256).
        expect(zoneLayout(16, 3, [24, 20, 24])).to.deep.equal({ needed: 256 + 3840 + 4096 + 256, available: 16384 });
        // Two zones halve the VPC.
        expect(zoneLayout(16, 2, [24, 20, 24]).available).to.equal(32768);
    });

    it("knows CloudWatch's retention values", () => {
        expect(LOG_RETENTION_DAYS).to.include(14).and.include(3653).and.not.include(10);
    });
});
