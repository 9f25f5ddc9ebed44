/**
 * Every policy of the pack, proven both ways: a compliant fixture passes and each misconfiguration the policy names
 * fails. Fixtures are typed provider inputs (resourceArgs / stackResource); expectations come from AWS defaults
 * (a missing property is the provider default, not a pass).
 */
import * as aws from "@pulumi/aws";
import { expect } from "chai";
import type { PolicyResource } from "@pulumi/policy";
import { readConfig, STRONG_TLS_POLICIES } from "../policy/config";
import { deletionProtection } from "../policy/deletion";
import { albHttpListenerRules, albHttpsListeners, albTlsPolicy, customerManagedKeys, efsEncrypted, elasticacheEncrypted, logGroupRetention, rdsStorageEncrypted, s3BucketEncryption } from "../policy/encryption";
import { albIngressAllowList, dataGroupsAdmitOnlyGroups, ecsNoPublicIp, noWorldIngress, rdsNotPublic, s3PublicAccessBlock } from "../policy/network";
import { packPolicies } from "../policy/policies";
import { PackPolicy } from "../policy/resources";
import { albSsoBrowserPaths, albSsoMachinePaths, audienceOf } from "../policy/sso";
import { albWaf } from "../policy/stack";
import { ecsZeroDowntimeDeploys, noSecretsInEnvironment, secretLooking } from "../policy/workloads";
import { CannotRun, PREVIEW_UNKNOWN_STRING, resourceArgs, runResourcePolicy, runStackPolicy, stackResource } from "./policyHarness";

type Args = Parameters<typeof runResourcePolicy>[1];
async function messages(policy: PackPolicy, args: Args, config: Record<string, unknown> = {}): Promise<string[]> {
    return (await runResourcePolicy(policy, args, config)).map((v) => v.message);
}
async function stackMessages(policy: PackPolicy, resources: PolicyResource[], config: Record<string, unknown> = {}): Promise<string[]> {
    return (await runStackPolicy(policy, resources, config)).map((v) => v.message);
}

const KEY_ARN = "arn:aws:kms:ap-northeast-1:123456789012:key/0a1b2c3d-4e5f-4a6b-8c9d-0e1f2a3b4c5d";
const LB_ARN = "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:loadbalancer/app/dify-prd/0123456789abcdef";
const AURORA = { engine: "aurora-postgresql" } as const;

describe("policy pack: every policy", () => {
    it("has a unique name, a description and remediation steps", () => {
        const names = packPolicies.map((p) => p.name);
        expect(new Set(names).size).to.equal(names.length);
        for (const p of packPolicies) {
            expect(p.description.length, p.name).to.be.greaterThan(40);
            expect(p.remediationSteps.length, p.name).to.be.greaterThan(30);
        }
    });
});

describe("rds-storage-encrypted", () => {
    it("passes an encrypted Aurora cluster and an encrypted RDS instance", async () => {
        expect(await messages(rdsStorageEncrypted, resourceArgs(aws.rds.Cluster, { ...AURORA, storageEncrypted: true }))).to.deep.equal([]);
        expect(await messages(rdsStorageEncrypted, resourceArgs(aws.rds.Instance, { engine: "postgres", instanceClass: "db.t4g.micro", storageEncrypted: true }))).to.deep.equal([]);
    });
    it("fails a cluster with storageEncrypted false or unset (provisioned and Serverless v2 default to unencrypted)", async () => {
        expect(await messages(rdsStorageEncrypted, resourceArgs(aws.rds.Cluster, { ...AURORA, storageEncrypted: false }))).to.have.length(1);
        const unset = await messages(rdsStorageEncrypted, resourceArgs(aws.rds.Cluster, { ...AURORA, engineMode: "provisioned" }));
        expect(unset).to.have.length(1);
        expect(unset[0]).to.match(/default false/);
    });
    it("accepts the Serverless v1 engine mode's default encryption", async () => {
        expect(await messages(rdsStorageEncrypted, resourceArgs(aws.rds.Cluster, { ...AURORA, engineMode: "serverless" }))).to.deep.equal([]);
    });
    it("fails an unencrypted RDS instance, and leaves Aurora instances to their cluster", async () => {
        expect(await messages(rdsStorageEncrypted, resourceArgs(aws.rds.Instance, { engine: "postgres", instanceClass: "db.t4g.micro" }))).to.have.length(1);
        expect(await messages(rdsStorageEncrypted, resourceArgs(aws.rds.Instance, { engine: "aurora-postgresql", instanceClass: "db.r7g.large" }))).to.deep.equal([]);
    });
});

describe("efs-encryption", () => {
    const efsVolume = (config: Record<string, unknown>) =>
        resourceArgs(aws.ecs.TaskDefinition, { family: "dify-plugin-daemon", containerDefinitions: "[]", volumes: [{ name: "shared", efsVolumeConfiguration: { fileSystemId: "fs-1", ...config } }] });
    const tlsAndIam = { transitEncryption: "ENABLED", authorizationConfig: { accessPointId: "fsap-1", iam: "ENABLED" } };
    it("passes an encrypted file system and a task definition that mounts it with TLS and IAM", async () => {
        expect(await messages(efsEncrypted, resourceArgs(aws.efs.FileSystem, { encrypted: true, kmsKeyId: KEY_ARN }))).to.deep.equal([]);
        expect(await messages(efsEncrypted, efsVolume(tlsAndIam))).to.deep.equal([]);
        // Task definitions without EFS volumes are not its business.
        expect(await messages(efsEncrypted, resourceArgs(aws.ecs.TaskDefinition, { family: "web", containerDefinitions: "[]" }))).to.deep.equal([]);
    });
    it("fails a file system with encrypted false or unset (EFS's default is unencrypted)", async () => {
        expect(await messages(efsEncrypted, resourceArgs(aws.efs.FileSystem, { encrypted: false }))).to.have.length(1);
        expect((await messages(efsEncrypted, resourceArgs(aws.efs.FileSystem, {}))).join()).to.match(/default false/);
    });
    it("fails an EFS volume without TLS (transitEncryption defaults to DISABLED) or without IAM authorization", async () => {
        expect((await messages(efsEncrypted, efsVolume({ authorizationConfig: { iam: "ENABLED" } }))).join()).to.match(/without TLS.*default DISABLED/);
        expect((await messages(efsEncrypted, efsVolume({ ...tlsAndIam, transitEncryption: "DISABLED" }))).join()).to.match(/without TLS/);
        expect((await messages(efsEncrypted, efsVolume({ transitEncryption: "ENABLED" }))).join()).to.match(/without IAM authorization/);
    });
    it("leaves a volume whose settings are unknown in a preview alone", async () => {
        expect(await messages(efsEncrypted, efsVolume({ transitEncryption: PREVIEW_UNKNOWN_STRING, authorizationConfig: { iam: PREVIEW_UNKNOWN_STRING } }))).to.deep.equal([]);
    });
});

describe("elasticache-encryption-and-auth", () => {
    const good = { description: "dify", transitEncryptionEnabled: true, atRestEncryptionEnabled: true, authToken: "0123456789abcdef0123456789abcdef" };
    it("passes a replication group with TLS, encryption at rest and an AUTH token", async () => {
        expect(await messages(elasticacheEncrypted, resourceArgs(aws.elasticache.ReplicationGroup, good))).to.deep.equal([]);
        expect(await messages(elasticacheEncrypted, resourceArgs(aws.elasticache.ReplicationGroup, { ...good, transitEncryptionMode: "required" }))).to.deep.equal([]);
    });
    it("fails without encryption in transit, or with mode preferred (plaintext still accepted)", async () => {
        expect(await messages(elasticacheEncrypted, resourceArgs(aws.elasticache.ReplicationGroup, { ...good, transitEncryptionEnabled: false, authToken: undefined }))).to.have.length(2);
        const { transitEncryptionEnabled: _omit, ...unset } = good;
        expect((await messages(elasticacheEncrypted, resourceArgs(aws.elasticache.ReplicationGroup, unset))).join()).to.match(/in transit is off/);
        expect((await messages(elasticacheEncrypted, resourceArgs(aws.elasticache.ReplicationGroup, { ...good, transitEncryptionMode: "preferred" }))).join()).to.match(/preferred/);
    });
    it("fails without encryption at rest: false, or unset on Redis OSS (whose default is off); Valkey's default is on", async () => {
        expect(await messages(elasticacheEncrypted, resourceArgs(aws.elasticache.ReplicationGroup, { ...good, atRestEncryptionEnabled: false }))).to.have.length(1);
        const { atRestEncryptionEnabled: _omit, ...unset } = good;
        expect(await messages(elasticacheEncrypted, resourceArgs(aws.elasticache.ReplicationGroup, unset))).to.have.length(1);
        expect(await messages(elasticacheEncrypted, resourceArgs(aws.elasticache.ReplicationGroup, { ...unset, engine: "redis" }))).to.have.length(1);
        expect(await messages(elasticacheEncrypted, resourceArgs(aws.elasticache.ReplicationGroup, { ...unset, engine: "valkey" }))).to.deep.equal([]);
    });
    it("fails without an AUTH token, and accepts one that is still unknown during preview or write-only", async () => {
        const { authToken: _omit, ...noToken } = good;
        expect((await messages(elasticacheEncrypted, resourceArgs(aws.elasticache.ReplicationGroup, noToken))).join()).to.match(/AUTH/);
        expect(await messages(elasticacheEncrypted, resourceArgs(aws.elasticache.ReplicationGroup, { ...noToken, authToken: PREVIEW_UNKNOWN_STRING }))).to.deep.equal([]);
        expect(await messages(elasticacheEncrypted, resourceArgs(aws.elasticache.ReplicationGroup, { ...noToken, authTokenWo: "x".repeat(32), authTokenWoVersion: 1 }))).to.deep.equal([]);
    });
    it("fails a standalone cache cluster, not a member of a replication group", async () => {
        expect(await messages(elasticacheEncrypted, resourceArgs(aws.elasticache.Cluster, { engine: "redis", nodeType: "cache.t4g.micro", numCacheNodes: 1 }))).to.have.length(1);
        expect(await messages(elasticacheEncrypted, resourceArgs(aws.elasticache.Cluster, { replicationGroupId: "dify-prd" }))).to.deep.equal([]);
    });
});

describe("alb-https-listeners", () => {
    const lb = { loadBalancerArn: LB_ARN };
    const redirect = { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } };
    const forward = { type: "forward", targetGroupArn: "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/web/0123" };
    it("passes an HTTPS listener and an HTTP listener that only redirects to HTTPS", async () => {
        expect(await messages(albHttpsListeners, resourceArgs(aws.lb.Listener, { ...lb, protocol: "HTTPS", port: 443, defaultActions: [forward] }))).to.deep.equal([]);
        expect(await messages(albHttpsListeners, resourceArgs(aws.lb.Listener, { ...lb, protocol: "HTTP", port: 80, defaultActions: [redirect] }))).to.deep.equal([]);
    });
    it("fails an HTTP listener that forwards, and one with no protocol (HTTP by default)", async () => {
        expect(await messages(albHttpsListeners, resourceArgs(aws.lb.Listener, { ...lb, protocol: "HTTP", port: 80, defaultActions: [forward] }))).to.have.length(1);
        expect(await messages(albHttpsListeners, resourceArgs(aws.lb.Listener, { ...lb, port: 80, defaultActions: [forward] }))).to.have.length(1);
    });
    it("fails a redirect that keeps the protocol (#{protocol} stays HTTP), and the aws.alb token too", async () => {
        const keep = { type: "redirect", redirect: { port: "8080", statusCode: "HTTP_301" } };
        expect(await messages(albHttpsListeners, resourceArgs(aws.lb.Listener, { ...lb, protocol: "HTTP", port: 80, defaultActions: [keep] }))).to.have.length(1);
        expect(await messages(albHttpsListeners, resourceArgs(aws.alb.Listener, { ...lb, protocol: "HTTP", port: 80, defaultActions: [forward] }))).to.have.length(1);
    });
});

describe("alb-http-listener-rules", () => {
    const listener = (name: string, protocol: string, defaultActions: aws.types.input.lb.ListenerDefaultAction[]) =>
        stackResource(aws.lb.Listener, { loadBalancerArn: LB_ARN, protocol, port: protocol === "HTTP" ? 80 : 443, defaultActions: defaultActions as any }, { arn: `${LB_ARN}/listener/${name}` }, { name });
    const toHttps = [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }];
    const forward = [{ type: "forward", targetGroupArn: "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/api/1" }];
    const rule = (on: PolicyResource, actions: aws.types.input.lb.ListenerRuleAction[], viaDependency = false) =>
        stackResource(
            aws.lb.ListenerRule,
            { listenerArn: viaDependency ? PREVIEW_UNKNOWN_STRING : (on.props.arn as string), actions: actions as any, conditions: [{ pathPattern: { values: ["/api/*"] } }] },
            {},
            { name: "api", propertyDependencies: viaDependency ? { listenerArn: [on] } : undefined },
        );
    const http = listener("http", "HTTP", toHttps);
    it("fails a forwarding rule on the HTTP redirect listener (by ARN, or by property dependency during preview)", async () => {
        expect(await stackMessages(albHttpListenerRules, [http, rule(http, forward)])).to.have.length(1);
        expect(await stackMessages(albHttpListenerRules, [http, rule(http, forward, true)])).to.have.length(1);
    });
    it("passes redirect-to-HTTPS and fixed-response rules on it, and forwarding rules on the HTTPS listener", async () => {
        expect(await stackMessages(albHttpListenerRules, [http, rule(http, toHttps)])).to.deep.equal([]);
        expect(await stackMessages(albHttpListenerRules, [http, rule(http, [{ type: "fixed-response", fixedResponse: { contentType: "text/plain", statusCode: "404" } }])])).to.deep.equal([]);
        const https = listener("https", "HTTPS", forward);
        expect(await stackMessages(albHttpListenerRules, [http, https, rule(https, forward)])).to.deep.equal([]);
    });
    it("leaves rules on a plain HTTP listener to alb-https-listeners, which already reports the listener", async () => {
        const plain = listener("plain", "HTTP", forward);
        expect(await stackMessages(albHttpListenerRules, [plain, rule(plain, forward)])).to.deep.equal([]);
    });
});

describe("alb-tls-policy", () => {
    const https = { loadBalancerArn: LB_ARN, protocol: "HTTPS", port: 443, certificateArn: "arn:aws:acm:ap-northeast-1:123456789012:certificate/x", defaultActions: [{ type: "fixed-response" }] };
    it("passes an HTTPS listener with a policy from the default list", async () => {
        expect(await messages(albTlsPolicy, resourceArgs(aws.lb.Listener, { ...https, sslPolicy: "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09" }))).to.deep.equal([]);
    });
    it("fails a legacy policy, and no sslPolicy at all (ELBSecurityPolicy-2016-08 accepts TLS 1.0)", async () => {
        expect(await messages(albTlsPolicy, resourceArgs(aws.lb.Listener, { ...https, sslPolicy: "ELBSecurityPolicy-TLS-1-1-2017-01" }))).to.have.length(1);
        const unset = await messages(albTlsPolicy, resourceArgs(aws.lb.Listener, https));
        expect(unset).to.have.length(1);
        expect(unset[0]).to.include("ELBSecurityPolicy-2016-08");
    });
    it("follows the configured allow-list, and ignores HTTP listeners", async () => {
        const custom = { allowedTlsPolicies: ["ELBSecurityPolicy-TLS13-1-2-2021-06"] };
        expect(await messages(albTlsPolicy, resourceArgs(aws.lb.Listener, { ...https, sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06" }), custom)).to.deep.equal([]);
        expect(await messages(albTlsPolicy, resourceArgs(aws.lb.Listener, { ...https, sslPolicy: "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09" }), custom)).to.have.length(1);
        expect(await messages(albTlsPolicy, resourceArgs(aws.lb.Listener, { ...https, protocol: "HTTP" }))).to.deep.equal([]);
    });
    it("keeps TLS policies with CBC ciphers (Ext) out of the default list", () => {
        expect(STRONG_TLS_POLICIES.filter((p) => /Ext|2016|TLS-1-[01]/.test(p))).to.deep.equal([]);
    });
});

describe("customer-managed-keys", () => {
    const off = { requireCustomerManagedKeys: false };
    const cases: { what: string; good: Args; missing: Args; awsManaged?: Args }[] = [
        {
            what: "Aurora cluster",
            good: resourceArgs(aws.rds.Cluster, { ...AURORA, storageEncrypted: true, kmsKeyId: KEY_ARN }),
            missing: resourceArgs(aws.rds.Cluster, { ...AURORA, storageEncrypted: true }),
            awsManaged: resourceArgs(aws.rds.Cluster, { ...AURORA, storageEncrypted: true, kmsKeyId: "arn:aws:kms:ap-northeast-1:123456789012:alias/aws/rds" }),
        },
        {
            what: "RDS instance",
            good: resourceArgs(aws.rds.Instance, { engine: "postgres", instanceClass: "db.t4g.micro", kmsKeyId: KEY_ARN }),
            missing: resourceArgs(aws.rds.Instance, { engine: "postgres", instanceClass: "db.t4g.micro" }),
        },
        {
            what: "ElastiCache replication group",
            good: resourceArgs(aws.elasticache.ReplicationGroup, { description: "d", kmsKeyId: KEY_ARN }),
            missing: resourceArgs(aws.elasticache.ReplicationGroup, { description: "d" }),
        },
        {
            what: "S3 default encryption",
            good: resourceArgs(aws.s3.BucketServerSideEncryptionConfiguration, { bucket: "b", rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: KEY_ARN } }] }),
            missing: resourceArgs(aws.s3.BucketServerSideEncryptionConfiguration, { bucket: "b", rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" } }] }),
            awsManaged: resourceArgs(aws.s3.BucketServerSideEncryptionConfiguration, { bucket: "b", rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: "alias/aws/s3" } }] }),
        },
        {
            what: "Secrets Manager secret",
            good: resourceArgs(aws.secretsmanager.Secret, { kmsKeyId: KEY_ARN }),
            missing: resourceArgs(aws.secretsmanager.Secret, {}),
        },
        {
            what: "SNS topic",
            good: resourceArgs(aws.sns.Topic, { kmsMasterKeyId: KEY_ARN }),
            missing: resourceArgs(aws.sns.Topic, {}),
            awsManaged: resourceArgs(aws.sns.Topic, { kmsMasterKeyId: "alias/aws/sns" }),
        },
        {
            what: "log group",
            good: resourceArgs(aws.cloudwatch.LogGroup, { retentionInDays: 14, kmsKeyId: KEY_ARN }),
            missing: resourceArgs(aws.cloudwatch.LogGroup, { retentionInDays: 14 }),
        },
        {
            what: "EFS file system",
            good: resourceArgs(aws.efs.FileSystem, { encrypted: true, kmsKeyId: KEY_ARN }),
            missing: resourceArgs(aws.efs.FileSystem, { encrypted: true }),
            awsManaged: resourceArgs(aws.efs.FileSystem, { encrypted: true, kmsKeyId: "arn:aws:kms:ap-northeast-1:123456789012:alias/aws/elasticfilesystem" }),
        },
    ];
    for (const c of cases) {
        it(`${c.what}: passes with a customer-managed key, fails without${c.awsManaged ? " or with an AWS-managed one" : ""}, passes without when not required`, async () => {
            expect(await messages(customerManagedKeys, c.good)).to.deep.equal([]);
            expect(await messages(customerManagedKeys, c.missing)).to.have.length(1);
            if (c.awsManaged) {
                expect((await messages(customerManagedKeys, c.awsManaged)).join()).to.match(/AWS-managed/);
            }
            expect(await messages(customerManagedKeys, c.missing, off)).to.deep.equal([]);
        });
    }
    it("fails an RDS-managed master password secret on the AWS-managed key", async () => {
        const base = { ...AURORA, storageEncrypted: true, kmsKeyId: KEY_ARN, manageMasterUserPassword: true };
        expect(await messages(customerManagedKeys, resourceArgs(aws.rds.Cluster, base))).to.have.length(1);
        expect(await messages(customerManagedKeys, resourceArgs(aws.rds.Cluster, { ...base, masterUserSecretKmsKeyId: KEY_ARN }))).to.deep.equal([]);
    });
    it("counts a key ARN that is unknown during preview (a key this program creates) as customer-managed", async () => {
        expect(await messages(customerManagedKeys, resourceArgs(aws.cloudwatch.LogGroup, { retentionInDays: 14, kmsKeyId: PREVIEW_UNKNOWN_STRING }))).to.deep.equal([]);
    });
});

describe("log-group-retention", () => {
    it("passes a log group with a retention, fails one without (kept forever) or with 0", async () => {
        expect(await messages(logGroupRetention, resourceArgs(aws.cloudwatch.LogGroup, { name: "/dify/x", retentionInDays: 14 }))).to.deep.equal([]);
        expect(await messages(logGroupRetention, resourceArgs(aws.cloudwatch.LogGroup, { name: "/dify/x" }))).to.have.length(1);
        expect(await messages(logGroupRetention, resourceArgs(aws.cloudwatch.LogGroup, { name: "/dify/x", retentionInDays: 0 }))).to.have.length(1);
    });
});

/** A bucket as a stack policy sees it (outputs): its name is both `bucket` and `id`. */
function bucket(name: string): PolicyResource {
    return stackResource(aws.s3.Bucket, { bucket: name }, { id: name, arn: `arn:aws:s3:::${name}` }, { name });
}

describe("s3-bucket-encryption", () => {
    const sse = (bucketName: string, sseAlgorithm = "aws:kms", deps?: PolicyResource) =>
        stackResource(
            aws.s3.BucketServerSideEncryptionConfiguration,
            { bucket: bucketName, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm, kmsMasterKeyId: KEY_ARN } }] },
            {},
            { name: `${bucketName}-sse`, propertyDependencies: deps ? { bucket: [deps] } : undefined },
        );
    it("passes a bucket with an encryption configuration (joined by bucket name, or by the engine's property dependencies)", async () => {
        expect(await stackMessages(s3BucketEncryption, [bucket("files"), sse("files")])).to.deep.equal([]);
        const files = bucket("files");
        expect(await stackMessages(s3BucketEncryption, [files, sse(PREVIEW_UNKNOWN_STRING, "aws:kms", files)])).to.deep.equal([]);
    });
    it("fails a bucket without one, including when the only configuration is for another bucket", async () => {
        expect(await stackMessages(s3BucketEncryption, [bucket("files")])).to.have.length(1);
        expect(await stackMessages(s3BucketEncryption, [bucket("files"), bucket("logs"), sse("logs")])).to.have.length(1);
    });
    it("fails a configuration without a valid algorithm", async () => {
        expect(await stackMessages(s3BucketEncryption, [bucket("files"), sse("files", "none")])).to.have.length(1);
    });
    it("requires SSE-KMS when customer-managed keys are required (default), SSE-S3 is enough when not", async () => {
        const failing = await stackMessages(s3BucketEncryption, [bucket("files"), sse("files", "AES256")]);
        expect(failing).to.have.length(1);
        expect(failing[0]).to.match(/customer-managed keys are required/);
        expect(await stackMessages(s3BucketEncryption, [bucket("files"), sse("files", "AES256")], { requireCustomerManagedKeys: false })).to.deep.equal([]);
    });
    it("requires SSE-S3 on a bucket a load balancer writes its logs to (ELB cannot write to SSE-KMS buckets)", async () => {
        const lb = (logBucket: PolicyResource) =>
            stackResource(aws.lb.LoadBalancer, { accessLogs: { bucket: PREVIEW_UNKNOWN_STRING, enabled: true } }, {}, { name: "alb", propertyDependencies: { accessLogs: [logBucket] } });
        const logs = bucket("alb-logs");
        expect(await stackMessages(s3BucketEncryption, [logs, lb(logs), sse("alb-logs", "AES256")])).to.deep.equal([]);
        expect((await stackMessages(s3BucketEncryption, [logs, lb(logs), sse("alb-logs", "aws:kms")])).join()).to.match(/only delivers to SSE-S3/);
        const byName = stackResource(aws.lb.LoadBalancer, { accessLogs: { bucket: "alb-logs", enabled: true } }, {}, { name: "alb" });
        expect(await stackMessages(s3BucketEncryption, [logs, byName, sse("alb-logs", "AES256")])).to.deep.equal([]);
    });
    it("does not guess during preview when a configuration's bucket is not known yet", async () => {
        expect(await stackMessages(s3BucketEncryption, [bucket("files"), sse(PREVIEW_UNKNOWN_STRING)])).to.deep.equal([]);
    });
});

describe("deletion-protection", () => {
    const off = { requireDeletionProtection: false };
    const protectedCluster = { ...AURORA, deletionProtection: true, skipFinalSnapshot: false, finalSnapshotIdentifier: "dify-prd-final" };
    it("passes a protected Aurora cluster, fails each missing guard, and checks nothing when not required", async () => {
        expect(await messages(deletionProtection, resourceArgs(aws.rds.Cluster, protectedCluster, { protect: true }))).to.deep.equal([]);
        expect(await messages(deletionProtection, resourceArgs(aws.rds.Cluster, { ...AURORA }, { protect: true }))).to.have.length(1);
        expect((await messages(deletionProtection, resourceArgs(aws.rds.Cluster, { ...protectedCluster, skipFinalSnapshot: true }, { protect: true }))).join()).to.match(/final snapshot/);
        expect((await messages(deletionProtection, resourceArgs(aws.rds.Cluster, protectedCluster))).join()).to.match(/protect/);
        expect(await messages(deletionProtection, resourceArgs(aws.rds.Cluster, { ...AURORA, skipFinalSnapshot: true }), off)).to.deep.equal([]);
    });
    it("RDS instances: deletion protection, final snapshot and protect", async () => {
        const instance = { engine: "postgres", instanceClass: "db.t4g.micro", deletionProtection: true };
        expect(await messages(deletionProtection, resourceArgs(aws.rds.Instance, instance, { protect: true }))).to.deep.equal([]);
        expect(await messages(deletionProtection, resourceArgs(aws.rds.Instance, { ...instance, deletionProtection: false, skipFinalSnapshot: true }))).to.have.length(3);
    });
    it("EFS file systems need Pulumi protect (deleting one deletes every file)", async () => {
        expect(await messages(deletionProtection, resourceArgs(aws.efs.FileSystem, { encrypted: true }, { protect: true }))).to.deep.equal([]);
        expect((await messages(deletionProtection, resourceArgs(aws.efs.FileSystem, { encrypted: true }))).join()).to.match(/EFS file system is not protected/);
        expect(await messages(deletionProtection, resourceArgs(aws.efs.FileSystem, { encrypted: true }), off)).to.deep.equal([]);
    });
    it("ElastiCache and KMS keys need Pulumi protect (they have no deletion-protection flag)", async () => {
        expect(await messages(deletionProtection, resourceArgs(aws.elasticache.ReplicationGroup, { description: "d" }, { protect: true }))).to.deep.equal([]);
        expect(await messages(deletionProtection, resourceArgs(aws.elasticache.ReplicationGroup, { description: "d" }))).to.have.length(1);
        expect(await messages(deletionProtection, resourceArgs(aws.kms.Key, { enableKeyRotation: true }))).to.have.length(1);
        expect(await messages(deletionProtection, resourceArgs(aws.kms.Key, { enableKeyRotation: true }), off)).to.deep.equal([]);
    });
    it("load balancers need enableDeletionProtection (default false), on both type tokens", async () => {
        expect(await messages(deletionProtection, resourceArgs(aws.lb.LoadBalancer, { enableDeletionProtection: true }))).to.deep.equal([]);
        expect(await messages(deletionProtection, resourceArgs(aws.lb.LoadBalancer, {}))).to.have.length(1);
        expect(await messages(deletionProtection, resourceArgs(aws.alb.LoadBalancer, { enableDeletionProtection: false }))).to.have.length(1);
        expect(await messages(deletionProtection, resourceArgs(aws.lb.LoadBalancer, {}), off)).to.deep.equal([]);
    });
    it("buckets: no forceDestroy and protect, on both type tokens", async () => {
        expect(await messages(deletionProtection, resourceArgs(aws.s3.Bucket, { bucket: "files" }, { protect: true }))).to.deep.equal([]);
        expect((await messages(deletionProtection, resourceArgs(aws.s3.Bucket, { forceDestroy: true }, { protect: true }))).join()).to.match(/forceDestroy/);
        expect(await messages(deletionProtection, resourceArgs(aws.s3.BucketV2, { forceDestroy: true }))).to.have.length(2);
        expect(await messages(deletionProtection, resourceArgs(aws.s3.Bucket, { forceDestroy: true }), off)).to.deep.equal([]);
    });
});

describe("no-world-ingress", () => {
    const sg = (ingress: aws.types.input.ec2.SecurityGroupIngress[]) => resourceArgs(aws.ec2.SecurityGroup, { ingress: ingress as any });
    it("fails 0.0.0.0/0 and ::/0 on any port in inline rules", async () => {
        expect(await messages(noWorldIngress, sg([{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }]))).to.have.length(1);
        expect(await messages(noWorldIngress, sg([{ protocol: "-1", fromPort: 0, toPort: 0, ipv6CidrBlocks: ["::/0"] }]))).to.have.length(1);
        expect(await messages(noWorldIngress, resourceArgs(aws.ec2.DefaultSecurityGroup, { ingress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }] }))).to.have.length(1);
    });
    it("fails them in aws.ec2.SecurityGroupRule (ingress only) and aws.vpc.SecurityGroupIngressRule", async () => {
        const rule = { securityGroupId: "sg-1", protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks: ["0.0.0.0/0"] };
        expect(await messages(noWorldIngress, resourceArgs(aws.ec2.SecurityGroupRule, { ...rule, type: "ingress" }))).to.have.length(1);
        expect(await messages(noWorldIngress, resourceArgs(aws.ec2.SecurityGroupRule, { ...rule, type: "egress" }))).to.deep.equal([]);
        expect(await messages(noWorldIngress, resourceArgs(aws.vpc.SecurityGroupIngressRule, { securityGroupId: "sg-1", ipProtocol: "tcp", fromPort: 6379, toPort: 6379, cidrIpv4: "0.0.0.0/0" }))).to.have.length(1);
        expect(await messages(noWorldIngress, resourceArgs(aws.vpc.SecurityGroupIngressRule, { securityGroupId: "sg-1", ipProtocol: "-1", cidrIpv6: "::/0" }))).to.have.length(1);
    });
    it("fails a port range that reaches beyond 80 and 443 (80-443)", async () => {
        expect(await messages(noWorldIngress, resourceArgs(aws.vpc.SecurityGroupIngressRule, { securityGroupId: "sg-1", ipProtocol: "tcp", fromPort: 80, toPort: 443, cidrIpv4: "0.0.0.0/0" }))).to.have.length(1);
    });
    it("passes narrow CIDRs, group references, and leaves exactly TCP 80/443 to alb-ingress-allow-list", async () => {
        expect(await messages(noWorldIngress, sg([{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["10.40.0.0/16"] }]))).to.deep.equal([]);
        expect(await messages(noWorldIngress, resourceArgs(aws.vpc.SecurityGroupIngressRule, { securityGroupId: "sg-1", ipProtocol: "tcp", fromPort: 5432, toPort: 5432, referencedSecurityGroupId: "sg-2" }))).to.deep.equal([]);
        expect(await messages(noWorldIngress, resourceArgs(aws.vpc.SecurityGroupIngressRule, { securityGroupId: "sg-1", ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0" }))).to.deep.equal([]);
    });
});

describe("alb-ingress-allow-list", () => {
    const allowList = { allowedIngressCidrs: ["203.0.113.0/24", "2001:db8::/32"] };
    const albSg = stackResource(aws.ec2.SecurityGroup, { vpcId: "vpc-1" }, { id: "sg-alb" }, { name: "alb" });
    const appSg = stackResource(aws.ec2.SecurityGroup, { vpcId: "vpc-1" }, { id: "sg-app" }, { name: "app" });
    const alb = stackResource(aws.lb.LoadBalancer, { securityGroups: ["sg-alb"], loadBalancerType: "application" }, { arn: LB_ARN }, { name: "alb" });
    const rule = (sgId: string, port: number, cidr: { cidrIpv4?: string; cidrIpv6?: string }, name = `r-${port}`) =>
        stackResource(aws.vpc.SecurityGroupIngressRule, { securityGroupId: sgId, ipProtocol: "tcp", fromPort: port, toPort: port, ...cidr }, {}, { name });
    const base = [albSg, appSg, alb];
    it("passes 80 and 443 from allow-listed CIDRs (and narrower ones inside them), IPv4 and IPv6", async () => {
        const rules = [rule("sg-alb", 443, { cidrIpv4: "203.0.113.0/24" }, "a"), rule("sg-alb", 80, { cidrIpv4: "203.0.113.128/25" }, "b"), rule("sg-alb", 443, { cidrIpv6: "2001:db8:1::/48" }, "c")];
        expect(await stackMessages(albIngressAllowList, [...base, ...rules], allowList)).to.deep.equal([]);
    });
    it("fails a CIDR outside the allow-list, and every CIDR when no allow-list is configured", async () => {
        expect(await stackMessages(albIngressAllowList, [...base, rule("sg-alb", 443, { cidrIpv4: "198.51.100.0/24" })], allowList)).to.have.length(1);
        expect(await stackMessages(albIngressAllowList, [...base, rule("sg-alb", 443, { cidrIpv4: "203.0.113.0/24" })])).to.have.length(1);
    });
    it("fails other ports on the load balancer's group, from allow-listed CIDRs too", async () => {
        expect((await stackMessages(albIngressAllowList, [...base, rule("sg-alb", 8080, { cidrIpv4: "203.0.113.0/24" })], allowList)).join()).to.match(/only TCP 80 and 443/);
    });
    it("allows 0.0.0.0/0 on 443 to the load balancer only when the allow-list holds it", async () => {
        const open = rule("sg-alb", 443, { cidrIpv4: "0.0.0.0/0" });
        expect(await stackMessages(albIngressAllowList, [...base, open], { allowedIngressCidrs: ["0.0.0.0/0", "::/0"] })).to.deep.equal([]);
        expect(await stackMessages(albIngressAllowList, [...base, open], allowList)).to.have.length(1);
    });
    it("fails 0.0.0.0/0 on 443 to any group that is not an internet-facing load balancer's", async () => {
        const everyone = { allowedIngressCidrs: ["0.0.0.0/0", "::/0"] };
        expect(await stackMessages(albIngressAllowList, [...base, rule("sg-app", 443, { cidrIpv4: "0.0.0.0/0" })], everyone)).to.have.length(1);
        const internal = stackResource(aws.lb.LoadBalancer, { internal: true, securityGroups: ["sg-app"] }, {}, { name: "internal" });
        expect(await stackMessages(albIngressAllowList, [albSg, appSg, internal, rule("sg-app", 443, { cidrIpv6: "::/0" })], everyone)).to.have.length(1);
    });
    it("checks inline rules and aws.ec2.SecurityGroupRule on the load balancer's group too", async () => {
        const inlineSg = stackResource(aws.ec2.SecurityGroup, { ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["192.0.2.0/24"] }] as any }, { id: "sg-alb" }, { name: "alb" });
        expect(await stackMessages(albIngressAllowList, [inlineSg, alb], allowList)).to.have.length(1);
        const legacy = stackResource(aws.ec2.SecurityGroupRule, { type: "ingress", securityGroupId: "sg-alb", protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["192.0.2.0/24"] }, {}, { name: "legacy" });
        expect(await stackMessages(albIngressAllowList, [...base, legacy], allowList)).to.have.length(1);
    });
    it("fails a managed prefix list on the load balancer's group (its CIDRs cannot be checked)", async () => {
        const pl = stackResource(aws.vpc.SecurityGroupIngressRule, { securityGroupId: "sg-alb", ipProtocol: "tcp", fromPort: 443, toPort: 443, prefixListId: "pl-1" }, {}, { name: "pl" });
        expect(await stackMessages(albIngressAllowList, [...base, pl], allowList)).to.have.length(1);
    });
    it("joins rules and load balancers to groups through property dependencies during preview, when ids are unknown", async () => {
        const sgPreview = stackResource(aws.ec2.SecurityGroup, { vpcId: "vpc-1" }, { id: PREVIEW_UNKNOWN_STRING }, { name: "alb" });
        const lbPreview = stackResource(aws.lb.LoadBalancer, { securityGroups: [PREVIEW_UNKNOWN_STRING] }, {}, { name: "alb", propertyDependencies: { securityGroups: [sgPreview] } });
        const bad = stackResource(
            aws.vpc.SecurityGroupIngressRule,
            { securityGroupId: PREVIEW_UNKNOWN_STRING, ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "198.51.100.0/24" },
            {},
            { name: "bad", propertyDependencies: { securityGroupId: [sgPreview] } },
        );
        expect(await stackMessages(albIngressAllowList, [sgPreview, lbPreview, bad], allowList)).to.have.length(1);
    });
});

describe("data-sg-no-cidr-ingress", () => {
    const dbSg = stackResource(aws.ec2.SecurityGroup, { vpcId: "vpc-1" }, { id: "sg-db" }, { name: "db" });
    const cacheSg = stackResource(aws.ec2.SecurityGroup, { vpcId: "vpc-1" }, { id: "sg-cache" }, { name: "cache" });
    const otherSg = stackResource(aws.ec2.SecurityGroup, { vpcId: "vpc-1" }, { id: "sg-other" }, { name: "other" });
    const cluster = stackResource(aws.rds.Cluster, { ...AURORA, vpcSecurityGroupIds: ["sg-db"] }, {}, { name: "db" });
    const cache = stackResource(aws.elasticache.ReplicationGroup, { description: "d", securityGroupIds: ["sg-cache"] }, {}, { name: "cache" });
    const base = [dbSg, cacheSg, otherSg, cluster, cache];
    const fromGroup = (sgId: string, port: number) =>
        stackResource(aws.vpc.SecurityGroupIngressRule, { securityGroupId: sgId, ipProtocol: "tcp", fromPort: port, toPort: port, referencedSecurityGroupId: "sg-app" }, {}, { name: `${sgId}-from-app` });
    const fromCidr = (sgId: string, port: number) =>
        stackResource(aws.vpc.SecurityGroupIngressRule, { securityGroupId: sgId, ipProtocol: "tcp", fromPort: port, toPort: port, cidrIpv4: "10.40.0.0/16" }, {}, { name: `${sgId}-from-vpc` });
    it("passes database and cache groups that admit only security groups", async () => {
        expect(await stackMessages(dataGroupsAdmitOnlyGroups, [...base, fromGroup("sg-db", 5432), fromGroup("sg-cache", 6379), fromCidr("sg-other", 443)])).to.deep.equal([]);
    });
    it("fails a CIDR on the database's or the cache's group, in any rule form", async () => {
        expect(await stackMessages(dataGroupsAdmitOnlyGroups, [...base, fromCidr("sg-db", 5432)])).to.have.length(1);
        expect(await stackMessages(dataGroupsAdmitOnlyGroups, [...base, fromCidr("sg-cache", 6379)])).to.have.length(1);
        const legacy = stackResource(aws.ec2.SecurityGroupRule, { type: "ingress", securityGroupId: "sg-db", protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks: ["10.0.0.0/8"] }, {}, { name: "legacy" });
        expect(await stackMessages(dataGroupsAdmitOnlyGroups, [...base, legacy])).to.have.length(1);
        const inline = stackResource(aws.ec2.SecurityGroup, { ingress: [{ protocol: "tcp", fromPort: 5432, toPort: 5432, ipv6CidrBlocks: ["2001:db8::/32"] }] as any }, { id: "sg-db" }, { name: "db" });
        expect(await stackMessages(dataGroupsAdmitOnlyGroups, [inline, cluster])).to.have.length(1);
    });
    it("fails a database or cache that names no security group (it would get the VPC default group)", async () => {
        const bare = stackResource(aws.elasticache.ReplicationGroup, { description: "d" }, {}, { name: "bare" });
        expect(await stackMessages(dataGroupsAdmitOnlyGroups, [bare])).to.have.length(1);
    });
    it("covers EFS mount targets: NFS from a group passes, from a CIDR fails, none named fails", async () => {
        const efsSg = stackResource(aws.ec2.SecurityGroup, { vpcId: "vpc-1" }, { id: "sg-efs" }, { name: "efs" });
        const mountTarget = stackResource(aws.efs.MountTarget, { fileSystemId: "fs-1", subnetId: "subnet-1", securityGroups: ["sg-efs"] }, {}, { name: "mt" });
        expect(await stackMessages(dataGroupsAdmitOnlyGroups, [efsSg, mountTarget, fromGroup("sg-efs", 2049)])).to.deep.equal([]);
        const cidr = await stackMessages(dataGroupsAdmitOnlyGroups, [efsSg, mountTarget, fromCidr("sg-efs", 2049)]);
        expect(cidr).to.have.length(1);
        expect(cidr[0]).to.match(/10\.40\.0\.0\/16 to a database, cache or file-system security group/);
        const bare = stackResource(aws.efs.MountTarget, { fileSystemId: "fs-1", subnetId: "subnet-1" }, {}, { name: "bare-mt" });
        expect((await stackMessages(dataGroupsAdmitOnlyGroups, [bare])).join()).to.match(/names no security group \(securityGroups\)/);
    });
});

describe("rds-not-publicly-accessible", () => {
    it("fails publicly accessible instances (both kinds), passes private and default ones", async () => {
        expect(await messages(rdsNotPublic, resourceArgs(aws.rds.ClusterInstance, { clusterIdentifier: "c", instanceClass: "db.serverless", engine: "aurora-postgresql", publiclyAccessible: true }))).to.have.length(1);
        expect(await messages(rdsNotPublic, resourceArgs(aws.rds.Instance, { instanceClass: "db.t4g.micro", publiclyAccessible: true }))).to.have.length(1);
        expect(await messages(rdsNotPublic, resourceArgs(aws.rds.ClusterInstance, { clusterIdentifier: "c", instanceClass: "db.serverless", engine: "aurora-postgresql" }))).to.deep.equal([]);
        expect(await messages(rdsNotPublic, resourceArgs(aws.rds.Instance, { instanceClass: "db.t4g.micro", publiclyAccessible: false }))).to.deep.equal([]);
    });
});

describe("ecs-no-public-ip", () => {
    it("fails a service that assigns public IPs, passes false and the default", async () => {
        const network = (assignPublicIp?: boolean) => ({ networkConfiguration: { subnets: ["subnet-1"], assignPublicIp } });
        expect(await messages(ecsNoPublicIp, resourceArgs(aws.ecs.Service, network(true)))).to.have.length(1);
        expect(await messages(ecsNoPublicIp, resourceArgs(aws.ecs.Service, network(false)))).to.deep.equal([]);
        expect(await messages(ecsNoPublicIp, resourceArgs(aws.ecs.Service, network()))).to.deep.equal([]);
    });
});

describe("s3-public-access-block", () => {
    const all = { blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true };
    const pab = (settings: Partial<typeof all>, bucketName = "files") => stackResource(aws.s3.BucketPublicAccessBlock, { bucket: bucketName, ...settings }, {}, { name: `${bucketName}-pab` });
    it("passes a bucket with all four blocks", async () => {
        expect(await stackMessages(s3PublicAccessBlock, [bucket("files"), pab(all)])).to.deep.equal([]);
    });
    it("fails a block that turns a setting off even when its bucket is not in the stack", async () => {
        const orphan = pab({ ...all, restrictPublicBuckets: false }, "someone-elses-bucket");
        const found = await stackMessages(s3PublicAccessBlock, [orphan]);
        expect(found).to.have.length(1);
        expect(found[0]).to.include("someone-elses-bucket").and.to.include("restrictPublicBuckets");
        expect(await stackMessages(s3PublicAccessBlock, [pab(all, "someone-elses-bucket")])).to.deep.equal([]);
    });
    it("fails a missing block resource, and any of the four settings off or unset", async () => {
        expect(await stackMessages(s3PublicAccessBlock, [bucket("files")])).to.have.length(1);
        expect(await stackMessages(s3PublicAccessBlock, [bucket("files"), pab(all, "other")])).to.have.length(1);
        for (const key of Object.keys(all) as (keyof typeof all)[]) {
            const { [key]: _omit, ...rest } = all;
            expect((await stackMessages(s3PublicAccessBlock, [bucket("files"), pab(rest)])).join(), key).to.include(key);
            expect(await stackMessages(s3PublicAccessBlock, [bucket("files"), pab({ ...all, [key]: false })]), key).to.have.length(1);
        }
    });
});

describe("ecs-zero-downtime-deploys", () => {
    const behindLb = {
        loadBalancers: [{ targetGroupArn: "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/api/1", containerName: "api", containerPort: 5001 }],
        deploymentCircuitBreaker: { enable: true, rollback: true },
        deploymentMinimumHealthyPercent: 100,
        deploymentMaximumPercent: 200,
        waitForSteadyState: true,
    };
    it("fails a service, with or without a load balancer, that does not wait for steady state (unset is false)", async () => {
        const { waitForSteadyState: _omit, ...unset } = behindLb;
        for (const service of [unset, { ...behindLb, waitForSteadyState: false }, { deploymentMinimumHealthyPercent: 0, deploymentMaximumPercent: 100 }]) {
            const found = await messages(ecsZeroDowntimeDeploys, resourceArgs(aws.ecs.Service, service));
            expect(found).to.have.length(1);
            expect(found[0]).to.include("waitForSteadyState");
        }
    });
    it("passes a service with circuit-breaker rollback and min healthy 100 % (also when unset: the ECS default)", async () => {
        expect(await messages(ecsZeroDowntimeDeploys, resourceArgs(aws.ecs.Service, behindLb))).to.deep.equal([]);
        const { deploymentMinimumHealthyPercent: _omit, ...unset } = behindLb;
        expect(await messages(ecsZeroDowntimeDeploys, resourceArgs(aws.ecs.Service, unset))).to.deep.equal([]);
    });
    it("fails no circuit breaker, a breaker without rollback, and min healthy below 100 %", async () => {
        const { deploymentCircuitBreaker: _omit, ...noBreaker } = behindLb;
        expect(await messages(ecsZeroDowntimeDeploys, resourceArgs(aws.ecs.Service, noBreaker))).to.have.length(1);
        expect(await messages(ecsZeroDowntimeDeploys, resourceArgs(aws.ecs.Service, { ...behindLb, deploymentCircuitBreaker: { enable: true, rollback: false } }))).to.have.length(1);
        expect(await messages(ecsZeroDowntimeDeploys, resourceArgs(aws.ecs.Service, { ...behindLb, deploymentMinimumHealthyPercent: 50 }))).to.have.length(1);
    });
    it("asks no rollout settings of services without a load balancer (worker, beat) and leaves CodeDeploy-driven ones alone", async () => {
        expect(await messages(ecsZeroDowntimeDeploys, resourceArgs(aws.ecs.Service, { deploymentMinimumHealthyPercent: 0, deploymentMaximumPercent: 100, waitForSteadyState: true }))).to.deep.equal([]);
        expect(await messages(ecsZeroDowntimeDeploys, resourceArgs(aws.ecs.Service, { ...behindLb, deploymentCircuitBreaker: undefined, deploymentController: { type: "CODE_DEPLOY" } }))).to.deep.equal([]);
    });
});

describe("no-secrets-in-task-environment", () => {
    const task = (environment: { name: string; value: string }[], secrets: { name: string; valueFrom: string }[] = []) =>
        resourceArgs(aws.ecs.TaskDefinition, { family: "dify-api", containerDefinitions: JSON.stringify([{ name: "api", image: "langgenius/dify-api:1.9.1", environment, secrets }]) });
    it("passes plain settings, settings about secrets, and secrets injected through `secrets`", async () => {
        const env = [
            { name: "DB_HOST", value: "db" },
            { name: "ACCESS_TOKEN_EXPIRE_MINUTES", value: "60" },
            { name: "REDIS_KEY_PREFIX", value: "dify" },
            { name: "CELERY_BROKER_URL_SCHEME", value: "rediss" },
        ];
        expect(await messages(noSecretsInEnvironment, task(env, [{ name: "DB_PASSWORD", valueFrom: "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:db-AbCdEf:password::" }]))).to.deep.equal([]);
    });
    it("fails secret-looking names (PASSWORD, SECRET, TOKEN, KEY) and URLs with a password", async () => {
        for (const name of ["DB_PASSWORD", "SECRET_KEY", "REDIS_PASSWORD", "PLUGIN_DAEMON_KEY", "INNER_API_KEY_FOR_PLUGIN", "SANDBOX_API_KEY", "MILVUS_TOKEN"]) {
            expect(await messages(noSecretsInEnvironment, task([{ name, value: "x" }])), name).to.have.length(1);
        }
        expect(await messages(noSecretsInEnvironment, task([{ name: "CELERY_BROKER_URL", value: "rediss://:hunter2@master.example:6379/1" }]))).to.have.length(1);
        expect(secretLooking("CELERY_BROKER_URL", "rediss://master.example:6379/1")).to.equal(undefined);
    });
    it("tells Dify's secret variables from its settings about secrets (names from Dify's .env.example)", () => {
        const secrets = ["SECRET_KEY", "DB_PASSWORD", "REDIS_PASSWORD", "CELERY_SENTINEL_PASSWORD", "PLUGIN_DAEMON_KEY", "PLUGIN_DIFY_INNER_API_KEY", "CODE_EXECUTION_API_KEY", "S3_SECRET_KEY", "S3_ACCESS_KEY", "MILVUS_TOKEN", "NOTION_CLIENT_SECRET", "RESEND_API_KEY", "SENTRY_DSN", "TIDB_PRIVATE_KEY"];
        const settings = ["ACCESS_TOKEN_EXPIRE_MINUTES", "REFRESH_TOKEN_EXPIRE_DAYS", "RESET_PASSWORD_TOKEN_EXPIRY_MINUTES", "CODE_GENERATION_MAX_TOKENS", "PLUGIN_BASED_TOKEN_COUNTING_ENABLED", "REDIS_KEY_PREFIX", "NGINX_SSL_CERT_KEY_FILENAME", "WEAVIATE_AUTHENTICATION_APIKEY_ENABLED", "ALIYUN_SLS_ACCESS_KEY_ID", "SSRF_PROXY_ALLOW_PRIVATE_IPS", "OPENAPI_RATE_LIMIT_PER_TOKEN", "DB_USERNAME"];
        expect(secrets.filter((n) => secretLooking(n, "x") === undefined)).to.deep.equal([]);
        expect(settings.filter((n) => secretLooking(n, "x") !== undefined)).to.deep.equal([]);
    });
    it("fails container definitions that are not JSON", async () => {
        expect(await messages(noSecretsInEnvironment, resourceArgs(aws.ecs.TaskDefinition, { family: "x", containerDefinitions: "[{" }))).to.have.length(1);
    });
    it("leaves containerDefinitions unknown during preview to the framework's advisory, never a violation", async () => {
        const cannotRun: CannotRun[] = [];
        const args = resourceArgs(aws.ecs.TaskDefinition, { family: "dify-api", containerDefinitions: PREVIEW_UNKNOWN_STRING });
        expect(await runResourcePolicy(noSecretsInEnvironment, args, {}, cannotRun)).to.deep.equal([]);
        expect(cannotRun.map((c) => c.policy)).to.deep.equal(["no-secrets-in-task-environment"]);
        expect(cannotRun[0].message).to.match(/can't be known during preview/);
    });
});

describe("alb-waf", () => {
    const alb = stackResource(aws.lb.LoadBalancer, { loadBalancerType: "application" }, { arn: LB_ARN }, { name: "alb" });
    const association = (resourceArn: string, deps?: PolicyResource) =>
        stackResource(aws.wafv2.WebAclAssociation, { resourceArn, webAclArn: "arn:aws:wafv2:ap-northeast-1:123456789012:regional/webacl/dify/1" }, {}, { name: "waf", propertyDependencies: deps ? { resourceArn: [deps] } : undefined });
    it("passes an internet-facing ALB with a web ACL association (by ARN, or by property dependency during preview)", async () => {
        expect(await stackMessages(albWaf, [alb, association(LB_ARN)])).to.deep.equal([]);
        expect(await stackMessages(albWaf, [alb, association(PREVIEW_UNKNOWN_STRING, alb)])).to.deep.equal([]);
    });
    it("fails an internet-facing ALB without one, or whose association is for another load balancer", async () => {
        expect(await stackMessages(albWaf, [alb])).to.have.length(1);
        expect(await stackMessages(albWaf, [alb, association(`${LB_ARN}-other`)])).to.have.length(1);
    });
    it("checks nothing when WAF is not required, and leaves internal and network load balancers alone", async () => {
        expect(await stackMessages(albWaf, [alb], { requireWaf: false })).to.deep.equal([]);
        expect(await stackMessages(albWaf, [stackResource(aws.lb.LoadBalancer, { internal: true }, { arn: LB_ARN })])).to.deep.equal([]);
        expect(await stackMessages(albWaf, [stackResource(aws.lb.LoadBalancer, { loadBalancerType: "network" }, { arn: LB_ARN })])).to.deep.equal([]);
    });
});

describe("policy config reader", () => {
    const source = (config: object) => ({ getConfig: <T extends object>() => config as T });
    it("fills schema defaults: production-safe (everything required, no CIDR allowed)", () => {
        expect(readConfig(source({}), "requireWaf", "requireDeletionProtection", "requireCustomerManagedKeys", "allowedIngressCidrs")).to.deep.equal({
            requireWaf: true,
            requireDeletionProtection: true,
            requireCustomerManagedKeys: true,
            allowedIngressCidrs: [],
        });
    });
    it("rejects values the schema or AWS cannot accept, naming the key", () => {
        expect(() => readConfig(source({ requireWaf: "no" }), "requireWaf")).to.throw(/requireWaf/);
        expect(() => readConfig(source({ allowedIngressCidrs: ["10.0.0.1/16"] }), "allowedIngressCidrs")).to.throw(/allowedIngressCidrs/);
        expect(() => readConfig(source({ allowedTlsPolicies: [] }), "allowedTlsPolicies")).to.throw(/at least 1/);
    });
});

describe("alb-sso-browser-paths and alb-sso-machine-paths", () => {
    // The paths of issue 19: machine paths stay on Dify's own authentication, the console and web UI sign in.
    const MACHINE_PATHS = ["/v1", "/api", "/files", "/e/", "/triggers", "/mcp", "/.well-known", "/openapi"];
    const HTTPS_ARN = `${LB_ARN}/listener/https`;
    const TG = (name: string) => `arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/${name}/0123`;
    type Action = aws.types.input.lb.ListenerRuleAction;
    type Condition = aws.types.input.lb.ListenerRuleCondition;
    const oidc = (onUnauthenticatedRequest: string): Action => ({
        type: "authenticate-oidc",
        order: 1,
        authenticateOidc: {
            issuer: "https://login.example.com",
            authorizationEndpoint: "https://login.example.com/authorize",
            tokenEndpoint: "https://login.example.com/token",
            userInfoEndpoint: "https://login.example.com/userinfo",
            clientId: "dify-alb",
            clientSecret: "an-oidc-client-secret",
            onUnauthenticatedRequest,
        },
    });
    const cognito = (onUnauthenticatedRequest: string): Action => ({
        type: "authenticate-cognito",
        order: 1,
        authenticateCognito: { userPoolArn: "arn:aws:cognito-idp:ap-northeast-1:123456789012:userpool/ap-northeast-1_AbCdEf123", userPoolClientId: "client", userPoolDomain: "dify-login", onUnauthenticatedRequest },
    });
    const forward = (target: string, order?: number): Action => ({ type: "forward", order, targetGroupArn: TG(target) });
    const lb = stackResource(aws.lb.LoadBalancer, { loadBalancerType: "application" }, { arn: LB_ARN }, { name: "alb" });
    const listener = (name: string, port: number, defaultActions: aws.types.input.lb.ListenerDefaultAction[], arn = `${LB_ARN}/listener/${name}`) =>
        stackResource(aws.lb.Listener, { loadBalancerArn: LB_ARN, protocol: port === 80 ? "HTTP" : "HTTPS", port, defaultActions: defaultActions as any }, { arn }, { name });
    const notFound = [{ type: "fixed-response", fixedResponse: { contentType: "text/plain", statusCode: "404" } }];
    const https = listener("https", 443, notFound, HTTPS_ARN);
    const http = listener("http", 80, [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }]);
    const rule = (name: string, priority: number | string, conditions: Condition[], actions: Action[], on: PolicyResource = https, viaDependency = false) =>
        stackResource(
            aws.lb.ListenerRule,
            { listenerArn: viaDependency ? PREVIEW_UNKNOWN_STRING : (on.props.arn as string), priority: priority as number, conditions: conditions as any, actions: actions as any },
            {},
            { name, propertyDependencies: viaDependency ? { listenerArn: [on] } : undefined },
        );
    const regex = (...locations: string[]): Condition[] => [{ pathPattern: { regexValues: [`^/(${locations.map((l) => l.replace(/^\/|\/$/g, "").replace(/\./g, "\\.")).join("|")})(/.*)?$`] } }];
    const values = (...patterns: string[]): Condition[] => [{ pathPattern: { values: patterns } }];
    const machineApi = ["/api", "/v1", "/openapi", "/files", "/mcp", "/triggers", "/.well-known"];

    /** The rule set issue 19 asks for: machine paths forward-only first, the console API and websocket deny, the web UI signs in. */
    const ssoSet = (auth: (on: string) => Action = oidc) => [
        lb,
        https,
        http,
        rule("api", 100, regex(...machineApi), [forward("api")]),
        rule("plugin-daemon", 101, values("/e/*"), [forward("plugin")]),
        rule("console-api", 200, regex("/console/api"), [auth("deny"), forward("api", 2)]),
        rule("websocket", 201, values("/socket.io/*"), [auth("deny"), forward("ws", 2)]),
        rule("web", 1000, values("/*"), [auth("authenticate"), forward("web", 2)]),
    ];
    const both = async (resources: PolicyResource[]) => ({ browser: await stackMessages(albSsoBrowserPaths, resources), machine: await stackMessages(albSsoMachinePaths, resources) });
    const replace = (set: PolicyResource[], ...rules: PolicyResource[]) => [...set.filter((r) => !rules.some((n) => n.name === r.name)), ...rules];

    it("classifies paths as Dify's nginx does, from components/edgeAlb/routes.ts", () => {
        for (const path of [...MACHINE_PATHS, "/v1/chat-messages", "/api/passport", "/files/upload", "/e/abc/hook", "/triggers/webhook/x", "/mcp/server/x/mcp", "/.well-known/oauth-protected-resource", "/openapi/v1/x"]) {
            expect(audienceOf(path), path).to.equal("machine");
        }
        for (const path of ["/", "/apps", "/console/api", "/console/api/apps", "/socket.io/", "/explore", "/explore/apps", "/signin", "/install", "/oauth2/idpresponse", "/e"]) {
            expect(audienceOf(path), path).to.equal("browser");
        }
    });

    it("passes the compliant SSO rule set, with OIDC and with Cognito", async () => {
        expect(await both(ssoSet())).to.deep.equal({ browser: [], machine: [] });
        expect(await both(ssoSet(cognito))).to.deep.equal({ browser: [], machine: [] });
    });

    it("checks nothing when no rule of the load balancer authenticates (SSO off)", async () => {
        const plain = [lb, https, http, rule("api", 100, regex(...machineApi, "/console/api"), [forward("api")]), rule("plugin-daemon", 101, values("/e/*"), [forward("plugin")]), rule("web", 1000, values("/*"), [forward("web")])];
        expect(await both(plain)).to.deep.equal({ browser: [], machine: [] });
    });

    it("fails a browser path that forwards without signing in: the web UI's catch-all, the websocket, the listener's default action", async () => {
        const web = await both(replace(ssoSet(), rule("web", 1000, values("/*"), [forward("web")])));
        expect(web.machine).to.deep.equal([]);
        expect(web.browser).to.have.length(1);
        expect(web.browser[0]).to.include('ListenerRule "web"').and.include("`/`").and.include("`/explore`").and.include("authenticate action");
        const ws = await both(replace(ssoSet(), rule("websocket", 201, values("/socket.io/*"), [forward("ws")])));
        expect(ws.browser).to.have.length(1);
        expect(ws.browser[0]).to.include('ListenerRule "websocket"').and.include("`/socket.io/`");
        // No catch-all: the listener's default action serves the web UI, and it forwards.
        const byDefault = [lb, listener("https", 443, [forward("web")], HTTPS_ARN), ...ssoSet().filter((r) => r.type.endsWith("ListenerRule") && r.name !== "web")];
        const found = await stackMessages(albSsoBrowserPaths, byDefault);
        expect(found).to.have.length(1);
        expect(found[0]).to.match(/^the default action of Listener "https" forwards browser paths .*`\/explore`/);
    });

    it("does not count onUnauthenticatedRequest allow as a sign-in", async () => {
        const found = await stackMessages(albSsoBrowserPaths, replace(ssoSet(), rule("console-api", 200, regex("/console/api"), [oidc("allow"), forward("api", 2)])));
        expect(found).to.have.length(1);
        expect(found[0]).to.include('ListenerRule "console-api"').and.include("`/console/api`");
    });

    it("fails a rule that takes a browser path for some requests only (another condition) and forwards it unauthenticated", async () => {
        const fromOffice = rule("console-from-office", 150, [{ pathPattern: { values: ["/console/api/*"] }, sourceIp: { values: ["203.0.113.0/24"] } }], [forward("api")]);
        const found = await stackMessages(albSsoBrowserPaths, [...ssoSet(), fromOffice]);
        expect(found).to.have.length(1);
        expect(found[0]).to.include('ListenerRule "console-from-office"');
    });

    it("walks on past a rule with another condition: requests it does not take reach the next rule", async () => {
        const withHeader = rule("v1-with-header", 90, [{ pathPattern: { values: ["/v1", "/v1/*"] }, httpHeader: { httpHeaderName: "X-Canary", values: ["1"] } }], [forward("api")]);
        const behind = rule("v1-signed-in", 95, values("/v1", "/v1/*"), [oidc("authenticate"), forward("api", 2)]);
        const found = await stackMessages(albSsoMachinePaths, [...ssoSet(), withHeader, behind]);
        expect(found).to.have.length(1);
        expect(found[0]).to.include('ListenerRule "v1-signed-in"').and.include("`/v1`");
    });

    it("fails another listener of the same load balancer that forwards the console without SSO", async () => {
        const side = listener("side", 8443, [forward("web")]);
        const found = await stackMessages(albSsoBrowserPaths, [...ssoSet(), side]);
        expect(found).to.have.length(1);
        expect(found[0]).to.include('the default action of Listener "side"');
    });

    it("fails a machine path behind an authenticate action: its own rule, a regex that takes it with the console, the catch-all when no forward-only rule takes it first", async () => {
        const v1 = await both([...ssoSet(), rule("v1", 50, values("/v1", "/v1/*"), [oidc("authenticate"), forward("api", 2)])]);
        expect(v1.browser).to.deep.equal([]);
        expect(v1.machine).to.have.length(1);
        expect(v1.machine[0]).to.include('ListenerRule "v1"').and.include("authenticate-oidc").and.include("`/v1`").and.include("Remove the authenticate action");
        const mixed = await stackMessages(albSsoMachinePaths, replace(ssoSet(), rule("console-api", 90, regex("/console/api", "/files"), [cognito("deny"), forward("api", 2)])));
        expect(mixed).to.have.length(1);
        expect(mixed[0]).to.include('ListenerRule "console-api"').and.include("authenticate-cognito").and.include("`/files`").and.not.include("`/v1`");
        // Without the api's forward-only rule every machine path but /e/ falls to the authenticated catch-all.
        const noApi = await stackMessages(albSsoMachinePaths, ssoSet().filter((r) => r.name !== "api"));
        expect(noApi).to.have.length(1);
        expect(noApi[0]).to.include('ListenerRule "web"');
        for (const path of MACHINE_PATHS.filter((p) => p !== "/e/")) {
            expect(noApi[0], path).to.include(`\`${path}\``);
        }
        expect(noApi[0]).to.not.include("`/e/`");
    });

    it("checks a preview: listeners joined by property dependency, target groups unknown", async () => {
        const preview = (set: PolicyResource[]) =>
            set.map((r) => (r.type.endsWith("ListenerRule") ? rule(r.name, r.props.priority, r.props.conditions, (r.props.actions as Action[]).map((a) => (a.type === "forward" ? { ...a, targetGroupArn: PREVIEW_UNKNOWN_STRING } : a)), https, true) : r));
        const cannotRun: CannotRun[] = [];
        expect(await runStackPolicy(albSsoBrowserPaths, preview(ssoSet()), {}, cannotRun)).to.deep.equal([]);
        expect(await runStackPolicy(albSsoMachinePaths, preview(ssoSet()), {}, cannotRun)).to.deep.equal([]);
        expect(cannotRun).to.deep.equal([]);
        expect(await stackMessages(albSsoBrowserPaths, preview(replace(ssoSet(), rule("web", 1000, values("/*"), [forward("web")]))))).to.have.length(1);
    });

    it("reports nothing it cannot tell during preview: a rule whose listener, priority or conditions are not known yet", async () => {
        const unplaced = stackResource(aws.lb.ListenerRule, { listenerArn: PREVIEW_UNKNOWN_STRING, priority: 50, conditions: values("/v1/*") as any, actions: [oidc("authenticate"), forward("api", 2)] as any }, {}, { name: "unplaced" });
        const noPriority = rule("no-priority", PREVIEW_UNKNOWN_STRING, values("/v1/*"), [oidc("authenticate"), forward("api", 2)]);
        const noConditions = stackResource(aws.lb.ListenerRule, { listenerArn: HTTPS_ARN, priority: 60, conditions: PREVIEW_UNKNOWN_STRING as any, actions: [forward("web")] as any }, {}, { name: "no-conditions" });
        const unknownAction = rule("unknown-action", 70, values("/explore/*"), [{ type: PREVIEW_UNKNOWN_STRING }]);
        for (const extra of [unplaced, noPriority, noConditions, unknownAction]) {
            const cannotRun: CannotRun[] = [];
            expect(await runStackPolicy(albSsoBrowserPaths, [...ssoSet(), extra], {}, cannotRun), extra.name).to.deep.equal([]);
            expect(await runStackPolicy(albSsoMachinePaths, [...ssoSet(), extra], {}, cannotRun), extra.name).to.deep.equal([]);
            expect(cannotRun, extra.name).to.deep.equal([]);
        }
        // What is known is still checked: the unplaced rule hides /v1 only, the catch-all's forward without sign-in is still caught.
        expect(await stackMessages(albSsoBrowserPaths, [...replace(ssoSet(), rule("web", 1000, values("/*"), [forward("web")])), unplaced])).to.have.length(1);
        // A forward-only rule not placed yet may take /v1 before the authenticated catch-all: /v1 is not blamed on it, /api still is.
        const unplacedOpen = stackResource(aws.lb.ListenerRule, { listenerArn: PREVIEW_UNKNOWN_STRING, priority: 50, conditions: values("/v1", "/v1/*") as any, actions: [forward("api")] as any }, {}, { name: "unplaced-open" });
        const noApi = await stackMessages(albSsoMachinePaths, [...ssoSet().filter((r) => r.name !== "api"), unplacedOpen]);
        expect(noApi).to.have.length(1);
        expect(noApi[0]).to.include("`/api`").and.not.include("`/v1`");
        // A placed rule whose conditions are not known may take any path first: nothing after it is blamed.
        expect(await stackMessages(albSsoMachinePaths, [...ssoSet().filter((r) => r.name !== "api"), noConditions])).to.deep.equal([]);
    });
});
