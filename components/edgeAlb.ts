import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { EdgeSettings, WafSettings } from "../config/edge";
import { parseCidr } from "../config/cidr";
import { awsContext, AwsContext } from "./awsContext";
import { tlsOnlyStatements } from "./bucketTls";
import type { EdgeAttachment } from "./contracts";
import { logGroup, LogGroupSettings } from "./logGroup";
import { after } from "./ordering";

export interface EdgeAlbArgs {
    /** The VPC of the load balancer and its target groups. */
    vpcId: pulumi.Input<string>;
    /** Subnets of the load balancer, one per AZ (at least two): the public ones, or the private ones when `edge.internal`. */
    subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** The validated edge settings: allow-list, TLS or HTTP-only, DNS zone, idle timeout, WAF (see config/edge.ts). */
    edge: EdgeSettings;
    /** Deletion protection on the ALB; when false the access-log bucket may be destroyed with its objects. */
    deletionProtection: boolean;
    /** Retention (days, also the access-log expiry) and optional KMS key of the WAF log group. */
    logs: LogGroupSettings;
    /** Physical-name prefix, e.g. `dify-prd` (at most 17 characters, so every derived name fits AWS's 32). */
    namePrefix: string;
}

/** One Dify role behind the ALB. */
interface TargetSpec {
    /** Short role name used in physical names. */
    short: string;
    port: number;
    healthPath: string;
    matcher: string;
    deregistrationDelay: number;
    algorithm: "round_robin" | "least_outstanding_requests";
}

type Role = "web" | "api" | "pluginDaemon";

/** Dify's api prefixes (nginx default.conf.template; /openapi since 1.17). Each is routed as the exact path and `<prefix>/*`. */
export const API_PATH_PREFIXES = ["/console/api", "/api", "/v1", "/files", "/mcp", "/triggers", "/openapi"];
/** Plugin endpoints (`/e/<hook id>/...`) are served by the plugin daemon. Only `/e/` is public: never the daemon's other paths. */
export const PLUGIN_DAEMON_PATHS = ["/e/*"];
/** ALB quota: a path-pattern condition holds at most 5 values. */
export const MAX_PATH_VALUES_PER_CONDITION = 5;
/** AWS caps ALB and target-group names at 32 characters. */
export const MAX_LB_NAME_LENGTH = 32;
/** Length of the random suffix that makes target-group names replaceable. */
const NAME_SUFFIX_LENGTH = 6;

/**
 * Health checks and draining, chosen for rolling deploys (ECS starts new tasks, waits for them to be healthy in the
 * target group, then deregisters the old ones):
 * - a new task takes traffic after HEALTHY_THRESHOLD x INTERVAL = 2 x 10 s = 20 s of passing checks (seed 000:
 *   2 x 30 s = 60 s); a task that stops answering is taken out after 3 x 10 s = 30 s;
 * - the timeout (5 s) stays below the interval, as AWS requires;
 * - a deregistered task keeps its in-flight requests for the deregistration delay, then the ALB closes them. web and
 *   the plugin daemon serve short requests (pages, webhook calls): 30 s. api carries Dify's SSE answers, which run for
 *   minutes: its delay is configurable (default 120 s, 0-3600). A stream still open when it ends is cut. AWS's default
 *   300 s on every group (seed 000) added minutes to each deploy without protecting anything more than api needs.
 */
export const HEALTH_CHECK = { interval: 10, timeout: 5, healthyThreshold: 2, unhealthyThreshold: 3 };
const SHORT_REQUEST_DRAIN_SECONDS = 30;

/**
 * Regions that opened before August 2022 deliver ALB access logs from a regional Elastic Load Balancing account
 * (looked up with aws.elb.getServiceAccount, which fails for any other region); regions opened since then only accept
 * the `logdelivery.elasticloadbalancing.amazonaws.com` service principal.
 */
export const ELB_ACCOUNT_REGIONS: ReadonlySet<string> = new Set([
    "af-south-1", "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1",
    "ap-southeast-2", "ap-southeast-3", "ca-central-1", "cn-north-1", "cn-northwest-1", "eu-central-1", "eu-north-1",
    "eu-south-1", "eu-west-1", "eu-west-2", "eu-west-3", "me-south-1", "sa-east-1", "us-east-1", "us-east-2",
    "us-gov-east-1", "us-gov-west-1", "us-west-1", "us-west-2",
]);
export const ELB_LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com";

/** Splits items into groups of at most `size`, in order. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
    const out: T[][] = [];
    for (let i = 0; i < items.length; i += size) {
        out.push(items.slice(i, i + size));
    }
    return out;
}

/** A logical-name-safe form of a CIDR: `203.0.113.0/24` -> `203-0-113-0-24`, `2001:db8::/32` -> `2001-db8--32`. */
function slug(cidr: string): string {
    return cidr.replace(/[.:/]/g, "-").replace(/-{3,}/g, "--");
}

/**
 * Dify's public edge: an ALB admitting only the configured allow-list, HTTPS with a TLS 1.3 policy (certificate given
 * or issued and DNS-validated by ACM) and HTTP redirected to it, Dify's path routing to the web, api and plugin-daemon
 * target groups, access logs in a dedicated bucket, an optional WAF, and the Route53 alias.
 */
export class EdgeAlb extends pulumi.ComponentResource {
    /** What DifyCluster attaches to: URL, ALB security group, listener and target groups. */
    public readonly attachment: EdgeAttachment;
    /** `https://<domain>`, or `http://<ALB DNS name>` on an HTTP-only stack; no trailing slash. */
    public readonly publicUrl: pulumi.Output<string>;
    public readonly loadBalancerArn: pulumi.Output<string>;
    public readonly loadBalancerArnSuffix: pulumi.Output<string>;
    /** The ALB's own DNS name. */
    public readonly dnsName: pulumi.Output<string>;
    /** The ALB's canonical hosted zone id (for alias records). */
    public readonly zoneId: pulumi.Output<string>;
    public readonly securityGroupId: pulumi.Output<string>;
    public readonly targetGroupArns: Record<Role, pulumi.Output<string>>;
    /** The HTTPS listener; undefined on an HTTP-only stack. */
    public readonly httpsListenerArn?: pulumi.Output<string>;
    /** The port-80 listener: a redirect to HTTPS, or the forwarding listener on an HTTP-only stack. */
    public readonly httpListenerArn: pulumi.Output<string>;
    /** The certificate the HTTPS listener serves (given or ACM-issued); undefined on an HTTP-only stack. */
    public readonly certificateArn?: pulumi.Output<string>;
    public readonly accessLogBucketName: pulumi.Output<string>;
    /** The web ACL (for WAF alarms and dashboards); undefined when WAF is off. */
    public readonly webAclArn?: pulumi.Output<string>;
    public readonly webAclName?: pulumi.Output<string>;
    public readonly wafLogGroupName?: pulumi.Output<string>;

    constructor(name: string, args: EdgeAlbArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dify-aws:edge:EdgeAlb", name, {}, opts);
        const { edge, namePrefix } = args;
        const ctx = awsContext(this);
        const https = edge.tls.mode === "https";

        const sg = new aws.ec2.SecurityGroup(
            `${name}-alb`,
            {
                vpcId: args.vpcId,
                description: "Dify ALB: HTTPS and HTTP from the allow-list only; egress only to Dify task ports",
                revokeRulesOnDelete: true,
                tags: { Name: `${namePrefix}-alb` },
            },
            { parent: this },
        );
        this.allowIngress(name, sg, edge.allowedCidrs, https);
        this.securityGroupId = sg.id;

        const logBucket = this.accessLogBucket(name, args, ctx);
        this.accessLogBucketName = logBucket.bucket;

        const alb = new aws.lb.LoadBalancer(
            `${name}-alb`,
            {
                name: `${namePrefix}-alb`,
                loadBalancerType: "application",
                internal: edge.internal,
                ipAddressType: edge.ipAddressType,
                subnets: args.subnetIds,
                securityGroups: [sg.id],
                idleTimeout: edge.idleTimeoutSeconds,
                dropInvalidHeaderFields: true,
                desyncMitigationMode: edge.desyncMitigationMode,
                enableHttp2: true,
                enableDeletionProtection: args.deletionProtection,
                enableWafFailOpen: false,
                accessLogs: { bucket: logBucket.bucket, enabled: true },
                tags: { Name: `${namePrefix}-alb` },
            },
            // The name is fixed, so a replacement (e.g. internal <-> internet-facing) must delete the old ALB first;
            // deletion protection then stops it on protected stacks. ELB checks it may write the logs when access
            // logging is switched on, so the bucket policy must exist first.
            { parent: this, deleteBeforeReplace: true, dependsOn: logBucket.ready },
        );
        this.loadBalancerArn = alb.arn;
        this.loadBalancerArnSuffix = alb.arnSuffix;
        this.dnsName = alb.dnsName;
        this.zoneId = alb.zoneId;

        const targets: Record<Role, TargetSpec> = {
            web: { short: "web", port: 3000, healthPath: "/", matcher: "200-399", deregistrationDelay: SHORT_REQUEST_DRAIN_SECONDS, algorithm: "round_robin" },
            // Streams make request durations uneven: send new requests to the task with the fewest outstanding ones.
            api: { short: "api", port: 5001, healthPath: "/health", matcher: "200", deregistrationDelay: edge.apiDeregistrationDelaySeconds, algorithm: "least_outstanding_requests" },
            pluginDaemon: { short: "plugin", port: 5002, healthPath: "/health/check", matcher: "200", deregistrationDelay: SHORT_REQUEST_DRAIN_SECONDS, algorithm: "round_robin" },
        };
        const tgs = {} as Record<Role, aws.lb.TargetGroup>;
        for (const role of Object.keys(targets) as Role[]) {
            tgs[role] = this.targetGroup(name, args, targets[role]);
        }
        this.targetGroupArns = { web: tgs.web.arn, api: tgs.api.arn, pluginDaemon: tgs.pluginDaemon.arn };

        let certificateArn: pulumi.Output<string> | undefined;
        if (edge.tls.mode === "https") {
            certificateArn = edge.tls.certificateArn !== undefined ? pulumi.output(edge.tls.certificateArn) : this.issueCertificate(name, edge.tls.domainName, edge.hostedZoneId!);
        }
        this.certificateArn = certificateArn;

        const forwardToWeb = [{ type: "forward", targetGroupArn: tgs.web.arn }];
        let forwarding: aws.lb.Listener;
        if (edge.tls.mode === "https") {
            forwarding = new aws.lb.Listener(
                `${name}-https`,
                {
                    loadBalancerArn: alb.arn,
                    port: 443,
                    protocol: "HTTPS",
                    sslPolicy: edge.tls.sslPolicy,
                    certificateArn,
                    defaultActions: forwardToWeb,
                },
                { parent: this },
            );
            const redirect = new aws.lb.Listener(
                `${name}-http`,
                {
                    loadBalancerArn: alb.arn,
                    port: 80,
                    protocol: "HTTP",
                    defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }],
                },
                { parent: this },
            );
            this.httpsListenerArn = forwarding.arn;
            this.httpListenerArn = redirect.arn;
        } else {
            pulumi.log.warn(
                `${namePrefix}: the ALB serves Dify over plain HTTP (dify-aws:albAllowHttpOnly=true); logins and API keys cross the network unencrypted. Set dify-aws:domainName with a hosted zone or certificate to serve HTTPS.`,
                this,
            );
            forwarding = new aws.lb.Listener(
                `${name}-http`,
                { loadBalancerArn: alb.arn, port: 80, protocol: "HTTP", defaultActions: forwardToWeb },
                { parent: this },
            );
            this.httpListenerArn = forwarding.arn;
        }

        const rules = this.routingRules(name, forwarding, tgs);

        this.publicUrl = edge.tls.mode === "https" ? pulumi.output(`https://${edge.tls.domainName}`) : pulumi.interpolate`http://${alb.dnsName}`;
        if (edge.hostedZoneId !== undefined && edge.tls.mode === "https") {
            this.aliasRecords(name, edge.tls.domainName, edge.hostedZoneId, alb, edge.ipAddressType === "dualstack");
        }

        if (edge.waf) {
            const waf = this.webAcl(name, args, edge.waf, alb);
            this.webAclArn = waf.acl.arn;
            this.webAclName = waf.acl.name;
            this.wafLogGroupName = waf.logGroup.name;
        }

        // Each ARN handed to the consumer resolves only once the rules that route to its group exist: ECS refuses a
        // service whose target group is not yet attached to a load balancer, and depending on these values orders it.
        this.attachment = {
            publicUrl: this.publicUrl,
            securityGroupId: sg.id,
            loadBalancerArnSuffix: alb.arnSuffix,
            listenerArn: after(forwarding.arn, ...rules.api, ...rules.pluginDaemon),
            targetGroups: {
                web: { arn: after(tgs.web.arn, forwarding), arnSuffix: tgs.web.arnSuffix },
                api: { arn: after(tgs.api.arn, ...rules.api), arnSuffix: tgs.api.arnSuffix },
                pluginDaemon: { arn: after(tgs.pluginDaemon.arn, ...rules.pluginDaemon), arnSuffix: tgs.pluginDaemon.arnSuffix },
            },
        };

        this.registerOutputs({
            publicUrl: this.publicUrl,
            loadBalancerArn: this.loadBalancerArn,
            loadBalancerArnSuffix: this.loadBalancerArnSuffix,
            dnsName: this.dnsName,
            zoneId: this.zoneId,
            securityGroupId: this.securityGroupId,
            targetGroupArns: this.targetGroupArns,
            httpsListenerArn: this.httpsListenerArn,
            httpListenerArn: this.httpListenerArn,
            certificateArn: this.certificateArn,
            accessLogBucketName: this.accessLogBucketName,
            webAclArn: this.webAclArn,
            webAclName: this.webAclName,
            wafLogGroupName: this.wafLogGroupName,
        });
    }

    /** One ingress rule per allow-listed CIDR and port: 443 (HTTPS stacks) and 80 (redirect, or HTTP-only). */
    private allowIngress(name: string, sg: aws.ec2.SecurityGroup, cidrs: string[], https: boolean): void {
        const ports = https ? [{ port: 443, label: "HTTPS" }, { port: 80, label: "HTTP (redirect to HTTPS)" }] : [{ port: 80, label: "HTTP" }];
        for (const cidr of cidrs) {
            const v6 = parseCidr(cidr)?.version === 6;
            for (const { port, label } of ports) {
                new aws.vpc.SecurityGroupIngressRule(
                    `${name}-${port}-from-${slug(cidr)}`,
                    {
                        securityGroupId: sg.id,
                        description: `${label} from allow-listed ${cidr}`,
                        ipProtocol: "tcp",
                        fromPort: port,
                        toPort: port,
                        ...(v6 ? { cidrIpv6: cidr } : { cidrIpv4: cidr }),
                    },
                    { parent: this },
                );
            }
        }
    }

    /**
     * The access-log bucket: SSE-S3 (ALB log delivery accepts no KMS key), no public access, no ACLs, TLS only,
     * objects expired after the stack's log retention, writable only by the region's ELB log delivery.
     */
    private accessLogBucket(name: string, args: EdgeAlbArgs, ctx: AwsContext): { bucket: pulumi.Output<string>; ready: pulumi.Resource[] } {
        const opts = { parent: this };
        const bucket = new aws.s3.Bucket(
            `${name}-access-logs`,
            {
                // Bucket names are global: account and region make this one unique (<= 17 + 10 + 12 + 1 + 14 < 63).
                bucket: pulumi.interpolate`${args.namePrefix}-alb-logs-${ctx.accountId}-${ctx.region}`,
                forceDestroy: !args.deletionProtection,
                tags: { Name: `${args.namePrefix}-alb-logs` },
            },
            { ...opts, protect: args.deletionProtection },
        );
        const ownership = new aws.s3.BucketOwnershipControls(`${name}-access-logs`, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, opts);
        const publicBlock = new aws.s3.BucketPublicAccessBlock(
            `${name}-access-logs`,
            { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
            opts,
        );
        const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(
            `${name}-access-logs`,
            { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] },
            opts,
        );
        new aws.s3.BucketLifecycleConfiguration(
            `${name}-access-logs`,
            {
                bucket: bucket.id,
                rules: [
                    {
                        id: "expire-access-logs",
                        status: "Enabled",
                        filter: {},
                        expiration: { days: args.logs.retentionInDays },
                        abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
                    },
                ],
            },
            opts,
        );
        const writer = ctx.region.apply((region) =>
            ELB_ACCOUNT_REGIONS.has(region)
                ? aws.elb.getServiceAccountOutput({ region }, opts).arn.apply((arn) => ({ AWS: arn }) as Record<string, string>)
                : pulumi.output({ Service: ELB_LOG_DELIVERY_SERVICE } as Record<string, string>),
        );
        const policy = new aws.s3.BucketPolicy(
            `${name}-access-logs`,
            {
                bucket: bucket.id,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [
                        ...tlsOnlyStatements(bucket.arn),
                        {
                            Sid: "ElbAccessLogDelivery",
                            Effect: "Allow",
                            Principal: writer,
                            Action: "s3:PutObject",
                            Resource: pulumi.interpolate`${bucket.arn}/AWSLogs/${ctx.accountId}/*`,
                        },
                    ],
                }),
            },
            // S3 rejects a bucket policy while the public-access block is being applied concurrently.
            { parent: this, dependsOn: [publicBlock] },
        );
        return { bucket: bucket.bucket, ready: [policy, ownership, encryption] };
    }

    /**
     * A target group named `<prefix>-<role>-<random>`: at most 17 + 1 + 6 + 1 + 6 = 31 characters. The suffix changes
     * whenever a property that forces replacement changes, so the new group is created (under a new name) before the
     * old one, still referenced by listeners and services, is deleted.
     */
    private targetGroup(name: string, args: EdgeAlbArgs, spec: TargetSpec): aws.lb.TargetGroup {
        const replaceOn = { port: String(spec.port), protocol: "HTTP", protocolVersion: "HTTP1", targetType: "ip", vpcId: args.vpcId };
        // RandomId, not RandomString: its hex is not a secret, so the name stays readable in previews and the console.
        const suffix = new random.RandomId(`${name}-${spec.short}-tg-suffix`, { byteLength: NAME_SUFFIX_LENGTH / 2, keepers: replaceOn }, { parent: this });
        return new aws.lb.TargetGroup(
            `${name}-${spec.short}`,
            {
                name: pulumi.interpolate`${args.namePrefix}-${spec.short}-${suffix.hex}`,
                vpcId: args.vpcId,
                port: spec.port,
                protocol: replaceOn.protocol,
                protocolVersion: replaceOn.protocolVersion,
                targetType: replaceOn.targetType,
                deregistrationDelay: spec.deregistrationDelay,
                loadBalancingAlgorithmType: spec.algorithm,
                healthCheck: {
                    enabled: true,
                    protocol: "HTTP",
                    port: "traffic-port",
                    path: spec.healthPath,
                    matcher: spec.matcher,
                    ...HEALTH_CHECK,
                },
                tags: { Name: `${args.namePrefix}-${spec.short}` },
            },
            { parent: this },
        );
    }

    /** api paths in rules of at most 5 values each, then `/e/*` to the plugin daemon; everything else is the default (web). */
    private routingRules(name: string, listener: aws.lb.Listener, tgs: Record<Role, aws.lb.TargetGroup>): { api: aws.lb.ListenerRule[]; pluginDaemon: aws.lb.ListenerRule[] } {
        const apiPatterns = API_PATH_PREFIXES.flatMap((p) => [p, `${p}/*`]);
        const rule = (id: string, priority: number, values: string[], tg: aws.lb.TargetGroup) =>
            new aws.lb.ListenerRule(
                `${name}-${id}`,
                {
                    listenerArn: listener.arn,
                    priority,
                    actions: [{ type: "forward", targetGroupArn: tg.arn }],
                    conditions: [{ pathPattern: { values } }],
                },
                { parent: this },
            );
        return {
            api: chunk(apiPatterns, MAX_PATH_VALUES_PER_CONDITION).map((values, i) => rule(`api-${i + 1}`, 100 + i, values, tgs.api)),
            pluginDaemon: chunk(PLUGIN_DAEMON_PATHS, MAX_PATH_VALUES_PER_CONDITION).map((values, i) => rule(`plugin-daemon-${i + 1}`, 200 + i, values, tgs.pluginDaemon)),
        };
    }

    /** An ACM certificate for the domain, validated by a DNS record in the zone; resolves once ACM has issued it. */
    private issueCertificate(name: string, domainName: string, zoneId: string): pulumi.Output<string> {
        const cert = new aws.acm.Certificate(
            `${name}-cert`,
            { domainName, validationMethod: "DNS", keyAlgorithm: "RSA_2048", tags: { Name: domainName } },
            { parent: this },
        );
        // A certificate for one name without SANs has exactly one validation option.
        const option = cert.domainValidationOptions.apply((o) => o[0]);
        const record = new aws.route53.Record(
            `${name}-cert-validation`,
            {
                zoneId,
                name: option.apply((o) => o.resourceRecordName!),
                type: option.apply((o) => o.resourceRecordType!),
                records: [option.apply((o) => o.resourceRecordValue!)],
                ttl: 300,
                // ACM reuses the same record for a re-issued certificate of the same name.
                allowOverwrite: true,
            },
            { parent: this },
        );
        const validation = new aws.acm.CertificateValidation(
            `${name}-cert`,
            { certificateArn: cert.arn, validationRecordFqdns: [record.fqdn] },
            { parent: this },
        );
        return validation.certificateArn;
    }

    private aliasRecords(name: string, domainName: string, zoneId: string, alb: aws.lb.LoadBalancer, dualstack: boolean): void {
        for (const type of dualstack ? ["A", "AAAA"] : ["A"]) {
            new aws.route53.Record(
                `${name}-alias-${type.toLowerCase()}`,
                {
                    zoneId,
                    name: domainName,
                    type,
                    aliases: [{ name: alb.dnsName, zoneId: alb.zoneId, evaluateTargetHealth: true }],
                },
                { parent: this },
            );
        }
    }

    /**
     * A regional web ACL on the ALB. Rules, cheapest and most decisive first (about 1,130 WCU, within the 1,500 a web
     * ACL gets without extra charge): the optional IP allow-list, a per-IP rate limit, then the AWS managed groups.
     * Logs go to `aws-waf-logs-<prefix>` (AWS WAF only delivers to log groups named `aws-waf-logs-*`).
     */
    private webAcl(name: string, args: EdgeAlbArgs, waf: WafSettings, alb: aws.lb.LoadBalancer): { acl: aws.wafv2.WebAcl; logGroup: aws.cloudwatch.LogGroup } {
        const opts = { parent: this };
        const p = args.namePrefix;
        const visibility = (metric: string) => ({ cloudwatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName: `${p}-${metric}` });
        const rules: aws.types.input.wafv2.WebAclRule[] = [];
        let priority = 0;

        if (waf.ipAllowList) {
            const sets: aws.wafv2.IpSet[] = [];
            for (const version of [4, 6] as const) {
                const addresses = args.edge.allowedCidrs.filter((c) => parseCidr(c)?.version === version);
                if (addresses.length > 0) {
                    sets.push(
                        new aws.wafv2.IpSet(
                            `${name}-allow-ipv${version}`,
                            { name: `${p}-edge-allow-ipv${version}`, scope: "REGIONAL", ipAddressVersion: `IPV${version}`, addresses },
                            opts,
                        ),
                    );
                }
            }
            const refs = sets.map((s) => ({ ipSetReferenceStatement: { arn: s.arn } }));
            rules.push({
                name: "block-outside-allow-list",
                priority: priority++,
                action: { block: {} },
                statement: { notStatement: { statement: refs.length === 1 ? refs[0] : { orStatement: { statements: refs } } } },
                visibilityConfig: visibility("block-outside-allow-list"),
            });
        }
        rules.push({
            name: "rate-limit-per-ip",
            priority: priority++,
            action: { block: {} },
            statement: { rateBasedStatement: { limit: waf.rateLimit, evaluationWindowSec: waf.rateLimitWindowSeconds, aggregateKeyType: "IP" } },
            visibilityConfig: visibility("rate-limit-per-ip"),
        });
        const managed = (group: string, overrides: string[] = []) => {
            rules.push({
                name: group,
                priority: priority++,
                overrideAction: { none: {} },
                statement: {
                    managedRuleGroupStatement: {
                        vendorName: "AWS",
                        name: group,
                        ruleActionOverrides: overrides.length ? overrides.map((rule) => ({ name: rule, actionToUse: { count: {} } })) : undefined,
                    },
                },
                visibilityConfig: visibility(group),
            });
        };
        managed("AWSManagedRulesAmazonIpReputationList");
        // Dify's request bodies are user content that is code and prompts by design: chat messages and prompt templates
        // quote HTML/JS and SQL, code nodes and workflow DSL carry scripts, file paths and queries, and users paste URLs
        // such as 169.254.169.254 into HTTP-request nodes. The *_BODY rules (XSS, LFI, RFI, EC2 metadata SSRF, SQLi)
        // would 403 such legitimate requests, and SizeRestrictions_BODY every upload and prompt over 8 KB, so by default
        // they count (matches are still labelled, logged and visible in metrics) while every rule on the query string,
        // URI path, cookies and headers, and all of KnownBadInputs (Log4j, Java deserialization), keeps blocking.
        // The list is wafCountRules (config/edge.ts validates each name against the groups' real rules).
        managed("AWSManagedRulesCommonRuleSet", [...waf.countRules.AWSManagedRulesCommonRuleSet]);
        managed("AWSManagedRulesKnownBadInputsRuleSet");
        managed("AWSManagedRulesSQLiRuleSet", [...waf.countRules.AWSManagedRulesSQLiRuleSet]);

        const acl = new aws.wafv2.WebAcl(
            `${name}-waf`,
            {
                name: `${p}-edge`,
                description: `Dify ${p}: allow-list, per-IP rate limit and AWS managed rules in front of the ALB`,
                scope: "REGIONAL",
                defaultAction: { allow: {} },
                rules,
                visibilityConfig: visibility("edge"),
            },
            opts,
        );
        new aws.wafv2.WebAclAssociation(`${name}-waf`, { resourceArn: alb.arn, webAclArn: acl.arn }, opts);
        const group = logGroup(`${name}-waf-logs`, `aws-waf-logs-${p}`, args.logs, opts);
        new aws.wafv2.WebAclLoggingConfiguration(
            `${name}-waf`,
            {
                resourceArn: acl.arn,
                logDestinationConfigs: [group.arn],
                // Dify API keys travel in Authorization and console sessions in cookies; Dify's signed file URLs
                // (/files/...?timestamp=&nonce=&sign=) are bearer links until they expire: keep all three out of the logs.
                redactedFields: [{ singleHeader: { name: "authorization" } }, { singleHeader: { name: "cookie" } }, { queryString: {} }],
            },
            opts,
        );
        return { acl, logGroup: group };
    }
}
