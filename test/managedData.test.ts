import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { ManagedData } from "../components/managedData";
import { secretValueFrom } from "../components/contracts";
import { parseDailyWindow, parseWeeklyWindow, windowsOverlap } from "../config/windows";
import { configErrorFor, loadSettingsFor, ProgramRun, runProgram, stackRun } from "./harness";
import { RegisteredResource } from "./mocks";

const T = {
    component: "dify-aws:data:ManagedData",
    cluster: "aws:rds/cluster:Cluster",
    instance: "aws:rds/clusterInstance:ClusterInstance",
    clusterParams: "aws:rds/clusterParameterGroup:ClusterParameterGroup",
    dbSubnets: "aws:rds/subnetGroup:SubnetGroup",
    replicationGroup: "aws:elasticache/replicationGroup:ReplicationGroup",
    cacheParams: "aws:elasticache/parameterGroup:ParameterGroup",
    cacheSubnets: "aws:elasticache/subnetGroup:SubnetGroup",
    password: "random:index/randomPassword:RandomPassword",
    secret: "aws:secretsmanager/secret:Secret",
    secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
    securityGroup: "aws:ec2/securityGroup:SecurityGroup",
    ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
    role: "aws:iam/role:Role",
    attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    bucket: "aws:s3/bucket:Bucket",
    publicAccess: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    sse: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    versioning: "aws:s3/bucketVersioning:BucketVersioning",
    lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
    kmsKey: "aws:kms/key:Key",
};

// AWS facts the tests check against (not the implementation's constants).
/** RDS master passwords: printable ASCII except these (CreateDBCluster); 8-41 characters for Aurora clusters. */
const RDS_PASSWORD_FORBIDDEN = ["/", '"', "@", " "];
const RDS_PASSWORD_LENGTH = { min: 8, max: 41 };
/** ElastiCache AUTH: 16-128 printable characters; the only non-alphanumerics allowed. */
const ELASTICACHE_TOKEN_SPECIALS = "!&#$^<>-";
const ELASTICACHE_TOKEN_LENGTH = { min: 16, max: 128 };
/** Characters that appear in URL userinfo without percent-encoding besides alphanumerics (RFC 3986 unreserved). */
const URL_UNRESERVED = "-._~";
/** Default specials of @pulumi/random when overrideSpecial is not given. */
const RANDOM_DEFAULT_SPECIALS = "!@#$%&*()-_=+[]{}<>:?";

/** The resources the ManagedData component named `data` created (its direct children). */
function mine(run: ProgramRun, type?: string): RegisteredResource[] {
    return run.resources.filter((r) => r.parent.endsWith(`${T.component}::data`) && (type === undefined || r.type === type));
}
function one(run: ProgramRun, type: string, name?: string): RegisteredResource {
    const found = mine(run, type).filter((r) => name === undefined || r.name === name);
    expect(found, `exactly one ${type}${name ? ` ${name}` : ""}`).to.have.length(1);
    return found[0];
}

/** The character set a random password can draw from, as @pulumi/random interprets its inputs. */
function alphabet(inputs: Record<string, any>): string {
    let out = "";
    if (inputs.upper !== false) out += "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    if (inputs.lower !== false) out += "abcdefghijklmnopqrstuvwxyz";
    if (inputs.numeric !== false && inputs.number !== false) out += "0123456789";
    if (inputs.special !== false) out += inputs.overrideSpecial ?? RANDOM_DEFAULT_SPECIALS;
    return out;
}
const specialsOf = (chars: string) => [...chars].filter((c) => !/[A-Za-z0-9]/.test(c));

function secretStrings(run: ProgramRun): { master: { username: string; password: string; host: string; port: number; dbname: string }; token: string; brokerUrl: string } {
    const version = (secretName: string) => {
        const secret = one(run, T.secret, secretName);
        const arn = `arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:${secret.inputs.name}-AbCdEf`;
        const v = mine(run, T.secretVersion).find((x) => x.inputs.secretId === arn || x.name === secretName);
        expect(v, `a version of ${secretName}`).to.not.equal(undefined);
        expect(v!.secretPaths, `${secretName} version is a Pulumi secret`).to.include("secretString");
        return v!.inputs.secretString as string;
    };
    return {
        master: JSON.parse(version("data-db-master")),
        token: version("data-cache-auth-token"),
        brokerUrl: version("data-celery-broker-url"),
    };
}

/** Every string in a value at a path that is not a secret, with its path. */
function plainStrings(value: unknown, path: string, secretPaths: string[], out: [string, string][]): [string, string][] {
    if (secretPaths.includes(path)) {
        return out;
    }
    if (typeof value === "string") {
        out.push([path, value]);
    } else if (Array.isArray(value)) {
        value.forEach((v, i) => plainStrings(v, `${path}[${i}]`, secretPaths, out));
    } else if (value && typeof value === "object") {
        for (const [k, v] of Object.entries(value)) {
            plainStrings(v, path ? `${path}.${k}` : k, secretPaths, out);
        }
    }
    return out;
}

describe("ManagedData: config", () => {
    const expectError = (overrides: Record<string, unknown>, key: string, allowed: RegExp) => {
        const message = configErrorFor("prd", overrides);
        expect(message).to.include(`dify-aws:${key}`);
        expect(message).to.match(allowed);
    };

    it("loads dev and prd with prd protecting more: 14+ days of backups, a cache replica, longer snapshots", () => {
        const dev = loadSettingsFor("dev").settings.data;
        const prd = loadSettingsFor("prd").settings.data;
        expect(prd.database.backupRetentionDays).to.be.at.least(14);
        expect(prd.cache.replicaCount).to.be.at.least(1);
        expect(prd.cache.snapshotRetentionDays).to.be.at.least(1);
        expect(prd.applyImmediately).to.equal(false);
        expect(dev.cache.replicaCount).to.equal(0);
        expect(dev.database.readerCount).to.equal(0);
        expect(dev.database.capacity).to.deep.include({ mode: "serverless", minAcu: 0.5 });
    });

    it("rejects an unknown cache engine and a version the engine does not have", () => {
        expectError({ cacheEngine: "memcached" }, "cacheEngine", /"valkey", "redis"/);
        expectError({ cacheEngine: "valkey", cacheEngineVersion: "7.1" }, "cacheEngineVersion", /valkey version .*"8\.2"/);
        expectError({ cacheEngine: "redis", cacheEngineVersion: "8.2" }, "cacheEngineVersion", /redis version .*"7\.1"/);
        expect(loadSettingsFor("prd", { cacheEngine: "redis", cacheEngineVersion: "7.1" }).settings.data.cache.engine).to.equal("redis");
    });

    it("rejects database versions without HNSW and pinned minors (they make the next update a downgrade)", () => {
        expectError({ databaseEngineVersion: "15" }, "databaseEngineVersion", /major version with pgvector HNSW/);
        expectError({ databaseEngineVersion: "16.4" }, "databaseEngineVersion", /major version only \("16"\).*downgrade/);
        expectError({ databaseEngineVersion: "postgres" }, "databaseEngineVersion", /"16"/);
        expect(loadSettingsFor("prd", { databaseEngineVersion: "17" }).settings.data.database.engineVersion).to.equal("17");
    });

    it("accepts 0-15 readers only (Aurora's replica limit)", () => {
        expectError({ databaseReaderCount: -1 }, "databaseReaderCount", /from 0 to 15/);
        expectError({ databaseReaderCount: 16 }, "databaseReaderCount", /from 0 to 15/);
        expectError({ databaseReaderCount: 1.5 }, "databaseReaderCount", /whole number/);
        expect(loadSettingsFor("prd", { databaseReaderCount: 15 }).settings.data.database.readerCount).to.equal(15);
    });

    it("checks the Serverless v2 ACU range: 0.5-256 in steps of 0.5, min <= max, 0 (auto-pause) only with active hours", () => {
        expectError({ databaseMinCapacity: "0" }, "databaseMinCapacity", /activeHours: Dify keeps connections open/);
        expect(loadSettingsFor("dev", { databaseMinCapacity: "0", activeHours: JSON.stringify({ timezone: "Asia/Tokyo", weekdays: "MON-FRI", start: "08:00", stop: "20:00" }) }).settings.data.database.capacity).to.include({ minAcu: 0, secondsUntilAutoPause: 300 });
        expectError({ databaseMinCapacity: "0.75" }, "databaseMinCapacity", /steps of 0\.5/);
        expectError({ databaseMaxCapacity: "256.5" }, "databaseMaxCapacity", /to 256/);
        expectError({ databaseMinCapacity: "8", databaseMaxCapacity: "4" }, "databaseMinCapacity", /at most databaseMaxCapacity \(4 ACU\)/);
        expectError({ databaseMinCapacity: "lots" }, "databaseMinCapacity", /a number/);
        // dev: prd's pools at maximum scale need more than the 2,000 connections a 0.5 ACU minimum caps Aurora at.
        const ok = loadSettingsFor("dev", { databaseMinCapacity: "0.5", databaseMaxCapacity: "256" }).settings.data.database.capacity;
        expect(ok).to.deep.equal({ mode: "serverless", minAcu: 0.5, maxAcu: 256, secondsUntilAutoPause: 300 });
    });

    it("checks the provisioned instance class", () => {
        expectError({ databaseCapacityMode: "provisioned", databaseInstanceClass: "db.serverless" }, "databaseInstanceClass", /instance class/);
        expectError({ databaseCapacityMode: "provisioned", databaseInstanceClass: "r7g.large" }, "databaseInstanceClass", /instance class/);
        expectError({ databaseCapacityMode: "spot" }, "databaseCapacityMode", /"serverless", "provisioned"/);
    });

    it("keeps backup retention within 1-35 days and cache snapshot retention within 0-35", () => {
        expectError({ databaseBackupRetentionDays: 0 }, "databaseBackupRetentionDays", /from 1 to 35/);
        expectError({ databaseBackupRetentionDays: 36 }, "databaseBackupRetentionDays", /from 1 to 35/);
        expectError({ cacheSnapshotRetentionDays: -1 }, "cacheSnapshotRetentionDays", /from 0 to 35/);
        expectError({ cacheSnapshotRetentionDays: 36 }, "cacheSnapshotRetentionDays", /from 0 to 35/);
        expect(loadSettingsFor("prd", { databaseBackupRetentionDays: 35, cacheSnapshotRetentionDays: 0 }).settings.data.cache.snapshotRetentionDays).to.equal(0);
    });

    it("rejects malformed, too short and overlapping windows", () => {
        expectError({ databaseBackupWindow: "3am" }, "databaseBackupWindow", /hh24:mi-hh24:mi/);
        expectError({ databaseBackupWindow: "17:00-17:20" }, "databaseBackupWindow", /at least 30 minutes/);
        expectError({ databaseMaintenanceWindow: "sun:25:00-sun:26:00" }, "databaseMaintenanceWindow", /ddd:hh24:mi/);
        // A daily backup window overlaps every day's maintenance, whichever day it is.
        expectError({ databaseBackupWindow: "18:00-19:00", databaseMaintenanceWindow: "wed:18:30-wed:19:30" }, "databaseMaintenanceWindow", /does not overlap/);
        expectError({ cacheSnapshotWindow: "16:00-16:30" }, "cacheSnapshotWindow", /at least 60 minutes/);
        expectError({ cacheSnapshotWindow: "23:30-00:30", cacheMaintenanceWindow: "mon:00:00-mon:01:00" }, "cacheMaintenanceWindow", /does not overlap/);
    });

    it("checks an explicit bucket name against S3's rules", () => {
        expectError({ bucketName: "Dify-Files" }, "bucketName", /lower-case/);
        expectError({ bucketName: "dify.files.example" }, "bucketName", /no dots/);
        expectError({ bucketName: "ab" }, "bucketName", /3-63/);
        expectError({ bucketName: "a".repeat(64) }, "bucketName", /3-63/);
        expectError({ bucketName: "xn--dify" }, "bucketName", /reserves/);
        expect(loadSettingsFor("prd", { bucketName: "acme-dify-files" }).settings.data.bucket.name).to.equal("acme-dify-files");
    });

    it("checks the enhanced monitoring interval", () => {
        expectError({ databaseMonitoringInterval: 2 }, "databaseMonitoringInterval", /1, 5, 10, 15, 30, 60/);
        expectError({ databaseMonitoringInterval: 0 }, "databaseMonitoringInterval", /from 1 to 60/);
    });
});

for (const stack of ["dev", "prd"] as const) {
    describe(`ManagedData: ${stack}`, () => {
        let run: ProgramRun;
        let cfg: ReturnType<typeof loadSettingsFor>["settings"];
        before(async () => {
            run = await stackRun(stack);
            cfg = loadSettingsFor(stack).settings;
        });
        const protect = stack === "prd";
        const keyArn = () => (protect ? (run.outputs.kmsKeyArn as string) : undefined);

        describe("Aurora PostgreSQL", () => {
            it("runs an engine version whose pgvector has HNSW, with the parameter family of that same version", () => {
                const cluster = one(run, T.cluster).inputs;
                const params = one(run, T.clusterParams).inputs;
                expect(cluster.engine).to.equal("aurora-postgresql");
                const major = Number(String(cluster.engineVersion).split(".")[0]);
                // pgvector's HNSW index arrived in 0.5.0, shipped from Aurora PostgreSQL 15.4 / 16.1 on.
                expect(major).to.be.at.least(16);
                expect(params.family).to.equal(`aurora-postgresql${major}`);
                expect(cluster.dbClusterParameterGroupName).to.equal(params.name);
            });

            it("configures only the major version, so an automatic minor upgrade never reads back as a downgrade", () => {
                const cluster = one(run, T.cluster);
                expect(cluster.inputs.engineVersion).to.match(/^\d+$/);
                expect(one(run, T.instance, "data-db-1").inputs.autoMinorVersionUpgrade).to.equal(true);
                for (const instance of mine(run, T.instance)) {
                    // Instances inherit the cluster's version; a pinned one would drift the same way.
                    expect(instance.inputs.engineVersion).to.equal(undefined);
                }
            });

            it("forces TLS, logs slow queries and loads pg_stat_statements, without logging statements wholesale", () => {
                const params = Object.fromEntries(one(run, T.clusterParams).inputs.parameters.map((x: { name: string; value: string }) => [x.name, x.value]));
                expect(params["rds.force_ssl"]).to.equal("1");
                expect(Number(params.log_min_duration_statement)).to.be.greaterThan(0);
                expect(params.shared_preload_libraries.split(",")).to.include("pg_stat_statements");
                // log_statement=ddl/mod/all would write ALTER ROLE ... PASSWORD into CloudWatch.
                expect(params.log_statement ?? "none").to.equal("none");
            });

            it("encrypts storage, with the stack CMK in prd and the AWS-managed key in dev", () => {
                const cluster = one(run, T.cluster).inputs;
                expect(cluster.storageEncrypted).to.equal(true);
                expect(cluster.kmsKeyId).to.equal(keyArn());
                if (protect) {
                    expect(run.one(T.kmsKey).inputs.enableKeyRotation).to.equal(true);
                }
            });

            it("keeps backups for the configured days (prd at least 14) in windows that do not overlap maintenance", () => {
                const cluster = one(run, T.cluster).inputs;
                expect(cluster.backupRetentionPeriod).to.equal(cfg.data.database.backupRetentionDays);
                expect(cluster.backupRetentionPeriod).to.be.within(protect ? 14 : 1, 35);
                expect(cluster.copyTagsToSnapshot).to.equal(true);
                // prd waits for the maintenance window; dev applies changes at once.
                expect(cluster.applyImmediately).to.equal(!protect);
                expect(one(run, T.replicationGroup).inputs.applyImmediately).to.equal(!protect);
                const backup = parseDailyWindow(cluster.preferredBackupWindow)!;
                const maintenance = parseWeeklyWindow(cluster.preferredMaintenanceWindow)!;
                expect(backup.minutes).to.be.at.least(30);
                expect(maintenance.minutes).to.be.at.least(30);
                expect(windowsOverlap(backup, maintenance)).to.equal(false);
                for (const instance of mine(run, T.instance)) {
                    expect(instance.inputs.preferredMaintenanceWindow).to.equal(cluster.preferredMaintenanceWindow);
                }
            });

            it(protect ? "has deletion protection, a final snapshot with a stable identifier and Pulumi protect" : "can be destroyed without a final snapshot", () => {
                const cluster = one(run, T.cluster);
                expect(cluster.inputs.deletionProtection).to.equal(protect);
                expect(cluster.protect).to.equal(protect);
                expect(cluster.inputs.skipFinalSnapshot).to.equal(!protect);
                if (protect) {
                    const id = cluster.inputs.finalSnapshotIdentifier as string;
                    expect(id).to.match(/^[a-zA-Z][a-zA-Z0-9-]{0,254}$/).and.not.match(/--|-$/);
                    // No date or time in it: seed 000's timestamp() showed a diff on every preview (see also the variants).
                    expect(id).to.not.match(/\d{4}-?\d{2}-?\d{2}|\d{6,}/);
                    expect(cluster.inputs.deleteAutomatedBackups).to.equal(false);
                }
            });

            it("exports postgresql logs into a log group with the stack's retention and key, created before the cluster", () => {
                const cluster = one(run, T.cluster);
                expect(cluster.inputs.enabledCloudwatchLogsExports).to.deep.equal(["postgresql"]);
                const group = mine(run, T.logGroup).find((g) => g.inputs.name === `/aws/rds/cluster/${cluster.inputs.clusterIdentifier}/postgresql`);
                expect(group, "the log group RDS exports to").to.not.equal(undefined);
                expect(group!.inputs.retentionInDays).to.equal(cfg.common.logRetentionDays);
                expect(group!.inputs.kmsKeyId).to.equal(keyArn());
                expect(cluster.dependencies).to.include(group!.urn);
            });

            it("runs one writer plus the configured readers, spread over the AZs, private, with Performance Insights and enhanced monitoring", () => {
                const instances = mine(run, T.instance);
                expect(instances).to.have.length(1 + cfg.data.database.readerCount);
                const zones = new Set(instances.map((i) => i.inputs.availabilityZone));
                expect(zones.size).to.equal(Math.min(instances.length, (run.outputs.availabilityZones as string[]).length));
                for (const zone of zones) {
                    expect(run.outputs.availabilityZones).to.include(zone);
                }
                const role = one(run, T.role, "data-db-monitoring");
                expect(JSON.parse(role.inputs.assumeRolePolicy).Statement[0].Principal.Service).to.equal("monitoring.rds.amazonaws.com");
                expect(one(run, T.attachment).inputs.policyArn).to.equal("arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole");
                const roleArn = `arn:aws:iam::123456789012:role/${role.name}`;
                for (const instance of instances) {
                    expect(instance.inputs.clusterIdentifier).to.equal(run.outputs.databaseClusterIdentifier);
                    expect(instance.inputs.publiclyAccessible).to.equal(false);
                    expect(instance.inputs.performanceInsightsEnabled).to.equal(true);
                    expect(instance.inputs.performanceInsightsKmsKeyId).to.equal(keyArn());
                    expect(instance.inputs.monitoringInterval).to.equal(cfg.data.database.monitoringIntervalSeconds);
                    expect(instance.inputs.monitoringRoleArn).to.equal(roleArn);
                }
                expect(run.outputs.databaseInstanceIdentifiers).to.deep.equal(instances.map((i) => i.inputs.identifier));
            });

            it("uses Serverless v2 with the configured ACU range", () => {
                const capacity = cfg.data.database.capacity;
                expect(capacity.mode).to.equal("serverless");
                const cluster = one(run, T.cluster).inputs;
                expect(cluster.engineMode).to.equal("provisioned");
                expect(cluster.serverlessv2ScalingConfiguration).to.deep.equal(
                    capacity.mode === "serverless" ? { minCapacity: capacity.minAcu, maxCapacity: capacity.maxAcu } : undefined,
                );
                expect(cluster.serverlessv2ScalingConfiguration.minCapacity).to.be.at.least(0.5);
                for (const instance of mine(run, T.instance)) {
                    expect(instance.inputs.instanceClass).to.equal("db.serverless");
                }
            });

            it("places the cluster in the data subnets behind its own security group", () => {
                const cluster = one(run, T.cluster).inputs;
                const subnets = one(run, T.dbSubnets).inputs;
                expect(cluster.dbSubnetGroupName).to.equal(subnets.name);
                expect(subnets.subnetIds).to.deep.equal(run.outputs.dataSubnetIds);
                expect(cluster.vpcSecurityGroupIds).to.deep.equal([run.outputs.databaseSecurityGroupId]);
            });
        });

        describe("master credentials and what Dify connects as", () => {
            it("generates the password with an alphabet RDS accepts, safe in a URL, within RDS's length limits", () => {
                const inputs = one(run, T.password, "data-db-master-password").inputs;
                const chars = alphabet(inputs);
                for (const c of RDS_PASSWORD_FORBIDDEN) {
                    expect(chars, `alphabet excludes ${JSON.stringify(c)}`).to.not.include(c);
                }
                for (const c of specialsOf(chars)) {
                    expect(URL_UNRESERVED, `${c} needs no escaping in a URL`).to.include(c);
                }
                expect(inputs.length).to.be.within(RDS_PASSWORD_LENGTH.min, RDS_PASSWORD_LENGTH.max);
            });

            it("stores username and password in one JSON secret and never uses RDS-managed (rotating) passwords", () => {
                const cluster = one(run, T.cluster);
                const { master } = secretStrings(run);
                expect(cluster.inputs.manageMasterUserPassword).to.not.equal(true);
                expect(cluster.secretPaths).to.include("masterPassword");
                expect(master.username).to.equal(cluster.inputs.masterUsername);
                expect(master.password).to.equal(cluster.inputs.masterPassword);
                expect(master.dbname).to.equal(cluster.inputs.databaseName);
                expect(master.host).to.equal(run.outputs.databaseEndpoint);
                expect(master.port).to.equal(5432);
                expect(run.outputs.databaseSecretArn).to.equal(`arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:${one(run, T.secret, "data-db-master").inputs.name}-AbCdEf`);
            });

            it("creates Dify's database with the cluster and lets the master user (rds_superuser, CREATEDB) make the rest", () => {
                const cluster = one(run, T.cluster).inputs;
                expect(cluster.databaseName).to.equal("dify");
                expect(run.outputs.databaseName).to.equal("dify");
                expect(run.outputs.pluginDatabaseName).to.equal("dify_plugin");
                // RDS reserves these; the master user is the one Aurora grants rds_superuser.
                expect(["postgres", "rdsadmin", "admin"]).to.not.include(cluster.masterUsername);
                // The parameter group must leave `vector` creatable (rds.allowed_extensions unset means all).
                const params = one(run, T.clusterParams).inputs.parameters as { name: string; value: string }[];
                const allowed = params.find((x) => x.name === "rds.allowed_extensions")?.value ?? "*";
                expect(allowed === "*" || allowed.split(",").includes("vector"), `rds.allowed_extensions=${allowed}`).to.equal(true);
            });

            it("encrypts the secrets with the stack CMK in prd and keeps deleted ones recoverable there", () => {
                for (const secret of mine(run, T.secret)) {
                    expect(secret.inputs.kmsKeyId).to.equal(keyArn());
                    expect(secret.inputs.recoveryWindowInDays).to.equal(protect ? 30 : 0);
                    expect(secret.inputs.name).to.match(new RegExp(`^${cfg.common.prefix}/`));
                }
            });
        });

        describe("ElastiCache", () => {
            it("is a cluster-mode-disabled replication group of the configured engine, version and node type", () => {
                const group = one(run, T.replicationGroup).inputs;
                expect(group.engine).to.equal(cfg.data.cache.engine);
                expect(group.engineVersion).to.equal(cfg.data.cache.engineVersion);
                // The provider replaces a replication group whose configured version is below the running one, so
                // AWS must not move the minor version on its own.
                expect(group.autoMinorVersionUpgrade).to.equal(false);
                expect(group.nodeType).to.equal(cfg.data.cache.nodeType);
                expect(group.clusterMode ?? "disabled").to.equal("disabled");
                expect(group.numNodeGroups).to.equal(undefined);
                expect(group.numCacheClusters).to.equal(1 + cfg.data.cache.replicaCount);
                expect(group.replicationGroupId.length).to.be.at.most(40);
                expect(run.outputs.cacheReplicationGroupId).to.equal(group.replicationGroupId);
                expect(new Set(run.outputs.cacheMemberClusterIds as string[]).size).to.equal(group.numCacheClusters);
            });

            it(protect ? "has a replica, automatic failover and Multi-AZ" : "is a single node without failover", () => {
                const group = one(run, T.replicationGroup).inputs;
                expect(group.numCacheClusters > 1).to.equal(protect);
                expect(group.automaticFailoverEnabled).to.equal(protect);
                expect(group.multiAzEnabled).to.equal(protect);
            });

            it("requires TLS, encrypts at rest (with the CMK in prd) and requires an AUTH token AWS accepts", () => {
                const group = one(run, T.replicationGroup);
                expect(group.inputs.transitEncryptionEnabled).to.equal(true);
                expect(group.inputs.transitEncryptionMode).to.equal("required");
                expect(group.inputs.atRestEncryptionEnabled).to.equal(true);
                expect(group.inputs.kmsKeyId).to.equal(keyArn());
                expect(group.secretPaths).to.include("authToken");
                const inputs = one(run, T.password, "data-cache-auth-token").inputs;
                const chars = alphabet(inputs);
                for (const c of specialsOf(chars)) {
                    expect(ELASTICACHE_TOKEN_SPECIALS, `${c} is allowed in an AUTH token`).to.include(c);
                    expect(URL_UNRESERVED, `${c} needs no escaping in the broker URL`).to.include(c);
                }
                expect(inputs.length).to.be.within(ELASTICACHE_TOKEN_LENGTH.min, ELASTICACHE_TOKEN_LENGTH.max);
                const { token } = secretStrings(run);
                expect(token).to.equal(group.inputs.authToken);
            });

            it("never evicts (Celery's broker keys have no TTL), with the parameter family of the engine version", () => {
                const params = one(run, T.cacheParams).inputs;
                const group = one(run, T.replicationGroup).inputs;
                expect(group.parameterGroupName).to.equal(params.name);
                expect(params.parameters).to.deep.include({ name: "maxmemory-policy", value: "noeviction" });
                // ElastiCache families: Valkey 8.x -> valkey8, 7.2 -> valkey7; Redis OSS 7.x -> redis7, 6.x -> redis6.x.
                const major = group.engineVersion.split(".")[0];
                expect(params.family).to.equal(group.engine === "redis" && major === "6" ? "redis6.x" : `${group.engine}${major}`);
            });

            it("keeps snapshots by stack, and delivers slow and engine logs to log groups with the stack's retention", () => {
                const group = one(run, T.replicationGroup).inputs;
                expect(group.snapshotRetentionLimit).to.equal(cfg.data.cache.snapshotRetentionDays);
                expect(group.snapshotRetentionLimit).to.be.within(protect ? 1 : 0, 35);
                expect(windowsOverlap(parseDailyWindow(group.snapshotWindow)!, parseWeeklyWindow(group.maintenanceWindow)!)).to.equal(false);
                const types = group.logDeliveryConfigurations.map((l: { logType: string }) => l.logType).sort();
                expect(types).to.deep.equal(["engine-log", "slow-log"]);
                for (const delivery of group.logDeliveryConfigurations) {
                    expect(delivery.destinationType).to.equal("cloudwatch-logs");
                    const target = mine(run, T.logGroup).find((g) => g.inputs.name === delivery.destination);
                    expect(target, `log group ${delivery.destination}`).to.not.equal(undefined);
                    expect(target!.inputs.retentionInDays).to.equal(cfg.common.logRetentionDays);
                    expect(target!.inputs.kmsKeyId).to.equal(keyArn());
                }
                expect(one(run, T.replicationGroup).protect).to.equal(protect);
                expect(group.finalSnapshotIdentifier === undefined).to.equal(!protect);
            });

            it("lives in the data subnets behind its own security group", () => {
                const group = one(run, T.replicationGroup).inputs;
                const subnets = one(run, T.cacheSubnets).inputs;
                expect(group.subnetGroupName).to.equal(subnets.name);
                expect(subnets.subnetIds).to.deep.equal(run.outputs.dataSubnetIds);
                expect(group.securityGroupIds).to.deep.equal([run.outputs.cacheSecurityGroupId]);
            });

            it("keeps the Celery broker URL (it embeds the token) in its own secret: rediss, DB 1, verified TLS", () => {
                const { token, brokerUrl } = secretStrings(run);
                const m = /^rediss:\/\/:([^@]+)@([^:/]+):(\d+)\/(\d+)\?ssl_cert_reqs=([A-Z_]+)$/.exec(brokerUrl);
                expect(m, brokerUrl.replace(token, "<token>")).to.not.equal(null);
                expect(decodeURIComponent(m![1])).to.equal(token);
                expect(m![2]).to.equal(run.outputs.cachePrimaryEndpoint);
                expect(Number(m![3])).to.equal(run.outputs.cachePort);
                expect(m![4]).to.equal("1");
                expect(m![5]).to.equal("CERT_REQUIRED");
            });
        });

        describe("security groups", () => {
            it("have no inline rules and no rules of their own: the consumer adds one ingress rule per caller", () => {
                const groups = mine(run, T.securityGroup);
                expect(groups).to.have.length(2);
                for (const group of groups) {
                    expect(group.inputs.ingress ?? []).to.deep.equal([]);
                    expect(group.inputs.egress ?? []).to.deep.equal([]);
                    expect(group.inputs.vpcId).to.equal(run.outputs.vpcId);
                }
                expect(mine(run, T.ingress)).to.deep.equal([]);
                expect(mine(run, T.egress)).to.deep.equal([]);
                expect(run.outputs.databaseSecurityGroupId).to.not.equal(run.outputs.cacheSecurityGroupId);
            });
        });

        describe("S3 bucket", () => {
            it("has a globally unique name derived from config (prefix, account, region) within S3's rules", () => {
                const name = one(run, T.bucket, "data-files").inputs.bucket as string;
                expect(name).to.match(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/);
                expect(name).to.include(cfg.common.prefix).and.include("123456789012").and.include("ap-northeast-1");
                expect(run.outputs.filesBucketName).to.equal(name);
                expect(run.outputs.filesBucketArn).to.equal(`arn:aws:s3:::${name}`);
            });

            it("blocks all public access, enforces bucket-owner ownership and versions objects", () => {
                expect(one(run, T.publicAccess, "data-files").inputs).to.include({ blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
                expect(one(run, T.ownership, "data-files").inputs.rule).to.deep.equal({ objectOwnership: "BucketOwnerEnforced" });
                expect(one(run, T.versioning, "data-files").inputs.versioningConfiguration.status).to.equal("Enabled");
            });

            it(protect ? "encrypts with the CMK and a bucket key" : "encrypts with SSE-S3", () => {
                const rule = one(run, T.sse, "data-files").inputs.rules[0];
                if (protect) {
                    expect(rule.applyServerSideEncryptionByDefault).to.deep.equal({ sseAlgorithm: "aws:kms", kmsMasterKeyId: keyArn() });
                    expect(rule.bucketKeyEnabled).to.equal(true);
                } else {
                    expect(rule.applyServerSideEncryptionByDefault).to.deep.equal({ sseAlgorithm: "AES256" });
                }
            });

            it("denies every request that does not use TLS 1.2 or later", () => {
                const bucket = one(run, T.bucket, "data-files");
                const policy = JSON.parse(one(run, T.bucketPolicy, "data-files").inputs.policy);
                const deny = policy.Statement.find((s: any) => s.Effect === "Deny" && s.Condition?.Bool?.["aws:SecureTransport"] === "false");
                expect(deny, "a Deny on aws:SecureTransport=false").to.not.equal(undefined);
                expect(deny.Principal).to.equal("*");
                expect(deny.Action).to.equal("s3:*");
                const arn = `arn:aws:s3:::${bucket.inputs.bucket}`;
                expect(deny.Resource).to.have.members([arn, `${arn}/*`]);
                const oldTls = policy.Statement.find((x: any) => x.Effect === "Deny" && x.Condition?.NumericLessThan?.["s3:TlsVersion"] !== undefined);
                expect(Number(oldTls?.Condition.NumericLessThan["s3:TlsVersion"]), "TLS below 1.2 denied").to.equal(1.2);
            });

            it("aborts stale multipart uploads and expires old versions, but never expires or archives current objects", () => {
                const rules = one(run, T.lifecycle, "data-files").inputs.rules as any[];
                expect(rules.every((r) => r.status === "Enabled")).to.equal(true);
                expect(rules.some((r) => r.abortIncompleteMultipartUpload?.daysAfterInitiation > 0)).to.equal(true);
                expect(rules.map((r) => r.noncurrentVersionExpiration?.noncurrentDays).filter((d) => d !== undefined)).to.deep.equal([
                    cfg.data.bucket.noncurrentVersionExpirationDays,
                ]);
                for (const rule of rules) {
                    // An expiration with days or a date deletes current objects (only expiredObjectDeleteMarker is harmless).
                    expect(rule.expiration?.days, `rule ${rule.id} expires current objects`).to.equal(undefined);
                    expect(rule.expiration?.date, `rule ${rule.id} expires current objects`).to.equal(undefined);
                    for (const t of rule.transitions ?? []) {
                        expect(["GLACIER", "DEEP_ARCHIVE"], `rule ${rule.id} archives current objects`).to.not.include(t.storageClass);
                    }
                }
            });

            it(protect ? "is protected and cannot be force-destroyed" : "may be force-destroyed", () => {
                const bucket = one(run, T.bucket, "data-files");
                expect(bucket.inputs.forceDestroy).to.equal(!protect);
                expect(bucket.protect).to.equal(protect);
            });
        });

        describe("outputs", () => {
            it("exports endpoints, ports, names, identifiers and secret ARNs", () => {
                const cluster = one(run, T.cluster).inputs;
                expect(run.outputs.databaseEndpoint).to.match(/\.cluster-[a-z0-9]+\..*\.rds\.amazonaws\.com$/);
                expect(run.outputs.databaseReaderEndpoint).to.match(/\.cluster-ro-/);
                expect(run.outputs.databasePort).to.equal(5432);
                expect(run.outputs.databaseClusterIdentifier).to.equal(cluster.clusterIdentifier);
                expect(run.outputs.cachePrimaryEndpoint).to.be.a("string").and.not.equal(run.outputs.cacheReaderEndpoint);
                expect(run.outputs.cachePort).to.equal(6379);
                for (const key of ["databaseSecretArn", "cacheAuthTokenSecretArn", "celeryBrokerUrlSecretArn"]) {
                    expect(run.outputs[key], key).to.match(/^arn:aws:secretsmanager:/);
                }
                expect(run.outputs.kmsKeyArn).to.equal(keyArn());
            });

            it("puts no secret value in any output or plain-text input", () => {
                const { master, token, brokerUrl } = secretStrings(run);
                const secrets = [master.password, token, encodeURIComponent(token), brokerUrl];
                const outputs = JSON.stringify(run.outputs);
                for (const s of secrets) {
                    expect(outputs.includes(s), "an output holds a secret").to.equal(false);
                }
                for (const resource of run.resources) {
                    for (const [path, value] of plainStrings(resource.inputs, "", resource.secretPaths, [])) {
                        for (const s of secrets) {
                            expect(value.includes(s), `${resource.type} ${resource.name} ${path} holds a secret in plain text`).to.equal(false);
                        }
                    }
                }
            });
        });
    });
}

describe("ManagedData: variants", () => {
    it("derives the parameter family from another major version and can run provisioned instances", async () => {
        const run = await runProgram("prd", { databaseEngineVersion: "17", databaseCapacityMode: "provisioned", databaseInstanceClass: "db.r7g.xlarge" });
        // A later run (another time, other settings) keeps the final snapshot identifier: no diff on every preview.
        expect(one(run, T.cluster).inputs.finalSnapshotIdentifier).to.equal(one(await stackRun("prd"), T.cluster).inputs.finalSnapshotIdentifier);
        expect(one(run, T.cluster).inputs.engineVersion).to.equal("17");
        expect(one(run, T.clusterParams).inputs.family).to.equal("aurora-postgresql17");
        expect(one(run, T.cluster).inputs.serverlessv2ScalingConfiguration).to.equal(undefined);
        for (const instance of mine(run, T.instance)) {
            expect(instance.inputs.instanceClass).to.equal("db.r7g.xlarge");
        }
    });

    it("runs Redis OSS with its own family and uses an explicit bucket name", async () => {
        const run = await runProgram("dev", { cacheEngine: "redis", cacheEngineVersion: "6.2", bucketName: "acme-dify-dev-files" });
        expect(one(run, T.replicationGroup).inputs.engine).to.equal("redis");
        expect(one(run, T.cacheParams).inputs.family).to.equal("redis6.x");
        expect(one(run, T.cacheParams).inputs.name).to.match(/^[a-zA-Z][a-zA-Z0-9-]*$/);
        expect(one(run, T.bucket, "data-files").inputs.bucket).to.equal("acme-dify-dev-files");
    });

    it("hands DifyCluster the master secret's username and password keys and plain-string cache secrets", async () => {
        const run = await stackRun("dev");
        const { settings } = loadSettingsFor("dev");
        const data = new ManagedData("probe", {
            vpcId: "vpc-0123456789abcdef0",
            dataSubnetIds: ["subnet-0000000000000000a", "subnet-0000000000000000b"],
            availabilityZones: ["ap-northeast-1a", "ap-northeast-1c"],
            protect: false,
            logs: { retentionInDays: 14 },
            namePrefix: "dify-probe",
            settings: settings.data,
            workspaces: { subnetIds: [], subnetCount: 0, plugin: false, agent: false, throughputMode: "elastic" },
        });
        const value = <V>(o: pulumi.Output<V>) => (o as unknown as { promise(): Promise<V> }).promise();
        const arn = await value(data.databaseSecretArn);
        expect(data.database.username).to.include({ jsonKey: "username" });
        expect(data.database.password).to.include({ jsonKey: "password" });
        expect(await value(data.database.username.secretArn)).to.equal(arn);
        const version = await value(data.database.password.versionId!);
        expect(version).to.match(/^[0-9a-f-]{36}$/);
        expect(await value(secretValueFrom(data.database.password))).to.equal(`${arn}:password::${version}`);
        expect(data.cache.authToken.jsonKey).to.equal(undefined);
        expect(data.cache.celeryBrokerUrl.jsonKey).to.equal(undefined);
        expect(await value(data.cache.celeryBrokerUrl.secretArn)).to.equal(await value(data.celeryBrokerUrlSecretArn));
        expect(await value(data.cache.authToken.secretArn)).to.equal(await value(data.cacheAuthTokenSecretArn));
        expect(data.cache.agentRedisUrl.jsonKey).to.equal(undefined);
        expect(await value(data.cache.agentRedisUrl.secretArn)).to.equal(await value(data.agentRedisUrlSecretArn));
        expect(data.secretArns).to.have.length(4);
        // The alarms need one dimension value per node, counted before anything is deployed.
        expect(data.instanceIdentifiers).to.have.length(1 + settings.data.database.readerCount);
        expect(data.cacheMemberClusterIds).to.have.length(1 + settings.data.cache.replicaCount);
        expect(await value(data.cacheMemberClusterIds[0])).to.match(/^dify-probe-cache-\d{3}$/);
        expect(data.serverless).to.equal(settings.data.database.capacity.mode === "serverless");
        expect(data.database.databaseName).to.equal("dify");
        expect(data.database.pluginDatabaseName).to.equal("dify_plugin");
        expect(data.kmsKeyArn).to.equal(undefined);
        await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
        void run;
    });
});
