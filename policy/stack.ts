/** Stack-level checks that need more than one resource: the WAF in front of every internet-facing ALB. */
import * as aws from "@pulumi/aws";
import { configSchema, readConfig } from "./config";
import { describe, internetFacingLoadBalancers, isApplicationLoadBalancer, PackPolicy, referencedBy, UNKNOWN } from "./resources";

const KEYS = ["requireWaf"] as const;

export const albWaf: PackPolicy = {
    name: "alb-waf",
    description:
        "When WAF is required, every internet-facing application load balancer has an AWS WAF web ACL associated (aws.wafv2.WebAclAssociation whose resourceArn is the load balancer).",
    remediationSteps:
        "Turn on the stack's WAF (dify-aws:wafEnabled) so EdgeAlb creates a regional aws.wafv2.WebAcl (managed rule groups, rate limit) and associates it with the load balancer.",
    configSchema: configSchema(...KEYS),
    validateStack: (args, reportViolation) => {
        if (!readConfig(args, ...KEYS).requireWaf) {
            return;
        }
        const associations = args.resources.filter((r) => r.isType(aws.wafv2.WebAclAssociation));
        for (const lb of internetFacingLoadBalancers(args.resources).filter(isApplicationLoadBalancer)) {
            const covered = associations.map((a) => referencedBy(a, "resourceArn", [lb], ["arn", "id"]));
            if (covered.some((refs) => refs === UNKNOWN || refs.length > 0)) {
                continue;
            }
            reportViolation(`${describe(lb)} is internet-facing and has no WAF web ACL associated.`, lb.urn);
        }
    },
};

export const stackPolicies: PackPolicy[] = [albWaf];
