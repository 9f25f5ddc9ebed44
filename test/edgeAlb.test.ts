import { expect } from "chai";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { isWholeInternet, parseCidr } from "../config/cidr";
import { DIFY_RELEASES } from "../config/upstream/releases";
import { routeRequest } from "../tools/reachability/alb";
import { ACCOUNT_ID, RegisteredResource } from "./mocks";
import { configErrorFor, loadSettingsFor, ProgramRun, readStackFile, runProgram, Stack, stackRun } from "./harness";

const COMPONENT = "dify-aws:edge:EdgeAlb";
const LB = "aws:lb/loadBalancer:LoadBalancer";
const LISTENER = "aws:lb/listener:Listener";
const RULE = "aws:lb/listenerRule:ListenerRule";
const TG = "aws:lb/targetGroup:TargetGroup";
const SG = "aws:ec2/securityGroup:SecurityGroup";
const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule";
const RECORD = "aws:route53/record:Record";
const WEB_ACL = "aws:wafv2/webAcl:WebAcl";

// Facts the expectations come from (not from the implementation):
// ALB quotas: 3 values per condition and 5 per rule; 32-character LB and target-group names; idle timeout 1-4000 s.
const ALB_MAX_CONDITION_VALUES = 3;
const ALB_MAX_RULE_VALUES = 5;
const ALB_MAX_NAME = 32;
// Upstream nginx's services, as the ALB's target groups (logical names edge-<short>).
const SERVICE_TARGET_GROUP: Record<string, string> = { api: "edge-api", web: "edge-web", plugin_daemon: "edge-plugin", api_websocket: "edge-ws" };
// AWS's default deregistration delay, which seed 000 kept on every group.
const AWS_DEFAULT_DEREGISTRATION_DELAY = 300;
// Seed 000 let a new task in after 2 checks x 30 s.
const SEED_TIME_TO_HEALTHY = 60;
// The Elastic Load Balancing log-delivery account of ap-northeast-1 (AWS docs, "Enable access logs").
const TOKYO_ELB_ACCOUNT = "582318560864";
const SERVICE_PRINCIPAL = "logdelivery.elasticloadbalancing.amazonaws.com";
// AWS WAF Developer Guide: the rules of the Core rule set and the SQL database group that inspect the request body.
// Dify bodies are prompts, code nodes and workflow DSL, so these count by default; all others keep blocking.
const CRS_BODY_RULES = ["SizeRestrictions_BODY", "EC2MetaDataSSRF_BODY", "GenericLFI_BODY", "GenericRFI_BODY", "CrossSiteScripting_BODY"];
const SQLI_BODY_RULES = ["SQLi_BODY", "SQLiExtendedPatterns_BODY"];
// A valid ACM certificate ARN and Route53 zone id for overrides.
const CERT_ARN = `arn:aws:acm:ap-northeast-1:${ACCOUNT_ID}:certificate/0a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d`;

function edgeResources(run: ProgramRun): RegisteredResource[] {
    const component = run.one(COMPONENT);
    return run.resources.filter((r) => r.parent === component.urn);
}

function allowList(stack: Stack): string[] {
    return readStackFile(stack).config["dify-aws:albAllowedCidrs"] as string[];
}

function targetGroup(run: ProgramRun, short: string): RegisteredResource {
    return run.one(TG, `edge-${short}`);
}

/** Where a request to `path` goes: the target group's logical name, or what the ALB answers itself. */
function routedTo(run: ProgramRun, listener: RegisteredResource, path: string, authenticated = true): string {
    const outcome = routeRequest(listener, run.ofType(RULE), { path, authenticated });
    if (outcome.kind !== "forward") {
        return outcome.kind === "authenticate" ? `authenticate:${outcome.onUnauthenticated}` : outcome.kind;
    }
    expect(outcome.targetGroupArns, path).to.have.length(1);
    return run.ofType(TG).find((t) => t.state.arn === outcome.targetGroupArns[0])!.name;
}

describe("EdgeAlb", () => {
    for (const stack of ["dev", "prd"] as const) {
        describe(stack, () => {
            let run: ProgramRun;
            let settings: ReturnType<typeof loadSettingsFor>["settings"];
            const https = stack === "prd";
            before(async () => {
                run = await stackRun(stack);
                settings = loadSettingsFor(stack).settings;
            });

            it("is one component whose resources are all its children", () => {
                const children = edgeResources(run);
                for (const type of [LB, SG, TG, LISTENER, RULE, "aws:s3/bucket:Bucket"]) {
                    const all = run.ofType(type).filter((r) => r.name.startsWith("edge"));
                    expect(all.length, type).to.be.greaterThan(0);
                    for (const r of all) {
                        expect(children, `${type} ${r.name}`).to.include(r);
                    }
                }
            });

            it("admits each allow-listed CIDR with its own described rule, on 443 and 80 (HTTPS) or 80 only (HTTP-only)", () => {
                const sg = run.one(SG, "edge-alb");
                expect(sg.inputs.ingress ?? [], "no inline ingress").to.deep.equal([]);
                expect(sg.inputs.egress ?? [], "no inline egress").to.deep.equal([]);
                const rules = run.ofType(INGRESS).filter((r) => r.inputs.securityGroupId === sg.id);
                const ports = https ? [80, 443] : [80];
                const cidrs = allowList(stack);
                expect(cidrs.length).to.be.greaterThan(0);
                expect(rules).to.have.length(cidrs.length * ports.length);
                for (const cidr of cidrs) {
                    const v6 = parseCidr(cidr)!.version === 6;
                    const forCidr = rules.filter((r) => (v6 ? r.inputs.cidrIpv6 : r.inputs.cidrIpv4) === cidr);
                    expect(forCidr.map((r) => r.inputs.fromPort).sort((a, b) => a - b), cidr).to.deep.equal(ports);
                    for (const r of forCidr) {
                        expect(r.inputs.toPort).to.equal(r.inputs.fromPort);
                        expect(r.inputs.ipProtocol).to.equal("tcp");
                        expect(r.inputs.description).to.be.a("string").and.include(cidr);
                        expect(v6 ? r.inputs.cidrIpv4 : r.inputs.cidrIpv6).to.equal(undefined);
                    }
                }
                for (const r of rules) {
                    const source = parseCidr(r.inputs.cidrIpv4 ?? r.inputs.cidrIpv6)!;
                    expect(isWholeInternet(source), "no rule from the whole internet").to.equal(false);
                }
                // Egress is the consumer's (DifyCluster adds one rule per task port): EdgeAlb opens none, and whatever
                // the ALB may send goes only to a task security group on a Dify port.
                expect(edgeResources(run).filter((r) => r.type === EGRESS)).to.have.length(0);
                for (const e of run.ofType(EGRESS).filter((r) => r.inputs.securityGroupId === sg.id)) {
                    expect(e.inputs.cidrIpv4 ?? e.inputs.cidrIpv6, e.name).to.equal(undefined);
                    expect(e.inputs.referencedSecurityGroupId, e.name).to.be.a("string");
                    expect(e.inputs.fromPort, e.name).to.be.oneOf([3000, 5001, 5002]);
                    expect(e.inputs.toPort, e.name).to.equal(e.inputs.fromPort);
                }
            });

            it("sets the ALB attributes: internet-facing in the public subnets, SSE-safe idle timeout, header hygiene, HTTP/2, deletion protection by stack", () => {
                const lb = run.one(LB).inputs;
                expect(lb.loadBalancerType).to.equal("application");
                expect(lb.internal).to.equal(false);
                expect(lb.subnets).to.deep.equal(run.outputs.publicSubnetIds);
                expect(lb.securityGroups).to.deep.equal([run.one(SG, "edge-alb").id]);
                expect(lb.idleTimeout).to.be.within(600, 4000);
                expect(lb.dropInvalidHeaderFields).to.equal(true);
                expect(lb.desyncMitigationMode).to.be.oneOf(["defensive", "strictest"]);
                expect(lb.enableHttp2).to.equal(true);
                expect(lb.enableDeletionProtection).to.equal(settings.common.deletionProtection);
                expect(lb.enableDeletionProtection).to.equal(stack === "prd");
                expect(lb.name.length).to.be.at.most(ALB_MAX_NAME);
                expect(lb.name.startsWith(settings.common.prefix)).to.equal(true);
                expect(lb.accessLogs).to.deep.equal({ bucket: run.outputs.albAccessLogBucket, enabled: true });
            });

            it("turns access logging on only after the bucket policy lets ELB write", () => {
                const lb = run.one(LB);
                const policy = run.one("aws:s3/bucketPolicy:BucketPolicy", "edge-access-logs");
                expect(lb.dependencies).to.include(policy.urn);
            });

            it("keeps access logs in a dedicated SSE-S3 bucket: no public access, no ACLs, TLS only, expiring, writable by Tokyo's ELB account", () => {
                const bucket = run.one("aws:s3/bucket:Bucket", "edge-access-logs");
                expect(bucket.inputs.bucket).to.equal(run.outputs.albAccessLogBucket);
                expect(bucket.inputs.forceDestroy).to.equal(!settings.common.deletionProtection);
                const sse = run.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "edge-access-logs").inputs;
                // ALB log delivery accepts only SSE-S3.
                expect(sse.rules).to.deep.equal([{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }]);
                const block = run.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "edge-access-logs").inputs;
                for (const flag of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"]) {
                    expect(block[flag], flag).to.equal(true);
                }
                expect(run.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "edge-access-logs").inputs.rule.objectOwnership).to.equal("BucketOwnerEnforced");
                const lifecycle = run.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "edge-access-logs").inputs.rules;
                expect(lifecycle.some((r: any) => r.status === "Enabled" && r.expiration?.days === settings.common.logRetentionDays)).to.equal(true);

                const doc = JSON.parse(run.one("aws:s3/bucketPolicy:BucketPolicy", "edge-access-logs").inputs.policy);
                const arn = bucket.state.arn;
                const deny = doc.Statement.find((s: any) => s.Effect === "Deny" && s.Condition?.Bool);
                expect(deny.Condition).to.deep.equal({ Bool: { "aws:SecureTransport": "false" } });
                expect(deny.Principal).to.equal("*");
                expect(deny.Resource).to.have.members([arn, `${arn}/*`]);
                const allow = doc.Statement.filter((s: any) => s.Effect === "Allow");
                expect(allow).to.have.length(1);
                expect(allow[0].Action).to.equal("s3:PutObject");
                expect(allow[0].Resource).to.equal(`${arn}/AWSLogs/${ACCOUNT_ID}/*`);
                expect(allow[0].Principal).to.deep.equal({ AWS: `arn:aws:iam::${TOKYO_ELB_ACCOUNT}:root` });
            });

            it(https ? "serves HTTPS with a TLS 1.3 policy and the validated certificate, and redirects 80 to it (301)" : "serves plain HTTP on 80 only", () => {
                const listeners = run.ofType(LISTENER);
                // Every path is a rule's (web's catch-all last): the default action answers only what no rule takes.
                const noRoute = [{ type: "fixed-response", fixedResponse: { contentType: "text/plain", messageBody: "Not found", statusCode: "404" } }];
                if (https) {
                    expect(listeners).to.have.length(2);
                    const tls = listeners.find((l) => l.inputs.port === 443)!.inputs;
                    expect(tls.protocol).to.equal("HTTPS");
                    expect(tls.sslPolicy).to.match(/^ELBSecurityPolicy-TLS13-/);
                    const validation = run.one("aws:acm/certificateValidation:CertificateValidation");
                    expect(tls.certificateArn).to.equal(validation.state.certificateArn);
                    expect(tls.certificateArn).to.equal(run.outputs.certificateArn);
                    expect(listeners.find((l) => l.inputs.port === 443)!.inputs.defaultActions).to.deep.equal(noRoute);
                    const http = listeners.find((l) => l.inputs.port === 80)!.inputs;
                    expect(http.protocol).to.equal("HTTP");
                    expect(http.defaultActions).to.deep.equal([{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }]);
                    expect(run.outputs.httpsListenerArn).to.equal(listeners.find((l) => l.inputs.port === 443)!.state.arn);
                } else {
                    expect(listeners).to.have.length(1);
                    expect(listeners[0].inputs.port).to.equal(80);
                    expect(listeners[0].inputs.protocol).to.equal("HTTP");
                    expect(listeners[0].inputs.defaultActions).to.deep.equal(noRoute);
                    expect(run.outputs.httpsListenerArn).to.equal(undefined);
                }
            });

            it("routes every location upstream's nginx serves at the pinned release to its service, within the ALB's limits", () => {
                const forwarding = run.ofType(LISTENER).find((l) => l.inputs.port === (https ? 443 : 80))!;
                const rules = run.ofType(RULE);
                for (const r of rules) {
                    expect(r.inputs.listenerArn, r.name).to.equal(forwarding.state.arn);
                    const values = r.inputs.conditions.flatMap((c: { pathPattern?: { values?: string[]; regexValues?: string[] } }) => [...(c.pathPattern?.values ?? []), ...(c.pathPattern?.regexValues ?? [])]);
                    expect(values.length, r.name).to.be.within(1, ALB_MAX_CONDITION_VALUES);
                    expect(values.length, r.name).to.be.at.most(ALB_MAX_RULE_VALUES);
                }
                const priorities = rules.map((r) => r.inputs.priority);
                expect(new Set(priorities).size).to.equal(priorities.length);
                // The release's own nginx locations (config/upstream, read from its default.conf.template), each at
                // its exact path and below it.
                const release = DIFY_RELEASES[settings.cluster.images.difyTag];
                for (const { location, service } of release.routes.locations) {
                    // nginx: `location /api` is the path and what follows it; `location /e/` only what is below it.
                    const base = location.replace(/\/$/, "");
                    const paths = location.endsWith("/") ? [`${base}/something/deeper`] : [location, `${base}/something/deeper`];
                    for (const path of paths) {
                        expect(routedTo(run, forwarding, path), `${path} (nginx location ${location} -> ${service})`).to.equal(SERVICE_TARGET_GROUP[service]);
                    }
                }
                // nginx prefix locations would also catch /apps or /v1beta; the console's own pages must stay web's.
                for (const page of ["/apps", "/app/1234/workflow", "/datasets/1/api", "/explore/apps", "/signin", "/install", "/filesystem"]) {
                    expect(routedTo(run, forwarding, page), page).to.equal("edge-web");
                }
                // MCP clients probe OAuth metadata on the host: the api answers (404), never web or a sign-in.
                expect(routedTo(run, forwarding, "/.well-known/oauth-protected-resource")).to.equal("edge-api");
                // The daemon's other endpoints and Dify's inner API are never public (they fall to web's pages).
                for (const inner of ["/inner/api/invoke/llm", "/plugin/abc/dispatch/tool/invoke", "/health/check"]) {
                    expect(routedTo(run, forwarding, inner), inner).to.equal("edge-web");
                }
            });

            it("checks Dify's real health endpoints on ip targets, web's without the api, with names under 32 characters", () => {
                // web's `/` renders on the server and waits for the api's system features: a static file instead.
                const expected = [
                    { short: "web", port: 3000, path: "/favicon.ico", matcher: "200" },
                    { short: "api", port: 5001, path: "/health", matcher: "200" },
                    { short: "plugin", port: 5002, path: "/health/check", matcher: "200" },
                    { short: "ws", port: 5001, path: "/health", matcher: "200" },
                ] as const;
                // prd rolls web and api out as canaries: each has a second group, configured alike (test/canary.test.ts).
                expect(run.ofType(TG)).to.have.length(stack === "prd" ? 6 : 4);
                for (const e of expected) {
                    const tg = targetGroup(run, e.short).inputs;
                    expect(tg.port).to.equal(e.port);
                    expect(tg.targetType).to.equal("ip");
                    expect(tg.protocol).to.equal("HTTP");
                    expect(tg.vpcId).to.equal(run.outputs.vpcId);
                    expect(tg.healthCheck.path).to.equal(e.path);
                    expect(tg.healthCheck.matcher).to.equal(e.matcher);
                    expect(tg.healthCheck.enabled).to.equal(true);
                    expect(tg.name.length, tg.name).to.be.at.most(ALB_MAX_NAME);
                    expect(tg.name).to.match(/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/);
                    expect(tg.name.startsWith(`${settings.common.prefix}-`)).to.equal(true);
                }
            });

            it("moves traffic fast in a rolling deploy without sending it to a task that is not ready", () => {
                for (const tg of run.ofType(TG)) {
                    const hc = tg.inputs.healthCheck;
                    // AWS requires the timeout to be shorter than the interval.
                    expect(hc.timeout, tg.name).to.be.below(hc.interval);
                    // A new task must pass at least two checks before it takes traffic...
                    expect(hc.healthyThreshold, tg.name).to.be.at.least(2);
                    // ...yet take traffic well before seed 000's 2 x 30 s.
                    expect(hc.healthyThreshold * hc.interval, tg.name).to.be.below(SEED_TIME_TO_HEALTHY);
                    // A dead task leaves within a minute.
                    expect(hc.unhealthyThreshold * hc.interval, tg.name).to.be.at.most(60);
                    expect(tg.inputs.deregistrationDelay, tg.name).to.be.below(AWS_DEFAULT_DEREGISTRATION_DELAY);
                }
                // api drains long enough for an SSE answer in flight to finish (a minute at least), as configured.
                const api = targetGroup(run, "api").inputs;
                expect(api.deregistrationDelay).to.equal(settings.edge.apiDeregistrationDelaySeconds);
                expect(api.deregistrationDelay).to.be.at.least(60);
            });

            it("makes target groups safe to replace: the name's random part changes with every property that forces a new group", () => {
                for (const tg of run.ofType(TG)) {
                    const suffixes = run.ofType("random:index/randomId:RandomId").filter((r) => tg.inputs.name.endsWith(`-${r.state.hex}`));
                    expect(suffixes, tg.name).to.have.length(1);
                    expect(suffixes[0].inputs.keepers).to.deep.equal({
                        port: String(tg.inputs.port),
                        protocol: tg.inputs.protocol,
                        protocolVersion: tg.inputs.protocolVersion,
                        targetType: tg.inputs.targetType,
                        vpcId: tg.inputs.vpcId,
                    });
                }
            });

            it("exports the public URL, DNS name, zone, security group, target groups and listener", () => {
                const lb = run.one(LB).state;
                expect(run.outputs.albDnsName).to.equal(lb.dnsName);
                expect(run.outputs.albZoneId).to.equal(lb.zoneId);
                expect(run.outputs.albArnSuffix).to.equal(lb.arnSuffix);
                expect(run.outputs.albSecurityGroupId).to.equal(run.one(SG, "edge-alb").id);
                expect(run.outputs.targetGroupArns).to.deep.equal({
                    web: targetGroup(run, "web").state.arn,
                    api: targetGroup(run, "api").state.arn,
                    pluginDaemon: targetGroup(run, "plugin").state.arn,
                    apiWebsocket: targetGroup(run, "ws").state.arn,
                });
                expect(run.outputs.publicUrl).to.equal(https ? `https://${readStackFile(stack).config["dify-aws:domainName"]}` : `http://${lb.dnsName}`);
            });

            if (https) {
                it("issues the certificate with ACM and validates it with a DNS record in the hosted zone", () => {
                    const zone = readStackFile(stack).config["dify-aws:hostedZoneId"];
                    const domain = readStackFile(stack).config["dify-aws:domainName"];
                    const cert = run.one("aws:acm/certificate:Certificate");
                    expect(cert.inputs.domainName).to.equal(domain);
                    expect(cert.inputs.validationMethod).to.equal("DNS");
                    const option = cert.state.domainValidationOptions[0];
                    const record = run.one(RECORD, "edge-cert-validation");
                    expect(record.inputs).to.include({ zoneId: zone, name: option.resourceRecordName, type: option.resourceRecordType });
                    expect(record.inputs.records).to.deep.equal([option.resourceRecordValue]);
                    const validation = run.one("aws:acm/certificateValidation:CertificateValidation").inputs;
                    expect(validation.certificateArn).to.equal(cert.state.arn);
                    expect(validation.validationRecordFqdns).to.deep.equal([record.state.fqdn]);
                });

                it("points an alias A record in the hosted zone at the ALB (no AAAA on an IPv4 ALB)", () => {
                    const lb = run.one(LB).state;
                    const alias = run.ofType(RECORD).filter((r) => r.inputs.aliases);
                    expect(alias).to.have.length(1);
                    expect(alias[0].inputs).to.include({
                        zoneId: readStackFile(stack).config["dify-aws:hostedZoneId"],
                        name: readStackFile(stack).config["dify-aws:domainName"],
                        type: "A",
                    });
                    expect(alias[0].inputs.aliases).to.deep.equal([{ name: lb.dnsName, zoneId: lb.zoneId, evaluateTargetHealth: true }]);
                });

                it("puts a regional WAF in front: allow-list, per-IP rate limit, the four AWS managed groups, only the body rules counted", () => {
                    const acl = run.one(WEB_ACL);
                    expect(acl.inputs.scope).to.equal("REGIONAL");
                    expect(acl.inputs.defaultAction).to.deep.equal({ allow: {} });
                    expect(acl.inputs.visibilityConfig).to.include({ cloudwatchMetricsEnabled: true, sampledRequestsEnabled: true });
                    const rules: any[] = acl.inputs.rules;
                    for (const r of rules) {
                        expect(r.visibilityConfig, r.name).to.include({ cloudwatchMetricsEnabled: true, sampledRequestsEnabled: true });
                    }
                    expect(new Set(rules.map((r) => r.priority)).size).to.equal(rules.length);
                    const groups = rules.filter((r) => r.statement.managedRuleGroupStatement).map((r) => r.statement.managedRuleGroupStatement);
                    expect(groups.map((g) => `${g.vendorName}/${g.name}`)).to.have.members([
                        "AWS/AWSManagedRulesCommonRuleSet",
                        "AWS/AWSManagedRulesKnownBadInputsRuleSet",
                        "AWS/AWSManagedRulesSQLiRuleSet",
                        "AWS/AWSManagedRulesAmazonIpReputationList",
                    ]);
                    for (const r of rules.filter((x) => x.statement.managedRuleGroupStatement)) {
                        expect(r.overrideAction, r.name).to.deep.equal({ none: {} });
                    }
                    const counted = (group: string) => {
                        const overrides: any[] = groups.find((g) => g.name === group).ruleActionOverrides ?? [];
                        for (const o of overrides) {
                            expect(o.actionToUse, `${group}/${o.name}`).to.deep.equal({ count: {} });
                        }
                        return overrides.map((o) => o.name);
                    };
                    expect(counted("AWSManagedRulesCommonRuleSet")).to.have.members(CRS_BODY_RULES);
                    expect(counted("AWSManagedRulesSQLiRuleSet")).to.have.members(SQLI_BODY_RULES);
                    // Query-string, URI-path, cookie and header rules, Log4j and the IP reputation list still block.
                    expect(counted("AWSManagedRulesKnownBadInputsRuleSet")).to.deep.equal([]);
                    expect(counted("AWSManagedRulesAmazonIpReputationList")).to.deep.equal([]);

                    const rate = rules.find((r) => r.name === "rate-limit-per-ip");
                    expect(rate.action).to.deep.equal({ block: {} });
                    // Seed 003: 2000 requests per 5 minutes per IP, for every address outside the allow-list only: the
                    // office's people share a few NAT addresses (test/resilience.test.ts).
                    const { scopeDownStatement, ...perIp } = rate.statement.rateBasedStatement;
                    expect(perIp).to.deep.equal({ limit: 2000, evaluationWindowSec: 300, aggregateKeyType: "IP" });
                    expect(scopeDownStatement.notStatement.statement.orStatement.statements.map((s: any) => s.ipSetReferenceStatement.arn)).to.have.members(run.ofType("aws:wafv2/ipSet:IpSet").map((s) => s.state.arn));

                    const allow = rules.find((r) => r.name === "block-outside-allow-list");
                    expect(allow.action).to.deep.equal({ block: {} });
                    const sets = run.ofType("aws:wafv2/ipSet:IpSet");
                    const inner = allow.statement.notStatement.statement.orStatement.statements.map((s: any) => s.ipSetReferenceStatement.arn);
                    expect(inner).to.have.members(sets.map((s) => s.state.arn));
                    const listed = allowList(stack);
                    const byVersion = (v: 4 | 6) => listed.filter((c) => parseCidr(c)!.version === v);
                    expect(sets.find((s) => s.inputs.ipAddressVersion === "IPV4")!.inputs.addresses).to.have.members(byVersion(4));
                    expect(sets.find((s) => s.inputs.ipAddressVersion === "IPV6")!.inputs.addresses).to.have.members(byVersion(6));
                    // The allow-list and the rate limit run before the managed groups spend capacity on a request.
                    const firstManaged = Math.min(...rules.filter((r) => r.statement.managedRuleGroupStatement).map((r) => r.priority));
                    expect(allow.priority).to.be.below(firstManaged);
                    expect(rate.priority).to.be.below(firstManaged);
                    expect(run.outputs.webAclArn).to.equal(acl.state.arn);
                    expect(run.outputs.webAclName).to.equal(acl.inputs.name);
                    // AWS/WAFV2 metrics carry the ACL's metric name as the WebACL dimension; alarms look it up by name.
                    expect(acl.inputs.visibilityConfig.metricName).to.equal(acl.inputs.name);
                });

                it("associates the web ACL with the ALB and logs to a retained aws-waf-logs-* group with credentials and signed-URL query strings redacted", () => {
                    const acl = run.one(WEB_ACL).state.arn;
                    const assoc = run.one("aws:wafv2/webAclAssociation:WebAclAssociation").inputs;
                    expect(assoc).to.deep.equal({ resourceArn: run.one(LB).state.arn, webAclArn: acl });
                    const logging = run.one("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration").inputs;
                    expect(logging.resourceArn).to.equal(acl);
                    const groups = run.ofType("aws:cloudwatch/logGroup:LogGroup").filter((g) => logging.logDestinationConfigs.includes(g.state.arn));
                    expect(groups).to.have.length(1);
                    expect(groups[0].inputs.name).to.match(/^aws-waf-logs-/);
                    expect(groups[0].inputs.retentionInDays).to.equal(settings.common.logRetentionDays);
                    expect(groups[0].inputs.kmsKeyId).to.equal(run.outputs.kmsKeyArn);
                    const redacted = logging.redactedFields.map((f: any) => f.singleHeader?.name);
                    expect(redacted).to.include.members(["authorization", "cookie"]);
                    // Dify's signed file URLs carry timestamp, nonce and sign in the query string: bearer links until they expire.
                    expect(logging.redactedFields).to.deep.include({ queryString: {} });
                });
            } else {
                it("has no certificate, DNS records or WAF on the HTTP-only dev stack", () => {
                    expect(run.ofType("aws:acm/certificate:Certificate")).to.have.length(0);
                    expect(run.ofType(RECORD)).to.have.length(0);
                    expect(run.ofType(WEB_ACL)).to.have.length(0);
                    expect(run.ofType("aws:wafv2/webAclAssociation:WebAclAssociation")).to.have.length(0);
                    expect(run.outputs.webAclArn).to.equal(undefined);
                });
            }
        });
    }

    describe("variants", () => {
        it("warns when a stack serves plain HTTP, and only then", async () => {
            const warnings: string[] = [];
            const log = pulumi.log as unknown as { warn: (msg: string, resource?: pulumi.Resource) => Promise<void> };
            const original = log.warn;
            log.warn = async (msg: string) => {
                warnings.push(msg);
            };
            try {
                await runProgram("dev");
                expect(warnings.filter((w) => /plain HTTP/.test(w))).to.have.length(1);
                warnings.length = 0;
                await runProgram("prd");
                expect(warnings.filter((w) => /plain HTTP/.test(w))).to.have.length(0);
            } finally {
                log.warn = original;
            }
        });

        it("grants log delivery to the logdelivery service principal in a region opened after August 2022, without the ELB-account lookup", async () => {
            const run = await runProgram("dev", { "aws:region": "ap-southeast-5" });
            const doc = JSON.parse(run.one("aws:s3/bucketPolicy:BucketPolicy", "edge-access-logs").inputs.policy);
            const allow = doc.Statement.find((s: any) => s.Effect === "Allow");
            expect(allow.Principal).to.deep.equal({ Service: SERVICE_PRINCIPAL });
            expect(run.invokes.filter((i) => i.token === "aws:elb/getServiceAccount:getServiceAccount")).to.have.length(0);
            expect(run.one("aws:s3/bucket:Bucket", "edge-access-logs").inputs.bucket).to.include("ap-southeast-5");
        });

        it("uses a given certificate as is: no ACM request, no validation record; no alias without a zone", async () => {
            const run = await runProgram("prd", { certificateArn: CERT_ARN, hostedZoneId: "" });
            expect(run.ofType("aws:acm/certificate:Certificate")).to.have.length(0);
            expect(run.ofType(RECORD)).to.have.length(0);
            const tls = run.ofType(LISTENER).find((l) => l.inputs.port === 443)!;
            expect(tls.inputs.certificateArn).to.equal(CERT_ARN);
            expect(run.outputs.publicUrl).to.equal("https://dify.example.com");
        });

        it("keeps every derived name within AWS limits for the longest stack name the config accepts", async () => {
            // config/index.ts accepts stack names of up to 12 characters: prefix `dify-<12>` is 17.
            const longest = "abcdefghijkl";
            const run = await runProgram(longest, { "aws:region": "ap-southeast-7" });
            const names = [run.one(LB).inputs.name, ...run.ofType(TG).map((t) => t.inputs.name)];
            expect(names).to.have.length(5);
            for (const n of names) {
                expect(n, n).to.include(longest);
                expect(n.length, n).to.be.at.most(ALB_MAX_NAME);
            }
            // S3 bucket names: at most 63 characters, lower case, digits, dots and hyphens.
            const bucket = run.one("aws:s3/bucket:Bucket", "edge-access-logs").inputs.bucket;
            expect(bucket.length, bucket).to.be.at.most(63);
            expect(bucket).to.match(/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/);
        });

        it("with a given certificate and a zone: the alias record, but no ACM request", async () => {
            const run = await runProgram("prd", { certificateArn: CERT_ARN });
            expect(run.ofType("aws:acm/certificate:Certificate")).to.have.length(0);
            const records = run.ofType(RECORD);
            expect(records).to.have.length(1);
            expect(records[0].inputs.type).to.equal("A");
            expect(records[0].inputs.aliases[0].name).to.equal(run.one(LB).state.dnsName);
        });

        it("puts an internal ALB in the private subnets, and a dual-stack one behind A and AAAA aliases", async () => {
            const internal = await runProgram("prd", { albInternal: true });
            expect(internal.one(LB).inputs.internal).to.equal(true);
            expect(internal.one(LB).inputs.subnets).to.deep.equal(internal.outputs.privateSubnetIds);

            const existing = {
                vpcMode: "existing",
                existingVpcId: "vpc-0123456789abcdef0",
                existingPublicSubnetIds: ["subnet-0a000000000000001", "subnet-0a000000000000002"],
                existingPrivateSubnetIds: ["subnet-0b000000000000001", "subnet-0b000000000000002"],
                existingDataSubnetIds: ["subnet-0c000000000000001", "subnet-0c000000000000002"],
                albIpAddressType: "dualstack",
            };
            const dual = await runProgram("prd", existing);
            expect(dual.one(LB).inputs.ipAddressType).to.equal("dualstack");
            expect(dual.one(LB).inputs.subnets).to.deep.equal(existing.existingPublicSubnetIds);
            const types = dual.ofType(RECORD).filter((r) => r.inputs.aliases).map((r) => r.inputs.type);
            expect(types).to.have.members(["A", "AAAA"]);
        });

        it("opens 443 and 80 to 0.0.0.0/0 and ::/0 only with the explicit public opt-in and an empty allow-list", async () => {
            const run = await runProgram("prd", { albPublicIngress: true, albAllowedCidrs: [], wafIpAllowList: false });
            const sources = run.ofType(INGRESS).filter((r) => r.inputs.securityGroupId === run.one(SG, "edge-alb").id).map((r) => `${r.inputs.cidrIpv4 ?? r.inputs.cidrIpv6}:${r.inputs.fromPort}`);
            expect(sources).to.have.members(["0.0.0.0/0:443", "0.0.0.0/0:80", "::/0:443", "::/0:80"]);
            expect(run.ofType("aws:wafv2/ipSet:IpSet")).to.have.length(0);
        });

        it("hands DifyCluster the forwarding listener, the ALB security group and the four target groups", async () => {
            const fixture = path.join(__dirname, "edgeAlb.fixture.ts");
            for (const stack of ["dev", "prd"] as const) {
                delete require.cache[require.resolve(fixture)];
                const run = await runProgram(stack, {}, { entry: fixture });
                const a = run.outputs.attachment as any;
                const forwarding = run.ofType(LISTENER).find((l) => l.inputs.port === (stack === "prd" ? 443 : 80))!;
                expect(a.listenerArn, stack).to.equal(forwarding.state.arn);
                expect(a.securityGroupId).to.equal(run.one(SG, "edge-alb").id);
                expect(a.loadBalancerArnSuffix).to.equal(run.one(LB).state.arnSuffix);
                expect(a.publicUrl).to.equal(run.outputs.publicUrl);
                expect(a.publicUrl).to.not.match(/\/$/);
                const shorts = { web: "web", api: "api", pluginDaemon: "plugin", apiWebsocket: "ws" } as const;
                expect(Object.keys(a.targetGroups).sort()).to.deep.equal(Object.keys(shorts).sort());
                for (const [role, short] of Object.entries(shorts)) {
                    const tg = targetGroup(run, short).state;
                    const { progressive, ...ref } = a.targetGroups[role];
                    expect(ref, role).to.deep.equal({ arn: tg.arn, arnSuffix: tg.arnSuffix, deregistrationDelaySeconds: targetGroup(run, short).inputs.deregistrationDelay });
                    if (stack === "prd" && (role === "web" || role === "api")) {
                        const second = targetGroup(run, `${short}2`).state;
                        const rule = run.ofType("aws:lb/listenerRule:ListenerRule").find((r) => r.name === `edge-${role}`)!;
                        expect(progressive, role).to.deep.equal({ alternateArn: second.arn, alternateArnSuffix: second.arnSuffix, productionListenerRuleArn: rule.state.arn });
                    } else {
                        expect(progressive, role).to.equal(undefined);
                    }
                }
            }
        });
    });

    describe("config errors", () => {
        const expectError = (stack: Stack, overrides: Record<string, unknown>, ...fragments: (string | RegExp)[]) => {
            const message = configErrorFor(stack, overrides);
            for (const f of fragments) {
                if (typeof f === "string") {
                    expect(message).to.include(f);
                } else {
                    expect(message).to.match(f);
                }
            }
        };

        it("rejects an empty allow-list unless the ALB is explicitly public", () => {
            expectError("prd", { albAllowedCidrs: [] }, "dify-aws:albAllowedCidrs", "albPublicIngress");
            expectError("dev", { albAllowedCidrs: [] }, "dify-aws:albAllowedCidrs");
            expect(loadSettingsFor("prd", { albAllowedCidrs: [], albPublicIngress: true, wafIpAllowList: false }).settings.edge.allowedCidrs).to.have.members(["0.0.0.0/0", "::/0"]);
        });

        it("rejects 0.0.0.0/0 or ::/0 in the allow-list unless the public opt-in is true", () => {
            expectError("prd", { albAllowedCidrs: ["203.0.113.0/24", "0.0.0.0/0"] }, "0.0.0.0/0", "albPublicIngress");
            expectError("dev", { albAllowedCidrs: ["::/0"] }, "::/0", "albPublicIngress");
            expect(loadSettingsFor("dev", { albAllowedCidrs: ["0.0.0.0/0", "::/0"], albPublicIngress: true }).settings.edge.allowedCidrs).to.deep.equal(["0.0.0.0/0", "::/0"]);
        });

        it("rejects malformed CIDRs in the allow-list", () => {
            for (const bad of ["203.0.113.0/33", "203.0.113.5/24", "203.0.113.0", "office", "2001:db8::/129", "2001:db8::1/32", "256.0.0.0/8"]) {
                expectError("prd", { albAllowedCidrs: ["198.51.100.0/24", bad] }, "dify-aws:albAllowedCidrs", JSON.stringify(bad));
            }
        });

        it("rejects more CIDRs of one IP version than the security group's 60 inbound rules can hold at two rules each", () => {
            const many = Array.from({ length: 31 }, (_, i) => `10.${i}.0.0/16`);
            expectError("prd", { albAllowedCidrs: many }, "dify-aws:albAllowedCidrs", "IPv4");
            expect(loadSettingsFor("prd", { albAllowedCidrs: many.slice(0, 30) }).settings.edge.allowedCidrs).to.have.length(30);
        });

        it("requires HTTPS (a domain) unless the stack explicitly opts in to HTTP-only", () => {
            expectError("prd", { domainName: "", hostedZoneId: "" }, "dify-aws:domainName", "albAllowHttpOnly");
        });

        it("rejects a domain without a hosted zone or a certificate, and a certificate without a domain", () => {
            expectError("prd", { hostedZoneId: "" }, "dify-aws:domainName", "hostedZoneId", "certificateArn");
            expectError("prd", { domainName: "", hostedZoneId: "", certificateArn: CERT_ARN }, "dify-aws:domainName");
        });

        it("rejects a malformed certificate ARN, zone id or domain", () => {
            expectError("prd", { certificateArn: "arn:aws:acm:ap-northeast-1:123:certificate/x" }, "dify-aws:certificateArn");
            expectError("prd", { certificateArn: `arn:aws:iam::${ACCOUNT_ID}:server-certificate/dify` }, "dify-aws:certificateArn");
            expectError("prd", { hostedZoneId: "dify.example.com" }, "dify-aws:hostedZoneId");
            expectError("prd", { hostedZoneId: "z0123" }, "dify-aws:hostedZoneId");
            expectError("prd", { domainName: "https://dify.example.com" }, "dify-aws:domainName");
        });

        it("rejects HTTP-only together with a domain, certificate or zone", () => {
            expectError("prd", { albAllowHttpOnly: true }, "dify-aws:albAllowHttpOnly");
            expectError("dev", { certificateArn: CERT_ARN }, "dify-aws:albAllowHttpOnly");
            expectError("dev", { hostedZoneId: "Z0123456789ABCDEFGHIJ" }, "dify-aws:hostedZoneId");
        });

        it("rejects an idle timeout outside AWS's 1-4000 s", () => {
            expectError("prd", { albIdleTimeoutSeconds: 0 }, "dify-aws:albIdleTimeoutSeconds", "4000");
            expectError("prd", { albIdleTimeoutSeconds: 4001 }, "dify-aws:albIdleTimeoutSeconds", "4000");
            expect(loadSettingsFor("prd", { albIdleTimeoutSeconds: 4000 }).settings.edge.idleTimeoutSeconds).to.equal(4000);
        });

        it("rejects a WAF rate limit outside AWS's 10-2,000,000,000, or a window WAF does not offer", () => {
            expectError("prd", { wafRateLimit: 9 }, "dify-aws:wafRateLimit");
            expectError("prd", { wafRateLimit: 2_000_000_001 }, "dify-aws:wafRateLimit");
            expect(loadSettingsFor("prd", { wafRateLimit: 10 }).settings.edge.waf!.rateLimit).to.equal(10);
            expectError("prd", { wafRateLimitWindowSeconds: 90 }, "dify-aws:wafRateLimitWindowSeconds", "60, 120, 300, 600");
        });

        it("rejects a non-TLS 1.3 policy and a desync mode weaker than defensive", () => {
            expectError("prd", { albSslPolicy: "ELBSecurityPolicy-2016-08" }, "dify-aws:albSslPolicy");
            expectError("prd", { albDesyncMitigationMode: "monitor" }, "dify-aws:albDesyncMitigationMode");
        });

        it("counts exactly the managed rules wafCountRules names, each in its own group", () => {
            const waf = loadSettingsFor("prd", { wafCountRules: ["SizeRestrictions_BODY", "SQLi_COOKIE"] }).settings.edge.waf!;
            expect(waf.countRules.AWSManagedRulesCommonRuleSet).to.deep.equal(["SizeRestrictions_BODY"]);
            expect(waf.countRules.AWSManagedRulesSQLiRuleSet).to.deep.equal(["SQLi_COOKIE"]);
        });

        it("rejects a wafCountRules name that is not a rule of the Core rule set or the SQL database group", () => {
            // A near miss (AWS spells it SQLi_BODY) and a rule of a group that is not overridable here.
            for (const wrong of ["SQLI_BODY", "Log4JRCE_BODY"]) {
                const message = configErrorFor("prd", { wafCountRules: ["SizeRestrictions_BODY", wrong] });
                expect(message).to.include("dify-aws:wafCountRules").and.include(wrong);
                for (const allowed of [...CRS_BODY_RULES, ...SQLI_BODY_RULES, "CrossSiteScripting_QUERYARGUMENTS", "SQLi_URIPATH"]) {
                    expect(message, wrong).to.include(allowed);
                }
            }
            // Checked even while WAF is off, so the mistake surfaces before WAF is switched on.
            expectError("dev", { wafCountRules: ["SizeRestrictions_BODY", "SQLI_BODY"] }, "dify-aws:wafCountRules", "SQLI_BODY");
        });

        it("refuses a wafCountRules list without SizeRestrictions_BODY: Dify's uploads and prompts exceed its 8 KB", () => {
            expectError("prd", { wafCountRules: ["SQLi_BODY"] }, "dify-aws:wafCountRules", "SizeRestrictions_BODY", "8 KB");
            expectError("prd", { wafCountRules: [] }, "dify-aws:wafCountRules", "SizeRestrictions_BODY");
        });

        it("rejects a WAF IP allow-list while the ALB is open to /0 (WAF IP sets cannot hold /0)", () => {
            expectError("prd", { albPublicIngress: true, albAllowedCidrs: [] }, "dify-aws:wafIpAllowList");
            // Without WAF the combination is harmless.
            expect(loadSettingsFor("dev", { albPublicIngress: true, albAllowedCidrs: [] }).settings.edge.waf).to.equal(undefined);
        });

        it("rejects a dual-stack ALB in a VPC this program creates (it has no IPv6)", () => {
            expectError("prd", { albIpAddressType: "dualstack" }, "dify-aws:albIpAddressType");
        });
    });
});

describe("EdgeAlb: the collaboration websocket keeps a Socket.IO session on one task", () => {
    for (const stack of ["dev", "prd"] as const) {
        it(`${stack}: its target group is sticky (lb_cookie) for a day, and no other group is`, async () => {
            const groups = (await stackRun(stack)).ofType("aws:lb/targetGroup:TargetGroup");
            const ws = groups.filter((g) => g.inputs.port === 5001 && String(g.inputs.name).includes("-ws-"));
            expect(ws).to.have.length(1);
            expect(ws[0].inputs.stickiness).to.deep.equal({ type: "lb_cookie", enabled: true, cookieDuration: 86_400 });
            for (const g of groups.filter((x) => !ws.includes(x))) {
                expect(g.inputs.stickiness?.enabled ?? false, g.name).to.equal(false);
            }
        });
    }
});
