/**
 * The cost estimator: its arithmetic on hand-built resource lists (expected figures worked out from the price table
 * by hand here, not by the pricing code), what it refuses to call free, the preview and state-export readers, the
 * refresh script on an excerpt of the Price List format, and each stack's total against its target.
 */
import * as path from "path";
import { expect } from "chai";
import { DEFAULT_ASSUMPTIONS, estimate, FREE_TYPES, PricedResource, readPriceTable } from "../pricing";
import { offerReader, refresh } from "../refreshPrices";
import { markdownReport, textReport } from "../report";
import { fromPreview, fromStateExport, previewRegion } from "../sources";
import { DEV_ACTIVE_HOURS, estimateStack } from "../stack";
import { parseArgs } from "../cli";
// The tests' shared runs of the committed stacks (the estimator runs the program through the same offline runner).
import { stackRun } from "../../../test/harness";

const TABLE = readPriceTable();
const TOKYO = TABLE.regions["ap-northeast-1"];
const H = 730;

let n = 0;
function resource(type: string, inputs: Record<string, unknown>, dependencies: PricedResource[] = []): PricedResource {
    n += 1;
    return { urn: `urn:pulumi:t::dify-aws::${type}::r${n}`, type, name: `r${n}`, inputs, dependencies: dependencies.map((d) => d.urn) };
}
/** A service with its task definition (and a scalable target when `min` is given). */
function service(cpu: number, memory: number, opts: { desired?: number; min?: number; arch?: string; strategy?: unknown[] } = {}): PricedResource[] {
    const td = resource("aws:ecs/taskDefinition:TaskDefinition", { family: "x", cpu: String(cpu), memory: String(memory), runtimePlatform: { cpuArchitecture: opts.arch ?? "X86_64" } });
    const svc = resource("aws:ecs/service:Service", { desiredCount: opts.desired ?? 0, capacityProviderStrategies: opts.strategy }, [td]);
    const out = [td, svc];
    if (opts.min !== undefined) {
        out.push(resource("aws:appautoscaling/target:Target", { minCapacity: opts.min, maxCapacity: 10 }, [svc]));
    }
    return out;
}
const line = (e: ReturnType<typeof estimate>, what: RegExp) => e.lines.filter((l) => what.test(l.what)).reduce((s, l) => s + l.monthly, 0);
const cents = (x: number) => Math.round(x * 100) / 100;

describe("cost estimator: arithmetic", () => {
    it("prices 2 tasks x 0.5 vCPU / 1 GB for a month at the on-demand x86 rates", () => {
        const e = estimate(service(512, 1024, { desired: 2 }), "ap-northeast-1");
        expect(line(e, /X86_64 on-demand: vCPU/)).to.equal(cents(2 * 0.5 * H * 0.05056));
        expect(line(e, /X86_64 on-demand: memory/)).to.equal(cents(2 * 1 * H * 0.00553));
    });

    it("counts autoscaling's minimum, not the service's desired count (which autoscaling owns)", () => {
        const e = estimate(service(1024, 2048, { desired: 0, min: 3, arch: "ARM64" }), "ap-northeast-1");
        expect(line(e, /ARM64 on-demand: vCPU/)).to.equal(cents(3 * 1 * H * 0.04045));
        expect(line(e, /ARM64 on-demand: memory/)).to.equal(cents(3 * 2 * H * 0.00442));
    });

    it("splits tasks over FARGATE's base and the Spot weights, and takes the Spot discount", () => {
        const strategy = [
            { capacityProvider: "FARGATE", base: 1, weight: 0 },
            { capacityProvider: "FARGATE_SPOT", base: 0, weight: 1 },
        ];
        const e = estimate(service(1024, 2048, { desired: 3, strategy }), "ap-northeast-1", TABLE, { ...DEFAULT_ASSUMPTIONS, spotDiscount: 0.7 });
        expect(line(e, /on-demand: vCPU/)).to.equal(cents(1 * H * 0.05056));
        expect(line(e, /Spot: vCPU/)).to.equal(cents(2 * H * 0.05056 * 0.3));
    });

    it("runs services only in their active hours: weekdays 08:00-20:00 is 60 h a week", () => {
        const [td, svc, target] = service(1024, 2048, { min: 1 });
        const schedule = (cron: string, max: number) => resource("aws:appautoscaling/scheduledAction:ScheduledAction", { schedule: cron, scalableTargetAction: { minCapacity: max, maxCapacity: max } }, [target]);
        const e = estimate([td, svc, target, schedule("cron(0 20 ? * MON-FRI *)", 0), schedule("cron(0 8 ? * MON-FRI *)", 1)], "ap-northeast-1");
        const hours = (60 * 52.1775) / 12;
        expect(e.activeHoursPerMonth).to.equal(Math.round(hours));
        expect(line(e, /vCPU/)).to.equal(cents(hours * 0.05056));
    });

    it("prices NAT gateways per AZ from the awsx VPC, with their public IPv4 and data", () => {
        const vpc = resource("awsx:ec2:Vpc", { numberOfAvailabilityZones: 3, natGateways: { strategy: "OnePerAz" } });
        const e = estimate([vpc], "ap-northeast-1");
        expect(line(e, /^NAT gateways$/)).to.equal(cents(3 * H * 0.062));
        expect(line(e, /public IPv4/)).to.equal(cents(3 * H * 0.005));
        expect(line(e, /data processed/)).to.equal(cents(3 * DEFAULT_ASSUMPTIONS.natGbPerGateway * 0.062));
        // A real preview lists the NAT gateways themselves: those are priced, not the component.
        const nats = [resource("aws:ec2/natGateway:NatGateway", {}), resource("aws:ec2/natGateway:NatGateway", {})];
        expect(line(estimate([vpc, ...nats], "ap-northeast-1"), /^NAT gateways$/)).to.equal(cents(2 * H * 0.062));
    });

    it("prices interface endpoints per AZ-hour, and gateway endpoints as free", () => {
        const endpoint = (type: string) => resource("aws:ec2/vpcEndpoint:VpcEndpoint", { vpcEndpointType: type, serviceName: "com.amazonaws.ap-northeast-1.logs", subnetIds: ["a", "b", "c"] });
        const e = estimate([endpoint("Interface"), endpoint("Interface"), endpoint("Gateway")], "ap-northeast-1");
        expect(line(e, /Interface endpoints/)).to.equal(cents(2 * 3 * H * 0.014));
        expect(e.unpriced).to.deep.equal([]);
    });

    it("prices Serverless v2 at its minimum per instance, and a paused minimum of 0 only while the services run", () => {
        const cluster = resource("aws:rds/cluster:Cluster", { serverlessv2ScalingConfiguration: { minCapacity: 1, maxCapacity: 16 } });
        const instances = [1, 2].map(() => resource("aws:rds/clusterInstance:ClusterInstance", { instanceClass: "db.serverless" }));
        const e = estimate([cluster, ...instances], "ap-northeast-1");
        expect(line(e, /Aurora Serverless v2/)).to.equal(cents(2 * 1 * H * 0.15));
        const provisioned = estimate([cluster, resource("aws:rds/clusterInstance:ClusterInstance", { instanceClass: "db.r6g.large" })], "ap-northeast-1");
        expect(line(provisioned, /db\.r6g\.large/)).to.equal(cents(H * 0.313));
    });

    it("prices a cache by nodes, engine and node type", () => {
        const e = estimate([resource("aws:elasticache/replicationGroup:ReplicationGroup", { engine: "valkey", nodeType: "cache.r7g.large", numCacheClusters: 2 })], "ap-northeast-1");
        expect(line(e, /ElastiCache/)).to.equal(cents(2 * H * 0.2104));
    });

    it("counts every metric of an alarm, metric math included", () => {
        const single = resource("aws:cloudwatch/metricAlarm:MetricAlarm", { metricName: "CPUUtilization" });
        const math = resource("aws:cloudwatch/metricAlarm:MetricAlarm", { metricQueries: [{ id: "a", metric: {} }, { id: "b", metric: {} }, { id: "e", expression: "a-b" }] });
        expect(line(estimate([single, math], "ap-northeast-1"), /alarms/)).to.equal(cents(3 * 0.1));
    });

    it("names what it cannot price: an unknown resource type, a node type or class missing from the table", () => {
        const e = estimate(
            [
                resource("aws:opensearch/domain:Domain", {}),
                resource("aws:elasticache/replicationGroup:ReplicationGroup", { engine: "valkey", nodeType: "cache.x2gd.large", numCacheClusters: 1 }),
                resource("aws:rds/cluster:Cluster", {}),
                resource("aws:rds/clusterInstance:ClusterInstance", { instanceClass: "db.x2g.large" }),
            ],
            "ap-northeast-1",
        );
        const why = e.unpriced.map((u) => `${u.type} ${u.why}`).join("\n");
        expect(why).to.include("aws:opensearch/domain:Domain the estimator has no price for this resource type");
        expect(why).to.include("cache.x2gd.large");
        expect(why).to.include("db.x2g.large");
        expect(textReport("t", e)).to.match(/Not priced \(not included in the total\):/);
    });

    it("knows why each free type is free (a reason, never a silent zero)", () => {
        for (const [type, why] of Object.entries(FREE_TYPES)) {
            expect(why.length, type).to.be.greaterThan(5);
        }
    });

    it("refuses a region the table has no prices for", () => {
        expect(() => estimate([], "eu-west-3")).to.throw(/no prices for eu-west-3/);
    });
});

describe("cost estimator: the price table", () => {
    it("has every item for both regions the README supports, each with a source and a unit", () => {
        expect(Object.keys(TABLE.regions)).to.include.members(["ap-northeast-1", "us-east-1"]);
        const keys = Object.keys(TOKYO);
        for (const [region, entries] of Object.entries(TABLE.regions)) {
            for (const key of keys.filter((k) => !k.startsWith("aurora.instance.") && !k.startsWith("elasticache."))) {
                expect(entries, `${region} ${key}`).to.have.property(key);
            }
            for (const [key, e] of Object.entries(entries)) {
                expect(e.usd, `${region} ${key}`).to.be.a("number").and.at.least(0);
                expect(e.source, `${region} ${key}`).to.be.a("string").and.not.be.empty;
                expect(e.unit, `${region} ${key}`).to.be.a("string").and.not.be.empty;
            }
        }
        expect(TABLE.date).to.match(/^\d{4}-\d{2}$/);
    });
});

describe("cost estimator: reading a real preview and a stack export", () => {
    const state = (urn: string, type: string, inputs: Record<string, unknown>, dependencies: string[] = []) => ({ urn, type, custom: true, inputs, outputs: {}, dependencies });
    const exported = {
        version: 3,
        deployment: {
            resources: [
                state("urn:pulumi:dev::dify-aws::aws:ec2/vpcEndpoint:VpcEndpoint::old-logs", "aws:ec2/vpcEndpoint:VpcEndpoint", { vpcEndpointType: "Interface", serviceName: "com.amazonaws.ap-northeast-1.logs", subnetIds: ["a", "b"] }),
                state("urn:pulumi:dev::dify-aws::aws:elasticache/replicationGroup:ReplicationGroup::cache", "aws:elasticache/replicationGroup:ReplicationGroup", { engine: "valkey", nodeType: "cache.t4g.micro", numCacheClusters: 1 }),
            ],
        },
    };
    const preview = {
        config: { "aws:region": "ap-northeast-1" },
        steps: [
            { op: "delete", urn: "urn:pulumi:dev::dify-aws::aws:ec2/vpcEndpoint:VpcEndpoint::old-logs", oldState: exported.deployment.resources[0] },
            { op: "update", urn: "urn:pulumi:dev::dify-aws::aws:elasticache/replicationGroup:ReplicationGroup::cache", newState: state("urn:pulumi:dev::dify-aws::aws:elasticache/replicationGroup:ReplicationGroup::cache", "aws:elasticache/replicationGroup:ReplicationGroup", { engine: "valkey", nodeType: "cache.r7g.large", numCacheClusters: 2 }) },
            // A computed input is the engine's unknown in a preview.
            { op: "create", urn: "urn:pulumi:dev::dify-aws::aws:lb/loadBalancer:LoadBalancer::alb", newState: state("urn:pulumi:dev::dify-aws::aws:lb/loadBalancer:LoadBalancer::alb", "aws:lb/loadBalancer:LoadBalancer", { internal: false, subnets: ["04da6b54-80e4-46f7-96ec-b56ff0331ba9", "04da6b54-80e4-46f7-96ec-b56ff0331ba9"] }) },
        ],
    };

    it("applies the preview's steps to the export: deleted gone, updated as new, created added", () => {
        const after = fromPreview(preview, exported);
        expect(after.map((r) => r.name).sort()).to.deep.equal(["alb", "cache"]);
        expect(after.find((r) => r.name === "cache")!.inputs.nodeType).to.equal("cache.r7g.large");
        expect(fromStateExport(exported)).to.have.length(2);
        expect(fromPreview(preview)).to.have.length(2);
        expect(previewRegion(preview)).to.equal("ap-northeast-1");
    });

    it("writes the pull-request comment with the estimate and the difference from what is deployed", () => {
        const before = estimate(fromStateExport(exported), "ap-northeast-1");
        const after = estimate(fromPreview(preview, exported), "ap-northeast-1");
        const md = markdownReport("dev", after, before);
        const diff = after.total - before.total;
        expect(md).to.include("<!-- dify-aws-cost:dev -->");
        expect(md).to.include(`**$${after.total.toFixed(2)}/month** (+$${diff.toFixed(2)} against what is deployed from main, $${before.total.toFixed(2)})`);
        expect(md).to.match(/\| ElastiCache valkey cache\.r7g\.large \| 2 node\(s\) x 730 h \| \$\d+\.\d\d \|/);
    });
});

describe("cost estimator: the CLI", () => {
    it("takes usage assumptions and config overrides from flags, and refuses what it does not know", () => {
        const o = parseArgs(["--stack", "dev", "--albLcu", "3", "--set", "cacheNodeType=cache.t4g.small"]);
        expect(o.assumptions.albLcu).to.equal(3);
        expect(o.overrides).to.deep.equal({ cacheNodeType: "cache.t4g.small" });
        expect(() => parseArgs(["--stack", "dev", "--lcu", "3"])).to.throw(/unknown flag --lcu/);
        expect(() => parseArgs([])).to.throw(/--stack/);
        expect(() => parseArgs(["--stack", "dev", "--albLcu", "-1"])).to.throw(/at least 0/);
    });
});

describe("cost estimator: refreshing the price table from the Price List bulk files", () => {
    const offers = offerReader(path.join(__dirname, "fixtures", "offers"));

    it("takes each entry's on-demand price from the product of its usagetype, engine and family, ignoring look-alikes", async () => {
        const report = await refresh(TABLE, offers, "2026-12");
        const tokyo = report.table.regions["ap-northeast-1"];
        // The excerpt prices x86 vCPU at 0.0499 (the table has 0.05056): changed, and the source says where from.
        expect(tokyo["fargate.x86.vcpuHour"].usd).to.equal(0.0499);
        expect(tokyo["fargate.x86.vcpuHour"].source).to.equal("AWS Price List AmazonECS ap-northeast-1, published 2026-11-20T18:02:11Z");
        expect(report.changed).to.deep.include({ region: "ap-northeast-1", key: "fargate.x86.vcpuHour", from: 0.05056, to: 0.0499 });
        // Valkey, not Redis, not the extended-support surcharge, for the Valkey entry; the ALB, not Outposts or Classic.
        expect(tokyo["elasticache.valkey.cache.r7g.large"].usd).to.equal(0.2104);
        expect(tokyo["elasticache.redis.cache.r7g.large"].usd).to.equal(0.263);
        expect(tokyo["alb.hour"].usd).to.equal(0.0243);
        expect(report.table.date).to.equal("2026-12");
        // The table itself is not modified, and unmatched entries keep their figure and are listed.
        expect(TABLE.regions["ap-northeast-1"]["fargate.x86.vcpuHour"].usd).to.equal(0.05056);
        expect(tokyo["nat.hour"].usd).to.equal(TOKYO["nat.hour"].usd);
        expect(report.unmatched.some((u) => u.key === "nat.hour" && /no offer file AmazonEC2/.test(u.why))).to.equal(true);
        expect(report.unmatched.some((u) => u.key === "elasticache.valkey.cache.t4g.micro" && /derived/.test(u.why))).to.equal(true);
    });
});

describe("cost estimator: each stack against its target (list prices, ap-northeast-1, the stated assumptions)", () => {
    // The targets: dev always on with its NAT <= $250, dev with active hours <= $170, prd <= $1,400.
    it("dev <= $250/month, dev with weekday active hours <= $170/month, prd <= $1,400/month, nothing left unpriced", async () => {
        const dev = (await estimateStack("dev", {}, DEFAULT_ASSUMPTIONS, await stackRun("dev"))).estimate;
        const active = (await estimateStack("dev", DEV_ACTIVE_HOURS)).estimate;
        const prd = (await estimateStack("prd", {}, DEFAULT_ASSUMPTIONS, await stackRun("prd"))).estimate;
        expect(dev.total).to.be.at.most(250);
        expect(active.total).to.be.at.most(170);
        expect(prd.total).to.be.at.most(1400);
        for (const e of [dev, active, prd]) {
            expect(e.region).to.equal("ap-northeast-1");
            expect(e.unpriced).to.deep.equal([]);
        }
        // Active hours make the services cheaper, and the floor (ALB, NAT, cache) stays.
        expect(active.total).to.be.lessThan(dev.total);
        for (const what of [/^NAT gateways$/, /^Application Load Balancer$/, /^ElastiCache/]) {
            expect(line(active, what), String(what)).to.equal(line(dev, what));
        }
    });
});
