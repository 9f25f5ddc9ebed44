import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { auroraPostgresFamily, cacheParameterFamily, DataSettings } from "../config/data";
import { awsContext } from "./awsContext";
import { BackupPlan } from "./backupPlan";
import { tlsOnlyStatements } from "./bucketTls";
import { CacheConnection, DatabaseConnection, FileBucket, SharedFileSystem } from "./contracts";
import { credentialOptions } from "./credentials";
import { logBucket } from "./logBucket";
import { logGroup, LogGroupSettings } from "./logGroup";
import { after } from "./ordering";
import { AGENT_WORKSPACE_ROOTS, PLUGIN_WORKSPACE_ROOT, SharedWorkspace } from "./sharedWorkspace";

/** What a data resource waits for: the data guard's check, when the stack has one. */
function guarded(args: { dataGuard?: pulumi.Resource }): pulumi.Resource[] {
    return args.dataGuard ? [args.dataGuard] : [];
}

export interface ManagedDataArgs {
    /** The VPC the database and cache security groups belong to. */
    vpcId: pulumi.Input<string>;
    /** Isolated data subnets (one per AZ, 2-3) for the Aurora and ElastiCache subnet groups. */
    dataSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** The AZs of the data subnets, in order; Aurora instance i is placed in zone i mod n so writer and readers spread. */
    availabilityZones: pulumi.Input<string[]>;
    /**
     * ARN of the stack's customer-managed KMS key for Aurora storage, Performance Insights, ElastiCache at rest, the
     * bucket (SSE-KMS with a bucket key) and the secrets. Undefined uses AWS-managed keys (and SSE-S3 for the bucket).
     */
    kmsKeyArn?: pulumi.Input<string>;
    /**
     * The stack protects its data: deletion protection on the cluster, final snapshots with stable identifiers, Pulumi
     * `protect` on the cluster, replication group and bucket, no bucket forceDestroy, 30-day secret recovery window.
     */
    protect: boolean;
    /** Retention and key of the log groups this component creates (Aurora postgresql log, cache slow/engine logs). */
    logs: LogGroupSettings;
    /** Physical-name prefix (`dify-<stack>`, at most 17 characters). */
    namePrefix: string;
    /** Engine versions, capacity, replicas, windows, retention and bucket lifecycle, validated by config/data.ts. */
    settings: DataSettings;
    /**
     * The EFS file systems of the plugin daemon's working path and of the agent sandbox's homes and workspaces
     * (SharedWorkspace), given the private subnets the tasks run in (one mount target each) and how many there are;
     * each only when wanted.
     */
    workspaces: { subnetIds: pulumi.Input<string[]>; subnetCount: number; plugin: boolean; agent: boolean; throughputMode: "elastic" | "bursting" };
    /** The data guard (components/dataGuard.ts): every data resource waits for its check, so none is replaced before it passed. */
    dataGuard?: pulumi.Resource;
}

/** Dify's main database, created with the cluster; Dify also keeps its pgvector tables in it. */
export const DATABASE_NAME = "dify";
/** The plugin daemon's database; the daemon creates it itself on first start (see the class comment). */
export const PLUGIN_DATABASE_NAME = "dify_plugin";
/** Aurora's master user, which Dify connects as. Not `postgres` or `rdsadmin` (reserved on RDS). */
export const MASTER_USERNAME = "dify";
export const POSTGRES_PORT = 5432;
export const REDIS_PORT = 6379;
/** Queries slower than this are written to the postgresql log, in milliseconds. */
export const SLOW_QUERY_MS = 1000;

/**
 * Generated credentials. RDS master passwords may hold any printable ASCII except `/`, `"`, `@` and space, and
 * CreateDBCluster caps them at 41 characters (the Aurora MySQL limit applies to the API for every engine).
 * ElastiCache AUTH tokens are 16-128 printable characters whose only allowed non-alphanumerics are `!&#$^<>-`.
 * Both end up in URL userinfo (CELERY_BROKER_URL; Dify URL-encodes DB_PASSWORD), where of those only `-` is
 * unreserved. So both use letters, digits and `-`: valid for both services and never in need of escaping.
 */
export const CREDENTIAL_SPECIALS = "-";
export const DATABASE_PASSWORD_LENGTH = 40;
export const CACHE_AUTH_TOKEN_LENGTH = 64;

/**
 * Celery verifies the cache's TLS certificate: ElastiCache's in-transit certificates chain to Amazon's public root
 * CAs, which the Dify api image's system trust store (Debian ca-certificates) includes, so no CA file is needed.
 */
export const CELERY_SSL_CERT_REQS = "CERT_REQUIRED";
/** Celery uses Redis DB 1 (DB 0 is Dify's cache, DB 2 the agent backend); only a non-clustered cache has DB numbers. */
export const CELERY_REDIS_DB = 1;
/** The agent backend's run records and event streams: compose's DIFY_AGENT_REDIS_URL default uses DB 2. */
export const AGENT_REDIS_DB = 2;

/** Key prefix of the files bucket's server access logs in the log bucket. */
export const FILES_ACCESS_LOG_PREFIX = "files/";

/** Days after which S3 aborts an unfinished multipart upload and deletes its parts. */
export const ABORT_INCOMPLETE_MULTIPART_DAYS = 7;

/**
 * Dify's data stores: Aurora PostgreSQL (metadata and pgvector), an ElastiCache Valkey/Redis replication group
 * (cache, Celery broker, plugin daemon state) and the S3 bucket for uploaded files and plugin packages, with every
 * generated credential in Secrets Manager.
 *
 * How the databases and extensions come into being:
 * - `dify` is created by the cluster itself (`databaseName`).
 * - Dify connects as the master user. On Aurora PostgreSQL the master user is a member of `rds_superuser` and has
 *   CREATEDB and CREATEROLE. That is what lets Dify's migrations run `CREATE EXTENSION IF NOT EXISTS vector` (an
 *   application role gets "permission denied to create extension") and lets the plugin daemon connect to the
 *   `postgres` maintenance database on its first start and `CREATE DATABASE dify_plugin`. No custom resource has to
 *   pre-create anything.
 * - The master password is generated here and never rotated by RDS: RDS-managed master passwords rotate on a schedule,
 *   and running Dify tasks would keep the old password until they are replaced. Rotate by changing the password
 *   resource and redeploying the services.
 */
export class ManagedData extends pulumi.ComponentResource {
    public readonly database: DatabaseConnection;
    public readonly cache: CacheConnection;
    public readonly bucket: FileBucket;
    /** Aurora cluster identifier (CloudWatch dimension `DBClusterIdentifier`). */
    public readonly clusterIdentifier: pulumi.Output<string>;
    public readonly clusterArn: pulumi.Output<string>;
    /** Aurora instance identifiers, the first-created writer first (CloudWatch dimension `DBInstanceIdentifier`). */
    public readonly instanceIdentifiers: pulumi.Output<string>[];
    /** Whether the instances are Aurora Serverless v2 (ACU metrics) rather than provisioned. */
    public readonly serverless: boolean;
    /** ElastiCache replication group id (CloudWatch dimension `ReplicationGroupId`). */
    public readonly replicationGroupId: pulumi.Output<string>;
    /** The replication group's node (cache cluster) ids, one per node, sorted (CloudWatch dimension `CacheClusterId`). */
    public readonly cacheMemberClusterIds: pulumi.Output<string>[];
    /** JSON secret `{username, password, engine, host, port, dbname}` of the Aurora master user. */
    public readonly databaseSecretArn: pulumi.Output<string>;
    /** Plain-string secret holding the ElastiCache AUTH token. */
    public readonly cacheAuthTokenSecretArn: pulumi.Output<string>;
    /** Plain-string secret holding the Celery broker URL (it embeds the AUTH token). */
    public readonly celeryBrokerUrlSecretArn: pulumi.Output<string>;
    /** Plain-string secret holding the agent backend's Redis URL (it embeds the AUTH token). */
    public readonly agentRedisUrlSecretArn: pulumi.Output<string>;
    /** Every secret above, for the execution role's `secretsmanager:GetSecretValue` statement. */
    public readonly secretArns: pulumi.Output<string>[];
    /** The KMS key encrypting the data, or undefined when AWS-managed keys are used. */
    public readonly kmsKeyArn: pulumi.Output<string> | undefined;
    /** The plugin daemon's shared working path on EFS; undefined when the daemon keeps it on task storage. */
    public readonly pluginWorkspace: SharedFileSystem | undefined;
    /** The agent sandbox's homes and workspaces on EFS (access points `home` and `workspace`); undefined without Agent v2. */
    public readonly agentWorkspace: SharedFileSystem | undefined;
    /** The AWS Backup vault of the stack's daily recovery points; undefined without a backup plan. */
    public readonly backupVaultName: pulumi.Output<string> | undefined;

    constructor(name: string, args: ManagedDataArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dify-aws:data:ManagedData", name, {}, opts);
        const ctx = awsContext(this);
        this.kmsKeyArn = args.kmsKeyArn === undefined ? undefined : pulumi.output(args.kmsKeyArn);
        // Replaced or deleted in dev: no recovery window, so the same name can be created again at once.
        const recoveryWindowInDays = args.protect ? 30 : 0;

        const db = this.createDatabase(name, args, ctx.partition, ctx.accountId, recoveryWindowInDays);
        const cache = this.createCache(name, args, recoveryWindowInDays);
        const bucket = this.createBucket(name, args, ctx.accountId, ctx.region);
        const workspace = (key: string, purpose: string, nameSuffix: string, accessPoints: { key: string; path: string }[]) =>
            new SharedWorkspace(
                `${name}-${key}`,
                { vpcId: args.vpcId, ...args.workspaces, kmsKeyArn: args.kmsKeyArn, protect: args.protect, automaticBackups: args.protect && !args.settings.backup.enabled, namePrefix: args.namePrefix, purpose, nameSuffix, accessPoints, dataGuard: args.dataGuard },
                { parent: this },
            ).fileSystem;
        const w = args.workspaces;
        this.pluginWorkspace = w.plugin ? workspace("plugin-workspace", "the plugin daemon working path", "plugin-workspace", [{ key: "workingPath", path: PLUGIN_WORKSPACE_ROOT }]) : undefined;
        this.agentWorkspace = w.agent
            ? workspace("agent-workspace", "the agent sandbox homes and workspaces", "agent-workspace", [
                  { key: "home", path: AGENT_WORKSPACE_ROOTS.home },
                  { key: "workspace", path: AGENT_WORKSPACE_ROOTS.workspace },
              ])
            : undefined;
        // AWS Backup over everything that holds users' data; the cache is not in it (ElastiCache keeps its own
        // snapshots, and what it holds is rebuilt: sessions, the Celery queue, the plugin daemon's state).
        const backup = args.settings.backup.enabled
            ? new BackupPlan(
                  `${name}-backup`,
                  {
                      namePrefix: args.namePrefix,
                      settings: args.settings.backup,
                      kmsKeyArn: args.kmsKeyArn,
                      protect: args.protect,
                      dataGuard: args.dataGuard,
                      resources: [db.clusterArn, bucket.arn, ...[this.pluginWorkspace, this.agentWorkspace].flatMap((fs) => (fs ? [fs.fileSystemArn] : []))],
                  },
                  { parent: this },
              )
            : undefined;
        this.backupVaultName = backup?.vaultName;

        this.database = db.connection;
        this.cache = cache.connection;
        this.bucket = bucket;
        this.clusterIdentifier = db.clusterIdentifier;
        this.clusterArn = db.clusterArn;
        this.instanceIdentifiers = db.instanceIdentifiers;
        this.serverless = args.settings.database.capacity.mode === "serverless";
        this.replicationGroupId = cache.replicationGroupId;
        this.cacheMemberClusterIds = cache.memberClusterIds;
        this.databaseSecretArn = db.secretArn;
        this.cacheAuthTokenSecretArn = cache.authTokenSecretArn;
        this.celeryBrokerUrlSecretArn = cache.celeryBrokerUrlSecretArn;
        this.agentRedisUrlSecretArn = cache.agentRedisUrlSecretArn;
        this.secretArns = [db.secretArn, cache.authTokenSecretArn, cache.celeryBrokerUrlSecretArn, cache.agentRedisUrlSecretArn];

        this.registerOutputs({
            database: this.database,
            cache: this.cache,
            bucket: this.bucket,
            clusterIdentifier: this.clusterIdentifier,
            clusterArn: this.clusterArn,
            instanceIdentifiers: this.instanceIdentifiers,
            replicationGroupId: this.replicationGroupId,
            cacheMemberClusterIds: this.cacheMemberClusterIds,
            databaseSecretArn: this.databaseSecretArn,
            cacheAuthTokenSecretArn: this.cacheAuthTokenSecretArn,
            celeryBrokerUrlSecretArn: this.celeryBrokerUrlSecretArn,
            agentRedisUrlSecretArn: this.agentRedisUrlSecretArn,
            kmsKeyArn: this.kmsKeyArn,
            pluginWorkspace: this.pluginWorkspace,
            agentWorkspace: this.agentWorkspace,
            backupVaultName: this.backupVaultName,
        });
    }

    private createDatabase(
        name: string,
        args: ManagedDataArgs,
        partition: pulumi.Output<string>,
        accountId: pulumi.Output<string>,
        recoveryWindowInDays: number,
    ) {
        const s = args.settings.database;
        const p = args.namePrefix;
        // RDS cluster identifiers: 1-63 letters, digits and hyphens; the prefix is at most 17 characters.
        const clusterIdentifier = `${p}-db`;
        const family = auroraPostgresFamily(s.engineVersion);

        const securityGroup = this.callerSecurityGroup(`${name}-db`, `${p}-db`, "Aurora PostgreSQL for Dify", args.vpcId);
        const subnetGroup = new aws.rds.SubnetGroup(
            `${name}-db`,
            { name: `${p}-data`, description: `Dify ${p} data subnets`, subnetIds: args.dataSubnetIds, tags: { Name: `${p}-data` } },
            { parent: this },
        );
        const parameterGroup = new aws.rds.ClusterParameterGroup(
            `${name}-db-params`,
            {
                // The family is part of the name, so a major-version change creates the new group before the old goes.
                name: `${p}-${family}`,
                family,
                description: `Dify ${p}: TLS only, slow-query logging, pg_stat_statements`,
                parameters: [
                    // Reject unencrypted connections. The plugin daemon must then use DB_SSL_MODE=require.
                    { name: "rds.force_ssl", value: "1", applyMethod: "pending-reboot" },
                    { name: "log_min_duration_statement", value: String(SLOW_QUERY_MS), applyMethod: "immediate" },
                    { name: "log_lock_waits", value: "1", applyMethod: "immediate" },
                    // log_statement stays at its default (none): "ddl" or "all" would log ALTER ROLE ... PASSWORD.
                    { name: "shared_preload_libraries", value: "pg_stat_statements", applyMethod: "pending-reboot" },
                ],
                tags: { Name: `${p}-${family}` },
            },
            { parent: this },
        );

        // Created before the cluster: RDS would otherwise create it on first export, with no retention and no CMK.
        const postgresLog = logGroup(`${name}-db-postgresql-log`, `/aws/rds/cluster/${clusterIdentifier}/postgresql`, args.logs, { parent: this });

        const password = this.credential(`${name}-db-master-password`, DATABASE_PASSWORD_LENGTH, args.protect);

        const cluster = new aws.rds.Cluster(
            `${name}-db`,
            {
                clusterIdentifier,
                engine: "aurora-postgresql",
                engineMode: "provisioned",
                // The major version only: RDS applies minor upgrades in the maintenance window, and the provider treats
                // "16" as a prefix of the running 16.x, so the next `pulumi up` sees no diff. A pinned minor ("16.4")
                // would read back as "16.8" after an auto-upgrade and the update would try to downgrade (RDS rejects
                // that). A different major in config is a deliberate upgrade, allowed below.
                engineVersion: s.engineVersion,
                allowMajorVersionUpgrade: true,
                databaseName: DATABASE_NAME,
                masterUsername: MASTER_USERNAME,
                masterPassword: password.result,
                port: POSTGRES_PORT,
                dbSubnetGroupName: subnetGroup.name,
                vpcSecurityGroupIds: [securityGroup.id],
                dbClusterParameterGroupName: parameterGroup.name,
                storageEncrypted: true,
                kmsKeyId: args.kmsKeyArn,
                backupRetentionPeriod: s.backupRetentionDays,
                preferredBackupWindow: s.backupWindow,
                preferredMaintenanceWindow: s.maintenanceWindow,
                copyTagsToSnapshot: true,
                deletionProtection: args.protect,
                skipFinalSnapshot: !args.protect,
                // Stable: a timestamp in the identifier shows a diff on every preview.
                finalSnapshotIdentifier: args.protect ? `${clusterIdentifier}-final` : undefined,
                // Keep automated backups after a deletion of a protected stack's cluster (they expire with retention).
                deleteAutomatedBackups: !args.protect,
                enabledCloudwatchLogsExports: ["postgresql"],
                // A minimum of 0 lets Aurora pause an idle instance (config/index.ts allows it only with active hours);
                // secondsUntilAutoPause is only valid then.
                serverlessv2ScalingConfiguration:
                    s.capacity.mode === "serverless"
                        ? {
                              minCapacity: s.capacity.minAcu,
                              maxCapacity: s.capacity.maxAcu,
                              ...(s.capacity.minAcu === 0 ? { secondsUntilAutoPause: s.capacity.secondsUntilAutoPause } : {}),
                          }
                        : undefined,
                applyImmediately: args.settings.applyImmediately,
                tags: { Name: clusterIdentifier },
            },
            { parent: this, protect: args.protect, dependsOn: [postgresLog, ...guarded(args)] },
        );

        const monitoringRole = new aws.iam.Role(
            `${name}-db-monitoring`,
            {
                description: `Dify ${p}: RDS enhanced monitoring publishes OS metrics to CloudWatch Logs`,
                assumeRolePolicy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Effect: "Allow",
                            Principal: { Service: "monitoring.rds.amazonaws.com" },
                            Action: "sts:AssumeRole",
                            // Confused-deputy guard: only this account's RDS may use the role.
                            Condition: { StringEquals: { "aws:SourceAccount": accountId } },
                        },
                    ],
                }),
            },
            { parent: this },
        );
        const monitoringPolicy = new aws.iam.RolePolicyAttachment(
            `${name}-db-monitoring`,
            {
                role: monitoringRole.name,
                policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole`,
            },
            { parent: this },
        );

        const instanceClass = s.capacity.mode === "serverless" ? "db.serverless" : s.capacity.instanceClass;
        const instances: aws.rds.ClusterInstance[] = [];
        for (let i = 0; i <= s.readerCount; i++) {
            const identifier = `${clusterIdentifier}-${i + 1}`;
            instances.push(
                new aws.rds.ClusterInstance(
                    `${name}-db-${i + 1}`,
                    {
                        identifier,
                        clusterIdentifier: cluster.clusterIdentifier,
                        engine: "aurora-postgresql",
                        instanceClass,
                        availabilityZone: pulumi.output(args.availabilityZones).apply((zones) => zones[i % zones.length]),
                        publiclyAccessible: false,
                        // Tier 0 for the writer, 1 for readers: Serverless v2 readers in tiers 0-1 scale with the writer,
                        // so a failover lands on an instance already sized for the load.
                        promotionTier: i === 0 ? 0 : 1,
                        autoMinorVersionUpgrade: true,
                        preferredMaintenanceWindow: s.maintenanceWindow,
                        performanceInsightsEnabled: true,
                        performanceInsightsKmsKeyId: args.kmsKeyArn,
                        // 7 days is the free retention tier.
                        performanceInsightsRetentionPeriod: 7,
                        monitoringInterval: s.monitoringIntervalSeconds,
                        monitoringRoleArn: monitoringRole.arn,
                        applyImmediately: args.settings.applyImmediately,
                        tags: { Name: identifier },
                    },
                    // The first instance created becomes the writer: readers wait for it so that is instance 1.
                    { parent: this, dependsOn: i === 0 ? [monitoringPolicy] : [monitoringPolicy, instances[0]] },
                ),
            );
        }

        const secret = this.storedSecret(
            `${name}-db-master`,
            `${p}/database/master`,
            `Dify ${p}: Aurora master user (Dify connects as it). JSON: username, password, engine, host, port, dbname`,
            pulumi.jsonStringify({
                username: cluster.masterUsername,
                password: password.result,
                engine: "postgres",
                host: cluster.endpoint,
                port: cluster.port,
                dbname: DATABASE_NAME,
            }),
            args.kmsKeyArn,
            recoveryWindowInDays,
        );

        // The cluster resource is complete before any instance exists, and a cluster without a writer refuses every
        // connection: the migration (`flask upgrade-db`) would fail the first `up`, and the plugin daemon panics on a
        // failed database init. So the endpoints resolve only once the instances exist, and the credentials only once
        // their value is stored; whoever connects depends on both without having to know.
        const secretArn = after(secret.arn, secret.version);
        const connection: DatabaseConnection = {
            host: after(cluster.endpoint, instances[0]),
            readerHost: after(cluster.readerEndpoint, ...instances),
            port: after(cluster.port, instances[0]),
            databaseName: DATABASE_NAME,
            pluginDatabaseName: PLUGIN_DATABASE_NAME,
            username: { secretArn, jsonKey: "username", versionId: secret.version.versionId },
            password: { secretArn, jsonKey: "password", versionId: secret.version.versionId },
            securityGroupId: securityGroup.id,
            clusterIdentifier: after(cluster.clusterIdentifier, instances[0]),
        };
        return {
            connection,
            clusterIdentifier: cluster.clusterIdentifier,
            clusterArn: cluster.arn,
            instanceIdentifiers: instances.map((x) => x.identifier),
            secretArn,
        };
    }

    private createCache(name: string, args: ManagedDataArgs, recoveryWindowInDays: number) {
        const s = args.settings.cache;
        const p = args.namePrefix;
        // ElastiCache replication group ids: at most 40 characters; the prefix is at most 17.
        const replicationGroupId = `${p}-cache`;
        const family = cacheParameterFamily(s.engine, s.engineVersion);

        const securityGroup = this.callerSecurityGroup(`${name}-cache`, `${p}-cache`, "ElastiCache for Dify", args.vpcId);
        const subnetGroup = new aws.elasticache.SubnetGroup(
            `${name}-cache`,
            { name: `${p}-data`, description: `Dify ${p} data subnets`, subnetIds: args.dataSubnetIds, tags: { Name: `${p}-data` } },
            { parent: this },
        );
        const parameterGroup = new aws.elasticache.ParameterGroup(
            `${name}-cache-params`,
            {
                name: `${p}-${family.replace(/\./g, "-")}`,
                family,
                description: `Dify ${p}: noeviction for the Celery broker`,
                // Celery's queues and Dify's locks must not be evicted: the default volatile-lru can drop locks and an
                // allkeys policy can drop queued tasks (broker keys have no TTL). With noeviction a full cache rejects
                // writes, which fails loudly and is alarmed on, instead of losing work silently.
                parameters: [{ name: "maxmemory-policy", value: "noeviction" }],
                tags: { Name: `${p}-${family}` },
            },
            { parent: this },
        );

        const slowLog = logGroup(`${name}-cache-slow-log`, `/dify/${p}/elasticache/slow-log`, args.logs, { parent: this });
        const engineLog = logGroup(`${name}-cache-engine-log`, `/dify/${p}/elasticache/engine-log`, args.logs, { parent: this });

        const token = this.credential(`${name}-cache-auth-token`, CACHE_AUTH_TOKEN_LENGTH, args.protect);

        const failover = s.replicaCount > 0;
        const group = new aws.elasticache.ReplicationGroup(
            `${name}-cache`,
            {
                replicationGroupId,
                description: `Dify ${p}: cache, Celery broker and plugin daemon state`,
                engine: s.engine,
                // major.minor, and no automatic minor upgrades: an AWS minor-upgrade campaign (8.1 -> 8.2) would make the
                // configured version read as a downgrade, which the provider turns into a REPLACEMENT of the group (every
                // queued task lost). Minor upgrades are a config change instead; patches arrive as service updates.
                engineVersion: s.engineVersion,
                autoMinorVersionUpgrade: false,
                nodeType: s.nodeType,
                port: REDIS_PORT,
                // Cluster mode disabled (one shard): Celery/kombu and the plugin daemon need SELECT of DBs 0-2.
                clusterMode: "disabled",
                numCacheClusters: 1 + s.replicaCount,
                // Automatic failover and Multi-AZ need at least one replica.
                automaticFailoverEnabled: failover,
                multiAzEnabled: failover,
                parameterGroupName: parameterGroup.name,
                subnetGroupName: subnetGroup.name,
                securityGroupIds: [securityGroup.id],
                atRestEncryptionEnabled: true,
                kmsKeyId: args.kmsKeyArn,
                transitEncryptionEnabled: true,
                transitEncryptionMode: "required",
                authToken: token.result,
                snapshotRetentionLimit: s.snapshotRetentionDays,
                snapshotWindow: s.snapshotWindow,
                maintenanceWindow: s.maintenanceWindow,
                finalSnapshotIdentifier: args.protect ? `${replicationGroupId}-final` : undefined,
                logDeliveryConfigurations: [
                    { destination: slowLog.name, destinationType: "cloudwatch-logs", logFormat: "json", logType: "slow-log" },
                    { destination: engineLog.name, destinationType: "cloudwatch-logs", logFormat: "json", logType: "engine-log" },
                ],
                applyImmediately: args.settings.applyImmediately,
                tags: { Name: replicationGroupId },
            },
            { parent: this, protect: args.protect, dependsOn: guarded(args) },
        );

        const authTokenSecret = this.storedSecret(
            `${name}-cache-auth-token`,
            `${p}/cache/auth-token`,
            `Dify ${p}: ElastiCache AUTH token (REDIS_PASSWORD)`,
            token.result,
            args.kmsKeyArn,
            recoveryWindowInDays,
        );

        // The URL carries the token, so it is a secret too (never an SSM String or a task environment variable).
        const brokerUrl = pulumi
            .all([token.result, group.primaryEndpointAddress, group.port])
            .apply(([t, host, port]) => `rediss://:${encodeURIComponent(t)}@${host}:${port ?? REDIS_PORT}/${CELERY_REDIS_DB}?ssl_cert_reqs=${CELERY_SSL_CERT_REQS}`);
        const brokerSecret = this.storedSecret(
            `${name}-celery-broker-url`,
            `${p}/cache/celery-broker-url`,
            `Dify ${p}: CELERY_BROKER_URL (rediss://, embeds the AUTH token)`,
            brokerUrl,
            args.kmsKeyArn,
            recoveryWindowInDays,
        );

        // redis-py (the agent backend's Redis.from_url) reads ssl_cert_reqs from the URL in lower case only.
        const agentUrl = pulumi
            .all([token.result, group.primaryEndpointAddress, group.port])
            .apply(([t, host, port]) => `rediss://:${encodeURIComponent(t)}@${host}:${port ?? REDIS_PORT}/${AGENT_REDIS_DB}?ssl_cert_reqs=required`);
        const agentSecret = this.storedSecret(
            `${name}-agent-redis-url`,
            `${p}/cache/agent-redis-url`,
            `Dify ${p}: DIFY_AGENT_REDIS_URL of the agent backend (rediss://, embeds the AUTH token)`,
            agentUrl,
            args.kmsKeyArn,
            recoveryWindowInDays,
        );

        // Endpoints come from the replication group (so they exist once it does); secret ARNs resolve once the value
        // is stored, so a task never starts against an empty secret.
        const authTokenSecretArn = after(authTokenSecret.arn, authTokenSecret.version);
        const celeryBrokerUrlSecretArn = after(brokerSecret.arn, brokerSecret.version);
        const agentRedisUrlSecretArn = after(agentSecret.arn, agentSecret.version);
        const connection: CacheConnection = {
            host: after(group.primaryEndpointAddress, group),
            readerHost: after(group.readerEndpointAddress, group),
            port: after(group.port.apply((port) => port ?? REDIS_PORT), group),
            authToken: { secretArn: authTokenSecretArn, versionId: authTokenSecret.version.versionId },
            celeryBrokerUrl: { secretArn: celeryBrokerUrlSecretArn, versionId: brokerSecret.version.versionId },
            agentRedisUrl: { secretArn: agentRedisUrlSecretArn, versionId: agentSecret.version.versionId },
            securityGroupId: securityGroup.id,
        };
        return {
            connection,
            replicationGroupId: group.replicationGroupId,
            // One id per node, known in number at preview so consumers can create one alarm per node.
            memberClusterIds: Array.from({ length: 1 + s.replicaCount }, (_, i) => group.memberClusters.apply((ids) => [...ids].sort()[i])),
            authTokenSecretArn,
            celeryBrokerUrlSecretArn,
            agentRedisUrlSecretArn,
        };
    }

    /** A security group with no rules: the consumer adds one ingress rule per caller, so every path is visible. */
    private callerSecurityGroup(resourceName: string, groupName: string, purpose: string, vpcId: pulumi.Input<string>): aws.ec2.SecurityGroup {
        return new aws.ec2.SecurityGroup(
            resourceName,
            { vpcId, description: `${purpose}: ingress rules are added per caller by the consumer`, tags: { Name: groupName } },
            { parent: this },
        );
    }

    /** A generated credential from letters, digits and CREDENTIAL_SPECIALS (see there for why). */
    private credential(resourceName: string, length: number, protect: boolean): random.RandomPassword {
        return new random.RandomPassword(
            resourceName,
            { length, special: true, overrideSpecial: CREDENTIAL_SPECIALS, minUpper: 1, minLower: 1, minNumeric: 1 },
            credentialOptions(this, protect),
        );
    }

    /** A Secrets Manager secret and its value (its version), which stays a Pulumi secret end to end. */
    private storedSecret(
        resourceName: string,
        secretName: string,
        description: string,
        value: pulumi.Input<string>,
        kmsKeyArn: pulumi.Input<string> | undefined,
        recoveryWindowInDays: number,
    ): { arn: pulumi.Output<string>; version: aws.secretsmanager.SecretVersion } {
        const secret = new aws.secretsmanager.Secret(
            resourceName,
            { name: secretName, description, kmsKeyId: kmsKeyArn, recoveryWindowInDays, tags: { Name: secretName } },
            { parent: this },
        );
        const version = new aws.secretsmanager.SecretVersion(resourceName, { secretId: secret.id, secretString: pulumi.secret(value) }, { parent: this });
        return { arn: secret.arn, version };
    }

    private createBucket(name: string, args: ManagedDataArgs, accountId: pulumi.Output<string>, region: pulumi.Output<string>): FileBucket {
        const s = args.settings.bucket;
        // Bucket names are global: account and region make the derived one unique. At most 17 + 7 + 12 + 1 + ~15 = 52
        // of S3's 63 characters.
        const bucketName = s.name ?? pulumi.interpolate`${args.namePrefix}-files-${accountId}-${region}`;
        const bucket = new aws.s3.Bucket(
            `${name}-files`,
            {
                bucket: bucketName,
                // Only a stack that does not protect its data may delete a bucket that still holds objects.
                forceDestroy: !args.protect,
                tags: { Name: `${args.namePrefix}-files` },
            },
            { parent: this, protect: args.protect, dependsOn: guarded(args) },
        );
        const publicAccess = new aws.s3.BucketPublicAccessBlock(
            `${name}-files`,
            { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
            { parent: this },
        );
        new aws.s3.BucketOwnershipControls(`${name}-files`, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, { parent: this });
        new aws.s3.BucketServerSideEncryptionConfiguration(
            `${name}-files`,
            {
                bucket: bucket.id,
                rules: [
                    args.kmsKeyArn === undefined
                        ? { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }
                        : {
                              applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: args.kmsKeyArn },
                              // A bucket key cuts KMS requests (and their cost and throttling) by caching a data key per bucket.
                              bucketKeyEnabled: true,
                          },
                ],
            },
            { parent: this },
        );
        const versioning = new aws.s3.BucketVersioning(
            `${name}-files`,
            { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
            { parent: this },
        );
        new aws.s3.BucketLifecycleConfiguration(
            `${name}-files`,
            {
                bucket: bucket.id,
                // Dify reads uploaded files and knowledge-base sources synchronously, years after upload: current objects
                // are never expired and never moved to a class that needs a restore (GLACIER, DEEP_ARCHIVE).
                rules: [
                    {
                        id: "abort-incomplete-multipart-uploads",
                        status: "Enabled",
                        filter: {},
                        abortIncompleteMultipartUpload: { daysAfterInitiation: ABORT_INCOMPLETE_MULTIPART_DAYS },
                    },
                    {
                        id: "expire-noncurrent-versions",
                        status: "Enabled",
                        filter: {},
                        noncurrentVersionExpiration: { noncurrentDays: s.noncurrentVersionExpirationDays },
                    },
                ],
            },
            { parent: this, dependsOn: [versioning] },
        );
        new aws.s3.BucketPolicy(
            `${name}-files`,
            {
                bucket: bucket.id,
                policy: pulumi.jsonStringify({ Version: "2012-10-17", Statement: tlsOnlyStatements(bucket.arn) }),
            },
            // S3 rejects a policy while the public access block is being written; order them.
            { parent: this, dependsOn: [publicAccess] },
        );
        if (s.accessLogs) {
            // Who read or changed which object: S3 server access logs (free but storage; delivered best effort within
            // hours), into a log bucket of their own that only S3's log delivery, for this bucket, may write.
            const logs = logBucket(`${name}-files-access-logs`, this, {
                // <= 17 + 8 + 12 + 1 + 14 = 52 of S3's 63 characters.
                bucketName: pulumi.interpolate`${args.namePrefix}-s3-logs-${accountId}-${region}`,
                nameTag: `${args.namePrefix}-s3-logs`,
                deletionProtection: args.protect,
                retentionDays: args.logs.retentionInDays,
                dependsOn: guarded(args),
                writers: (arn) => [
                    {
                        Sid: "S3ServerAccessLogDelivery",
                        Effect: "Allow",
                        Principal: { Service: "logging.s3.amazonaws.com" },
                        Action: "s3:PutObject",
                        Resource: pulumi.interpolate`${arn}/${FILES_ACCESS_LOG_PREFIX}*`,
                        Condition: { ArnLike: { "aws:SourceArn": bucket.arn }, StringEquals: { "aws:SourceAccount": accountId } },
                    },
                ],
            });
            new aws.s3.BucketLogging(
                `${name}-files`,
                { bucket: bucket.id, targetBucket: logs.bucket, targetPrefix: FILES_ACCESS_LOG_PREFIX },
                { parent: this, dependsOn: logs.ready },
            );
        }
        return { name: bucket.bucket, arn: bucket.arn };
    }
}
