/** The ALB's access-log bucket. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AwsContext } from "../awsContext";
import { logBucket } from "../logBucket";
import type { LogGroupSettings } from "../logGroup";

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

/**
 * The access-log bucket (components/logBucket.ts), writable only by the region's ELB log delivery, under
 * `AWSLogs/<account>/`.
 */
export function accessLogBucket(name: string, parent: pulumi.Resource, args: { namePrefix: string; deletionProtection: boolean; logs: LogGroupSettings }, ctx: AwsContext): { bucket: pulumi.Output<string>; ready: pulumi.Resource[] } {
    const writer = ctx.region.apply((region) =>
        ELB_ACCOUNT_REGIONS.has(region)
            ? aws.elb.getServiceAccountOutput({ region }, { parent }).arn.apply((arn) => ({ AWS: arn }) as Record<string, string>)
            : pulumi.output({ Service: ELB_LOG_DELIVERY_SERVICE } as Record<string, string>),
    );
    const { bucket, ready } = logBucket(`${name}-access-logs`, parent, {
        // Bucket names are global: account and region make this one unique (<= 17 + 10 + 12 + 1 + 14 < 63).
        bucketName: pulumi.interpolate`${args.namePrefix}-alb-logs-${ctx.accountId}-${ctx.region}`,
        nameTag: `${args.namePrefix}-alb-logs`,
        deletionProtection: args.deletionProtection,
        retentionDays: args.logs.retentionInDays,
        writers: (arn) => [{ Sid: "ElbAccessLogDelivery", Effect: "Allow", Principal: writer, Action: "s3:PutObject", Resource: pulumi.interpolate`${arn}/AWSLogs/${ctx.accountId}/*` }],
    });
    return { bucket, ready };
}
