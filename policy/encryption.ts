/** Encryption at rest and in transit, customer-managed keys, and log retention. */
import * as aws from "@pulumi/aws";
import { PolicyResource, ResourceValidation, validateResourceOfType } from "@pulumi/policy";
import type { Resource, Unwrap } from "@pulumi/pulumi";
import { configSchema, readConfig } from "./config";
import { bucketCompanions, describe, isAwsManagedKeyReference, isSet, known, PackPolicy, referencedBy, s3Buckets, UNKNOWN } from "./resources";

/** What an HTTPS listener gets when sslPolicy is omitted (provider and ELB API default); it still accepts TLS 1.0. */
export const ELB_DEFAULT_SSL_POLICY = "ELBSecurityPolicy-2016-08";

/** Server-side encryption algorithms S3 accepts for default bucket encryption. */
const S3_SSE_ALGORITHMS = ["AES256", "aws:kms", "aws:kms:dsse"];

function isAuroraEngine(engine: unknown): boolean {
    return typeof engine === "string" && engine.startsWith("aurora");
}

export const rdsStorageEncrypted: PackPolicy = {
    name: "rds-storage-encrypted",
    description:
        "Aurora clusters and RDS instances encrypt their storage (and with it backups, snapshots and replicas). storageEncrypted defaults to false for provisioned and Serverless v2 Aurora clusters and for RDS instances.",
    remediationSteps:
        "Set storageEncrypted: true (with kmsKeyId when customer-managed keys are required). An existing unencrypted database cannot be encrypted in place: restore an encrypted copy of a snapshot and switch over.",
    validateResource: [
        validateResourceOfType(aws.rds.Cluster, (cluster, _args, reportViolation) => {
            // Only the retired Serverless v1 engine mode encrypts by default.
            const encrypted = cluster.storageEncrypted ?? cluster.engineMode === "serverless";
            if (encrypted !== true) {
                reportViolation(`Aurora cluster storage is not encrypted: storageEncrypted is ${cluster.storageEncrypted ?? "unset (default false)"}.`);
            }
        }),
        validateResourceOfType(aws.rds.Instance, (instance, _args, reportViolation) => {
            if (!isAuroraEngine(instance.engine) && instance.storageEncrypted !== true) {
                reportViolation(`RDS instance storage is not encrypted: storageEncrypted is ${instance.storageEncrypted ?? "unset (default false)"}.`);
            }
        }),
    ],
};

export const elasticacheEncrypted: PackPolicy = {
    name: "elasticache-encryption-and-auth",
    description:
        "ElastiCache replication groups encrypt in transit (mode required, not preferred) and at rest, and require an AUTH token. Standalone cache clusters cannot do all three and are not allowed.",
    remediationSteps:
        "Use aws.elasticache.ReplicationGroup with transitEncryptionEnabled: true (transitEncryptionMode unset or \"required\"), atRestEncryptionEnabled: true and authToken from a generated secret; clients connect with rediss:// and the token.",
    validateResource: [
        validateResourceOfType(aws.elasticache.ReplicationGroup, (group, _args, reportViolation) => {
            if (group.transitEncryptionEnabled !== true) {
                reportViolation(`Encryption in transit is off: transitEncryptionEnabled is ${group.transitEncryptionEnabled ?? "unset (default false)"}.`);
            } else if (group.transitEncryptionMode === "preferred") {
                reportViolation(`transitEncryptionMode is "preferred", which still accepts unencrypted connections; use "required".`);
            }
            // Valkey encrypts at rest by default; Redis OSS (the default engine) does not.
            const atRest = group.atRestEncryptionEnabled ?? (group.engine ?? "redis") === "valkey";
            if (atRest !== true) {
                reportViolation(`Encryption at rest is off: atRestEncryptionEnabled is ${group.atRestEncryptionEnabled ?? `unset (default false for engine ${group.engine ?? "redis"})`}.`);
            }
            if (!isSet(() => group.authToken) && !isSet(() => group.authTokenWo)) {
                reportViolation("No AUTH token: set authToken (or authTokenWo) so clients must authenticate.");
            }
        }),
        validateResourceOfType(aws.elasticache.Cluster, (cluster, _args, reportViolation) => {
            if (!isSet(() => cluster.replicationGroupId)) {
                reportViolation(`A standalone ${cluster.engine ?? "cache"} cluster cannot combine encryption at rest, in transit and AUTH; create a replication group instead.`);
            }
        }),
    ],
};

export const efsEncrypted: PackPolicy = {
    name: "efs-encryption",
    description:
        "EFS file systems encrypt at rest (encrypted defaults to false and cannot be turned on later), and every EFS volume of an ECS task definition is mounted with TLS (transitEncryption defaults to DISABLED) and IAM authorization.",
    remediationSteps:
        "Create the file system with encrypted: true (with kmsKeyId when customer-managed keys are required); an unencrypted one must be copied to a new file system. In the task definition's efsVolumeConfiguration set transitEncryption: \"ENABLED\" and authorizationConfig { accessPointId, iam: \"ENABLED\" }.",
    validateResource: [
        validateResourceOfType(aws.efs.FileSystem, (fs, _args, reportViolation) => {
            if (fs.encrypted !== true) {
                reportViolation(`EFS file system is not encrypted at rest: encrypted is ${fs.encrypted ?? "unset (default false)"}.`);
            }
        }),
        validateResourceOfType(aws.ecs.TaskDefinition, (td, _args, reportViolation) => {
            const volumes = known(() => td.volumes ?? []);
            if (volumes === UNKNOWN) {
                return;
            }
            for (const v of volumes as NonNullable<typeof td.volumes>) {
                const efs = known(() => v.efsVolumeConfiguration);
                if (efs === UNKNOWN || efs === undefined) {
                    continue;
                }
                const transit = known(() => v.efsVolumeConfiguration?.transitEncryption);
                const iam = known(() => v.efsVolumeConfiguration?.authorizationConfig?.iam);
                if (transit !== UNKNOWN && transit !== "ENABLED") {
                    reportViolation(`EFS volume ${v.name} is mounted without TLS: transitEncryption is ${transit ?? "unset (default DISABLED)"}.`);
                }
                if (iam !== UNKNOWN && iam !== "ENABLED") {
                    reportViolation(`EFS volume ${v.name} is mounted without IAM authorization: authorizationConfig.iam is ${iam ?? "unset (default DISABLED)"}, so the file system cannot tell the task role from any other client.`);
                }
            }
        }),
    ],
};

export const albHttpsListeners: PackPolicy = {
    name: "alb-https-listeners",
    description:
        "Load balancer listeners serve HTTPS. An HTTP listener is only allowed when its default action redirects to HTTPS. A listener without protocol is HTTP (the provider default).",
    remediationSteps:
        "Serve clients on an HTTPS listener (certificate from ACM, a TLS policy from the allowed list) and make the port-80 listener's only default action a redirect with protocol HTTPS (status HTTP_301).",
    validateResource: [aws.lb.Listener, aws.alb.Listener].map((cls) =>
        validateResourceOfType(cls, (listener, _args, reportViolation) => {
            const protocol = listener.protocol ?? "HTTP";
            if (protocol !== "HTTP") {
                return; // HTTPS, or a network load balancer's TCP/TLS/UDP listener (not an HTTP endpoint).
            }
            const actions = listener.defaultActions ?? [];
            if (!redirectsToHttps(actions)) {
                const what = actions.map((a) => (a.type === "redirect" ? `redirect to ${a.redirect?.protocol ?? "#{protocol}"}` : a.type)).join(", ") || "none";
                reportViolation(`HTTP listener on port ${listener.port ?? "(default)"} serves plain HTTP (default action: ${what}) instead of redirecting to HTTPS.`);
            }
        }),
    ),
};

/** True when every one of a listener's default actions redirects to HTTPS. */
function redirectsToHttps(actions: { type?: string; redirect?: { protocol?: string } }[] | undefined): boolean {
    return (actions ?? []).length > 0 && (actions ?? []).every((a) => a.type === "redirect" && a.redirect?.protocol === "HTTPS");
}

export const albHttpListenerRules: PackPolicy = {
    name: "alb-http-listener-rules",
    description:
        "An HTTP listener that redirects to HTTPS has no listener rules that serve content: each of its rules only redirects to HTTPS or returns a fixed response. A forwarding rule on it would serve those paths over plain HTTP behind a compliant-looking listener.",
    remediationSteps: "Attach forwarding rules (path routing) to the HTTPS listener, never to the port-80 redirect listener.",
    validateStack: (args, reportViolation) => {
        const listeners = args.resources.filter((r) => r.isType(aws.lb.Listener) || r.isType(aws.alb.Listener));
        const redirecting = listeners.filter((l) => known(() => l.props.protocol ?? "HTTP") === "HTTP" && known(() => redirectsToHttps(l.props.defaultActions)) === true);
        for (const rule of args.resources.filter((r) => r.isType(aws.lb.ListenerRule) || r.isType(aws.alb.ListenerRule))) {
            const on = referencedBy(rule, "listenerArn", redirecting, ["arn", "id"]);
            if (on === UNKNOWN || on.length === 0) {
                continue;
            }
            const types = known(() => (rule.props.actions ?? []).map((a: { type?: string; redirect?: { protocol?: string } }) => (a.type === "redirect" ? `redirect:${a.redirect?.protocol ?? "#{protocol}"}` : a.type)));
            if (types === UNKNOWN) {
                continue;
            }
            const serving = (types as string[]).filter((t) => t !== "redirect:HTTPS" && t !== "fixed-response");
            if (serving.length > 0) {
                reportViolation(`${describe(rule)} on the HTTP redirect listener ${describe(on[0])} serves plain HTTP (${serving.join(", ")}).`, rule.urn);
            }
        }
    },
};

const TLS_KEYS = ["allowedTlsPolicies"] as const;
export const albTlsPolicy: PackPolicy = {
    name: "alb-tls-policy",
    description: `HTTPS and TLS listeners use a TLS security policy from the allowed list. Without sslPolicy a listener gets ${ELB_DEFAULT_SSL_POLICY}, which accepts TLS 1.0 and 1.1.`,
    remediationSteps: "Set sslPolicy to one of the allowedTlsPolicies of this policy's config (for example ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09).",
    configSchema: configSchema(...TLS_KEYS),
    validateResource: [aws.lb.Listener, aws.alb.Listener].map((cls) =>
        validateResourceOfType(cls, (listener, args, reportViolation) => {
            if (listener.protocol !== "HTTPS" && listener.protocol !== "TLS") {
                return;
            }
            const { allowedTlsPolicies } = readConfig(args, ...TLS_KEYS);
            const sslPolicy = listener.sslPolicy ?? ELB_DEFAULT_SSL_POLICY;
            if (!allowedTlsPolicies.includes(sslPolicy)) {
                reportViolation(`${listener.protocol} listener uses TLS policy ${sslPolicy}${listener.sslPolicy ? "" : " (the default)"}, which is not one of: ${allowedTlsPolicies.join(", ")}.`);
            }
        }),
    ),
};

const CMK_KEYS = ["requireCustomerManagedKeys"] as const;
/** What is wrong with a key reference that is absent or AWS-managed, or undefined when it names a customer-managed key. */
function keyProblem(what: string, read: () => unknown, property: string, awsDefault: string): string | undefined {
    const value = known(read);
    if (value === UNKNOWN) {
        return undefined; // A key this program creates in the same deployment.
    }
    if (value === undefined || value === null || value === "") {
        return `${what}: ${property} is not set, so ${awsDefault} is used instead of a customer-managed key.`;
    }
    if (isAwsManagedKeyReference(value)) {
        return `${what}: ${property} is ${String(value)}, an AWS-managed key, not a customer-managed one.`;
    }
    return undefined;
}

/** The customer-managed-keys check of one resource class: `problems` lists what is wrong, when keys are required. */
function keyCheck<TResource extends Resource, TArgs>(
    cls: { new (name: string, args: TArgs, ...rest: any[]): TResource },
    problems: (props: Unwrap<NonNullable<TArgs>>) => (string | undefined)[],
): ResourceValidation {
    return validateResourceOfType(cls, (props, args, reportViolation) => {
        if (readConfig(args, ...CMK_KEYS).requireCustomerManagedKeys) {
            problems(props).forEach((p) => p && reportViolation(p));
        }
    });
}

export const customerManagedKeys: PackPolicy = {
    name: "customer-managed-keys",
    description:
        "When customer-managed keys are required: Aurora/RDS storage and managed master-user secrets, ElastiCache at rest, S3 SSE-KMS default encryption, Secrets Manager secrets, SNS topics, CloudWatch log groups and EFS file systems name a customer-managed KMS key, not an AWS-managed (alias/aws/...) or AWS-owned one. (Whether a bucket must use SSE-KMS at all is s3-bucket-encryption's call.)",
    remediationSteps:
        "Pass the stack's KMS key ARN: kmsKeyId (RDS, ElastiCache, Secrets Manager, log groups, EFS), masterUserSecretKmsKeyId (RDS managed passwords), kmsMasterKeyId with sseAlgorithm aws:kms (S3, SNS). The key policy must let CloudWatch Logs (and CloudWatch alarms for SNS) use the key.",
    configSchema: configSchema(...CMK_KEYS),
    validateResource: [
        keyCheck(aws.rds.Cluster, (cluster) => [
            keyProblem("Aurora storage", () => cluster.kmsKeyId, "kmsKeyId", "the AWS-managed key aws/rds"),
            cluster.manageMasterUserPassword === true
                ? keyProblem("RDS-managed master password secret", () => cluster.masterUserSecretKmsKeyId, "masterUserSecretKmsKeyId", "the AWS-managed key aws/secretsmanager")
                : undefined,
        ]),
        keyCheck(aws.rds.Instance, (instance) =>
            isAuroraEngine(instance.engine) ? [] : [keyProblem("RDS storage", () => instance.kmsKeyId, "kmsKeyId", "the AWS-managed key aws/rds")],
        ),
        keyCheck(aws.elasticache.ReplicationGroup, (group) => [keyProblem("ElastiCache at rest", () => group.kmsKeyId, "kmsKeyId", "an AWS-owned key")]),
        // SSE-S3 (AES256) is judged by s3-bucket-encryption, which knows whether the bucket takes load balancer logs
        // (ELB only writes to SSE-S3 buckets); here SSE-KMS must name a customer-managed key.
        ...[aws.s3.BucketServerSideEncryptionConfiguration, aws.s3.BucketServerSideEncryptionConfigurationV2].map((cls) =>
            keyCheck(cls, (config) =>
                (config.rules ?? [])
                    .map((rule) => rule.applyServerSideEncryptionByDefault)
                    .filter((sse) => sse?.sseAlgorithm === "aws:kms" || sse?.sseAlgorithm === "aws:kms:dsse")
                    .map((sse) => keyProblem("S3 default encryption", () => sse?.kmsMasterKeyId, "kmsMasterKeyId", "the AWS-managed key aws/s3")),
            ),
        ),
        keyCheck(aws.secretsmanager.Secret, (secret) => [keyProblem("Secrets Manager secret", () => secret.kmsKeyId, "kmsKeyId", "the AWS-managed key aws/secretsmanager")]),
        keyCheck(aws.sns.Topic, (topic) => [keyProblem("SNS topic", () => topic.kmsMasterKeyId, "kmsMasterKeyId", "no server-side encryption")]),
        keyCheck(aws.cloudwatch.LogGroup, (group) => [keyProblem("Log group", () => group.kmsKeyId, "kmsKeyId", "CloudWatch Logs' AWS-owned key")]),
        keyCheck(aws.efs.FileSystem, (fs) => [keyProblem("EFS file system", () => fs.kmsKeyId, "kmsKeyId", "the AWS-managed key aws/elasticfilesystem")]),
    ],
};

export const logGroupRetention: PackPolicy = {
    name: "log-group-retention",
    description: "CloudWatch log groups have a retention period. Without retentionInDays (or with 0) events are kept, and billed, forever.",
    remediationSteps: "Create log groups through components/logGroup.ts (logGroup()), which applies the stack's logRetentionDays.",
    validateResource: validateResourceOfType(aws.cloudwatch.LogGroup, (group, _args, reportViolation) => {
        const days = known(() => group.retentionInDays);
        if (days !== UNKNOWN && (days === undefined || days === 0)) {
            reportViolation(`The log group never expires its events: retentionInDays is ${days ?? "unset"}.`);
        }
    }),
};

/**
 * Buckets a load balancer writes access or connection logs to. ELB delivers logs only to buckets encrypted with
 * SSE-S3 (AES256), so SSE-KMS cannot be required of them.
 */
/**
 * Buckets AWS services deliver logs into: a load balancer's access or connection logs, and S3 server access logs (an
 * aws.s3.BucketLogging's targetBucket). Both deliveries accept SSE-S3 only (ELB user guide, access-log bucket
 * requirements; S3 user guide, server access logging target requirements).
 */
function logDeliveryBuckets(resources: PolicyResource[], buckets: PolicyResource[]): Set<string> {
    const out = new Set<string>();
    const mark = (r: PolicyResource, property: string, field: string | undefined) => {
        const deps = r.propertyDependencies?.[property];
        const names = deps && deps.length > 0 ? undefined : known(() => (field ? r.props[property]?.[field] : r.props[property]) as string | undefined);
        for (const b of buckets) {
            const byDependency = deps?.some((d) => d.urn === b.urn) ?? false;
            const byName = typeof names === "string" && [known(() => b.props.bucket), known(() => b.props.id)].includes(names);
            if (byDependency || byName) {
                out.add(b.urn);
            }
        }
    };
    for (const lb of resources.filter((r) => r.isType(aws.lb.LoadBalancer) || r.isType(aws.alb.LoadBalancer))) {
        for (const property of ["accessLogs", "connectionLogs"]) {
            mark(lb, property, "bucket");
        }
    }
    for (const logging of resources.filter((r) => r.isType(aws.s3.BucketLogging) || r.isType(aws.s3.BucketLoggingV2))) {
        mark(logging, "targetBucket", undefined);
    }
    return out;
}

const S3_KEYS = ["requireCustomerManagedKeys"] as const;
export const s3BucketEncryption: PackPolicy = {
    name: "s3-bucket-encryption",
    description:
        "Every S3 bucket has default server-side encryption configured (an aws.s3.BucketServerSideEncryptionConfiguration for it; in aws 7 encryption is a separate resource, so this is checked across the stack). When customer-managed keys are required it is SSE-KMS, except on buckets a load balancer or S3 server access logging writes logs to, which those deliveries only support with SSE-S3 (AES256).",
    remediationSteps:
        "Add an aws.s3.BucketServerSideEncryptionConfiguration with bucket: <bucket>.id and a rule applyServerSideEncryptionByDefault { sseAlgorithm: \"aws:kms\", kmsMasterKeyId: <key ARN> } (bucketKeyEnabled: true keeps KMS costs down); for a load balancer or S3 server access log bucket use sseAlgorithm \"AES256\".",
    configSchema: configSchema(...S3_KEYS),
    validateStack: (args, reportViolation) => {
        const { requireCustomerManagedKeys } = readConfig(args, ...S3_KEYS);
        const configs = args.resources.filter(
            (r) => r.isType(aws.s3.BucketServerSideEncryptionConfiguration) || r.isType(aws.s3.BucketServerSideEncryptionConfigurationV2),
        );
        const buckets = s3Buckets(args.resources);
        const logBuckets = logDeliveryBuckets(args.resources, buckets);
        for (const bucket of buckets) {
            const inline = known(() => bucket.props.serverSideEncryptionConfiguration?.rule?.applyServerSideEncryptionByDefault?.sseAlgorithm);
            const { matched, undetermined } = bucketCompanions(bucket, configs);
            if (matched.length === 0 && inline === undefined && !undetermined) {
                reportViolation(`${describe(bucket)} has no server-side encryption configuration.`, bucket.urn);
            }
            const isLogBucket = logBuckets.has(bucket.urn);
            for (const config of matched) {
                const algorithms = known(() =>
                    (config.props.rules ?? []).map((r: { applyServerSideEncryptionByDefault?: { sseAlgorithm?: string } }) => r.applyServerSideEncryptionByDefault?.sseAlgorithm),
                );
                if (algorithms === UNKNOWN) {
                    continue;
                }
                const list = algorithms as (string | undefined)[];
                if (list.length === 0 || list.some((a) => a === undefined || !S3_SSE_ALGORITHMS.includes(a))) {
                    reportViolation(`${describe(config)} for ${describe(bucket)} sets no valid default encryption (${list.map(String).join(", ") || "no rule"}).`, config.urn);
                } else if (isLogBucket && list.some((a) => a !== "AES256")) {
                    reportViolation(`${describe(bucket)} receives load balancer or S3 server access logs, and AWS only delivers to SSE-S3 (AES256) buckets; it uses ${list.join(", ")}.`, config.urn);
                } else if (requireCustomerManagedKeys && !isLogBucket && list.includes("AES256")) {
                    reportViolation(`${describe(bucket)} uses SSE-S3 (AES256, an AWS-owned key); customer-managed keys are required, so use aws:kms with kmsMasterKeyId.`, config.urn);
                }
            }
        }
    },
};

export const encryptionPolicies: PackPolicy[] = [
    rdsStorageEncrypted,
    elasticacheEncrypted,
    efsEncrypted,
    s3BucketEncryption,
    albHttpsListeners,
    albHttpListenerRules,
    albTlsPolicy,
    customerManagedKeys,
    logGroupRetention,
];
