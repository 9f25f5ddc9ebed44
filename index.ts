import * as pulumi from "@pulumi/pulumi";
import { Alarms } from "./components/alarms";
import { DifyCluster } from "./components/difyCluster";
import { QUEUE_METRICS } from "./components/difyCluster/queueMetrics";
import { EdgeAlb } from "./components/edgeAlb";
import { DataGuard, DataGuardArgs } from "./components/dataGuard";
import { EncryptionKey } from "./components/encryptionKey";
import { ManagedData } from "./components/managedData";
import { VpcWithEndpoints } from "./components/vpcWithEndpoints";
import { loadSettings } from "./config";
import { parseBackupVaultArn } from "./config/backup";
import { auroraMaxConnections } from "./config/capacity";
import { DATA_ITEM_NAMES, DATA_ITEMS, guardedFields } from "./config/dataAtRisk";
import { PROGRESSIVE_ROLES } from "./config/roles";
import { privateSubnetCount } from "./config/network";

// Validate everything first: a config mistake fails here, before any resource is declared.
const settings = loadSettings();
const { common } = settings;

// First: the record of what the data resources were deployed with. A change that would replace or delete data fails
// its check, and every data resource waits for it (components/dataGuard.ts).
const fields = guardedFields(settings);
const dataGuard = new DataGuard("data-guard", {
    items: Object.fromEntries(DATA_ITEM_NAMES.map((item) => [item, { what: DATA_ITEMS[item], fields: fields[item] }])) as DataGuardArgs["items"],
    acknowledged: common.acknowledgedDataLoss,
}).check;

const key = common.customerManagedKey
    ? new EncryptionKey("key", {
          description: `Dify ${common.stack}: database, cache, bucket, secrets, logs and alarm topic`,
          alias: common.prefix,
          protect: common.deletionProtection,
          dataGuard,
          copyAccounts: settings.data.backup.copyVaultArn ? [parseBackupVaultArn(settings.data.backup.copyVaultArn)!.account] : [],
      })
    : undefined;
const logs = { retentionInDays: common.logRetentionDays, kmsKeyArn: key?.keyArn };

const network = new VpcWithEndpoints("network", {
    vpc: settings.network.vpc,
    interfaceEndpoints: settings.network.interfaceEndpoints,
    createEndpoints: settings.network.createEndpoints,
    flowLogTrafficType: settings.network.flowLogTrafficType,
    logs,
    namePrefix: common.prefix,
});

const data = new ManagedData("data", {
    vpcId: network.vpcId,
    dataSubnetIds: network.dataSubnetIds,
    availabilityZones: network.availabilityZones,
    kmsKeyArn: key?.keyArn,
    protect: common.deletionProtection,
    dataGuard,
    logs,
    namePrefix: common.prefix,
    settings: settings.data,
    workspaces: {
        subnetIds: network.privateSubnetIds,
        subnetCount: privateSubnetCount(settings.network.vpc),
        plugin: settings.data.pluginWorkspace,
        agent: settings.cluster.features.agentV2,
        throughputMode: settings.data.workspaceThroughputMode,
    },
});

const edge = new EdgeAlb("edge", {
    vpcId: network.vpcId,
    subnetIds: settings.edge.internal ? network.privateSubnetIds : network.publicSubnetIds,
    edge: settings.edge,
    release: settings.cluster.images.release,
    collaboration: settings.cluster.features.collaboration,
    progressive: settings.cluster.deployment.strategy === "canary" ? PROGRESSIVE_ROLES : [],
    deletionProtection: common.deletionProtection,
    logs,
    namePrefix: common.prefix,
});

const cluster = new DifyCluster("dify", {
    namePrefix: common.prefix,
    vpcId: network.vpcId,
    vpcCidr: network.vpcCidr,
    privateSubnetIds: network.privateSubnetIds,
    vpcInterfaceEndpoints: network.interfaceEndpoints,
    kmsKeyArn: key?.keyArn,
    logs,
    edge: edge.attachment,
    database: data.database,
    cache: data.cache,
    bucket: data.bucket,
    pluginWorkspace: data.pluginWorkspace,
    agentWorkspace: data.agentWorkspace,
    settings: settings.cluster,
    protect: common.deletionProtection,
    activeHours: common.activeHours,
});

const { beat: beatServiceName, ...services } = cluster.serviceNames;
if (beatServiceName === undefined) {
    throw new Error("DifyCluster runs no beat service");
}
const alarms = new Alarms("ops", {
    namePrefix: common.prefix,
    kmsKeyArn: key?.keyArn,
    emails: settings.ops.alarmEmails,
    thresholds: settings.ops.thresholds,
    loadBalancer: {
        arnSuffix: edge.loadBalancerArnSuffix,
        targetGroupArnSuffixes: Object.fromEntries(Object.entries(edge.attachment.targetGroups).map(([role, tg]) => [role, tg!.arnSuffix])),
        alternateTargetGroupArnSuffixes: Object.fromEntries(
            Object.entries(edge.attachment.targetGroups).flatMap(([role, tg]) => (tg?.progressive ? [[role, tg.progressive.alternateArnSuffix]] : [])),
        ),
    },
    ecs: { clusterName: cluster.clusterName, clusterArn: cluster.clusterArn, containerInsights: settings.cluster.containerInsights !== "disabled", services, beatServiceName },
    database: { clusterIdentifier: data.clusterIdentifier, instanceIdentifiers: data.instanceIdentifiers, serverless: data.serverless, maxConnections: auroraMaxConnections(settings.data.database.capacity).value },
    cache: { memberClusterIds: data.cacheMemberClusterIds },
    waf: edge.webAclName ? { webAclName: edge.webAclName } : undefined,
    queues: { namespace: QUEUE_METRICS.namespace, stack: common.prefix },
    backups: settings.data.backup.enabled,
    fileSystems: [
        ...(data.pluginWorkspace ? [{ key: "plugin-workspace", fileSystemId: data.pluginWorkspace.fileSystemId, bursting: settings.data.workspaceThroughputMode === "bursting" }] : []),
        ...(data.agentWorkspace ? [{ key: "agent-workspace", fileSystemId: data.agentWorkspace.fileSystemId, bursting: settings.data.workspaceThroughputMode === "bursting" }] : []),
    ],
    pausedOutsideActiveHours: common.activeHours !== undefined,
});

export const vpcId = network.vpcId;
export const vpcCidr = network.vpcCidr;
export const availabilityZones = network.availabilityZones;
export const publicSubnetIds = network.publicSubnetIds;
export const privateSubnetIds = network.privateSubnetIds;
export const dataSubnetIds = network.dataSubnetIds;
export const endpointSecurityGroupId = network.endpointSecurityGroupId;
export const kmsKeyArn: pulumi.Output<string> | undefined = key?.keyArn;
export const databaseEndpoint = data.database.host;
export const databaseReaderEndpoint = data.database.readerHost;
export const databasePort = data.database.port;
export const databaseName = data.database.databaseName;
export const pluginDatabaseName = data.database.pluginDatabaseName;
export const databaseClusterIdentifier = data.clusterIdentifier;
export const databaseInstanceIdentifiers = pulumi.all(data.instanceIdentifiers);
/** Aurora Serverless v2 rather than provisioned instances (tools/restoreDrill.ts restores the same kind). */
export const databaseServerless = data.serverless;
export const databaseSecretArn = data.databaseSecretArn;
export const databaseSecurityGroupId = data.database.securityGroupId;
export const cachePrimaryEndpoint = data.cache.host;
export const cacheReaderEndpoint = data.cache.readerHost;
export const cachePort = data.cache.port;
export const cacheReplicationGroupId = data.replicationGroupId;
export const cacheMemberClusterIds = pulumi.all(data.cacheMemberClusterIds);
export const cacheAuthTokenSecretArn = data.cacheAuthTokenSecretArn;
export const celeryBrokerUrlSecretArn = data.celeryBrokerUrlSecretArn;
export const agentRedisUrlSecretArn = data.agentRedisUrlSecretArn;
export const cacheSecurityGroupId = data.cache.securityGroupId;
export const filesBucketName = data.bucket.name;
export const filesBucketArn = data.bucket.arn;
export const pluginWorkspaceFileSystemId: pulumi.Output<string> | undefined = data.pluginWorkspace?.fileSystemId;
export const backupVaultName: pulumi.Output<string> | undefined = data.backupVaultName;
export const agentWorkspaceFileSystemId: pulumi.Output<string> | undefined = data.agentWorkspace?.fileSystemId;
export const publicUrl = edge.publicUrl;
export const albDnsName = edge.dnsName;
export const albZoneId = edge.zoneId;
export const albSecurityGroupId = edge.securityGroupId;
export const albArnSuffix = edge.loadBalancerArnSuffix;
export const targetGroupArns = pulumi.output(edge.targetGroupArns);
/** The canary (second) target group of web and api on a stack whose deploymentStrategy is canary. */
export const alternateTargetGroupArns = pulumi.output(edge.alternateTargetGroupArns);
export const httpsListenerArn: pulumi.Output<string> | undefined = edge.httpsListenerArn;
export const certificateArn: pulumi.Output<string> | undefined = edge.certificateArn;
export const albAccessLogBucket = edge.accessLogBucketName;
export const webAclArn: pulumi.Output<string> | undefined = edge.webAclArn;
export const webAclName: pulumi.Output<string> | undefined = edge.webAclName;
export const clusterName = cluster.clusterName;
export const serviceNames = pulumi.output(cluster.serviceNames);
export const logGroupNames = pulumi.output(cluster.logGroupNames);
export const ecsExecCommand = cluster.ecsExecCommand;
export const migrationTaskDefinitionArn = cluster.migrationTaskDefinitionArn;
export const initPasswordSecretArn = cluster.initPasswordSecretArn;
export const alarmTopicArn = alarms.topicArn;
export const dashboardName = alarms.dashboardName;
