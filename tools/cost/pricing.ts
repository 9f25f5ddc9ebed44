/**
 * Prices what a stack registers: one line per item (what, how much, $/month), from the dated price table
 * (prices.json) and stated usage assumptions. It reads resources as the program registers them under the mocks, as a
 * real `pulumi preview --json` lists them, or as `pulumi stack export` holds them (see sources.ts): only types, inputs
 * and dependencies matter. Anything it cannot price is named, never counted as free.
 */
import * as fs from "fs";
import * as path from "path";
import { API_CONCURRENCY } from "../../components/difyCluster/apiConcurrency";
import { QUEUE_METRICS } from "../../components/difyCluster/queueMetrics";
import { activeDays, activeHoursPerWeek, ActiveHours } from "../../config/schedule";

/** A resource as the pricing sees it. Unknown values (a preview) may appear anywhere in inputs. */
export interface PricedResource {
    urn: string;
    type: string;
    name: string;
    inputs: Record<string, any>;
    /** URNs this resource depends on. */
    dependencies: string[];
}

export interface PriceEntry {
    usd: number;
    unit: string;
    source: string;
    offer?: string;
    usagetype?: string;
    productFamily?: string;
    cacheEngine?: string;
    derived?: boolean;
}

export interface PriceTable {
    date: string;
    currency: string;
    note?: string;
    regions: Record<string, Record<string, PriceEntry>>;
}

export const PRICE_TABLE_FILE = path.join(__dirname, "prices.json");

export function readPriceTable(file: string = PRICE_TABLE_FILE): PriceTable {
    return JSON.parse(fs.readFileSync(file, "utf8")) as PriceTable;
}

/**
 * What a stack is assumed to do in a month: a small team's dev or a modest production at low traffic. Every figure
 * is a flag of the CLI, and the defaults are printed with every estimate.
 */
export interface UsageAssumptions {
    /** Hours in a month (365 x 24 / 12). */
    hoursPerMonth: number;
    /** Fargate Spot's discount on the on-demand price (AWS: "up to 70 %"; the rate moves). */
    spotDiscount: number;
    /** Average ALB capacity units in use. */
    albLcu: number;
    /** GB through each NAT gateway (image pulls from Docker Hub, model provider calls, PyPI). */
    natGbPerGateway: number;
    /** Requests a month (WAF request charges). */
    requestsMillionsPerMonth: number;
    /** GB of application logs per running task-month. */
    logGbPerTaskMonth: number;
    /** GB of VPC flow logs a month when all traffic is logged; REJECT-only logs a tenth of it. */
    flowLogGbAll: number;
    /** GB a month delivered into each AWS service log group (WAF, the Aurora postgresql log, the cache's slow and engine logs). */
    serviceLogGbPerGroup: number;
    /** GB of ALB access logs kept in their bucket. */
    albAccessLogGb: number;
    /** GB of the files bucket's S3 server access logs kept in their bucket. */
    s3AccessLogGb: number;
    /** Aurora storage and I/O. */
    databaseGb: number;
    databaseIoMillions: number;
    /** Average ACUs above the configured minimum, per instance. */
    auroraAcuAboveMinimum: number;
    /** Files in the S3 bucket. */
    filesGb: number;
    /** GB stored on each EFS file system (the plugin daemon's working path, the agent sandbox's workspaces). */
    efsGb: number;
    /** GB read from and written to each elastic-throughput EFS file system a month (plugin installs and starts, agent shells). */
    efsReadGb: number;
    efsWriteGb: number;
    /** Images in the ECR pull-through cache. */
    ecrGb: number;
    /** Celery queues holding messages at any hour of the month (each then writes its own 2 custom metrics). */
    backloggedQueues: number;
    /** Data out to the internet (responses to users). */
    dataOutGb: number;
}

export const DEFAULT_ASSUMPTIONS: UsageAssumptions = {
    hoursPerMonth: 730,
    spotDiscount: 0.65,
    albLcu: 1,
    natGbPerGateway: 20,
    requestsMillionsPerMonth: 1,
    logGbPerTaskMonth: 0.5,
    flowLogGbAll: 10,
    serviceLogGbPerGroup: 0.5,
    albAccessLogGb: 5,
    s3AccessLogGb: 2,
    databaseGb: 10,
    databaseIoMillions: 10,
    auroraAcuAboveMinimum: 0,
    filesGb: 20,
    efsGb: 3,
    efsReadGb: 30,
    efsWriteGb: 10,
    ecrGb: 5,
    // A queue normally drains within the minute the sidecar samples it; each queue that holds messages all month adds
    // its 2 metrics ($0.60 a month at list price).
    backloggedQueues: 0,
    dataOutGb: 20,
};

/** What each assumption means, for the printed list and the README. */
export const ASSUMPTION_TEXT: Record<keyof UsageAssumptions, string> = {
    hoursPerMonth: "hours in a month",
    spotDiscount: "Fargate Spot discount on on-demand (AWS: up to 70 %; the rate moves)",
    albLcu: "ALB capacity units in use on average",
    natGbPerGateway: "GB processed per NAT gateway a month",
    requestsMillionsPerMonth: "million requests a month (WAF)",
    logGbPerTaskMonth: "GB of application logs per running task-month",
    flowLogGbAll: "GB of VPC flow logs a month with traffic type ALL (REJECT only: a tenth)",
    serviceLogGbPerGroup: "GB a month into each AWS service log group (WAF, Aurora, cache)",
    albAccessLogGb: "GB of ALB access logs kept in their bucket",
    s3AccessLogGb: "GB of the files bucket's server access logs kept in their bucket",
    databaseGb: "GB of Aurora storage",
    databaseIoMillions: "million Aurora I/O requests a month",
    auroraAcuAboveMinimum: "ACUs above the minimum on average, per Aurora instance",
    filesGb: "GB in the files bucket",
    efsGb: "GB stored on each EFS file system",
    efsReadGb: "GB read a month from each elastic-throughput EFS file system",
    efsWriteGb: "GB written a month to each elastic-throughput EFS file system",
    ecrGb: "GB of images in the ECR pull-through cache",
    backloggedQueues: "Celery queues holding messages at any hour (each writes 2 custom metrics while it does)",
    dataOutGb: "GB out to the internet a month",
};

export interface CostLine {
    what: string;
    quantity: string;
    monthly: number;
}

export interface Unpriced {
    type: string;
    name: string;
    why: string;
}

export interface Estimate {
    region: string;
    lines: CostLine[];
    total: number;
    unpriced: Unpriced[];
    assumptions: UsageAssumptions;
    priceDate: string;
    /** Hours a month the services run (active hours), when the stack sleeps. */
    activeHoursPerMonth?: number;
}

/** Resource types that cost nothing by themselves (or whose cost is priced on another resource, as noted). */
export const FREE_TYPES: Record<string, string> = {
    "aws:ec2/securityGroup:SecurityGroup": "no charge",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "no charge",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "no charge",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "no charge",
    "aws:ec2/flowLog:FlowLog": "priced as the logs it delivers",
    "aws:ec2/vpc:Vpc": "no charge",
    "aws:ec2/subnet:Subnet": "no charge",
    "aws:ec2/routeTable:RouteTable": "no charge",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "no charge",
    "aws:ec2/route:Route": "no charge",
    "aws:ec2/internetGateway:InternetGateway": "no charge",
    "aws:ec2/eip:Eip": "priced as the NAT gateway's public IPv4 address",
    "aws:iam/role:Role": "no charge",
    "aws:iam/rolePolicy:RolePolicy": "no charge",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "no charge",
    "aws:kms/alias:Alias": "no charge",
    "aws:rds/cluster:Cluster": "priced as its instances, storage and I/O",
    "aws:rds/subnetGroup:SubnetGroup": "no charge",
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": "no charge",
    "aws:elasticache/subnetGroup:SubnetGroup": "no charge",
    "aws:elasticache/parameterGroup:ParameterGroup": "no charge",
    "aws:secretsmanager/secretVersion:SecretVersion": "priced with its secret",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "no charge",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "no charge",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": "no charge",
    "aws:s3/bucketVersioning:BucketVersioning": "no charge (versions are storage)",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "no charge",
    "aws:s3/bucketPolicy:BucketPolicy": "no charge",
    "aws:lb/targetGroup:TargetGroup": "priced with the load balancer",
    "aws:lb/listener:Listener": "priced with the load balancer",
    "aws:lb/listenerRule:ListenerRule": "priced with the load balancer",
    "aws:acm/certificate:Certificate": "public certificates are free",
    "aws:acm/certificateValidation:CertificateValidation": "no charge",
    "aws:route53/record:Record": "alias queries to the ALB are free; the user's hosted zone is not this stack's",
    "aws:wafv2/ipSet:IpSet": "no charge (the rule that uses it is priced)",
    "aws:wafv2/webAclAssociation:WebAclAssociation": "priced with the web ACL",
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": "priced as the logs it delivers",
    "aws:ecs/cluster:Cluster": "no charge (Container Insights is priced apart)",
    "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": "no charge",
    "aws:ecs/taskDefinition:TaskDefinition": "priced as the tasks its service runs",
    "aws:servicediscovery/httpNamespace:HttpNamespace": "no charge for Service Connect beyond the proxy's share of the task",
    "aws:appautoscaling/target:Target": "no charge",
    "aws:appautoscaling/scheduledAction:ScheduledAction": "no charge",
    "aws:sns/topic:Topic": "alarm notifications are within SNS's free tier",
    "aws:sns/topicPolicy:TopicPolicy": "no charge",
    "aws:sns/topicSubscription:TopicSubscription": "email notifications within the free tier",
    "aws:cloudwatch/eventRule:EventRule": "AWS service events on the default bus are free",
    "aws:cloudwatch/eventTarget:EventTarget": "no charge",
    "aws:ecr/pullThroughCacheRule:PullThroughCacheRule": "priced as the cached images' storage",
    "aws:efs/mountTarget:MountTarget": "no charge",
    "aws:efs/accessPoint:AccessPoint": "no charge",
    "aws:efs/backupPolicy:BackupPolicy": "EFS automatic backups: priced as the BackupPlan's recovery points when the stack has a plan, else off or a few GB",
    "aws:backup/vault:Vault": "no charge (its recovery points are priced with the plan)",
    "aws:backup/vaultLockConfiguration:VaultLockConfiguration": "no charge",
    "aws:backup/selection:Selection": "priced with the plan",
    "aws:s3/bucketLogging:BucketLogging": "log delivery is free; the logs are priced as their bucket's storage",
    "aws:efs/fileSystemPolicy:FileSystemPolicy": "no charge",
    "random:index/randomPassword:RandomPassword": "not an AWS resource",
    "random:index/randomId:RandomId": "not an AWS resource",
    "pulumi-nodejs:dynamic:Resource": "the migration task, priced as the minutes it runs",
    "pulumi-nodejs:dynamic/rollout:RolloutCheck": "reads ECS deployments during `up`; no AWS resource",
    "pulumi-nodejs:dynamic/data:DataGuardRecord": "a record in the stack's state; no AWS resource",
    "dify-aws:data:DataGuard": "a component; its record costs nothing",
    "pulumi:providers:aws": "not an AWS resource",
    "pulumi:providers:random": "not an AWS resource",
    "pulumi:providers:pulumi-nodejs": "not an AWS resource",
    "pulumi:pulumi:Stack": "not an AWS resource",
};

/** A number from an input that may be a number, a numeric string (task CPU and memory), or unknown during a preview. */
const knownNumber = (v: unknown): number | undefined => (typeof v === "number" ? v : typeof v === "string" && /^\d+(\.\d+)?$/.test(v) ? Number(v) : undefined);

const money = (n: number) => Math.round(n * 100) / 100;

/** The weekly active hours and days a start and a stop schedule describe (`cron(M H ? * DAYS *)`), or undefined. */
export function activeHoursFromSchedules(start: string, stop: string): { hoursPerWeek: number; daysPerWeek: number } | undefined {
    const parse = (s: string) => /^cron\((\d+) (\d+) \? \* ([A-Z,-]+) \*\)$/.exec(s);
    const a = parse(start);
    const b = parse(stop);
    if (!a || !b || a[3] !== b[3]) {
        return undefined;
    }
    const hours: ActiveHours = {
        timezone: "UTC",
        weekdays: a[3],
        start: { hour: Number(a[2]), minute: Number(a[1]) },
        stop: { hour: Number(b[2]), minute: Number(b[1]) },
    };
    return { hoursPerWeek: activeHoursPerWeek(hours), daysPerWeek: activeDays(hours.weekdays).length };
}

/** Weeks in a month on average. */
const WEEKS_PER_MONTH = 52.1775 / 12;

export class Pricer {
    readonly lines: CostLine[] = [];
    readonly unpriced: Unpriced[] = [];
    private readonly byUrn: Map<string, PricedResource>;
    private readonly priced = new Set<string>();

    constructor(
        private readonly resources: PricedResource[],
        private readonly prices: Record<string, PriceEntry>,
        private readonly region: string,
        readonly assumptions: UsageAssumptions,
    ) {
        this.byUrn = new Map(resources.map((r) => [r.urn, r]));
    }

    private price(key: string, what: string): number | undefined {
        const p = this.prices[key];
        if (p === undefined) {
            this.unpriced.push({ type: "(price table)", name: key, why: `no price for ${what} in ${this.region} in prices.json` });
        }
        return p?.usd;
    }

    private add(what: string, quantity: string, monthly: number | undefined): void {
        if (monthly !== undefined) {
            this.lines.push({ what, quantity, monthly: money(monthly) });
        }
    }

    private ofType(type: string): PricedResource[] {
        return this.resources.filter((r) => r.type === type);
    }

    private mark(...rs: PricedResource[]): void {
        rs.forEach((r) => this.priced.add(r.urn));
    }

    /** The resources of a type that `r` depends on directly. */
    private dependenciesOfType(r: PricedResource, type: string): PricedResource[] {
        return r.dependencies.map((u) => this.byUrn.get(u)).filter((d): d is PricedResource => d !== undefined && d.type === type);
    }

    /** The resources of a type that depend on `r` directly. */
    private dependentsOfType(r: PricedResource, type: string): PricedResource[] {
        return this.resources.filter((x) => x.type === type && x.dependencies.includes(r.urn));
    }

    /** Availability zones of the stack's VPC (for per-AZ charges), from the awsx VPC or its subnets. */
    private azCount(): number {
        const vpc = this.ofType("awsx:ec2:Vpc")[0];
        const n = knownNumber(vpc?.inputs.numberOfAvailabilityZones);
        if (n !== undefined) {
            return n;
        }
        const alb = this.ofType("aws:lb/loadBalancer:LoadBalancer")[0];
        return Array.isArray(alb?.inputs.subnets) ? alb.inputs.subnets.length : 2;
    }

    /** Hours a month the services run, whether that is less than all of them, and how often they stop. */
    private serviceHours(): { hours: number; sleeps: boolean; stopsPerMonth: number } {
        const a = this.assumptions;
        const schedules = this.ofType("aws:appautoscaling/scheduledAction:ScheduledAction");
        this.mark(...schedules);
        const stop = schedules.find((s) => s.inputs.scalableTargetAction?.maxCapacity === 0);
        const start = schedules.find((s) => (s.inputs.scalableTargetAction?.maxCapacity ?? 0) > 0);
        const active = stop && start ? activeHoursFromSchedules(start.inputs.schedule, stop.inputs.schedule) : undefined;
        if (active === undefined) {
            return { hours: a.hoursPerMonth, sleeps: false, stopsPerMonth: 0 };
        }
        return { hours: Math.min(a.hoursPerMonth, active.hoursPerWeek * WEEKS_PER_MONTH), sleeps: true, stopsPerMonth: active.daysPerWeek * WEEKS_PER_MONTH };
    }

    run(): Estimate {
        const a = this.assumptions;
        const hours = this.serviceHours();
        this.fargate(hours.hours);
        this.network();
        this.loadBalancer();
        this.database(hours);
        this.cache();
        this.observability(hours.hours);
        this.security();
        this.storage();
        for (const r of this.resources) {
            if (this.priced.has(r.urn) || r.type in FREE_TYPES || r.type.startsWith("dify-aws:") || r.type.startsWith("pulumi:")) {
                continue;
            }
            if (r.type === "awsx:ec2:Vpc") {
                continue; // priced as its NAT gateways (network)
            }
            this.unpriced.push({ type: r.type, name: r.name, why: "the estimator has no price for this resource type" });
        }
        const total = money(this.lines.reduce((s, l) => s + l.monthly, 0));
        return {
            region: this.region,
            lines: this.lines,
            total,
            unpriced: this.unpriced,
            assumptions: a,
            priceDate: "",
            activeHoursPerMonth: hours.sleeps ? Math.round(hours.hours) : undefined,
        };
    }

    /** Tasks at their autoscaling minimum (the low-traffic assumption), split over FARGATE and FARGATE_SPOT. */
    private fargate(hours: number): void {
        const a = this.assumptions;
        const totals = new Map<string, { vcpu: number; gb: number; tasks: number }>();
        for (const svc of this.ofType("aws:ecs/service:Service")) {
            const td = this.dependenciesOfType(svc, "aws:ecs/taskDefinition:TaskDefinition")[0];
            const target = this.dependentsOfType(svc, "aws:appautoscaling/target:Target")[0];
            const tasks = knownNumber(target?.inputs.minCapacity) ?? knownNumber(svc.inputs.desiredCount);
            const vcpu = knownNumber(td?.inputs.cpu);
            const mib = knownNumber(td?.inputs.memory);
            if (!td || tasks === undefined || vcpu === undefined || mib === undefined) {
                this.unpriced.push({ type: svc.type, name: svc.name, why: "its task definition, size or task count is not known" });
                continue;
            }
            this.mark(svc, td);
            const arch = td.inputs.runtimePlatform?.cpuArchitecture === "ARM64" ? "arm" : "x86";
            const strategy: { capacityProvider: string; base?: number; weight?: number }[] = Array.isArray(svc.inputs.capacityProviderStrategies)
                ? svc.inputs.capacityProviderStrategies
                : [{ capacityProvider: "FARGATE", base: 0, weight: 1 }];
            const onDemandBase = Math.min(tasks, strategy.find((s) => s.capacityProvider === "FARGATE")?.base ?? 0);
            const wOd = strategy.find((s) => s.capacityProvider === "FARGATE")?.weight ?? 0;
            const wSpot = strategy.find((s) => s.capacityProvider === "FARGATE_SPOT")?.weight ?? 0;
            const rest = tasks - onDemandBase;
            const spotTasks = wOd + wSpot > 0 ? (rest * wSpot) / (wOd + wSpot) : 0;
            for (const [kind, n] of [["on-demand", tasks - spotTasks], ["Spot", spotTasks]] as const) {
                if (n <= 0) {
                    continue;
                }
                const key = `${arch} ${kind}`;
                const t = totals.get(key) ?? { vcpu: 0, gb: 0, tasks: 0 };
                t.vcpu += (n * vcpu) / 1024;
                t.gb += (n * mib) / 1024;
                t.tasks += n;
                totals.set(key, t);
            }
        }
        for (const [key, t] of [...totals].sort()) {
            const [arch, kind] = key.split(" ");
            const factor = kind === "Spot" ? 1 - a.spotDiscount : 1;
            const v = this.price(`fargate.${arch}.vcpuHour`, `Fargate ${arch} vCPU`);
            const g = this.price(`fargate.${arch}.gbHour`, `Fargate ${arch} memory`);
            if (v === undefined || g === undefined) {
                continue;
            }
            const label = arch === "arm" ? "ARM64" : "X86_64";
            this.add(`Fargate ${label} ${kind}: vCPU`, `${round(t.vcpu)} vCPU x ${Math.round(hours)} h`, t.vcpu * hours * v * factor);
            this.add(`Fargate ${label} ${kind}: memory`, `${round(t.gb)} GB x ${Math.round(hours)} h`, t.gb * hours * g * factor);
        }
        // The migration tasks (Dify's, the plugin daemon's): one Fargate task for minutes per upgrade (two a month
        // assumed, ten minutes each), each on the task definition its gate runs.
        const migrationDefs = this.ofType("aws:ecs/taskDefinition:TaskDefinition").filter((t) => String(t.inputs.family).endsWith("-migration"));
        for (const gate of this.resources.filter((r) => r.type.endsWith(":MigrationGate"))) {
            // A gate and its task definition share their suffix (`-migration`, `-plugin-daemon-migration`).
            const daemon = gate.name.endsWith("-plugin-daemon-migration");
            const td = migrationDefs.find((t) => String(t.inputs.family).endsWith("-plugin-daemon-migration") === daemon);
            this.mark(gate);
            if (!td) {
                continue;
            }
            this.mark(td);
            const v = this.price("fargate.x86.vcpuHour", "Fargate vCPU") ?? 0;
            const g = this.price("fargate.x86.gbHour", "Fargate memory") ?? 0;
            const taskHours = (2 * 10) / 60;
            this.add(`Migration task ${td.inputs.family} (2 upgrades x 10 min)`, `${round(taskHours)} task-hours`, taskHours * ((knownNumber(td.inputs.cpu) ?? 1024) / 1024 * v + (knownNumber(td.inputs.memory) ?? 2048) / 1024 * g));
        }
        // Pre-migration snapshots: Aurora charges no backup storage for manual snapshots inside the backup retention
        // period, nor for backup storage up to the cluster volume's size (Aurora user guide, "Understanding Amazon
        // Aurora backup storage usage"); a few kept longer on a small database stay inside that allowance.
        this.mark(...this.resources.filter((r) => r.type.endsWith(":PreMigrationSnapshot")));
    }

    private network(): void {
        const a = this.assumptions;
        const h = a.hoursPerMonth;
        const natGateways = this.ofType("aws:ec2/natGateway:NatGateway");
        let nats = natGateways.length;
        this.mark(...natGateways);
        const vpc = this.ofType("awsx:ec2:Vpc")[0];
        if (nats === 0 && vpc) {
            // Under the mocks awsx's children are not registered: count them from its inputs.
            const strategy = vpc.inputs.natGateways?.strategy;
            nats = strategy === "OnePerAz" ? this.azCount() : strategy === "Single" ? 1 : 0;
        }
        if (nats > 0) {
            const hour = this.price("nat.hour", "NAT gateway hours");
            const gb = this.price("nat.gb", "NAT gateway data");
            const ip = this.price("ipv4.hour", "public IPv4");
            this.add("NAT gateways", `${nats} x ${h} h`, hour === undefined ? undefined : nats * h * hour);
            this.add("NAT gateways: public IPv4 addresses", `${nats} x ${h} h`, ip === undefined ? undefined : nats * h * ip);
            this.add("NAT gateways: data processed", `${nats} x ${a.natGbPerGateway} GB`, gb === undefined ? undefined : nats * a.natGbPerGateway * gb);
        }
        const interfaces = this.ofType("aws:ec2/vpcEndpoint:VpcEndpoint").filter((e) => e.inputs.vpcEndpointType === "Interface");
        const gateways = this.ofType("aws:ec2/vpcEndpoint:VpcEndpoint").filter((e) => e.inputs.vpcEndpointType !== "Interface");
        this.mark(...gateways);
        if (interfaces.length > 0) {
            this.mark(...interfaces);
            const azs = interfaces.map((e) => (Array.isArray(e.inputs.subnetIds) ? e.inputs.subnetIds.length : this.azCount()));
            const azHours = azs.reduce((s, n) => s + n, 0) * h;
            const price = this.price("endpoint.azHour", "interface endpoint hours");
            const names = interfaces.map((e) => String(e.inputs.serviceName).split(".").slice(3).join(".") || e.name).sort();
            this.add(`Interface endpoints (${names.join(", ")})`, `${interfaces.length} x ${azs[0]} AZ x ${h} h`, price === undefined ? undefined : azHours * price);
        }
    }

    private loadBalancer(): void {
        const a = this.assumptions;
        const h = a.hoursPerMonth;
        for (const lb of this.ofType("aws:lb/loadBalancer:LoadBalancer")) {
            this.mark(lb);
            const hour = this.price("alb.hour", "ALB hours");
            const lcu = this.price("alb.lcuHour", "ALB LCU");
            this.add("Application Load Balancer", `1 x ${h} h`, hour === undefined ? undefined : h * hour);
            this.add("ALB capacity units", `${a.albLcu} LCU x ${h} h`, lcu === undefined ? undefined : a.albLcu * h * lcu);
            if (lb.inputs.internal !== true) {
                // An internet-facing ALB has a public IPv4 address in each of its subnets.
                const ips = Array.isArray(lb.inputs.subnets) ? lb.inputs.subnets.length : this.azCount();
                const ip = this.price("ipv4.hour", "public IPv4");
                this.add("ALB public IPv4 addresses", `${ips} x ${h} h`, ip === undefined ? undefined : ips * h * ip);
            }
        }
        for (const acl of this.ofType("aws:wafv2/webAcl:WebAcl")) {
            this.mark(acl);
            const rules = Array.isArray(acl.inputs.rules) ? acl.inputs.rules.length : 0;
            const price = (this.price("waf.acl.month", "WAF web ACL") ?? 0) + rules * (this.price("waf.rule.month", "WAF rules") ?? 0);
            this.add("WAF web ACL and rules", `1 ACL, ${rules} rules`, price);
            this.add("WAF requests", `${a.requestsMillionsPerMonth} million`, a.requestsMillionsPerMonth * (this.price("waf.requests.million", "WAF requests") ?? 0));
        }
        if (this.ofType("aws:lb/loadBalancer:LoadBalancer").length > 0) {
            this.add("Data out to the internet", `${a.dataOutGb} GB`, a.dataOutGb * (this.price("dataTransfer.out.gb", "data transfer out") ?? 0));
        }
    }

    private database(hours: { hours: number; sleeps: boolean; stopsPerMonth: number }): void {
        const a = this.assumptions;
        const cluster = this.ofType("aws:rds/cluster:Cluster")[0];
        const instances = this.ofType("aws:rds/clusterInstance:ClusterInstance");
        if (!cluster) {
            return;
        }
        this.mark(cluster, ...instances);
        const scaling = cluster.inputs.serverlessv2ScalingConfiguration;
        for (const instance of instances) {
            const cls = instance.inputs.instanceClass;
            if (cls === "db.serverless") {
                const min = knownNumber(scaling?.minCapacity) ?? 0.5;
                // A minimum of 0 pauses an idle instance; awake (while the services run, and the seconds before it
                // pauses after they stop) it runs at no less than 0.5 ACU.
                const pauseDelayHours = (knownNumber(scaling?.secondsUntilAutoPause) ?? 300) / 3600;
                const awakeHours = min === 0 && hours.sleeps ? hours.hours + pauseDelayHours * hours.stopsPerMonth : a.hoursPerMonth;
                const acu = Math.max(min, 0.5) + a.auroraAcuAboveMinimum;
                const price = this.price("aurora.serverlessV2.acuHour", "Aurora Serverless v2 ACUs");
                this.add(`Aurora Serverless v2 ${instance.inputs.identifier ?? instance.name}`, `${acu} ACU x ${Math.round(awakeHours)} h`, price === undefined ? undefined : acu * awakeHours * price);
            } else {
                const price = this.price(`aurora.instance.${cls}`, `Aurora ${cls}`);
                if (price === undefined) {
                    this.unpriced.push({ type: instance.type, name: instance.name, why: `no price for ${cls} in ${this.region}` });
                    continue;
                }
                this.add(`Aurora ${cls} ${instance.inputs.identifier ?? instance.name}`, `1 x ${a.hoursPerMonth} h`, a.hoursPerMonth * price);
            }
        }
        this.add("Aurora storage", `${a.databaseGb} GB`, a.databaseGb * (this.price("aurora.storage.gbMonth", "Aurora storage") ?? 0));
        this.add("Aurora I/O", `${a.databaseIoMillions} million`, a.databaseIoMillions * (this.price("aurora.io.million", "Aurora I/O") ?? 0));
    }

    private cache(): void {
        const h = this.assumptions.hoursPerMonth;
        for (const group of this.ofType("aws:elasticache/replicationGroup:ReplicationGroup")) {
            this.mark(group);
            const nodes = knownNumber(group.inputs.numCacheClusters) ?? 1;
            const engine = group.inputs.engine === "valkey" ? "valkey" : "redis";
            const price = this.price(`elasticache.${engine}.${group.inputs.nodeType}`, `ElastiCache ${engine} ${group.inputs.nodeType}`);
            if (price === undefined) {
                this.unpriced.push({ type: group.type, name: group.name, why: `no price for ${engine} ${group.inputs.nodeType} in ${this.region}` });
                continue;
            }
            this.add(`ElastiCache ${engine} ${group.inputs.nodeType}`, `${nodes} node(s) x ${h} h`, nodes * h * price);
        }
    }

    private observability(serviceHours: number): void {
        const a = this.assumptions;
        const h = a.hoursPerMonth;
        // Application logs, by the task-hours the services run.
        const taskHours = this.ofType("aws:ecs/service:Service").reduce((s, svc) => {
            const target = this.dependentsOfType(svc, "aws:appautoscaling/target:Target")[0];
            return s + (knownNumber(target?.inputs.minCapacity) ?? knownNumber(svc.inputs.desiredCount) ?? 0) * serviceHours;
        }, 0);
        const appLogGb = (taskHours / h) * a.logGbPerTaskMonth;
        const ingest = this.price("logs.ingest.gb", "log ingestion") ?? 0;
        const vended = this.price("logs.vended.gb", "vended log ingestion") ?? 0;
        const stored = this.price("logs.storage.gbMonth", "log storage") ?? 0;
        const groups = this.ofType("aws:cloudwatch/logGroup:LogGroup");
        this.mark(...groups);
        const ecsGroup = groups.find((g) => String(g.inputs.name).startsWith("/ecs/"));
        const retentionMonths = Math.min(12, (knownNumber(ecsGroup?.inputs.retentionInDays) ?? 30) / 30.4);
        this.add("CloudWatch Logs: task logs", `${round(appLogGb)} GB`, appLogGb * ingest);
        const flow = this.ofType("aws:ec2/flowLog:FlowLog")[0];
        const flowGb = flow ? (flow.inputs.trafficType === "REJECT" ? a.flowLogGbAll / 10 : a.flowLogGbAll) : 0;
        if (flow) {
            this.add(`CloudWatch Logs: VPC flow logs (${flow.inputs.trafficType ?? "ALL"})`, `${round(flowGb)} GB`, flowGb * vended);
        }
        // What AWS services deliver into their own log groups (vended logs): WAF, the Aurora postgresql export, the
        // cache's slow and engine logs. The task groups (/ecs/) and the flow log's are counted above.
        const flowGroup = flow ? String(flow.inputs.logDestination ?? "") : "";
        const serviceGroups = groups.filter((g) => !String(g.inputs.name).startsWith("/ecs/") && !flowGroup.endsWith(`:log-group:${g.inputs.name}`));
        const serviceGb = serviceGroups.length * a.serviceLogGbPerGroup;
        if (serviceGroups.length > 0) {
            this.add("CloudWatch Logs: AWS service logs (WAF, database, cache)", `${serviceGroups.length} groups x ${a.serviceLogGbPerGroup} GB`, serviceGb * vended);
        }
        const storedGb = appLogGb + flowGb + serviceGb;
        this.add("CloudWatch Logs: storage (held for the retention)", `${round(storedGb * retentionMonths)} GB`, storedGb * retentionMonths * stored);

        const alarms = this.ofType("aws:cloudwatch/metricAlarm:MetricAlarm");
        this.mark(...alarms);
        const alarmMetrics = alarms.reduce((s, al) => s + (al.inputs.metricName ? 1 : (al.inputs.metricQueries ?? []).filter((q: { metric?: unknown }) => q.metric).length), 0);
        this.add("CloudWatch alarms", `${alarms.length} alarms, ${alarmMetrics} metrics`, alarmMetrics * (this.price("cw.alarmMetric.month", "alarm metrics") ?? 0));
        // Application Auto Scaling creates a scale-out and a scale-in alarm for each target-tracking policy, billed as
        // any standard alarm of one metric.
        const policies = this.ofType("aws:appautoscaling/policy:Policy");
        this.mark(...policies);
        const tracking = policies.filter((p) => p.inputs.policyType === "TargetTrackingScaling").length;
        if (tracking > 0) {
            this.add("CloudWatch alarms of target-tracking scaling", `${tracking} policies x 2 alarms`, 2 * tracking * (this.price("cw.alarmMetric.month", "alarm metrics") ?? 0));
        }
        const dashboards = this.ofType("aws:cloudwatch/dashboard:Dashboard");
        this.mark(...dashboards);
        this.add("CloudWatch dashboard", `${dashboards.length}`, dashboards.length * (this.price("cw.dashboard.month", "dashboards") ?? 0));

        // The sidecars' CloudWatch embedded-metric-format lines are custom metrics: the queue totals (depth and
        // oldest wait) and each backlogged queue's pair from beat's queue-metrics, the api's connections in flight.
        const containers = this.ofType("aws:ecs/taskDefinition:TaskDefinition").flatMap((td) => {
            try {
                return (JSON.parse(String(td.inputs.containerDefinitions)) as { name: string }[]).map((c) => c.name);
            } catch {
                return [];
            }
        });
        const emf = (containers.includes(QUEUE_METRICS.container) ? 2 + 2 * this.assumptions.backloggedQueues : 0) + (containers.includes(API_CONCURRENCY.container) ? 1 : 0);
        if (emf > 0) {
            this.add("CloudWatch custom metrics from the sidecars (queues, api connections)", `${emf} metrics`, emf * (this.price("cw.metric.month", "custom metrics") ?? 0));
        }

        const cluster = this.ofType("aws:ecs/cluster:Cluster")[0];
        const insights = (cluster?.inputs.settings ?? []).find((s: { name: string }) => s.name === "containerInsights")?.value;
        if (insights === "enabled") {
            // Container Insights for ECS publishes, per cluster, service and task definition family, the metrics of
            // its ECS table (CloudWatch user guide, "Amazon ECS Container Insights metrics"), billed as custom
            // metrics: 12 per cluster, 15 per service, 10 per family.
            const services = this.ofType("aws:ecs/service:Service").length;
            const families = this.ofType("aws:ecs/taskDefinition:TaskDefinition").length;
            const metrics = 12 + 15 * services + 10 * families;
            this.add("Container Insights (custom metrics)", `${metrics} metrics`, metrics * (this.price("cw.metric.month", "custom metrics") ?? 0));
        } else if (insights === "enhanced") {
            this.unpriced.push({ type: cluster.type, name: cluster.name, why: "Container Insights with enhanced observability is billed per observation, which the price table does not hold" });
        }
    }

    private security(): void {
        const keys = this.ofType("aws:kms/key:Key");
        this.mark(...keys);
        if (keys.length > 0) {
            this.add("KMS customer-managed keys", `${keys.length}`, keys.length * (this.price("kms.key.month", "KMS keys") ?? 0));
        }
        const secrets = this.ofType("aws:secretsmanager/secret:Secret");
        this.mark(...secrets);
        this.add("Secrets Manager secrets", `${secrets.length}`, secrets.length * (this.price("secrets.secret.month", "secrets") ?? 0));
    }

    /**
     * AWS Backup: one full copy of each backed-up store, since daily recovery points after the first are incremental
     * (AWS Backup pricing: "for each incremental backup, only the changed part ... is saved"); S3 and EFS recovery
     * points are billed as AWS Backup storage, Aurora's as Aurora backup storage. Copies to another vault are billed
     * to the vault's region or account and are not included.
     */
    private backups(): void {
        const a = this.assumptions;
        const plans = this.ofType("aws:backup/plan:Plan");
        this.mark(...plans);
        if (plans.length === 0) {
            return;
        }
        const efs = this.ofType("aws:efs/fileSystem:FileSystem").length;
        const warm = this.price("backup.warm.gbMonth", "AWS Backup storage") ?? 0;
        this.add("AWS Backup: files bucket and EFS recovery points", `${a.filesGb} GB + ${efs} x ${a.efsGb} GB`, (a.filesGb + efs * a.efsGb) * warm);
        this.add("AWS Backup: Aurora snapshots", `${a.databaseGb} GB`, a.databaseGb * (this.price("aurora.backup.gbMonth", "Aurora backup storage") ?? 0));
        if (plans.some((p) => (p.inputs.rules ?? []).some((r: { copyActions?: unknown[] }) => (r.copyActions ?? []).length > 0))) {
            this.add("AWS Backup: copies in backupCopyVaultArn's vault (billed there, with cross-region transfer)", "not estimated", undefined);
        }
    }

    private storage(): void {
        const a = this.assumptions;
        const buckets = this.ofType("aws:s3/bucket:Bucket");
        this.mark(...buckets);
        const s3 = this.price("s3.storage.gbMonth", "S3 storage") ?? 0;
        // A bucket a load balancer or S3 delivers its access logs to holds logs, the others Dify's files.
        const logBuckets = new Set(
            [...this.ofType("aws:lb/loadBalancer:LoadBalancer").map((lb) => lb.inputs.accessLogs?.bucket), ...this.ofType("aws:s3/bucketLogging:BucketLogging").map((l) => l.inputs.targetBucket)].filter((b) => typeof b === "string"),
        );
        const fileBuckets = buckets.filter((b) => !logBuckets.has(b.inputs.bucket));
        if (fileBuckets.length > 0) {
            this.add("S3: files and plugin packages", `${a.filesGb} GB`, a.filesGb * s3);
        }
        if (buckets.length > fileBuckets.length) {
            this.add("S3: ALB access logs", `${a.albAccessLogGb} GB`, a.albAccessLogGb * s3);
        }
        if (this.ofType("aws:s3/bucketLogging:BucketLogging").length > 0) {
            this.add("S3: server access logs of the files bucket", `${a.s3AccessLogGb} GB`, a.s3AccessLogGb * s3);
        }
        this.backups();
        // Each file system is billed for what it stores and, in elastic throughput mode, for every GB transferred
        // (bursting and provisioned modes bill no transfer: the baseline comes with the storage).
        for (const fs of this.ofType("aws:efs/fileSystem:FileSystem")) {
            this.mark(fs);
            const label = `EFS: ${fs.inputs.tags?.Name ?? fs.name}`;
            this.add(label, `${a.efsGb} GB`, a.efsGb * (this.price("efs.storage.gbMonth", "EFS storage") ?? 0));
            if (fs.inputs.throughputMode === "elastic") {
                const transfer = a.efsReadGb * (this.price("efs.elastic.readGb", "EFS elastic reads") ?? 0) + a.efsWriteGb * (this.price("efs.elastic.writeGb", "EFS elastic writes") ?? 0);
                this.add(`${label}: elastic throughput`, `${a.efsReadGb} GB read, ${a.efsWriteGb} GB written`, transfer);
            }
        }
        if (this.ofType("aws:ecr/pullThroughCacheRule:PullThroughCacheRule").length > 0) {
            this.add("ECR: pull-through cache images", `${a.ecrGb} GB`, a.ecrGb * (this.price("ecr.storage.gbMonth", "ECR storage") ?? 0));
        }
    }
}

function round(n: number): number {
    return Math.round(n * 100) / 100;
}

/** Prices the resources in a region with the table and assumptions. */
export function estimate(resources: PricedResource[], region: string, table: PriceTable = readPriceTable(), assumptions: UsageAssumptions = DEFAULT_ASSUMPTIONS): Estimate {
    const prices = table.regions[region];
    if (!prices) {
        throw new Error(`prices.json has no prices for ${region} (it has ${Object.keys(table.regions).join(", ")})`);
    }
    const result = new Pricer(resources, prices, region, assumptions).run();
    return { ...result, priceDate: table.date };
}
