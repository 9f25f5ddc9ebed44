/**
 * Backups that survive the account (issue 18, item 6) and the hardening scanners ask for (item 7: the files bucket's
 * access trail, the KMS key's grant to EventBridge). Asserted where each setting lands: the backup plan, its
 * selection and vault, the key policy, the bucket logging and the topic policy.
 */
import { expect } from "chai";
import { BACKUP_EVENT_RULE } from "../components/alarms/backups";
import { BACKUP_MANAGED_POLICIES } from "../components/backupPlan";
import * as aws from "@pulumi/aws";
import { s3BucketEncryption } from "../policy/encryption";
import { configErrorFor, ProgramRun, runProgram, stackRun } from "./harness";
import { PREVIEW_UNKNOWN_STRING, runStackPolicy, stackResource } from "./policyHarness";

const COPY_VAULT = "arn:aws:backup:ap-northeast-3:210987654321:backup-vault:dify-prd-copies";

type Statement = { Sid?: string; Effect: string; Principal?: Record<string, unknown>; Action: string | string[]; Condition?: Record<string, Record<string, unknown>> };
const statementsOf = (policy: unknown): Statement[] => JSON.parse(String(policy)).Statement;
const stackKeyPolicy = (run: ProgramRun) => statementsOf(run.one("aws:kms/key:Key", "key-key").inputs.policy);

describe("backups: an AWS Backup plan over everything that holds users' data", () => {
    it("prd backs up the Aurora cluster, the files bucket and each EFS workspace daily into its own vault, encrypted with the stack's key", async () => {
        const run = await stackRun("prd");
        const selection = run.one("aws:backup/selection:Selection").inputs;
        const cluster = run.one("aws:rds/cluster:Cluster").state.arn;
        const files = run.ofType("aws:s3/bucket:Bucket").find((b) => /-files-/.test(String(b.inputs.bucket)))!.state.arn;
        const fileSystems = run.ofType("aws:efs/fileSystem:FileSystem").map((fs) => fs.state.arn);
        expect(fileSystems).to.have.length(2);
        expect([...selection.resources].sort()).to.deep.equal([cluster, files, ...fileSystems].sort());

        const vault = run.one("aws:backup/vault:Vault").inputs;
        expect(vault.kmsKeyArn).to.equal(run.one("aws:kms/key:Key", "key-key").state.arn);
        expect(vault.forceDestroy).to.equal(false);
        const rule = run.one("aws:backup/plan:Plan").inputs.rules[0];
        expect(rule.targetVaultName).to.equal(vault.name);
        expect(rule.schedule).to.match(/^cron\(/);
        expect(rule.lifecycle.deleteAfter).to.equal(35);
        expect(rule.copyActions ?? []).to.deep.equal([]);
        // Continuous backup would take over Aurora's own backup retention, which the cluster resource sets.
        expect(rule.enableContinuousBackup ?? false).to.equal(false);
    });

    it("the vault is protected on prd: destroying it would need every recovery point gone", async () => {
        const run = await stackRun("prd");
        expect(run.one("aws:backup/vault:Vault").protect).to.equal(true);
    });

    it("the plan's role is AWS Backup's alone, with the policies AWS documents for RDS, EFS and S3, and the stack key only through those services", async () => {
        const run = await stackRun("prd");
        const role = run.one("aws:iam/role:Role", /backup-role$/).inputs;
        const trust = statementsOf(role.assumeRolePolicy)[0];
        expect(trust.Principal).to.deep.equal({ Service: "backup.amazonaws.com" });
        expect(trust.Condition?.StringEquals?.["aws:SourceAccount"]).to.match(/^\d{12}$/);
        const attached = run.ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment").filter((a) => a.inputs.role === role.name).map((a) => String(a.inputs.policyArn).replace(/^arn:aws:iam::aws:policy\//, ""));
        // The S3 pair is not in the generic backup policy (AWS Backup guide, "Amazon S3 backups").
        expect(attached.sort()).to.deep.equal([...BACKUP_MANAGED_POLICIES].sort());
        expect(attached).to.include("AWSBackupServiceRolePolicyForS3Backup");
        const key = statementsOf(run.ofType("aws:iam/rolePolicy:RolePolicy").find((p) => p.inputs.role === role.name)!.inputs.policy)[0];
        expect(key.Condition?.StringLike?.["kms:ViaService"]).to.include.members(["rds.ap-northeast-1.amazonaws.com", "s3.ap-northeast-1.amazonaws.com", "elasticfilesystem.ap-northeast-1.amazonaws.com"]);
    });

    it("EFS's automatic backups are off where the plan covers the workspaces (no recovery point stored twice), on where prd has no plan", async () => {
        const prd = await stackRun("prd");
        for (const policy of prd.ofType("aws:efs/backupPolicy:BackupPolicy")) {
            expect(policy.inputs.backupPolicy.status, policy.name).to.equal("DISABLED");
        }
        const withoutPlan = await runProgram("prd", { backupPlan: false });
        expect(withoutPlan.ofType("aws:backup/plan:Plan")).to.have.length(0);
        for (const policy of withoutPlan.ofType("aws:efs/backupPolicy:BackupPolicy")) {
            expect(policy.inputs.backupPolicy.status, policy.name).to.equal("ENABLED");
        }
    });

    it("dev has no plan and no vault (its data is rebuilt, Aurora's point-in-time recovery stays)", async () => {
        const dev = await stackRun("dev");
        expect(dev.ofType("aws:backup/plan:Plan")).to.have.length(0);
        expect(dev.ofType("aws:backup/vault:Vault")).to.have.length(0);
        expect(dev.outputs.backupVaultName).to.equal(undefined);
    });

    it("failed, aborted and expired backup and copy jobs are mailed to the alarm topic, and only the stack's own rules may publish", async () => {
        const run = await stackRun("prd");
        const rule = run.one("aws:cloudwatch/eventRule:EventRule", /backup-events$/).inputs;
        expect(rule.name).to.equal(BACKUP_EVENT_RULE("dify-prd"));
        const pattern = JSON.parse(rule.eventPattern);
        expect(pattern.source).to.deep.equal(["aws.backup"]);
        expect(pattern["detail-type"]).to.have.members(["Backup Job State Change", "Copy Job State Change"]);
        expect(pattern.detail.state).to.include.members(["FAILED", "ABORTED", "EXPIRED"]);
        const target = run.ofType("aws:cloudwatch/eventTarget:EventTarget").find((t) => t.inputs.rule === rule.name)!;
        const topic = run.one("aws:sns/topic:Topic");
        expect(target.inputs.arn).to.equal(topic.state.arn);
        const publish = statementsOf(run.one("aws:sns/topicPolicy:TopicPolicy").inputs.policy).find((s) => (s.Principal as { Service?: string })?.Service === "events.amazonaws.com")!;
        const sources = publish.Condition!.ArnEquals["aws:SourceArn"] as string[];
        expect(sources.map((a) => a.split(":rule/")[1]).sort()).to.deep.equal(["dify-prd-backup-jobs", "dify-prd-database-events", "dify-prd-ecs-service-events"]);
    });
});

describe("backups: copies to another account or region, and the vault lock", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runProgram("prd", { backupCopyVaultArn: COPY_VAULT, backupCopyRetentionDays: 90, backupVaultLock: "compliance" });
    });

    it("every daily recovery point is copied to the configured vault and kept there for its own retention", () => {
        const rule = run.one("aws:backup/plan:Plan").inputs.rules[0];
        expect(rule.copyActions).to.deep.equal([{ destinationVaultArn: COPY_VAULT, lifecycle: { deleteAfter: 90 } }]);
    });

    it("the copy vault's account is granted the stack's key (an encrypted Aurora snapshot cannot be copied across accounts otherwise)", () => {
        const grant = stackKeyPolicy(run).find((s) => JSON.stringify(s.Principal) === JSON.stringify({ AWS: "arn:aws:iam::210987654321:root" }));
        expect(grant, "a statement for account 210987654321").to.not.equal(undefined);
        expect(grant!.Action).to.include.members(["kms:Decrypt", "kms:CreateGrant", "kms:DescribeKey"]);
    });

    it("a compliance lock keeps every recovery point for the plan's retention and becomes immutable after AWS's 3-day minimum", () => {
        const lock = run.one("aws:backup/vaultLockConfiguration:VaultLockConfiguration").inputs;
        expect(lock.backupVaultName).to.equal(run.one("aws:backup/vault:Vault").inputs.name);
        expect(lock.minRetentionDays).to.equal(35);
        expect(lock.changeableForDays).to.equal(3);
    });

    it("a governance lock has no immutability date", async () => {
        const governance = await runProgram("prd", { backupVaultLock: "governance" });
        const lock = governance.one("aws:backup/vaultLockConfiguration:VaultLockConfiguration").inputs;
        expect(lock.changeableForDays).to.equal(undefined);
        expect(lock.minRetentionDays).to.equal(35);
    });
});

describe("backups: configuration refused before any resource", () => {
    it("a copy vault without the stack's own key, naming both keys", () => {
        const message = configErrorFor("dev", { backupPlan: true, backupCopyVaultArn: COPY_VAULT });
        expect(message).to.contain(`dify-aws:backupCopyVaultArn = "${COPY_VAULT}"`);
        // Key names ending in "Key" are treated as secret-looking: the key is named, its value not printed.
        expect(message).to.contain("dify-aws:customerManagedKey");
    });
    it("a copy vault or a lock without a plan", () => {
        const message = configErrorFor("dev", { backupVaultLock: "governance" });
        expect(message).to.contain("dify-aws:backupPlan = false");
        expect(message).to.contain('dify-aws:backupVaultLock = "governance"');
    });
    it("a copy vault that is not a backup vault ARN, and a schedule that is not a six-field cron expression", () => {
        expect(configErrorFor("prd", { backupCopyVaultArn: "dify-prd-copies" })).to.contain('dify-aws:backupCopyVaultArn = "dify-prd-copies"');
        expect(configErrorFor("prd", { backupSchedule: "0 19 * * *" })).to.match(/backupSchedule = "0 19 \* \* \*".*cron/s);
        expect(configErrorFor("prd", { backupRetentionDays: 0 })).to.contain("backupRetentionDays");
    });
});

describe("hardening: what outside scanners ask for", () => {
    it("the KMS key lets EventBridge use it only for this account's rules (aws:SourceAccount), like CloudWatch", async () => {
        const run = await stackRun("prd");
        const events = stackKeyPolicy(run).find((s) => JSON.stringify(s.Principal) === JSON.stringify({ Service: "events.amazonaws.com" }))!;
        expect(events.Condition?.StringEquals?.["aws:SourceAccount"]).to.match(/^\d{12}$/);
        // No Allow to a service principal without a condition that names this account or its resources.
        for (const s of stackKeyPolicy(run).filter((st) => st.Effect === "Allow" && st.Principal && "Service" in st.Principal)) {
            expect(s.Condition, s.Sid).to.not.equal(undefined);
        }
    });

    for (const stack of ["dev", "prd"] as const) {
        it(`${stack}: the files bucket logs every access into a log bucket only S3's log delivery for that bucket may write`, async () => {
            const run = await stackRun(stack);
            const files = run.ofType("aws:s3/bucket:Bucket").find((b) => /-files-/.test(String(b.inputs.bucket)))!;
            const logging = run.one("aws:s3/bucketLogging:BucketLogging").inputs;
            expect(logging.bucket).to.equal(files.id);
            const target = run.ofType("aws:s3/bucket:Bucket").find((b) => b.state.bucket === logging.targetBucket)!;
            expect(target, "the log bucket").to.not.equal(undefined);
            expect(target.inputs.bucket).to.not.equal(files.inputs.bucket);
            const encryption = run.ofType("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").find((e) => e.inputs.bucket === target.id)!;
            // S3 log delivery writes only into SSE-S3 buckets.
            expect(encryption.inputs.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm).to.equal("AES256");
            const policy = run.ofType("aws:s3/bucketPolicy:BucketPolicy").find((p) => p.inputs.bucket === target.id)!;
            const delivery = statementsOf(policy.inputs.policy).find((s) => JSON.stringify(s.Principal) === JSON.stringify({ Service: "logging.s3.amazonaws.com" }))!;
            expect(delivery.Condition?.ArnLike?.["aws:SourceArn"]).to.equal(files.state.arn);
            expect(delivery.Condition?.StringEquals?.["aws:SourceAccount"]).to.match(/^\d{12}$/);
            const block = run.ofType("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").find((b) => b.inputs.bucket === target.id)!;
            expect(block.inputs.restrictPublicBuckets).to.equal(true);
        });
    }

    it("bucketAccessLogs false leaves the log bucket out", async () => {
        const run = await runProgram("dev", { bucketAccessLogs: false });
        expect(run.ofType("aws:s3/bucketLogging:BucketLogging")).to.have.length(0);
        expect(run.ofType("aws:s3/bucket:Bucket").filter((b) => /-s3-logs-/.test(String(b.inputs.bucket)))).to.have.length(0);
    });
});

describe("policy s3-bucket-encryption: the S3 server access log bucket", () => {
    const bucket = (name: string) => stackResource(aws.s3.Bucket, { bucket: name }, {}, { name });
    const sse = (name: string, sseAlgorithm: string) =>
        stackResource(aws.s3.BucketServerSideEncryptionConfiguration, { bucket: name, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm } }] }, {}, { name: `${name}-sse` });
    const messages = async (resources: Parameters<typeof runStackPolicy>[1]) => (await runStackPolicy(s3BucketEncryption, resources, { requireCustomerManagedKeys: true })).map((v) => v.message);

    it("accepts SSE-S3 on a bucket S3 delivers server access logs to, by name or by dependency during preview", async () => {
        const logs = bucket("s3-logs");
        const byName = stackResource(aws.s3.BucketLogging, { bucket: "files", targetBucket: "s3-logs", targetPrefix: "files/" }, {}, { name: "logging" });
        expect(await messages([bucket("files"), sse("files", "aws:kms"), logs, sse("s3-logs", "AES256"), byName])).to.deep.equal([]);
        const byDependency = stackResource(aws.s3.BucketLogging, { bucket: "files", targetBucket: PREVIEW_UNKNOWN_STRING, targetPrefix: "files/" }, {}, { name: "logging", propertyDependencies: { targetBucket: [logs] } });
        expect(await messages([bucket("files"), sse("files", "aws:kms"), logs, sse("s3-logs", "AES256"), byDependency])).to.deep.equal([]);
    });
    it("still refuses SSE-S3 on a bucket nothing delivers logs to, and SSE-KMS on the log target", async () => {
        const logging = stackResource(aws.s3.BucketLogging, { bucket: "files", targetBucket: "s3-logs", targetPrefix: "files/" }, {}, { name: "logging" });
        expect(await messages([bucket("files"), sse("files", "AES256"), bucket("s3-logs"), sse("s3-logs", "AES256"), logging])).to.have.length(1);
        expect((await messages([bucket("files"), sse("files", "aws:kms"), bucket("s3-logs"), sse("s3-logs", "aws:kms"), logging])).join()).to.match(/only delivers to SSE-S3/);
    });
});
