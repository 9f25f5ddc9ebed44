/**
 * A program with only DifyCluster, wired to fake contract values (no ManagedData, no EdgeAlb): proves the component
 * depends on the contracts alone, and exercises the SMTP password given as a stack secret, which a harness override
 * cannot mark secret. Run through runProgram(stack, overrides, entry).
 */
import * as pulumi from "@pulumi/pulumi";
import { DifyCluster } from "../components/difyCluster";
import { loadSettings } from "../config";

const settings = loadSettings();
const secret = (name: string) => pulumi.output(`arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:${name}-AbCdEf`);
const cluster = new DifyCluster("dify", {
    namePrefix: "dify-fx",
    protect: false,
    vpcId: "vpc-0123456789abcdef0",
    vpcCidr: "10.77.0.0/16",
    vpcInterfaceEndpoints: [],
    privateSubnetIds: ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
    logs: { retentionInDays: 7 },
    edge: {
        publicUrl: pulumi.output("https://dify.fixture.example"),
        securityGroupId: pulumi.output("sg-0a1b2c3d4e5f60718"),
        loadBalancerArnSuffix: pulumi.output("app/fx/0123456789abcdef"),
        listenerArn: pulumi.output("arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:listener/app/fx/0123456789abcdef/fedcba9876543210"),
        targetGroups: {
            web: { arn: pulumi.output("arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/fx-web/1"), arnSuffix: pulumi.output("targetgroup/fx-web/1"), deregistrationDelaySeconds: 30 },
            api: { arn: pulumi.output("arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/fx-api/2"), arnSuffix: pulumi.output("targetgroup/fx-api/2"), deregistrationDelaySeconds: 30 },
            pluginDaemon: { arn: pulumi.output("arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/fx-pd/3"), arnSuffix: pulumi.output("targetgroup/fx-pd/3"), deregistrationDelaySeconds: 30 },
            apiWebsocket: { arn: pulumi.output("arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/fx-ws/4"), arnSuffix: pulumi.output("targetgroup/fx-ws/4"), deregistrationDelaySeconds: 30 },
        },
    },
    database: {
        host: pulumi.output("fx.cluster-c1.ap-northeast-1.rds.amazonaws.com"),
        readerHost: pulumi.output("fx.cluster-ro-c1.ap-northeast-1.rds.amazonaws.com"),
        port: pulumi.output(5432),
        databaseName: "dify",
        pluginDatabaseName: "dify_plugin",
        username: { secretArn: secret("fx-db"), jsonKey: "username" },
        password: { secretArn: secret("fx-db"), jsonKey: "password" },
        securityGroupId: pulumi.output("sg-0db0db0db0db0db00"),
        clusterIdentifier: pulumi.output("dify-dev-db"),
    },
    cache: {
        host: pulumi.output("master.fx.abc123.apne1.cache.amazonaws.com"),
        readerHost: pulumi.output("replica.fx.abc123.apne1.cache.amazonaws.com"),
        port: pulumi.output(6379),
        authToken: { secretArn: secret("fx-redis-auth") },
        celeryBrokerUrl: { secretArn: secret("fx-broker") },
        agentRedisUrl: { secretArn: secret("fx-agent-redis") },
        securityGroupId: pulumi.output("sg-0cac0cac0cac0cac0"),
    },
    bucket: { name: pulumi.output("fx-files"), arn: pulumi.output("arn:aws:s3:::fx-files") },
    agentWorkspace: {
        fileSystemId: pulumi.output("fs-0a9e0a9e0a9e0a9e0"),
        fileSystemArn: pulumi.output("arn:aws:elasticfilesystem:ap-northeast-1:123456789012:file-system/fs-0a9e0a9e0a9e0a9e0"),
        accessPoints: {
            home: { id: pulumi.output("fsap-0h0h0h0h0h0h0h0h0"), arn: pulumi.output("arn:aws:elasticfilesystem:ap-northeast-1:123456789012:access-point/fsap-0h0h0h0h0h0h0h0h0") },
            workspace: { id: pulumi.output("fsap-0w0w0w0w0w0w0w0w0"), arn: pulumi.output("arn:aws:elasticfilesystem:ap-northeast-1:123456789012:access-point/fsap-0w0w0w0w0w0w0w0w0") },
        },
        securityGroupId: pulumi.output("sg-0a9e0a9e0a9e0a9e0"),
    },
    settings: settings.cluster,
});

export const clusterName = cluster.clusterName;
export const smtpConfigured = settings.cluster.smtp !== undefined;
