import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import { SES_SMTP_ENDPOINT, SES_SMTP_PORTS } from "../config/network";
import type { ExistingVpcSettings, NatGateways, NewVpcSettings } from "../config/network";
import { awsContext } from "./awsContext";
import { logGroup, LogGroupSettings } from "./logGroup";

export interface VpcWithEndpointsArgs {
    /**
     * Either a VPC to create (CIDR, 2-3 AZs, NAT layout, subnet prefix lengths) or an existing VPC and its public,
     * private and data subnet ids to adopt.
     */
    vpc: NewVpcSettings | ExistingVpcSettings;
    /** Interface endpoint service names (`ecr.api`, `logs`, ...) placed in the private subnets with private DNS. */
    interfaceEndpoints: string[];
    /**
     * Create the S3 gateway endpoint and the interface endpoints (default true). false only for an adopted VPC that
     * already has them.
     */
    createEndpoints?: boolean;
    /** Which traffic the VPC flow log records: ALL (default), ACCEPT or REJECT. */
    flowLogTrafficType?: "ALL" | "ACCEPT" | "REJECT";
    /** Retention (days) and optional KMS key of the flow-log group. */
    logs: LogGroupSettings;
    /** Physical-name prefix for the flow-log group, e.g. `dify-prd`. */
    namePrefix: string;
}

/**
 * NAT is a managed NAT gateway (or none). A NAT instance would take about $40 a month off a dev stack (a t4g.nano and
 * its address instead of the gateway's hours), but it is not offered: it would be the stack's only way to the
 * internet, running on one instance that is replaced (minutes without egress) for every new Amazon Linux image it
 * must follow for patches, with its forwarding and masquerade rules, source/destination check and the private route
 * tables kept right by boot scripts the program cannot test offline; awsx owns those route tables here. The dev stack
 * is within its cost target with the gateway (README, "What it costs").
 */
const NAT_STRATEGY: Record<NatGateways, awsx.types.enums.ec2.NatGatewayStrategy> = {
    none: "None",
    single: "Single",
    perAz: "OnePerAz",
};

interface Network {
    vpcId: pulumi.Output<string>;
    vpcCidr: pulumi.Output<string>;
    availabilityZones: pulumi.Output<string[]>;
    publicSubnetIds: pulumi.Output<string[]>;
    privateSubnetIds: pulumi.Output<string[]>;
    dataSubnetIds: pulumi.Output<string[]>;
}

/**
 * The network Dify runs in: a VPC (created with awsx, or adopted) with public, private-with-egress and isolated data
 * subnets, the S3 gateway endpoint and the interface endpoints Fargate needs, flow logs, and a default security group
 * that allows nothing.
 */
export class VpcWithEndpoints extends pulumi.ComponentResource {
    public readonly vpcId: pulumi.Output<string>;
    public readonly vpcCidr: pulumi.Output<string>;
    public readonly availabilityZones: pulumi.Output<string[]>;
    public readonly publicSubnetIds: pulumi.Output<string[]>;
    public readonly privateSubnetIds: pulumi.Output<string[]>;
    public readonly dataSubnetIds: pulumi.Output<string[]>;
    /** The security group of the interface endpoints (443 from the VPC CIDR only); undefined when endpoints are not created. */
    public readonly endpointSecurityGroupId: pulumi.Output<string> | undefined;
    /** The interface endpoints the VPC has: created here, or (createEndpoints false) those an adopted VPC already has. */
    public readonly interfaceEndpoints: string[];

    constructor(name: string, args: VpcWithEndpointsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dify-aws:network:VpcWithEndpoints", name, {}, opts);
        const ctx = awsContext(this);

        const net = args.vpc.mode === "new" ? this.createVpc(name, args.vpc) : this.adoptVpc(args.vpc);
        this.vpcId = net.vpcId;
        this.vpcCidr = net.vpcCidr;
        this.availabilityZones = net.availabilityZones;
        this.publicSubnetIds = net.publicSubnetIds;
        this.privateSubnetIds = net.privateSubnetIds;
        this.dataSubnetIds = net.dataSubnetIds;
        this.interfaceEndpoints = [...args.interfaceEndpoints];

        if (args.createEndpoints === false) {
            // An adopted VPC that already has these endpoints: a second endpoint with private DNS for the same service
            // is rejected by AWS (conflicting DNS domain), and a second S3 route on the same route table too.
            this.endpointSecurityGroupId = undefined;
        } else {
            this.endpointSecurityGroupId = this.createEndpoints(name, args, ctx.region);
        }

        this.createFlowLog(name, args, ctx.accountId, ctx.partition);

        this.registerOutputs({
            vpcId: this.vpcId,
            vpcCidr: this.vpcCidr,
            availabilityZones: this.availabilityZones,
            publicSubnetIds: this.publicSubnetIds,
            privateSubnetIds: this.privateSubnetIds,
            dataSubnetIds: this.dataSubnetIds,
            endpointSecurityGroupId: this.endpointSecurityGroupId,
        });
    }

    /**
     * The S3 gateway endpoint and the interface endpoints, behind a group that admits 443 from the VPC only (no group
     * when there is no interface endpoint). Returns the group's id.
     */
    private createEndpoints(name: string, args: VpcWithEndpointsArgs, region: pulumi.Output<string>): pulumi.Output<string> | undefined {
        // The gateway endpoint is free and keeps image layers (ECR stores them in S3) and Dify's files off the NAT.
        const routeTableIds = this.routeTablesOf(args);
        new aws.ec2.VpcEndpoint(
            `${name}-s3`,
            {
                vpcId: this.vpcId,
                serviceName: pulumi.interpolate`com.amazonaws.${region}.s3`,
                vpcEndpointType: "Gateway",
                routeTableIds,
                tags: { Name: `${args.namePrefix}-s3` },
            },
            { parent: this },
        );
        if (args.interfaceEndpoints.length === 0) {
            return undefined;
        }
        const endpointSg = new aws.ec2.SecurityGroup(
            `${name}-endpoints`,
            {
                vpcId: this.vpcId,
                description: "VPC interface endpoints: HTTPS from inside the VPC only",
                tags: { Name: `${args.namePrefix}-vpc-endpoints` },
            },
            { parent: this },
        );
        new aws.vpc.SecurityGroupIngressRule(
            `${name}-endpoints-https-from-vpc`,
            {
                securityGroupId: endpointSg.id,
                description: "HTTPS to AWS APIs from resources in this VPC",
                ipProtocol: "tcp",
                fromPort: 443,
                toPort: 443,
                cidrIpv4: this.vpcCidr,
            },
            { parent: this },
        );
        // SES's SMTP interface endpoint (email-smtp) speaks SMTP, not HTTPS: the ports SES serves SMTP on, from the VPC.
        for (const port of args.interfaceEndpoints.includes(SES_SMTP_ENDPOINT) ? SES_SMTP_PORTS : []) {
            new aws.vpc.SecurityGroupIngressRule(
                `${name}-endpoints-smtp-${port}-from-vpc`,
                {
                    securityGroupId: endpointSg.id,
                    description: `SMTP on ${port} to the SES SMTP endpoint from resources in this VPC`,
                    ipProtocol: "tcp",
                    fromPort: port,
                    toPort: port,
                    cidrIpv4: this.vpcCidr,
                },
                { parent: this },
            );
        }
        for (const service of args.interfaceEndpoints) {
            new aws.ec2.VpcEndpoint(
                `${name}-${service.replace(/\./g, "-")}`,
                {
                    vpcId: this.vpcId,
                    serviceName: pulumi.interpolate`com.amazonaws.${region}.${service}`,
                    vpcEndpointType: "Interface",
                    privateDnsEnabled: true,
                    subnetIds: this.privateSubnetIds,
                    securityGroupIds: [endpointSg.id],
                    tags: { Name: `${args.namePrefix}-${service}` },
                },
                { parent: this },
            );
        }
        return endpointSg.id;
    }

    /**
     * The route tables of the private and data subnets. awsx associates every subnet it creates explicitly; a subnet
     * of an adopted VPC may instead use the VPC's main route table implicitly, which a lookup by subnet association
     * does not return, so each adopted subnet falls back to the main table.
     */
    private routeTablesOf(args: VpcWithEndpointsArgs): pulumi.Output<string[]> {
        const opts = { parent: this };
        if (args.vpc.mode === "new") {
            return aws.ec2.getRouteTablesOutput(
                {
                    vpcId: this.vpcId,
                    filters: [
                        {
                            name: "association.subnet-id",
                            values: pulumi.all([this.privateSubnetIds, this.dataSubnetIds]).apply(([priv, data]) => [...priv, ...data]),
                        },
                    ],
                },
                opts,
            ).ids;
        }
        const main = aws.ec2.getRouteTablesOutput({ vpcId: this.vpcId, filters: [{ name: "association.main", values: ["true"] }] }, opts).ids;
        const perSubnet = [...args.vpc.privateSubnetIds, ...args.vpc.dataSubnetIds].map(
            (id) => aws.ec2.getRouteTablesOutput({ vpcId: this.vpcId, filters: [{ name: "association.subnet-id", values: [id] }] }, opts).ids,
        );
        return pulumi.all([main, ...perSubnet]).apply(([mainIds, ...explicit]) => {
            const ids = explicit.flatMap((found) => (found.length > 0 ? found : mainIds));
            return [...new Set(ids)];
        });
    }

    private createVpc(name: string, settings: NewVpcSettings): Network {
        // awsx places the subnets in the region's first N available zones; report the same ones.
        const zones = aws
            .getAvailabilityZonesOutput({ state: "available" }, { parent: this })
            .names.apply((names) => names.slice(0, settings.azCount));
        const vpc = new awsx.ec2.Vpc(
            `${name}-vpc`,
            {
                cidrBlock: settings.cidr,
                numberOfAvailabilityZones: settings.azCount,
                enableDnsHostnames: true,
                enableDnsSupport: true,
                natGateways: { strategy: NAT_STRATEGY[settings.natGateways] },
                subnetStrategy: "Auto",
                subnetSpecs: [
                    { type: "Public", name: "public", cidrMask: settings.subnetPrefix.public },
                    { type: "Private", name: "private", cidrMask: settings.subnetPrefix.private },
                    { type: "Isolated", name: "data", cidrMask: settings.subnetPrefix.data },
                ],
            },
            { parent: this },
        );
        // Nothing should ever use the default security group; adopting it with no rules removes AWS's allow-all.
        new aws.ec2.DefaultSecurityGroup(`${name}-default-sg`, { vpcId: vpc.vpcId, ingress: [], egress: [] }, { parent: this });
        return {
            vpcId: vpc.vpcId,
            vpcCidr: pulumi.output(settings.cidr),
            availabilityZones: zones,
            publicSubnetIds: vpc.publicSubnetIds,
            privateSubnetIds: vpc.privateSubnetIds,
            dataSubnetIds: vpc.isolatedSubnetIds,
        };
    }

    private adoptVpc(settings: ExistingVpcSettings): Network {
        // The default security group of an adopted VPC is left alone: other workloads in that VPC may rely on it.
        return {
            vpcId: pulumi.output(settings.vpcId),
            vpcCidr: aws.ec2.getVpcOutput({ id: settings.vpcId }, { parent: this }).cidrBlock,
            // The zones of the data subnets: ManagedData spreads the Aurora instances over them, and an instance placed
            // in a zone without a subnet of its subnet group fails to create.
            availabilityZones: pulumi.all(
                settings.dataSubnetIds.map((id) => aws.ec2.getSubnetOutput({ id }, { parent: this }).availabilityZone),
            ),
            publicSubnetIds: pulumi.output(settings.publicSubnetIds),
            privateSubnetIds: pulumi.output(settings.privateSubnetIds),
            dataSubnetIds: pulumi.output(settings.dataSubnetIds),
        };
    }

    private createFlowLog(name: string, args: VpcWithEndpointsArgs, accountId: pulumi.Output<string>, partition: pulumi.Output<string>): void {
        const group = logGroup(`${name}-flow-logs`, `/dify/${args.namePrefix}/vpc-flow-logs`, args.logs, { parent: this });
        const role = new aws.iam.Role(
            `${name}-flow-logs`,
            {
                description: "VPC flow logs delivery to CloudWatch Logs",
                assumeRolePolicy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Effect: "Allow",
                            Principal: { Service: "vpc-flow-logs.amazonaws.com" },
                            Action: "sts:AssumeRole",
                            // Confused-deputy guard: only flow logs of this account may use the role.
                            Condition: {
                                StringEquals: { "aws:SourceAccount": accountId },
                                ArnLike: { "aws:SourceArn": pulumi.interpolate`arn:${partition}:ec2:*:${accountId}:vpc-flow-log/*` },
                            },
                        },
                    ],
                }),
            },
            { parent: this },
        );
        new aws.iam.RolePolicy(
            `${name}-flow-logs`,
            {
                role: role.id,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Effect: "Allow",
                            Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                            Resource: [group.arn, pulumi.interpolate`${group.arn}:*`],
                        },
                    ],
                }),
            },
            { parent: this },
        );
        new aws.ec2.FlowLog(
            `${name}-flow-log`,
            {
                vpcId: this.vpcId,
                trafficType: args.flowLogTrafficType ?? "ALL",
                logDestinationType: "cloud-watch-logs",
                logDestination: group.arn,
                iamRoleArn: role.arn,
                maxAggregationInterval: 60,
                tags: { Name: `${args.namePrefix}-flow-log` },
            },
            { parent: this },
        );
    }
}
