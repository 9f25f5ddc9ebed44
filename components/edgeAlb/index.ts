/**
 * EdgeAlb: Dify's public edge. This file reads as the outline; each concern lives beside it:
 * - routes.ts: upstream's nginx locations as listener rules (browser and machine paths, within the ALB's limits);
 * - targets.ts: the target groups and their health checks;
 * - accessLogs.ts, dns.ts (certificate and alias records), waf.ts (web ACL).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { parseCidr } from "../../config/cidr";
import type { ConsoleAuth, EdgeSettings } from "../../config/edge";
import type { UpstreamRelease } from "../../config/upstream/types";
import { awsContext } from "../awsContext";
import type { EdgeAttachment, TargetGroupRef } from "../contracts";
import type { LogGroupSettings } from "../logGroup";
import { after } from "../ordering";
import { accessLogBucket } from "./accessLogs";
import { aliasRecords, issueCertificate } from "./dns";
import { LbTarget, machinePathRegex, PlannedRule, planListenerRules, Unauthenticated } from "./routes";
import { TARGETS, targetGroup } from "./targets";
import { webAcl } from "./waf";

export { ELB_ACCOUNT_REGIONS, ELB_LOG_DELIVERY_SERVICE } from "./accessLogs";
export { CATCH_ALL_PRIORITY, EXTRA_LOCATIONS, LOCATION_AUDIENCE, machinePathRegex, planListenerRules } from "./routes";
export type { LbTarget, PlannedRule } from "./routes";
export { HEALTH_CHECK, MAX_LB_NAME_LENGTH, TARGETS } from "./targets";

export interface EdgeAlbArgs {
    /** The VPC of the load balancer and its target groups. */
    vpcId: pulumi.Input<string>;
    /** Subnets of the load balancer, one per AZ (at least two): the public ones, or the private ones when `edge.internal`. */
    subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** The validated edge settings: allow-list, split exposure, SSO, TLS or HTTP-only, DNS zone, idle timeout, WAF. */
    edge: EdgeSettings;
    /** The Dify release whose nginx locations the listener rules route (config/upstream). */
    release: Pick<UpstreamRelease, "routes">;
    /** Collaboration mode: route /socket.io to the websocket service's target group. */
    collaboration: boolean;
    /**
     * Roles deployed as ECS canaries: each gets a second target group, and its one listener rule forwards to both
     * (weights 100/0), which ECS then moves. Their rules must be forward-only (no SSO; config/index.ts refuses it).
     */
    progressive: readonly LbTarget[];
    /** Deletion protection on the ALB; when false the access-log bucket may be destroyed with its objects. */
    deletionProtection: boolean;
    /** Retention (days, also the access-log expiry) and optional KMS key of the WAF log group. */
    logs: LogGroupSettings;
    /** Physical-name prefix, e.g. `dify-prd` (at most 17 characters, so every derived name fits AWS's 32). */
    namePrefix: string;
}

/** A logical-name-safe form of a CIDR: `203.0.113.0/24` -> `203-0-113-0-24`, `2001:db8::/32` -> `2001-db8--32`. */
function slug(cidr: string): string {
    return cidr.replace(/[.:/]/g, "-").replace(/-{3,}/g, "--");
}

/**
 * Dify's public edge: an ALB admitting only the configured allow-list (and, with split exposure, the machine paths'
 * callers), HTTPS with a TLS 1.3 policy (certificate given or issued and DNS-validated by ACM) and HTTP redirected to
 * it, upstream's path routing to the web, api, plugin-daemon and websocket target groups (SSO in front of the browser
 * paths when configured), access logs in a dedicated bucket, an optional WAF, and the Route53 alias.
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
    public readonly targetGroupArns: Partial<Record<LbTarget, pulumi.Output<string>>>;
    /** The second target group of each role deployed as a canary. */
    public readonly alternateTargetGroupArns: Partial<Record<LbTarget, pulumi.Output<string>>>;
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
    /** The listener rules as planned (routes.ts), for the alarms, the tests and the reachability table. */
    public readonly rules: PlannedRule[];

    constructor(name: string, args: EdgeAlbArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dify-aws:edge:EdgeAlb", name, {}, opts);
        const { edge, namePrefix } = args;
        const ctx = awsContext(this);
        const https = edge.tls.mode === "https";
        const parent = { parent: this };

        // --- security group: the allow-list, the machine paths' callers, and (SSO) the identity provider ---------
        const sg = new aws.ec2.SecurityGroup(
            `${name}-alb`,
            {
                vpcId: args.vpcId,
                description: "Dify ALB: HTTPS and HTTP from the allow-list only; egress only to Dify task ports",
                revokeRulesOnDelete: true,
                tags: { Name: `${namePrefix}-alb` },
            },
            parent,
        );
        this.ingress(name, sg, edge, https);
        if (edge.consoleAuth) {
            // "The load balancer must be able to communicate with the IdP token endpoint and the IdP user info
            // endpoint" (ELB user guide, Authenticate users): both are public HTTPS endpoints of the identity provider.
            new aws.vpc.SecurityGroupEgressRule(
                `${name}-alb-to-idp-443`,
                {
                    securityGroupId: sg.id,
                    cidrIpv4: "0.0.0.0/0",
                    ipProtocol: "tcp",
                    fromPort: 443,
                    toPort: 443,
                    description: "Dify ALB to the identity provider on 443: token and user info endpoints of console SSO",
                },
                parent,
            );
        }
        this.securityGroupId = sg.id;

        // --- load balancer ------------------------------------------------------------------------------------------
        const logBucket = accessLogBucket(name, this, args, ctx);
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

        // --- target groups, listeners and rules ------------------------------------------------------------------
        const plan = planListenerRules(args.release, { sso: edge.consoleAuth !== undefined, collaboration: args.collaboration });
        this.rules = plan;
        const targets = [...new Set(plan.map((r) => r.target))];
        const tgs: Partial<Record<LbTarget, aws.lb.TargetGroup>> = {};
        const alternates: Partial<Record<LbTarget, aws.lb.TargetGroup>> = {};
        const tgArgs = { namePrefix, vpcId: args.vpcId, apiDeregistrationDelaySeconds: edge.apiDeregistrationDelaySeconds };
        for (const target of targets) {
            tgs[target] = targetGroup(name, this, tgArgs, TARGETS[target]);
            if (args.progressive.includes(target)) {
                // ECS registers the new tasks of a canary here (its "green" group), then swaps the two groups' roles.
                alternates[target] = targetGroup(name, this, tgArgs, { ...TARGETS[target], short: `${TARGETS[target].short}2` });
            }
        }
        checkProgressiveRules(plan, args.progressive);
        this.alternateTargetGroupArns = Object.fromEntries(Object.entries(alternates).map(([k, tg]) => [k, tg!.arn])) as Partial<Record<LbTarget, pulumi.Output<string>>>;
        this.targetGroupArns = Object.fromEntries(Object.entries(tgs).map(([k, tg]) => [k, tg!.arn])) as Partial<Record<LbTarget, pulumi.Output<string>>>;

        let certificateArn: pulumi.Output<string> | undefined;
        if (edge.tls.mode === "https") {
            certificateArn = edge.tls.certificateArn !== undefined ? pulumi.output(edge.tls.certificateArn) : issueCertificate(name, this, edge.tls.domainName, edge.hostedZoneId!);
        }
        this.certificateArn = certificateArn;

        // Every path is some rule's (web's catch-all is last): the default action answers only what no rule takes.
        const noRoute = [{ type: "fixed-response", fixedResponse: { contentType: "text/plain", messageBody: "Not found", statusCode: "404" } }];
        let forwarding: aws.lb.Listener;
        if (edge.tls.mode === "https") {
            forwarding = new aws.lb.Listener(
                `${name}-https`,
                { loadBalancerArn: alb.arn, port: 443, protocol: "HTTPS", sslPolicy: edge.tls.sslPolicy, certificateArn, defaultActions: noRoute },
                parent,
            );
            const redirect = new aws.lb.Listener(
                `${name}-http`,
                {
                    loadBalancerArn: alb.arn,
                    port: 80,
                    protocol: "HTTP",
                    defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }],
                },
                parent,
            );
            this.httpsListenerArn = forwarding.arn;
            this.httpListenerArn = redirect.arn;
        } else {
            pulumi.log.warn(
                `${namePrefix}: the ALB serves Dify over plain HTTP (dify-aws:albAllowHttpOnly=true); logins and API keys cross the network unencrypted. Set dify-aws:domainName with a hosted zone or certificate to serve HTTPS.`,
                this,
            );
            forwarding = new aws.lb.Listener(`${name}-http`, { loadBalancerArn: alb.arn, port: 80, protocol: "HTTP", defaultActions: noRoute }, parent);
            this.httpListenerArn = forwarding.arn;
        }

        const rules = new Map<LbTarget, aws.lb.ListenerRule[]>();
        for (const r of plan) {
            const alternate = alternates[r.target];
            const forward: aws.types.input.lb.ListenerRuleAction = alternate
                ? // Both groups on the production rule, as ECS requires ("Both targetGroup and alternateTargetGroup must be
                  // associated with the productionListenerRule"); ECS moves the weights from here on.
                  { type: "forward", forward: { targetGroups: [{ arn: tgs[r.target]!.arn, weight: 100 }, { arn: alternate.arn, weight: 0 }] } }
                : { type: "forward", order: r.authenticate ? 2 : undefined, targetGroupArn: tgs[r.target]!.arn };
            const rule = new aws.lb.ListenerRule(
                `${name}-${r.id}`,
                {
                    listenerArn: forwarding.arn,
                    priority: r.priority,
                    actions: [...(r.authenticate && edge.consoleAuth ? [authenticateAction(edge.consoleAuth, r.authenticate)] : []), forward],
                    conditions: [{ pathPattern: r.paths }],
                },
                // After each canary ECS has rewritten the weights (and which group is live); writing the declared
                // 100/0 back would send all traffic to a group that may hold no tasks (pulumi-aws#5771, TFP#43905).
                { ...parent, ignoreChanges: alternate ? ["actions"] : [] },
            );
            rules.set(r.target, [...(rules.get(r.target) ?? []), rule]);
        }

        this.publicUrl = edge.tls.mode === "https" ? pulumi.output(`https://${edge.tls.domainName}`) : pulumi.interpolate`http://${alb.dnsName}`;
        if (edge.hostedZoneId !== undefined && edge.tls.mode === "https") {
            aliasRecords(name, this, edge.tls.domainName, edge.hostedZoneId, alb, edge.ipAddressType === "dualstack");
        }

        if (edge.waf) {
            const waf = webAcl(name, this, { namePrefix, edge, waf: edge.waf, logs: args.logs, machinePathRegex: machinePathRegex(args.release) }, alb);
            this.webAclArn = waf.acl.arn;
            this.webAclName = waf.acl.name;
            this.wafLogGroupName = waf.logGroup.name;
        }

        // Each ARN handed to the consumer resolves only once the rules that route to its group exist: ECS refuses a
        // service whose target group is not yet attached to a load balancer, and depending on these values orders it.
        const ref = (target: LbTarget): TargetGroupRef => {
            const alternate = alternates[target];
            const production = (rules.get(target) ?? [])[0];
            return {
                arn: after(tgs[target]!.arn, ...(rules.get(target) ?? [])),
                arnSuffix: tgs[target]!.arnSuffix,
                deregistrationDelaySeconds: TARGETS[target].deregistrationDelay ?? edge.apiDeregistrationDelaySeconds,
                ...(alternate && production ? { progressive: { alternateArn: after(alternate.arn, production), alternateArnSuffix: alternate.arnSuffix, productionListenerRuleArn: production.arn } } : {}),
            };
        };
        this.attachment = {
            publicUrl: this.publicUrl,
            securityGroupId: sg.id,
            loadBalancerArnSuffix: alb.arnSuffix,
            listenerArn: after(forwarding.arn, ...[...rules.values()].flat()),
            targetGroups: {
                web: ref("web"),
                api: ref("api"),
                pluginDaemon: ref("pluginDaemon"),
                ...(tgs.apiWebsocket ? { apiWebsocket: ref("apiWebsocket") } : {}),
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
            alternateTargetGroupArns: this.alternateTargetGroupArns,
            httpsListenerArn: this.httpsListenerArn,
            httpListenerArn: this.httpListenerArn,
            certificateArn: this.certificateArn,
            accessLogBucketName: this.accessLogBucketName,
            webAclArn: this.webAclArn,
            webAclName: this.webAclName,
            wafLogGroupName: this.wafLogGroupName,
        });
    }

    /**
     * One ingress rule per allow-listed CIDR and port: 443 (HTTPS stacks) and 80 (redirect, or HTTP-only); and per
     * machine-path CIDR (split exposure) the serving port only. The WAF keeps the latter to the machine paths.
     */
    private ingress(name: string, sg: aws.ec2.SecurityGroup, edge: EdgeSettings, https: boolean): void {
        const rule = (cidr: string, port: number, description: string, logicalPrefix: string) =>
            new aws.vpc.SecurityGroupIngressRule(
                `${logicalPrefix}-${port}-from-${slug(cidr)}`,
                {
                    securityGroupId: sg.id,
                    description,
                    ipProtocol: "tcp",
                    fromPort: port,
                    toPort: port,
                    ...(parseCidr(cidr)?.version === 6 ? { cidrIpv6: cidr } : { cidrIpv4: cidr }),
                },
                { parent: this },
            );
        const ports = https ? [{ port: 443, label: "HTTPS" }, { port: 80, label: "HTTP (redirect to HTTPS)" }] : [{ port: 80, label: "HTTP" }];
        for (const cidr of edge.allowedCidrs) {
            for (const { port, label } of ports) {
                rule(cidr, port, `${label} from allow-listed ${cidr}`, name);
            }
        }
        for (const cidr of edge.machinePathCidrs.filter((c) => !edge.allowedCidrs.includes(c))) {
            rule(cidr, ports[0].port, `${ports[0].label} from ${cidr} for the machine paths only (the WAF blocks the rest)`, `${name}-machine`);
        }
    }
}

/**
 * A progressive role must have exactly one listener rule, forward-only: ECS manages one production rule per load
 * balancer entry and fails a deployment whose production rule mixes forward with other actions (AWS, "Application
 * Load Balancer resources for blue/green, linear, and canary deployments").
 */
function checkProgressiveRules(plan: readonly PlannedRule[], progressive: readonly LbTarget[]): void {
    for (const target of progressive) {
        const own = plan.filter((r) => r.target === target);
        if (own.length !== 1 || own[0].authenticate) {
            throw new Error(`${target} cannot roll out as a canary: it has ${own.length} listener rules${own.some((r) => r.authenticate) ? ", one that authenticates" : ""}; ECS moves traffic on exactly one forward-only rule`);
        }
    }
}

/** The ALB action that signs a browser in (or answers 401) before it is forwarded. */
function authenticateAction(auth: ConsoleAuth, unauthenticated: Unauthenticated): aws.types.input.lb.ListenerRuleAction {
    const session = {
        scope: auth.scope,
        sessionCookieName: auth.sessionCookieName,
        sessionTimeout: auth.sessionTimeoutSeconds,
        onUnauthenticatedRequest: unauthenticated,
    };
    return auth.kind === "oidc"
        ? {
              type: "authenticate-oidc",
              order: 1,
              authenticateOidc: {
                  ...session,
                  issuer: auth.issuer,
                  authorizationEndpoint: auth.authorizationEndpoint,
                  tokenEndpoint: auth.tokenEndpoint,
                  userInfoEndpoint: auth.userInfoEndpoint,
                  clientId: auth.clientId,
                  clientSecret: auth.clientSecret,
              },
          }
        : {
              type: "authenticate-cognito",
              order: 1,
              authenticateCognito: { ...session, userPoolArn: auth.userPoolArn, userPoolClientId: auth.userPoolClientId, userPoolDomain: auth.userPoolDomain },
          };
}
