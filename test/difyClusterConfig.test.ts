/** Config checks of DifyCluster's keys (config/cluster.ts): every rejection names the key, the value and what is allowed. */
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { isFargateSize } from "../config/roles";
import { loadSettings } from "../config";
import { ConfigError, ConfigReader } from "../config/reader";
import { configErrorFor, loadSettingsFor, stackConfig } from "./harness";

function expectError(overrides: Record<string, unknown>, key: string, allowed: RegExp, stack: "dev" | "prd" = "dev"): void {
    const message = configErrorFor(stack, overrides);
    expect(message).to.include(`dify-aws:${key}`);
    expect(message).to.match(allowed);
}

describe("DifyCluster config: Fargate task sizes", () => {
    // The ECS developer guide's table of task CPU/memory pairs for Linux Fargate tasks.
    const AWS_TABLE: [number, number[]][] = [
        [256, [512, 1024, 2048]],
        [512, [1024, 2048, 3072, 4096]],
        [1024, [2048, 3072, 4096, 5120, 6144, 7168, 8192]],
        [2048, Array.from({ length: 13 }, (_, i) => 4096 + i * 1024)],
        [4096, Array.from({ length: 23 }, (_, i) => 8192 + i * 1024)],
        [8192, Array.from({ length: 12 }, (_, i) => 16384 + i * 4096)],
        [16384, Array.from({ length: 12 }, (_, i) => 32768 + i * 8192)],
    ];

    it("accepts exactly the pairs in AWS's table", () => {
        for (const [cpu, memories] of AWS_TABLE) {
            for (let memory = 256; memory <= 131072; memory += 256) {
                expect(isFargateSize(cpu, memory), `${cpu}/${memory}`).to.equal(memories.includes(memory));
            }
        }
        for (const cpu of [128, 384, 768, 3072, 32768]) {
            expect(isFargateSize(cpu, 4096), `cpu ${cpu}`).to.equal(false);
        }
    });

    it("rejects a pair AWS would refuse, naming the memory key and the allowed range", () => {
        expectError({ apiCpu: 1024, apiMemory: 1024 }, "apiMemory", /2048 to 8192 in steps of 1024/);
        expectError({ webCpu: 256, webMemory: 1536 }, "webMemory", /512, 1024 or 2048/);
        expectError({ pluginDaemonCpu: 8192, pluginDaemonMemory: 18432 }, "pluginDaemonMemory", /16384 to 61440 in steps of 4096/);
        expectError({ beatCpu: 256, beatMemory: 4096 }, "beatMemory", /512, 1024 or 2048/);
        expectError({ workerCpu: 1536 }, "workerCpu", /256, 512, 1024, 2048, 4096, 8192, 16384/);
    });
});

describe("DifyCluster config: task counts", () => {
    it("rejects min > max for any scaled role, and zero tasks", () => {
        for (const role of ["web", "api", "worker", "pluginDaemon", "sandbox", "ssrfProxy"]) {
            expectError({ [`${role}MinTasks`]: 5, [`${role}MaxTasks`]: 3 }, `${role}MinTasks`, /at most .*MaxTasks \(3\)/);
        }
        expectError({ apiMinTasks: 0 }, "apiMinTasks", /from 1 to/);
    });

    it("dev runs one task per role, prd at least two of web, api and plugin daemon", () => {
        const dev = loadSettingsFor("dev").settings.cluster;
        const prd = loadSettingsFor("prd").settings.cluster;
        expect(dev.roles.api.minTasks).to.equal(1);
        for (const role of ["web", "api", "pluginDaemon"] as const) {
            expect(prd.roles[role].minTasks, role).to.be.at.least(2);
        }
        expect(dev.spotRoles).to.have.members(["web", "api", "worker", "pluginDaemon", "sandbox", "ssrfProxy", "apiWebsocket", "agentBackend", "agentSsrfProxy"]);
        expect(prd.spotRoles).to.deep.equal([]);
    });
});

describe("DifyCluster config: images", () => {
    it("rejects `latest` and empty tags on every image", () => {
        for (const key of ["difyImageTag", "pluginDaemonImageTag", "sandboxImageTag"]) {
            expectError({ [key]: "latest" }, key, /never `latest`/);
            expectError({ [key]: "LATEST" }, key, /never `latest`/);
            expectError({ [key]: "" }, key, /pinned image tag/);
        }
        expectError({ ssrfProxyImage: "ubuntu/squid:latest" }, "ssrfProxyImage", /never `latest`/);
        expectError({ ssrfProxyImage: "ubuntu/squid" }, "ssrfProxyImage", /pinned tag or digest/);
        expectError({ ssrfProxyImage: "" }, "ssrfProxyImage", /pinned tag or digest/);
    });

    it("requires the -local plugin daemon and a registry prefix without scheme", () => {
        expectError({ pluginDaemonImageTag: "0.6.10-serverless" }, "pluginDaemonImageTag", /-local/);
        expectError({ imageRegistryPrefix: "https://mirror.example.com/" }, "imageRegistryPrefix", /no scheme or trailing slash/);
        const ok = loadSettingsFor("dev", { imageRegistryPrefix: "mirror.example.com:5000/hub", ssrfProxyImage: `ubuntu/squid@sha256:${"a".repeat(64)}` }).settings.cluster;
        expect(ok.images.registryPrefix).to.equal("mirror.example.com:5000/hub");
    });

    it("accepts an ECR registry only in the stack's region: the VPC endpoints and S3 gateway serve their own region", () => {
        // Both stacks run in ap-northeast-1 (aws:region); a us-east-1 registry would be unreachable for the sandbox.
        const noCache = { dockerHubPullThroughCache: false, dockerHubCredentialsSecretArn: "" };
        expectError({ ...noCache, imageRegistryPrefix: "123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-hub" }, "imageRegistryPrefix", /stack's region ap-northeast-1/, "prd");
        expectError({ imageRegistryPrefix: "123456789012.dkr.ecr.us-east-1.amazonaws.com" }, "imageRegistryPrefix", /stack's region ap-northeast-1/);
        const ok = loadSettingsFor("prd", { ...noCache, imageRegistryPrefix: "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/docker-hub" }).settings.cluster;
        expect(ok.images.registryPrefix).to.equal("123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/docker-hub");
    });
});

describe("DifyCluster config: roles, Bedrock, SMTP and extras", () => {
    it("rejects unknown Spot roles and wildcard Bedrock ARNs", () => {
        expectError({ fargateSpotRoles: ["scheduler"] }, "fargateSpotRoles", /one of web, api, worker, beat, pluginDaemon, sandbox, ssrfProxy/);
        // Two beats dispatch every schedule twice; a Spot replacement overlaps the reclaimed task.
        expectError({ fargateSpotRoles: ["worker", "beat"] }, "fargateSpotRoles", /other than beat/);
        expectError({ bedrockModelArns: ["arn:aws:bedrock:us-east-1::foundation-model/*"] }, "bedrockModelArns", /no wildcards/);
        expectError({ bedrockModelArns: ["*"] }, "bedrockModelArns", /Bedrock/);
    });

    it("needs sender, user and exactly one password source once an SMTP server is set", () => {
        const server = { smtpServer: "email-smtp.ap-northeast-1.amazonaws.com" };
        const arn = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:smtp-AbCdEf";
        expectError({ ...server, smtpUsername: "u", smtpPasswordSecretArn: arn }, "mailDefaultSendFrom", /MAIL_DEFAULT_SEND_FROM/);
        expectError({ ...server, mailDefaultSendFrom: "a@example.com", smtpPasswordSecretArn: arn }, "smtpUsername", /user name/);
        expectError({ ...server, mailDefaultSendFrom: "a@example.com", smtpUsername: "u" }, "smtpPasswordSecretArn", /exactly one of/);
        expectError({ smtpPasswordSecretArn: arn }, "smtpServer", /SMTP is meant to be on/);
        expectError({ ...server, mailDefaultSendFrom: "a@example.com", smtpUsername: "u", smtpPasswordSecretArn: "not-an-arn" }, "smtpPasswordSecretArn", /Secrets Manager secret ARN/);
        expectError({ ...server, mailDefaultSendFrom: "a@example.com", smtpUsername: "u", smtpPasswordSecretArn: arn, smtpUseTls: false, smtpOpportunisticTls: true }, "smtpOpportunisticTls", /STARTTLS/);
    });

    it("takes the SMTP password only as a stack secret, and keeps it secret", async () => {
        const overrides = { smtpServer: "smtp.example.com", smtpUsername: "u", mailDefaultSendFrom: "a@example.com", smtpPassword: "s3cr3t-pw" };
        // A plaintext value in the stack file is refused (without echoing it).
        const message = configErrorFor("dev", overrides);
        expect(message).to.include("dify-aws:smtpPassword");
        expect(message).to.not.include("s3cr3t-pw");
        // Set with --secret, it is accepted and stays a secret Output.
        const { config, secretKeys } = stackConfig("dev", overrides);
        pulumi.runtime.setAllConfig(config, [...secretKeys, "dify-aws:smtpPassword"]);
        const smtp = loadSettings(new ConfigReader(), "dev").cluster.smtp!;
        expect("value" in smtp.password).to.equal(true);
        const value = (smtp.password as { value: pulumi.Output<string> }).value;
        expect(await (value as unknown as { isSecret: Promise<boolean> }).isSecret).to.equal(true);
    });

    it("rejects malformed, reserved, secret-looking or repeated extras", () => {
        expectError({ extraEnvironment: ["api LOG_LEVEL=DEBUG"] }, "extraEnvironment", /role:NAME=value/);
        expectError({ extraEnvironment: ["scheduler:LOG_LEVEL=DEBUG"] }, "extraEnvironment", /a role of/);
        expectError({ extraEnvironment: ["api:log_level=DEBUG"] }, "extraEnvironment", /upper-case/);
        // Overriding MIGRATION_ENABLED on a service would let it race the migration gate.
        expectError({ extraEnvironment: ["api:MIGRATION_ENABLED=true"] }, "extraEnvironment", /reserved/);
        expectError({ extraEnvironment: ["api:OPENAI_API_KEY=sk-live"] }, "extraEnvironment", /extraSecrets/);
        const leak = configErrorFor("dev", { extraEnvironment: ["worker:EVENT_BUS_REDIS_URL=rediss://:hunter2@cache:6379/0"] });
        expect(leak).to.include("dify-aws:extraEnvironment").and.match(/without credentials/);
        expect(leak).to.not.include("hunter2");
        expectError({ extraEnvironment: ["api:LOG_LEVEL=DEBUG", "api:LOG_LEVEL=INFO"] }, "extraEnvironment", /at most once/);
        expectError({ extraSecrets: ["api:OPENAI_API_KEY=sk-live"] }, "extraSecrets", /Secrets Manager secret ARN .* or an SSM parameter ARN/);
        expectError({ extraSecrets: ["worker:SECRET_KEY=arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:x-AbCdEf"] }, "extraSecrets", /reserved/);
        const ok = loadSettingsFor("dev", {
            extraEnvironment: ["migration:LOG_LEVEL=DEBUG", "web:ALLOW_EMBED=true"],
            extraSecrets: ["api:NOTION_CLIENT_SECRET=arn:aws:ssm:ap-northeast-1:123456789012:parameter/dify/notion"],
        }).settings.cluster;
        expect(ok.extraEnvironment.migration).to.deep.equal({ LOG_LEVEL: "DEBUG" });
        expect(ok.extraSecrets.api?.[0]).to.include({ kind: "ssm", name: "NOTION_CLIENT_SECRET" });
    });

    it("throws ConfigError, not a generic error, for every rejection above", () => {
        expect(() => loadSettingsFor("dev", { apiCpu: 1024, apiMemory: 1024 })).to.throw(ConfigError);
    });
});
