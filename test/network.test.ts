import { expect } from "chai";
import { REQUIRED_ENDPOINTS } from "../config/network";
import { parseIpv4Cidr } from "../config/cidr";
import { ProgramRun, runProgram, stackRun } from "./harness";

const VPC = "awsx:ec2:Vpc";
const ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint";
const COMPONENT = "dify-aws:network:VpcWithEndpoints";

function endpointServices(run: ProgramRun): string[] {
    return run.ofType(ENDPOINT).map((e) => e.inputs.serviceName as string);
}

describe("VpcWithEndpoints: new VPC", () => {
    for (const stack of ["dev", "prd"] as const) {
        describe(stack, () => {
            let run: ProgramRun;
            before(async () => {
                run = await stackRun(stack);
            });

            it("hands awsx three subnet tiers, DNS on, in the configured zones", () => {
                const vpc = run.one(VPC).inputs;
                expect(vpc.enableDnsHostnames).to.equal(true);
                expect(vpc.enableDnsSupport).to.equal(true);
                expect(vpc.numberOfAvailabilityZones).to.equal(stack === "prd" ? 3 : 2);
                expect(vpc.subnetStrategy).to.equal("Auto");
                expect(vpc.subnetSpecs.map((s: { type: string }) => s.type)).to.deep.equal(["Public", "Private", "Isolated"]);
                // Every subnet must fit inside the VPC and be a legal AWS subnet size.
                const vpcPrefix = parseIpv4Cidr(vpc.cidrBlock)!.prefix;
                for (const spec of vpc.subnetSpecs) {
                    expect(spec.cidrMask).to.be.within(vpcPrefix + 1, 28);
                }
            });

            it("lays out NAT as the stack asks: one per AZ in prd (no cross-AZ dependency), one in dev", () => {
                expect(run.one(VPC).inputs.natGateways.strategy).to.equal(stack === "prd" ? "OnePerAz" : "Single");
            });

            it("adds the S3 gateway endpoint on the route tables of the private and data subnets", () => {
                const s3 = run.ofType(ENDPOINT).filter((e) => e.inputs.vpcEndpointType === "Gateway");
                expect(s3).to.have.length(1);
                expect(s3[0].inputs.serviceName).to.equal("com.amazonaws.ap-northeast-1.s3");
                const lookup = run.invokes.find((i) => i.token === "aws:ec2/getRouteTables:getRouteTables")!;
                const subnets: string[] = lookup.inputs.filters[0].values;
                const expected = [...(run.outputs.privateSubnetIds as string[]), ...(run.outputs.dataSubnetIds as string[])];
                expect(subnets).to.have.members(expected);
                expect(s3[0].inputs.routeTableIds).to.have.length(expected.length);
                expect(subnets).to.not.include.members(run.outputs.publicSubnetIds as string[]);
            });

            it("adds the stack's interface endpoints (prd: what a task needs to start; dev: none, the NAT reaches every API) in the private subnets, with private DNS, behind one group", () => {
                const interfaces = run.ofType(ENDPOINT).filter((e) => e.inputs.vpcEndpointType === "Interface");
                const services = interfaces.map((e) => e.inputs.serviceName).sort();
                if (stack === "dev") {
                    expect(services).to.deep.equal([]);
                    expect(run.ofType("aws:ec2/securityGroup:SecurityGroup").filter((g) => g.name === "network-endpoints"), "no endpoint group without endpoints").to.deep.equal([]);
                    return;
                }
                expect(services).to.deep.equal(["ecr.api", "ecr.dkr", "logs", "secretsmanager"].map((n) => `com.amazonaws.ap-northeast-1.${n}`));
                const sg = run.one("aws:ec2/securityGroup:SecurityGroup", "network-endpoints");
                for (const e of interfaces) {
                    expect(e.inputs.privateDnsEnabled, e.name).to.equal(true);
                    expect(e.inputs.subnetIds).to.deep.equal(run.outputs.privateSubnetIds);
                    expect(e.inputs.securityGroupIds).to.deep.equal([run.outputs.endpointSecurityGroupId]);
                }
                expect(sg.inputs.ingress ?? [], "no inline rules").to.be.empty;
            });

            it("admits only HTTPS from the VPC CIDR to the endpoints", () => {
                if (stack === "dev") {
                    expect(run.outputs.endpointSecurityGroupId).to.equal(undefined);
                    return;
                }
                const rules = run
                    .ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
                    .filter((r) => r.inputs.securityGroupId === run.outputs.endpointSecurityGroupId);
                expect(rules).to.have.length(1);
                expect(rules[0].inputs).to.include({ ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: run.outputs.vpcCidr });
                expect(rules[0].inputs.description).to.be.a("string").and.not.be.empty;
            });

            it("sends flow logs to a log group with the stack's retention through a role scoped to that group", () => {
                const flowLog = run.one("aws:ec2/flowLog:FlowLog").inputs;
                const group = run.one("aws:cloudwatch/logGroup:LogGroup", "network-flow-logs").inputs;
                // Security Hub FSBP EC2.6 checks for REJECT (its Config rule's trafficType): dev logs only that.
                expect(flowLog.trafficType).to.equal(stack === "prd" ? "ALL" : "REJECT");
                expect(flowLog.logDestinationType).to.equal("cloud-watch-logs");
                expect(flowLog.logDestination).to.equal(`arn:aws:logs:ap-northeast-1:123456789012:log-group:${group.name}`);
                expect(group.retentionInDays).to.equal(stack === "prd" ? 365 : 14);
                if (stack === "prd") {
                    expect(group.kmsKeyId, "prd encrypts logs with the stack key").to.equal(run.outputs.kmsKeyArn);
                } else {
                    expect(group.kmsKeyId).to.equal(undefined);
                }
                const trust = JSON.parse(run.one("aws:iam/role:Role", "network-flow-logs").inputs.assumeRolePolicy);
                expect(trust.Statement[0].Principal).to.deep.equal({ Service: "vpc-flow-logs.amazonaws.com" });
                expect(trust.Statement[0].Condition.StringEquals["aws:SourceAccount"]).to.equal("123456789012");
                const policy = JSON.parse(run.one("aws:iam/rolePolicy:RolePolicy", "network-flow-logs").inputs.policy);
                for (const statement of policy.Statement) {
                    for (const resource of [statement.Resource].flat()) {
                        expect(resource).to.match(/^arn:aws:logs:ap-northeast-1:123456789012:log-group:\/dify\//);
                    }
                    for (const action of [statement.Action].flat()) {
                        expect(action).to.match(/^logs:/);
                    }
                }
            });

            it("strips the default security group of every rule", () => {
                const sg = run.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup").inputs;
                expect(sg.ingress).to.deep.equal([]);
                expect(sg.egress).to.deep.equal([]);
            });

            it("parents every child to the component", () => {
                const component = run.one(COMPONENT);
                const children = run.resources.filter((r) => r.name.startsWith("network-"));
                expect(children.length).to.be.greaterThan(stack === "prd" ? 10 : 5);
                for (const child of children) {
                    expect(child.parent, child.name).to.equal(component.urn);
                }
            });
        });
    }

    it("honours a custom endpoint list and drops nothing required", async () => {
        const run = await runProgram("dev", {
            interfaceEndpoints: [...REQUIRED_ENDPOINTS, "bedrock-runtime"],
        });
        expect(endpointServices(run)).to.include("com.amazonaws.ap-northeast-1.bedrock-runtime");
        expect(endpointServices(run)).to.not.include("com.amazonaws.ap-northeast-1.kms");
    });

    it("creates no NAT with natGateways none once acknowledged (and a PyPI mirror named)", async () => {
        const run = await runProgram("dev", { natGateways: "none", dockerHubPullThroughCache: true, dockerHubCredentialsSecretArn: "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf", acknowledgeNoInternetEgress: true, pipMirrorUrl: "https://pypi.internal.example.com/simple/", interfaceEndpoints: REQUIRED_ENDPOINTS });
        expect(run.one(VPC).inputs.natGateways.strategy).to.equal("None");
    });
});

describe("VpcWithEndpoints: existing VPC", () => {
    const ids = {
        existingVpcId: "vpc-0123456789abcdef0",
        existingPublicSubnetIds: ["subnet-0000000000000000a", "subnet-0000000000000000b"],
        existingPrivateSubnetIds: ["subnet-0000000000000001a", "subnet-0000000000000001b"],
        // The second data subnet is left on the VPC's main route table (the mocks give it no explicit association).
        existingDataSubnetIds: ["subnet-0000000000000002a", "subnet-0000000000000002f"],
    };
    let run: ProgramRun;
    before(async () => {
        run = await runProgram("prd", { vpcMode: "existing", ...ids });
    });

    it("creates no VPC and adopts the given ids", () => {
        expect(run.ofType(VPC)).to.have.length(0);
        expect(run.outputs.vpcId).to.equal(ids.existingVpcId);
        expect(run.outputs.publicSubnetIds).to.deep.equal(ids.existingPublicSubnetIds);
        expect(run.outputs.privateSubnetIds).to.deep.equal(ids.existingPrivateSubnetIds);
        expect(run.outputs.dataSubnetIds).to.deep.equal(ids.existingDataSubnetIds);
    });

    it("reads the VPC's CIDR from AWS for the endpoint rule", () => {
        const lookup = run.invokes.find((i) => i.token === "aws:ec2/getVpc:getVpc");
        expect(lookup?.inputs.id).to.equal(ids.existingVpcId);
        const rule = run.one("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "network-endpoints-https-from-vpc");
        expect(rule.inputs.cidrIpv4).to.equal(run.outputs.vpcCidr).and.to.match(/^10\./);
    });

    it("still adds endpoints and flow logs to the adopted VPC", () => {
        for (const e of run.ofType(ENDPOINT)) {
            expect(e.inputs.vpcId).to.equal(ids.existingVpcId);
        }
        // The S3 gateway endpoint and prd's four interface endpoints.
        expect(run.ofType(ENDPOINT).length).to.equal(5);
        expect(run.one("aws:ec2/flowLog:FlowLog").inputs.vpcId).to.equal(ids.existingVpcId);
    });

    it("puts the S3 gateway endpoint on the main route table for subnets that use it implicitly", () => {
        const s3 = run.ofType(ENDPOINT).find((e) => e.inputs.vpcEndpointType === "Gateway")!;
        const routeTables: string[] = s3.inputs.routeTableIds;
        const main = run.invokes.filter((i) => i.token === "aws:ec2/getRouteTables:getRouteTables" && i.inputs.filters[0].name === "association.main");
        expect(main).to.have.length(1);
        expect(routeTables.filter((id) => id.startsWith("rtb-main"))).to.have.length(1);
        // Three subnets have their own tables; the fourth adds the main one: four tables, none twice.
        expect(routeTables).to.have.length(4);
        expect(new Set(routeTables).size).to.equal(routeTables.length);
    });

    it("creates no endpoints in an adopted VPC that already has them, when told so", async () => {
        const without = await runProgram("prd", { vpcMode: "existing", ...ids, createVpcEndpoints: false });
        expect(without.ofType(ENDPOINT)).to.have.length(0);
        expect(without.ofType("aws:ec2/securityGroup:SecurityGroup").filter((g) => g.name === "network-endpoints")).to.have.length(0);
        expect(without.outputs.endpointSecurityGroupId).to.equal(undefined);
        expect(without.one("aws:ec2/flowLog:FlowLog").inputs.vpcId).to.equal(ids.existingVpcId);
    });

    it("leaves the adopted VPC's default security group alone (other workloads may use it)", () => {
        expect(run.ofType("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")).to.have.length(0);
    });

    it("reports the zones of the adopted data subnets, where the database instances go", () => {
        const zones = run.outputs.availabilityZones as string[];
        const looked = run.invokes.filter((i) => i.token === "aws:ec2/getSubnet:getSubnet").map((i) => i.inputs.id);
        expect(looked).to.have.members(ids.existingDataSubnetIds);
        expect(zones).to.have.length(ids.existingDataSubnetIds.length);
        for (const z of zones) {
            expect(z).to.match(/^ap-northeast-1[a-d]$/);
        }
    });
});
