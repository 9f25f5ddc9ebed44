/** Protection against deleting data and the load balancer by accident. */
import * as aws from "@pulumi/aws";
import { ResourceValidationArgs, validateResourceOfType } from "@pulumi/policy";
import { configSchema, readConfig } from "./config";
import { PackPolicy } from "./resources";

const KEYS = ["requireDeletionProtection"] as const;

function required(args: ResourceValidationArgs): boolean {
    return readConfig(args, ...KEYS).requireDeletionProtection;
}

/** Pulumi `protect` makes `pulumi destroy` and a replacing `up` fail instead of deleting the resource. */
function requireProtect(args: ResourceValidationArgs, what: string, reportViolation: (message: string) => void): void {
    if (!args.opts.protect) {
        reportViolation(`${what} is not protected in Pulumi: set the resource option protect: true so a destroy or replacement cannot delete it.`);
    }
}

function checkDatabase(
    what: string,
    db: { deletionProtection?: boolean; skipFinalSnapshot?: boolean },
    args: ResourceValidationArgs,
    reportViolation: (message: string) => void,
): void {
    if (!required(args)) {
        return;
    }
    if (db.deletionProtection !== true) {
        reportViolation(`${what} deletionProtection is ${db.deletionProtection ?? "unset (default false)"}.`);
    }
    if (db.skipFinalSnapshot === true) {
        reportViolation(`${what} skips its final snapshot (skipFinalSnapshot: true): deleting it loses the data.`);
    }
    requireProtect(args, `The ${what}`, reportViolation);
}

function checkBucket(bucket: { forceDestroy?: boolean }, args: ResourceValidationArgs, reportViolation: (message: string) => void): void {
    if (!required(args)) {
        return;
    }
    if (bucket.forceDestroy === true) {
        reportViolation("Bucket has forceDestroy: true, so deleting it also deletes every object in it.");
    }
    requireProtect(args, "The bucket", reportViolation);
}

export const deletionProtection: PackPolicy = {
    name: "deletion-protection",
    description:
        "When deletion protection is required: Aurora/RDS have deletionProtection and keep a final snapshot, load balancers have enableDeletionProtection, buckets have no forceDestroy, and databases, caches, buckets, EFS file systems and KMS keys carry Pulumi protect.",
    remediationSteps:
        "Set deletionProtection: true and leave skipFinalSnapshot false (RDS), enableDeletionProtection: true (ALB), forceDestroy unset or false (S3), and the resource option protect: true on the database, cache, bucket, EFS file system and KMS key (all driven by the stack's dify-aws:deletionProtection).",
    configSchema: configSchema(...KEYS),
    validateResource: [
        validateResourceOfType(aws.rds.Cluster, (cluster, args, reportViolation) => checkDatabase("Aurora cluster", cluster, args, reportViolation)),
        validateResourceOfType(aws.rds.Instance, (instance, args, reportViolation) => checkDatabase("RDS instance", instance, args, reportViolation)),
        validateResourceOfType(aws.elasticache.ReplicationGroup, (_group, args, reportViolation) => {
            // ElastiCache has no deletion-protection flag: Pulumi protect is the only guard.
            if (required(args)) {
                requireProtect(args, "The ElastiCache replication group", reportViolation);
            }
        }),
        ...[aws.lb.LoadBalancer, aws.alb.LoadBalancer].map((cls) =>
            validateResourceOfType(cls, (lb, args, reportViolation) => {
                if (required(args) && lb.enableDeletionProtection !== true) {
                    reportViolation(`Load balancer enableDeletionProtection is ${lb.enableDeletionProtection ?? "unset (default false)"}.`);
                }
            }),
        ),
        validateResourceOfType(aws.s3.Bucket, (bucket, args, reportViolation) => checkBucket(bucket, args, reportViolation)),
        validateResourceOfType(aws.s3.BucketV2, (bucket, args, reportViolation) => checkBucket(bucket, args, reportViolation)),
        validateResourceOfType(aws.efs.FileSystem, (_fs, args, reportViolation) => {
            // EFS has no deletion-protection flag either; deleting the file system deletes every file on it.
            if (required(args)) {
                requireProtect(args, "The EFS file system", reportViolation);
            }
        }),
        validateResourceOfType(aws.kms.Key, (_key, args, reportViolation) => {
            // Everything encrypted with the key (snapshots, secrets, objects) becomes unreadable once it is deleted.
            if (required(args)) {
                requireProtect(args, "The KMS key", reportViolation);
            }
        }),
    ],
};

export const deletionPolicies: PackPolicy[] = [deletionProtection];
