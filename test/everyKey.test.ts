/**
 * Every key of Pulumi.yaml, traced to where its value lands. Each row sets a non-default, valid value and says which
 * resource input (type, logical name, input path) or container setting must show it. Rows that can share a program
 * run are grouped (a run costs one to three seconds; one per key would cost minutes). Each row is proven both ways: it
 * holds on its group's run, and it fails on the unmodified stack, so a key whose value is ignored (hard-coded to its
 * default, or read and dropped) fails here.
 *
 * A key added to Pulumi.yaml without a row fails the first test, unless it is listed in LANDS_NOWHERE with its reason.
 */
import { expect } from "chai";
import { configErrorFor, containerOf, environmentOf, ProgramRun, readProjectFile, rolePolicyStatements, runProgram, Stack, stackRun } from "./harness";

type Check = (run: ProgramRun) => void;
interface Row {
    key: string;
    value: unknown;
    lands: Check;
}
interface Group {
    name: string;
    stack: Stack;
    /** Keys that only make the rows' values valid together (each has its own row in some group too). */
    enablers?: Record<string, unknown>;
    /** Keys delivered as secrets (`pulumi config set --secret`). */
    secretKeys?: string[];
    rows: Row[];
}

/** Keys whose value lands on no resource by design, with the reason. */
const LANDS_NOWHERE: Record<string, string> = {
    sandboxImageTag: "single-valued: every release of the compatibility table (config/upstream) pins sandbox 0.2.15, so no other value is valid today; the image it sets is asserted in difyCluster.test.ts and another value is refused (below)",
    acknowledgeNoInternetEgress: "a gate: natGateways \"none\" is refused without it (test/network.test.ts); what lands is natGateways'",
    acknowledgeActiveHoursInProduction: "a gate: activeHours on a stack with deletionProtection is refused without it (test/costLevers.test.ts); what lands is activeHours'",
};

const T = {
    key: "aws:kms/key:Key",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
    vpc: "awsx:ec2:Vpc",
    endpoint: "aws:ec2/vpcEndpoint:VpcEndpoint",
    flowLog: "aws:ec2/flowLog:FlowLog",
    subscription: "aws:sns/topicSubscription:TopicSubscription",
    alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
    cluster: "aws:rds/cluster:Cluster",
    instance: "aws:rds/clusterInstance:ClusterInstance",
    dbParams: "aws:rds/clusterParameterGroup:ClusterParameterGroup",
    cache: "aws:elasticache/replicationGroup:ReplicationGroup",
    bucket: "aws:s3/bucket:Bucket",
    lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    efs: "aws:efs/fileSystem:FileSystem",
    lb: "aws:lb/loadBalancer:LoadBalancer",
    targetGroup: "aws:lb/targetGroup:TargetGroup",
    listener: "aws:lb/listener:Listener",
    certificate: "aws:acm/certificate:Certificate",
    record: "aws:route53/record:Record",
    ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    webAcl: "aws:wafv2/webAcl:WebAcl",
    rule: "aws:lb/listenerRule:ListenerRule",
    ipSet: "aws:wafv2/ipSet:IpSet",
    taskDef: "aws:ecs/taskDefinition:TaskDefinition",
    service: "aws:ecs/service:Service",
    ecsCluster: "aws:ecs/cluster:Cluster",
    target: "aws:appautoscaling/target:Target",
    scalingPolicy: "aws:appautoscaling/policy:Policy",
    scheduled: "aws:appautoscaling/scheduledAction:ScheduledAction",
    pullThrough: "aws:ecr/pullThroughCacheRule:PullThroughCacheRule",
    secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
} as const;

const inputs = (run: ProgramRun, type: string, name: string) => run.one(type, name).inputs;
const env = (run: ProgramRun, family: string) => environmentOf(containerOf(run, family));
const secretsOf = (run: ProgramRun, family: string) => Object.fromEntries(containerOf(run, family).secrets.map((s) => [s.name, s.valueFrom]));
const alarm = (run: ProgramRun, suffix: string) => {
    const found = run.ofType(T.alarm).find((a) => a.inputs.name === `dify-${run.stack}-${suffix}`);
    expect(found, `alarm ${suffix}`).to.not.equal(undefined);
    return found!.inputs;
};
const threshold = (suffix: string, expected: number): Check => (run) => expect(alarm(run, suffix).threshold, suffix).to.equal(expected);
const strategy = (run: ProgramRun, role: string) => inputs(run, T.service, `dify-${role}`).capacityProviderStrategies as { capacityProvider: string; base?: number; weight: number }[];
const scalingTarget = (run: ProgramRun, role: string) => inputs(run, T.target, `dify-${role}`);
const size = (family: string, cpu: string, memory: string): [Check, Check] => [
    (run) => expect(inputs(run, T.taskDef, `dify-${family}`).cpu, `${family} cpu`).to.equal(cpu),
    (run) => expect(inputs(run, T.taskDef, `dify-${family}`).memory, `${family} memory`).to.equal(memory),
];
const tasks = (role: string, min: number, max: number): [Check, Check] => [
    (run) => expect(scalingTarget(run, role).minCapacity, `${role} min`).to.equal(min),
    (run) => expect(scalingTarget(run, role).maxCapacity, `${role} max`).to.equal(max),
];

const LOGIN_SECRET = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:dockerhub-login-AbCdEf";
const OTHER_PTC_SECRET = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:ecr-pullthroughcache/hub-account-XyZ123";
const SMTP_SECRET = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:ses-smtp-AbCdEf";
const OPENAI_SECRET = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:openai-AbCdEf";
const BEDROCK_MODEL = "arn:aws:bedrock:ap-northeast-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0";
const CERTIFICATE = "arn:aws:acm:ap-northeast-1:123456789012:certificate/0a1b2c3d-4e5f-4a6b-8c9d-0e1f2a3b4c5d";
const MIRROR = "https://pypi.internal.example.com/simple/";
const REGISTRY = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/mirror";
const ACTIVE_HOURS = { timezone: "Asia/Tokyo", weekdays: "MON-FRI", start: "09:00", stop: "19:00" };
const subnets = (tier: string) => [`subnet-0${tier}00000000000000a`, `subnet-0${tier}00000000000000b`];
const OIDC = "https://login.example.com/tenant/v2.0";
const POOL = "arn:aws:cognito-idp:ap-northeast-1:123456789012:userpool/ap-northeast-1_AbCdEf123";
/** The authenticate action of web's catch-all rule (SSO on). */
const webAuth = (run: ProgramRun) => {
    const action = inputs(run, T.rule, "edge-web").actions.find((a: { type: string }) => a.type.startsWith("authenticate-"));
    expect(action, "web's rule authenticates").to.not.equal(undefined);
    return action.authenticateOidc ?? action.authenticateCognito;
};

// Task sizes of group "prd-cluster" as their rows set them: each one a Fargate pair, not the stack's.
const [webCpu, webMemory] = size("web", "1024", "2048");
const [apiCpu, apiMemory] = size("api", "4096", "8192");
const [workerCpu, workerMemory] = size("worker", "512", "3072");
const [beatCpu, beatMemory] = size("beat", "512", "1024");
const [daemonCpu, daemonMemory] = size("plugin-daemon", "2048", "8192");
const [sandboxCpu, sandboxMemory] = size("sandbox", "1024", "2048");
const [proxyCpu, proxyMemory] = size("ssrf-proxy", "512", "1024");
const [webMin, webMax] = tasks("web", 3, 8);
const [apiMin, apiMax] = tasks("api", 3, 8);
const [workerMin, workerMax] = tasks("worker", 3, 8);
const [daemonMin, daemonMax] = tasks("plugin-daemon", 3, 6);
const [sandboxMin, sandboxMax] = tasks("sandbox", 3, 8);
const [proxyMin, proxyMax] = tasks("ssrf-proxy", 3, 6);
const [websocketCpu, websocketMemory] = size("api-websocket", "1024", "2048");
const [agentCpu, agentMemory] = size("agent-backend", "1024", "2048");
const [agentSandboxCpu, agentSandboxMemory] = size("agent-sandbox", "2048", "4096");
const [agentProxyCpu, agentProxyMemory] = size("agent-ssrf-proxy", "512", "1024");
const [agentMin, agentMax] = tasks("agent-backend", 3, 6);
const [agentProxyMin, agentProxyMax] = tasks("agent-ssrf-proxy", 2, 3);

const GROUPS: Group[] = [
    {
        name: "prd: shared, network, alarms and data",
        stack: "prd",
        rows: [
            { key: "customerManagedKey", value: false, lands: (run) => {
                expect(run.ofType(T.key).map((k) => k.name)).to.not.include("key-key");
                expect(inputs(run, T.logGroup, "dify-api").kmsKeyId).to.equal(undefined);
            } },
            { key: "deletionProtection", value: false, lands: (run) => expect(inputs(run, T.cluster, "data-db").deletionProtection).to.equal(false) },
            { key: "logRetentionDays", value: 30, lands: (run) => expect(inputs(run, T.logGroup, "dify-api").retentionInDays).to.equal(30) },
            { key: "vpcCidr", value: "10.60.0.0/16", lands: (run) => expect(inputs(run, T.vpc, "network-vpc").cidrBlock).to.equal("10.60.0.0/16") },
            { key: "availabilityZoneCount", value: 2, lands: (run) => expect(inputs(run, T.vpc, "network-vpc").numberOfAvailabilityZones).to.equal(2) },
            { key: "natGateways", value: "single", lands: (run) => expect(inputs(run, T.vpc, "network-vpc").natGateways.strategy).to.equal("Single") },
            ...(["public", "private", "data"] as const).map((tier, i): Row => ({
                key: `${tier}SubnetPrefix`,
                value: [25, 21, 26][i],
                lands: (run) => expect(inputs(run, T.vpc, "network-vpc").subnetSpecs.find((s: { name: string }) => s.name === tier).cidrMask).to.equal([25, 21, 26][i]),
            })),
            { key: "interfaceEndpoints", value: ["ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm"], lands: (run) => expect(inputs(run, T.endpoint, "network-ssm").serviceName).to.equal("com.amazonaws.ap-northeast-1.ssm") },
            { key: "flowLogTrafficType", value: "ACCEPT", lands: (run) => expect(inputs(run, T.flowLog, "network-flow-log").trafficType).to.equal("ACCEPT") },
            { key: "alarmEmails", value: ["ops@example.com"], lands: (run) => expect(run.ofType(T.subscription).map((s) => s.inputs.endpoint)).to.deep.equal(["ops@example.com"]) },
            { key: "alarmAlb5xxPercent", value: 7, lands: threshold("alb-5xx-ratio", 7) },
            // CloudWatch's TargetResponseTime is in seconds.
            { key: "alarmAlbResponseTimeP95Ms", value: 4000, lands: threshold("alb-api-p95-response-time", 4) },
            { key: "alarmEcsCpuPercent", value: 70, lands: threshold("ecs-api-cpu", 70) },
            { key: "alarmEcsMemoryPercent", value: 75, lands: threshold("ecs-api-memory", 75) },
            { key: "alarmDbCpuPercent", value: 60, lands: threshold("db-1-cpu", 60) },
            { key: "alarmDbFreeableMemoryMiB", value: 256, lands: threshold("db-1-freeable-memory", 256 * 1024 * 1024) },
            // 50 % of the 5,000 connections of a 2-64 ACU range.
            { key: "alarmDbConnectionsPercent", value: 50, lands: threshold("db-1-connections", 2500) },
            { key: "alarmDbAcuUtilizationPercent", value: 75, lands: threshold("db-1-acu-utilization", 75) },
            { key: "alarmDbReplicaLagMs", value: 1000, lands: threshold("db-replica-lag", 1000) },
            { key: "alarmCacheMemoryPercent", value: 70, lands: threshold("cache-1-memory", 70) },
            { key: "alarmCacheEngineCpuPercent", value: 65, lands: threshold("cache-1-engine-cpu", 65) },
            { key: "alarmCacheConnections", value: 3000, lands: threshold("cache-1-connections", 3000) },
            { key: "alarmWafBlockedRequests", value: 250, lands: threshold("waf-blocked-requests", 250) },
            { key: "alarmQueueDepth", value: 400, lands: threshold("celery-queue-depth", 400) },
            { key: "alarmQueueWaitSeconds", value: 300, lands: threshold("celery-queue-stuck", 300) },
            { key: "alarmEfsIoLimitPercent", value: 70, lands: threshold("efs-agent-workspace-io-limit", 70) },
            { key: "databaseEngineVersion", value: "17", lands: (run) => {
                expect(inputs(run, T.cluster, "data-db").engineVersion).to.equal("17");
                expect(inputs(run, T.dbParams, "data-db-params").family).to.equal("aurora-postgresql17");
            } },
            { key: "databaseMinCapacity", value: "2", lands: (run) => expect(inputs(run, T.cluster, "data-db").serverlessv2ScalingConfiguration.minCapacity).to.equal(2) },
            { key: "databaseMaxCapacity", value: "64", lands: (run) => expect(inputs(run, T.cluster, "data-db").serverlessv2ScalingConfiguration.maxCapacity).to.equal(64) },
            { key: "databaseReaderCount", value: 2, lands: (run) => expect(run.ofType(T.instance)).to.have.length(3) },
            { key: "databaseBackupRetentionDays", value: 21, lands: (run) => expect(inputs(run, T.cluster, "data-db").backupRetentionPeriod).to.equal(21) },
            { key: "databaseBackupWindow", value: "15:00-16:00", lands: (run) => expect(inputs(run, T.cluster, "data-db").preferredBackupWindow).to.equal("15:00-16:00") },
            { key: "databaseMaintenanceWindow", value: "sat:18:30-sat:19:30", lands: (run) => expect(inputs(run, T.instance, "data-db-1").preferredMaintenanceWindow).to.equal("sat:18:30-sat:19:30") },
            { key: "databaseMonitoringInterval", value: 30, lands: (run) => expect(inputs(run, T.instance, "data-db-1").monitoringInterval).to.equal(30) },
            { key: "cacheEngineVersion", value: "8.1", lands: (run) => expect(inputs(run, T.cache, "data-cache").engineVersion).to.equal("8.1") },
            { key: "cacheNodeType", value: "cache.r7g.large", lands: (run) => expect(inputs(run, T.cache, "data-cache").nodeType).to.equal("cache.r7g.large") },
            { key: "cacheReplicaCount", value: 2, lands: (run) => expect(inputs(run, T.cache, "data-cache").numCacheClusters).to.equal(3) },
            { key: "cacheSnapshotRetentionDays", value: 14, lands: (run) => expect(inputs(run, T.cache, "data-cache").snapshotRetentionLimit).to.equal(14) },
            { key: "cacheSnapshotWindow", value: "14:00-15:00", lands: (run) => expect(inputs(run, T.cache, "data-cache").snapshotWindow).to.equal("14:00-15:00") },
            { key: "cacheMaintenanceWindow", value: "sat:20:30-sat:21:30", lands: (run) => expect(inputs(run, T.cache, "data-cache").maintenanceWindow).to.equal("sat:20:30-sat:21:30") },
            { key: "bucketName", value: "acme-dify-prd-files", lands: (run) => expect(inputs(run, T.bucket, "data-files").bucket).to.equal("acme-dify-prd-files") },
            { key: "bucketNoncurrentVersionExpirationDays", value: 30, lands: (run) => {
                const rule = inputs(run, T.lifecycle, "data-files").rules.find((r: { id: string }) => r.id === "expire-noncurrent-versions");
                expect(rule.noncurrentVersionExpiration.noncurrentDays).to.equal(30);
            } },
            { key: "pluginDaemonSharedStorage", value: false, lands: (run) => expect(run.ofType(T.efs).map((f) => f.name)).to.deep.equal(["data-agent-workspace-efs"]) },
            { key: "workspaceThroughputMode", value: "bursting", lands: (run) => expect(inputs(run, T.efs, "data-agent-workspace-efs").throughputMode).to.equal("bursting") },
            { key: "dataApplyImmediately", value: true, lands: (run) => expect(inputs(run, T.cluster, "data-db").applyImmediately).to.equal(true) },
        ],
    },
    {
        name: "prd: edge and images",
        stack: "prd",
        rows: [
            { key: "backupRetentionDays", value: 14, lands: (run) => expect(inputs(run, "aws:backup/plan:Plan", "data-backup-plan").rules[0].lifecycle.deleteAfter).to.equal(14) },
            { key: "backupSchedule", value: "cron(30 20 * * ? *)", lands: (run) => expect(inputs(run, "aws:backup/plan:Plan", "data-backup-plan").rules[0].schedule).to.equal("cron(30 20 * * ? *)") },
            { key: "backupCopyVaultArn", value: "arn:aws:backup:ap-northeast-3:210987654321:backup-vault:copies", lands: (run) => expect(inputs(run, "aws:backup/plan:Plan", "data-backup-plan").rules[0].copyActions?.[0]?.destinationVaultArn).to.equal("arn:aws:backup:ap-northeast-3:210987654321:backup-vault:copies") },
            { key: "backupCopyRetentionDays", value: 60, lands: (run) => expect(inputs(run, "aws:backup/plan:Plan", "data-backup-plan").rules[0].copyActions?.[0]?.lifecycle.deleteAfter).to.equal(60) },
            { key: "backupVaultLock", value: "governance", lands: (run) => expect(run.ofType("aws:backup/vaultLockConfiguration:VaultLockConfiguration").map((l) => l.inputs.minRetentionDays)).to.deep.equal([14]) },
            { key: "bucketAccessLogs", value: false, lands: (run) => expect(run.ofType("aws:s3/bucketLogging:BucketLogging")).to.have.length(0) },
            { key: "albAllowedCidrs", value: ["192.0.2.0/24"], lands: (run) => expect(inputs(run, T.ingress, "edge-443-from-192-0-2-0-24").cidrIpv4).to.equal("192.0.2.0/24") },
            { key: "albIdleTimeoutSeconds", value: 2000, lands: (run) => expect(inputs(run, T.lb, "edge-alb").idleTimeout).to.equal(2000) },
            { key: "albDesyncMitigationMode", value: "strictest", lands: (run) => expect(inputs(run, T.lb, "edge-alb").desyncMitigationMode).to.equal("strictest") },
            { key: "albApiDeregistrationDelaySeconds", value: 60, lands: (run) => expect(inputs(run, T.targetGroup, "edge-api").deregistrationDelay).to.equal(60) },
            { key: "albSslPolicy", value: "ELBSecurityPolicy-TLS13-1-3-2021-06", lands: (run) => expect(inputs(run, T.listener, "edge-https").sslPolicy).to.equal("ELBSecurityPolicy-TLS13-1-3-2021-06") },
            { key: "domainName", value: "ai.example.org", lands: (run) => {
                expect(inputs(run, T.certificate, "edge-cert").domainName).to.equal("ai.example.org");
                expect(inputs(run, T.record, "edge-alias-a").name).to.equal("ai.example.org");
            } },
            { key: "hostedZoneId", value: "Z9876543210ZYXWVUTSRQ", lands: (run) => expect(inputs(run, T.record, "edge-alias-a").zoneId).to.equal("Z9876543210ZYXWVUTSRQ") },
            { key: "wafRateLimit", value: 1000, lands: (run) => {
                const rule = inputs(run, T.webAcl, "edge-waf").rules.find((r: { name: string }) => r.name === "rate-limit-per-ip");
                expect(rule.statement.rateBasedStatement.limit).to.equal(1000);
            } },
            { key: "wafRateLimitWindowSeconds", value: 600, lands: (run) => {
                const rule = inputs(run, T.webAcl, "edge-waf").rules.find((r: { name: string }) => r.name === "rate-limit-per-ip");
                expect(rule.statement.rateBasedStatement.evaluationWindowSec).to.equal(600);
            } },
            { key: "wafIpAllowList", value: false, lands: (run) => {
                expect(inputs(run, T.webAcl, "edge-waf").rules.map((r: { name: string }) => r.name)).to.not.include("block-outside-allow-list");
                expect(run.ofType(T.ipSet)).to.have.length(0);
            } },
            { key: "wafCredentialRateLimit", value: 600, lands: (run) => {
                const rule = inputs(run, T.webAcl, "edge-waf").rules.find((r: { name: string }) => r.name === "rate-limit-per-api-key");
                expect(rule.statement.rateBasedStatement.limit).to.equal(600);
            } },
            { key: "wafCredentialRateLimitBlock", value: true, lands: (run) => {
                const rule = inputs(run, T.webAcl, "edge-waf").rules.find((r: { name: string }) => r.name === "rate-limit-per-console-user");
                expect(rule.action).to.deep.equal({ block: {} });
            } },
            { key: "wafCountRules", value: ["SizeRestrictions_BODY"], lands: (run) => {
                const common = inputs(run, T.webAcl, "edge-waf").rules.find((r: { name: string }) => r.name === "AWSManagedRulesCommonRuleSet");
                expect(common.statement.managedRuleGroupStatement.ruleActionOverrides.map((o: { name: string }) => o.name)).to.deep.equal(["SizeRestrictions_BODY"]);
            } },
            // The 1.16.1 release of the compatibility table, whose images go together.
            { key: "difyImageTag", value: "1.16.1", lands: (run) => {
                expect(containerOf(run, "api").image).to.match(/\/langgenius\/dify-api:1\.16\.1$/);
                expect(containerOf(run, "web").image).to.match(/\/langgenius\/dify-web:1\.16\.1$/);
            } },
            { key: "pluginDaemonImageTag", value: "0.6.3-local", lands: (run) => expect(containerOf(run, "plugin-daemon").image).to.match(/\/langgenius\/dify-plugin-daemon:0\.6\.3-local$/) },
            { key: "agentImageTag", value: "1.16.1", lands: (run) => {
                expect(containerOf(run, "agent-backend").image).to.match(/\/langgenius\/dify-agent-backend:1\.16\.1$/);
                expect(containerOf(run, "agent-sandbox").image).to.match(/\/langgenius\/dify-agent-local-sandbox:1\.16\.1$/);
            } },
            { key: "ssrfProxyImage", value: "ubuntu/squid:6.10-24.10_beta", lands: (run) => expect(containerOf(run, "ssrf-proxy").image).to.match(/\/ubuntu\/squid:6\.10-24\.10_beta$/) },
            { key: "dockerHubCredentialsSecretArn", value: OTHER_PTC_SECRET, lands: (run) => expect(inputs(run, T.pullThrough, "dify-docker-hub").credentialArn).to.equal(OTHER_PTC_SECRET) },
            { key: "albRequestsPerTarget", value: 500, lands: (run) => {
                const policy = inputs(run, T.scalingPolicy, "dify-api-requestcountpertarget");
                expect(policy.targetTrackingScalingPolicyConfiguration.targetValue).to.equal(500);
            } },
        ],
    },
    {
        name: "prd: cluster sizes, processes, mail and extras",
        stack: "prd",
        rows: [
            { key: "webCpu", value: 1024, lands: webCpu },
            { key: "webMemory", value: 2048, lands: webMemory },
            { key: "webMinTasks", value: 3, lands: webMin },
            { key: "webMaxTasks", value: 8, lands: webMax },
            { key: "apiCpu", value: 4096, lands: apiCpu },
            { key: "apiMemory", value: 8192, lands: apiMemory },
            { key: "apiMinTasks", value: 3, lands: apiMin },
            { key: "apiMaxTasks", value: 8, lands: apiMax },
            { key: "workerCpu", value: 512, lands: workerCpu },
            { key: "workerMemory", value: 3072, lands: workerMemory },
            { key: "workerMinTasks", value: 3, lands: workerMin },
            { key: "workerMaxTasks", value: 8, lands: workerMax },
            { key: "beatCpu", value: 512, lands: beatCpu },
            { key: "beatMemory", value: 1024, lands: beatMemory },
            { key: "pluginDaemonCpu", value: 2048, lands: daemonCpu },
            { key: "pluginDaemonMemory", value: 8192, lands: daemonMemory },
            { key: "pluginDaemonMinTasks", value: 3, lands: daemonMin },
            { key: "pluginDaemonMaxTasks", value: 6, lands: daemonMax },
            { key: "sandboxCpu", value: 1024, lands: sandboxCpu },
            { key: "sandboxMemory", value: 2048, lands: sandboxMemory },
            { key: "sandboxMinTasks", value: 3, lands: sandboxMin },
            { key: "sandboxMaxTasks", value: 8, lands: sandboxMax },
            { key: "apiWebsocketCpu", value: 1024, lands: websocketCpu },
            { key: "apiWebsocketMemory", value: 2048, lands: websocketMemory },
            { key: "agentBackendCpu", value: 1024, lands: agentCpu },
            { key: "agentBackendMemory", value: 2048, lands: agentMemory },
            { key: "agentBackendMinTasks", value: 3, lands: agentMin },
            { key: "agentBackendMaxTasks", value: 6, lands: agentMax },
            { key: "agentSandboxCpu", value: 2048, lands: agentSandboxCpu },
            { key: "agentSandboxMemory", value: 4096, lands: agentSandboxMemory },
            { key: "agentSsrfProxyCpu", value: 512, lands: agentProxyCpu },
            { key: "agentSsrfProxyMemory", value: 1024, lands: agentProxyMemory },
            { key: "agentSsrfProxyMinTasks", value: 2, lands: agentProxyMin },
            { key: "agentSsrfProxyMaxTasks", value: 3, lands: agentProxyMax },
            { key: "appMaxExecutionTimeSeconds", value: 600, lands: (run) => expect(env(run, "worker").APP_MAX_EXECUTION_TIME).to.equal("600") },
            { key: "modelEndpointEgress", value: ["11434@10.20.0.0/16"], lands: (run) => {
                const rule = inputs(run, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "dify-plugin-daemon-to-model-1");
                expect([rule.fromPort, rule.toPort, rule.cidrIpv4]).to.deep.equal([11434, 11434, "10.20.0.0/16"]);
            } },
            { key: "canaryPercent", value: 25, lands: (run) => expect(inputs(run, T.service, "dify-api").deploymentConfiguration.canaryConfiguration.canaryPercent).to.equal(25) },
            { key: "canaryBakeMinutes", value: 3, lands: (run) => expect(inputs(run, T.service, "dify-web").deploymentConfiguration.canaryConfiguration.canaryBakeTimeInMinutes).to.equal("3") },
            { key: "deploymentBakeMinutes", value: 15, lands: (run) => expect(inputs(run, T.service, "dify-web").deploymentConfiguration.bakeTimeInMinutes).to.equal("15") },
            { key: "acknowledgeDataLoss", value: ["cache"], lands: (run) => expect(run.resources.find((r) => r.type.endsWith(":DataGuardRecord"))!.inputs.acknowledged).to.deep.equal(["cache"]) },
            { key: "migrationSnapshotsKept", value: 7, lands: (run) => expect(run.resources.find((r) => r.type.endsWith(":PreMigrationSnapshot"))!.inputs.keep).to.equal(7) },
            { key: "ssrfProxyCpu", value: 512, lands: proxyCpu },
            { key: "ssrfProxyMemory", value: 1024, lands: proxyMemory },
            { key: "ssrfProxyMinTasks", value: 3, lands: proxyMin },
            { key: "ssrfProxyMaxTasks", value: 6, lands: proxyMax },
            { key: "fargateSpotRoles", value: ["web", "worker"], lands: (run) => expect(strategy(run, "worker").map((s) => s.capacityProvider)).to.include("FARGATE_SPOT") },
            { key: "fargateSpotOnDemandBase", value: 2, lands: (run) => expect(strategy(run, "web").find((s) => s.capacityProvider === "FARGATE")!.base).to.equal(2) },
            { key: "cpuArchitecture", value: "X86_64", lands: (run) => expect(inputs(run, T.taskDef, "dify-api").runtimePlatform.cpuArchitecture).to.equal("X86_64") },
            { key: "containerInsights", value: "enhanced", lands: (run) => expect(inputs(run, T.ecsCluster, "dify-cluster").settings).to.deep.equal([{ name: "containerInsights", value: "enhanced" }]) },
            { key: "ecsExecEnabled", value: false, lands: (run) => expect(inputs(run, T.service, "dify-api").enableExecuteCommand).to.equal(false) },
            { key: "pipMirrorUrl", value: MIRROR, lands: (run) => {
                expect(env(run, "plugin-daemon").PIP_MIRROR_URL).to.equal(MIRROR);
                expect(env(run, "sandbox").PIP_MIRROR_URL).to.equal(MIRROR);
            } },
            { key: "bedrockModelArns", value: [BEDROCK_MODEL], lands: (run) => {
                const bedrock = rolePolicyStatements(run, "dify-plugin-daemon-task").find((s) => s.Action.includes("bedrock:InvokeModel"));
                expect(bedrock?.Resource).to.deep.equal([BEDROCK_MODEL]);
            } },
            // 4 vCPUs would derive 4 workers, prd's own api 1: 2 is the key's.
            { key: "apiServerWorkers", value: 2, lands: (run) => expect(env(run, "api").SERVER_WORKER_AMOUNT).to.equal("2") },
            { key: "apiWorkerConnections", value: 50, lands: (run) => expect(env(run, "api").SERVER_WORKER_CONNECTIONS).to.equal("50") },
            { key: "workerConcurrency", value: 3, lands: (run) => expect(env(run, "worker").CELERY_WORKER_AMOUNT).to.equal("3") },
            { key: "databasePoolSize", value: 15, lands: (run) => expect(env(run, "worker").SQLALCHEMY_POOL_SIZE).to.equal("15") },
            // The worker's: an api worker's overflow also covers its concurrent requests (config/capacity.ts).
            { key: "databasePoolMaxOverflow", value: 5, lands: (run) => expect(env(run, "worker").SQLALCHEMY_MAX_OVERFLOW).to.equal("5") },
            { key: "pgvectorMaxConnections", value: 3, lands: (run) => expect(env(run, "api").PGVECTOR_MAX_CONNECTION).to.equal("3") },
            { key: "pluginDaemonDbMaxOpenConns", value: 12, lands: (run) => expect(env(run, "plugin-daemon").DB_MAX_OPEN_CONNS).to.equal("12") },
            { key: "smtpServer", value: "email-smtp.ap-northeast-1.amazonaws.com", lands: (run) => expect(env(run, "worker").SMTP_SERVER).to.equal("email-smtp.ap-northeast-1.amazonaws.com") },
            { key: "smtpPort", value: 587, lands: (run) => expect(env(run, "api").SMTP_PORT).to.equal("587") },
            // Its only valid value is its default (false is refused: the password in clear); the row proves it reaches
            // the containers once SMTP is on, which it is not on the unmodified stack.
            { key: "smtpUseTls", value: true, lands: (run) => expect(env(run, "worker").SMTP_USE_TLS).to.equal("true") },
            { key: "smtpOpportunisticTls", value: true, lands: (run) => expect(env(run, "api").SMTP_OPPORTUNISTIC_TLS).to.equal("true") },
            { key: "smtpUsername", value: "ses-smtp-user", lands: (run) => expect(env(run, "api").SMTP_USERNAME).to.equal("ses-smtp-user") },
            { key: "smtpPasswordSecretArn", value: SMTP_SECRET, lands: (run) => expect(secretsOf(run, "worker").SMTP_PASSWORD).to.equal(SMTP_SECRET) },
            { key: "mailDefaultSendFrom", value: "no-reply@example.com", lands: (run) => expect(env(run, "api").MAIL_DEFAULT_SEND_FROM).to.equal("no-reply@example.com") },
            { key: "extraEnvironment", value: ["api:LOG_LEVEL=DEBUG"], lands: (run) => expect(env(run, "api").LOG_LEVEL).to.equal("DEBUG") },
            { key: "extraSecrets", value: [`worker:OPENAI_API_KEY=${OPENAI_SECRET}`], lands: (run) => expect(secretsOf(run, "worker").OPENAI_API_KEY).to.equal(OPENAI_SECRET) },
        ],
    },
    {
        name: "dev: an adopted VPC, HTTPS by certificate, a registry mirror, WAF and active hours",
        stack: "dev",
        enablers: { databaseMinCapacity: "0", domainName: "dify-dev.example.org" },
        rows: [
            { key: "vpcMode", value: "existing", lands: (run) => expect(run.ofType(T.vpc)).to.have.length(0) },
            { key: "existingVpcId", value: "vpc-0123456789abcdef0", lands: (run) => expect(run.one("aws:ec2/securityGroup:SecurityGroup", "edge-alb").inputs.vpcId).to.equal("vpc-0123456789abcdef0") },
            { key: "existingPublicSubnetIds", value: subnets("1"), lands: (run) => expect(inputs(run, T.lb, "edge-alb").subnets).to.deep.equal(subnets("1")) },
            { key: "existingPrivateSubnetIds", value: subnets("2"), lands: (run) => expect(inputs(run, T.service, "dify-api").networkConfiguration.subnets).to.deep.equal(subnets("2")) },
            { key: "existingDataSubnetIds", value: subnets("3"), lands: (run) => expect(inputs(run, "aws:rds/subnetGroup:SubnetGroup", "data-db").subnetIds).to.deep.equal(subnets("3")) },
            { key: "createVpcEndpoints", value: false, lands: (run) => expect(run.ofType(T.endpoint)).to.have.length(0) },
            { key: "backupPlan", value: true, lands: (run) => expect(run.ofType("aws:backup/selection:Selection")).to.have.length(1) },
            { key: "deploymentStrategy", value: "canary", lands: (run) => expect(inputs(run, T.service, "dify-api").deploymentConfiguration.strategy).to.equal("CANARY") },
            { key: "alarmEfsBurstCreditGiB", value: 20, lands: threshold("efs-agent-workspace-burst-credits", 20 * 1024 ** 3) },
            { key: "migrationSnapshot", value: false, lands: (run) => {
                expect(run.resources.filter((r) => r.type.endsWith(":PreMigrationSnapshot"))).to.have.length(0);
                expect(run.resources.filter((r) => r.type.endsWith(":MigrationGate"))).to.have.length(2);
            } },
            // An adopted VPC may have IPv6; one this program creates has not.
            { key: "albIpAddressType", value: "dualstack", lands: (run) => expect(inputs(run, T.lb, "edge-alb").ipAddressType).to.equal("dualstack") },
            { key: "certificateArn", value: CERTIFICATE, lands: (run) => expect(inputs(run, T.listener, "edge-https").certificateArn).to.equal(CERTIFICATE) },
            { key: "albAllowHttpOnly", value: false, lands: (run) => expect(inputs(run, T.listener, "edge-http").defaultActions[0].type).to.equal("redirect") },
            { key: "wafEnabled", value: true, lands: (run) => expect(run.ofType(T.webAcl)).to.have.length(1) },
            { key: "imageRegistryPrefix", value: REGISTRY, lands: (run) => expect(containerOf(run, "api").image).to.equal(`${REGISTRY}/langgenius/dify-api:1.17.1`) },
            { key: "activeHours", value: JSON.stringify(ACTIVE_HOURS), lands: (run) => {
                const stop = run.ofType(T.scheduled).find((a) => a.inputs.resourceId === "service/dify-dev/dify-dev-api" && a.inputs.scalableTargetAction.maxCapacity === 0);
                expect(stop?.inputs.schedule).to.equal("cron(0 19 ? * MON-FRI *)");
                expect(stop?.inputs.timezone).to.equal("Asia/Tokyo");
            } },
            { key: "databaseSecondsUntilAutoPause", value: 900, lands: (run) => expect(inputs(run, T.cluster, "data-db").serverlessv2ScalingConfiguration.secondsUntilAutoPause).to.equal(900) },
        ],
    },
    {
        name: "prd: Dify features off, split exposure, console SSO by OIDC",
        stack: "prd",
        enablers: {
            // SSO and canaries exclude each other (config/index.ts).
            deploymentStrategy: "rolling",
            oidcIssuer: OIDC,
            oidcAuthorizationEndpoint: `${OIDC}/authorize`,
            oidcTokenEndpoint: `${OIDC}/token`,
            oidcUserInfoEndpoint: `${OIDC}/userinfo`,
            oidcClientId: "dify-alb",
        },
        secretKeys: ["oidcClientSecret"],
        rows: [
            { key: "agentV2Enabled", value: false, lands: (run) => {
                expect(run.ofType(T.service).map((x) => x.name)).to.not.include("dify-agent-backend");
                expect(env(run, "web").NEXT_PUBLIC_ENABLE_AGENT_V2).to.equal("false");
            } },
            { key: "collaborationEnabled", value: false, lands: (run) => {
                expect(run.ofType(T.service).map((x) => x.name)).to.not.include("dify-api-websocket");
                expect(env(run, "api").ENABLE_COLLABORATION_MODE).to.equal("false");
            } },
            { key: "albMachinePathCidrs", value: ["0.0.0.0/0"], lands: (run) => expect(inputs(run, T.ingress, "edge-machine-443-from-0-0-0-0-0").cidrIpv4).to.equal("0.0.0.0/0") },
            { key: "consoleAuth", value: "oidc", lands: (run) => expect(webAuth(run).onUnauthenticatedRequest).to.equal("authenticate") },
            { key: "consoleAuthScope", value: "openid email", lands: (run) => expect(webAuth(run).scope).to.equal("openid email") },
            { key: "consoleAuthSessionTimeoutSeconds", value: 3600, lands: (run) => expect(webAuth(run).sessionTimeout).to.equal(3600) },
            { key: "consoleAuthSessionCookieName", value: "DifySso", lands: (run) => expect(webAuth(run).sessionCookieName).to.equal("DifySso") },
            { key: "oidcIssuer", value: OIDC, lands: (run) => expect(webAuth(run).issuer).to.equal(OIDC) },
            { key: "oidcAuthorizationEndpoint", value: `${OIDC}/authorize`, lands: (run) => expect(webAuth(run).authorizationEndpoint).to.equal(`${OIDC}/authorize`) },
            { key: "oidcTokenEndpoint", value: `${OIDC}/token`, lands: (run) => expect(webAuth(run).tokenEndpoint).to.equal(`${OIDC}/token`) },
            { key: "oidcUserInfoEndpoint", value: `${OIDC}/userinfo`, lands: (run) => expect(webAuth(run).userInfoEndpoint).to.equal(`${OIDC}/userinfo`) },
            { key: "oidcClientId", value: "dify-alb", lands: (run) => expect(webAuth(run).clientId).to.equal("dify-alb") },
            { key: "oidcClientSecret", value: "an-oidc-client-secret-Zq7", lands: (run) => {
                expect(webAuth(run).clientSecret).to.equal("an-oidc-client-secret-Zq7");
                // Pulumi keeps the whole actions input secret (in state, in previews) once one value in it is.
                expect(run.one(T.rule, "edge-web").secretPaths).to.include("actions");
            } },
        ],
    },
    {
        name: "prd: console SSO by Cognito",
        stack: "prd",
        enablers: { consoleAuth: "cognito", deploymentStrategy: "rolling" },
        rows: [
            { key: "cognitoUserPoolArn", value: POOL, lands: (run) => expect(webAuth(run).userPoolArn).to.equal(POOL) },
            { key: "cognitoUserPoolClientId", value: "1example23456789abcd", lands: (run) => expect(webAuth(run).userPoolClientId).to.equal("1example23456789abcd") },
            { key: "cognitoUserPoolDomain", value: "acme-dify", lands: (run) => expect(webAuth(run).userPoolDomain).to.equal("acme-dify") },
        ],
    },
    {
        name: "prd: provisioned Aurora, Redis OSS, authenticated Docker Hub pulls, a stored SMTP password, an internal ALB",
        stack: "prd",
        enablers: {
            smtpServer: "email-smtp.ap-northeast-1.amazonaws.com",
            smtpUsername: "ses-smtp-user",
            mailDefaultSendFrom: "no-reply@example.com",
            cacheEngineVersion: "7.1",
            dockerHubCredentialsSecretArn: LOGIN_SECRET,
            albAllowedCidrs: [],
            wafIpAllowList: false,
        },
        secretKeys: ["smtpPassword"],
        rows: [
            { key: "databaseCapacityMode", value: "provisioned", lands: (run) => expect(inputs(run, T.instance, "data-db-1").instanceClass).to.not.equal("db.serverless") },
            { key: "databaseInstanceClass", value: "db.r6g.xlarge", lands: (run) => expect(inputs(run, T.instance, "data-db-1").instanceClass).to.equal("db.r6g.xlarge") },
            { key: "cacheEngine", value: "redis", lands: (run) => expect(inputs(run, T.cache, "data-cache").engine).to.equal("redis") },
            { key: "dockerHubPullThroughCache", value: false, lands: (run) => {
                expect(run.ofType(T.pullThrough)).to.have.length(0);
                expect(containerOf(run, "api").repositoryCredentials).to.deep.equal({ credentialsParameter: LOGIN_SECRET });
            } },
            { key: "smtpPassword", value: "a-stack-secret-Zq7", lands: (run) => {
                const stored = run.ofType(T.secretVersion).find((v) => v.inputs.secretString === "a-stack-secret-Zq7");
                expect(stored, "the password is stored in Secrets Manager").to.not.equal(undefined);
                expect(stored!.secretPaths).to.include("secretString");
                expect(secretsOf(run, "api")).to.have.property("SMTP_PASSWORD");
            } },
            { key: "albPublicIngress", value: true, lands: (run) => expect(run.ofType(T.ingress).filter((r) => r.name.startsWith("edge-443-from") && r.inputs.cidrIpv4 === "0.0.0.0/0")).to.have.length(1) },
            { key: "albInternal", value: true, lands: (run) => expect(inputs(run, T.lb, "edge-alb").internal).to.equal(true) },
        ],
    },
];

const declared = Object.keys(readProjectFile().config);
const rows = GROUPS.flatMap((g) => g.rows.map((row) => ({ ...row, group: g })));

describe("every key of Pulumi.yaml lands on a resource", () => {
    it("has exactly one row per declared key, or a reason it lands nowhere", () => {
        const covered = rows.map((r) => r.key);
        const duplicated = covered.filter((k, i) => covered.indexOf(k) !== i);
        expect(duplicated, "keys with more than one row").to.deep.equal([]);
        expect(covered.filter((k) => !declared.includes(k)), "rows for undeclared keys").to.deep.equal([]);
        expect(Object.keys(LANDS_NOWHERE).filter((k) => !declared.includes(k) || covered.includes(k)), "exceptions that are undeclared or also have a row").to.deep.equal([]);
        const missing = declared.filter((k) => !covered.includes(k) && !(k in LANDS_NOWHERE));
        expect(missing, "keys without a row (add one, or a reason to LANDS_NOWHERE)").to.deep.equal([]);
    });

    it("keys that land nowhere are gates, as their reasons say; smtpUseTls accepts only its default", () => {
        // Each gate refuses its subject without it; smtpUseTls (which has a row) refuses its only other value.
        expect(configErrorFor("dev", { natGateways: "none" })).to.include("acknowledgeNoInternetEgress");
        expect(configErrorFor("prd", { activeHours: JSON.stringify(ACTIVE_HOURS) })).to.include("acknowledgeActiveHoursInProduction");
        const smtp = { smtpServer: "smtp.example.com", smtpUsername: "u", mailDefaultSendFrom: "a@example.com", smtpPasswordSecretArn: SMTP_SECRET };
        // sandboxImageTag: only the release's own sandbox is accepted.
        expect(configErrorFor("prd", { sandboxImageTag: "0.2.16" })).to.include('dify-aws:sandboxImageTag = "0.2.16"').and.to.include("sandboxImageTag 0.2.15");
        expect(configErrorFor("dev", { ...smtp, smtpUseTls: false })).to.match(/smtpUseTls true/);
    });

    for (const group of GROUPS) {
        describe(group.name, () => {
            let run: ProgramRun;
            let base: ProgramRun;
            before(async () => {
                const overrides = Object.fromEntries([...Object.entries(group.enablers ?? {}), ...group.rows.map((r) => [r.key, r.value] as const)]);
                run = await runProgram(group.stack, overrides, { secretKeys: group.secretKeys });
                base = await stackRun(group.stack);
            });
            for (const row of group.rows) {
                it(`${row.key} = ${JSON.stringify(row.value)}`, () => {
                    row.lands(run);
                    // The same check on the unmodified stack must fail: the value is not the stack's own.
                    expect(() => row.lands(base), `${row.key}: the check also holds without the value`).to.throw();
                });
            }
        });
    }
});
