/** A bucket that AWS services deliver logs into: the ALB's access logs, the files bucket's server access logs. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { tlsOnlyStatements } from "./bucketTls";

export interface LogBucketArgs {
    /** The globally unique bucket name. */
    bucketName: pulumi.Input<string>;
    /** The `Name` tag. */
    nameTag: string;
    /** Pulumi `protect` and no `forceDestroy` (the stack protects its data). */
    deletionProtection: boolean;
    /** Days after which log objects are expired (the stack's log retention). */
    retentionDays: number;
    /** The statements that let the delivering service write, given the bucket's ARN. */
    writers: (bucketArn: pulumi.Output<string>) => Record<string, unknown>[];
    /** What the bucket waits for (the data guard, where the logs are data a config change could delete). */
    dependsOn?: pulumi.Resource[];
}

/**
 * SSE-S3 only: neither ALB access logs nor S3 server access logs may be delivered into a bucket whose default
 * encryption is SSE-KMS (ELB user guide, "Access logs: bucket requirements"; S3 user guide, "Enabling Amazon S3
 * server access logging": "only SSE-S3 is supported for the destination bucket"). No public access, no ACLs (the
 * writers are granted by bucket policy, which BucketOwnerEnforced requires), TLS only, objects expired after the
 * retention.
 */
export function logBucket(name: string, parent: pulumi.Resource, args: LogBucketArgs): { bucket: pulumi.Output<string>; arn: pulumi.Output<string>; ready: pulumi.Resource[] } {
    const opts = { parent };
    const bucket = new aws.s3.Bucket(
        name,
        { bucket: args.bucketName, forceDestroy: !args.deletionProtection, tags: { Name: args.nameTag } },
        { parent, protect: args.deletionProtection, dependsOn: args.dependsOn ?? [] },
    );
    const ownership = new aws.s3.BucketOwnershipControls(name, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, opts);
    const publicBlock = new aws.s3.BucketPublicAccessBlock(
        name,
        { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
        opts,
    );
    const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(name, { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] }, opts);
    new aws.s3.BucketLifecycleConfiguration(
        name,
        {
            bucket: bucket.id,
            rules: [
                {
                    id: "expire-access-logs",
                    status: "Enabled",
                    filter: {},
                    expiration: { days: args.retentionDays },
                    abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
                },
            ],
        },
        opts,
    );
    const policy = new aws.s3.BucketPolicy(
        name,
        { bucket: bucket.id, policy: pulumi.jsonStringify({ Version: "2012-10-17", Statement: [...tlsOnlyStatements(bucket.arn), ...args.writers(bucket.arn)] }) },
        // S3 rejects a bucket policy while the public-access block is being applied concurrently.
        { parent, dependsOn: [publicBlock] },
    );
    return { bucket: bucket.bucket, arn: bucket.arn, ready: [policy, ownership, encryption] };
}
