/**
 * DifyCluster, asserted on what the whole program registers for dev and prd. Expected values come from Dify's and
 * AWS's facts (../shared/reference/dify-on-ecs.md, the issue), not from the implementation.
 */
import { expect } from "chai";
import { ProgramRun, runProgram, secretArnOf, stackRun, Stack } from "./harness";
import type { RegisteredResource } from "./mocks";

const STACKS: Stack[] = ["dev", "prd"];
const ROLES = ["web", "api", "worker", "beat", "plugin-daemon", "sandbox", "ssrf-proxy", "api-websocket", "agent-backend", "agent-sandbox", "agent-ssrf-proxy"] as const;
type Role = (typeof ROLES)[number];
const SCALED: Role[] = ["web", "api", "worker", "plugin-daemon", "sandbox", "ssrf-proxy", "agent-backend", "agent-ssrf-proxy"];
/** Roles whose service starts without tasks; their scalable targets start them (the Service Connect cycles with api). */
const STARTS_EMPTY: Role[] = ["plugin-daemon", "agent-backend"];
/** Roles that run users' code: no ECS Exec, so their task credentials open no SSM channel. */
/** No ECS Exec: the roles that run users' code, and the squid proxies, whose root file system is read-only (test/readOnlyRoot.test.ts). */
const NO_EXEC: Role[] = ["sandbox", "agent-sandbox", "ssrf-proxy", "agent-ssrf-proxy"];

interface Container {
    name: string;
    image: string;
    environment: { name: string; value: string }[];
    secrets: { name: string; valueFrom: string }[];
    portMappings?: { name: string; containerPort: number; protocol: string }[];
    healthCheck?: { command: string[]; interval: number; timeout: number; retries: number; startPeriod: number };
    stopTimeout?: number;
    entryPoint?: string[];
    command?: string[];
    mountPoints?: { containerPath: string }[];
    logConfiguration: { logDriver: string; options: Record<string, string> };
}

const inCluster = (r: RegisteredResource) => r.urn.includes("dify-aws:app:DifyCluster");
const mine = (run: ProgramRun, type: string) => run.ofType(type).filter(inCluster);

function taskDef(run: ProgramRun, family: Role | "migration"): { td: RegisteredResource; c: Container } {
    const td = mine(run, "aws:ecs/taskDefinition:TaskDefinition").find((r) => r.inputs.family === `dify-${run.stack}-${family}`);
    expect(td, `task definition ${family}`).to.not.equal(undefined);
    const containers = JSON.parse(td!.inputs.containerDefinitions) as Container[];
    // One container per role, named after it; beat also runs the queue-metrics sidecar, api the concurrency-metrics and
    // the worker the scale-in-protection
    // sidecar (test/resilience.test.ts), the sandbox a one-shot container seeding its read-only root's volumes
    // (test/readOnlyRoot.test.ts).
    const extra: Record<string, string[]> = { beat: ["queue-metrics"], api: ["concurrency-metrics"], worker: ["scale-in-protection"], sandbox: ["sandbox-seed"] };
    expect(containers.map((c) => c.name), `${family}'s containers`).to.deep.equal([family, ...(extra[family] ?? [])]);
    return { td: td!, c: containers[0] };
}
const env = (c: Container) => Object.fromEntries(c.environment.map((e) => [e.name, e.value]));
const secrets = (c: Container) => Object.fromEntries(c.secrets.map((e) => [e.name, e.valueFrom]));
const names = (c: Container) => new Set([...c.environment.map((e) => e.name), ...c.secrets.map((s) => s.name)]);

function service(run: ProgramRun, role: Role): RegisteredResource {
    const svc = mine(run, "aws:ecs/service:Service").find((r) => r.inputs.name === `dify-${run.stack}-${role}`);
    expect(svc, `service ${role}`).to.not.equal(undefined);
    return svc!;
}

// ---- expectations taken from the reference (dify-on-ecs.md §3 and the §8 checklist) ----------------------------
/** What the api process needs (§8.3-8.9): DB, Redis/Celery, S3, pgvector, URLs, internal addressing, inner keys. */
const API_REQUIRED = [
    "MODE", "MIGRATION_ENABLED", "SECRET_KEY",
    "DB_HOST", "DB_PORT", "DB_DATABASE", "DB_USERNAME", "DB_PASSWORD", "SQLALCHEMY_POOL_PRE_PING", "DB_EXTRAS",
    "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_USE_SSL", "REDIS_SSL_CERT_REQS", "CELERY_BROKER_URL",
    "STORAGE_TYPE", "S3_BUCKET_NAME", "S3_REGION", "S3_USE_AWS_MANAGED_IAM",
    "VECTOR_STORE", "PGVECTOR_HOST", "PGVECTOR_PORT", "PGVECTOR_USER", "PGVECTOR_PASSWORD", "PGVECTOR_DATABASE",
    "CONSOLE_API_URL", "CONSOLE_WEB_URL", "SERVICE_API_URL", "APP_API_URL", "APP_WEB_URL", "FILES_URL", "INTERNAL_FILES_URL",
    "TRIGGER_URL", "ENDPOINT_URL_TEMPLATE",
    "PLUGIN_DAEMON_URL", "PLUGIN_DAEMON_KEY", "INNER_API_KEY_FOR_PLUGIN", "CODE_EXECUTION_ENDPOINT", "CODE_EXECUTION_API_KEY",
    "SSRF_PROXY_HTTP_URL", "SSRF_PROXY_HTTPS_URL",
];
/** Beat loads the same application (DB, Redis, broker, SECRET_KEY) but serves nothing. */
const BEAT_REQUIRED = ["MODE", "MIGRATION_ENABLED", "SECRET_KEY", "DB_HOST", "DB_PORT", "DB_DATABASE", "DB_USERNAME", "DB_PASSWORD", "REDIS_HOST", "REDIS_PASSWORD", "REDIS_USE_SSL", "CELERY_BROKER_URL"];
/** The daemon's native names (§3.7, §8.4-8.6). */
const DAEMON_REQUIRED = [
    "SERVER_PORT", "SERVER_KEY", "DIFY_INNER_API_URL", "DIFY_INNER_API_KEY",
    "DB_HOST", "DB_PORT", "DB_USERNAME", "DB_PASSWORD", "DB_DATABASE", "DB_SSL_MODE",
    "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_USE_SSL", "REDIS_SSL_CERT_REQS",
    "PLUGIN_STORAGE_TYPE", "PLUGIN_STORAGE_OSS_BUCKET", "S3_USE_AWS", "S3_USE_AWS_MANAGED_IAM", "AWS_REGION",
];
const WEB_REQUIRED = ["HOSTNAME", "CONSOLE_API_URL", "APP_API_URL"];
const SANDBOX_REQUIRED = ["API_KEY", "HTTP_PROXY", "HTTPS_PROXY", "SANDBOX_PORT"];

/** A name that carries a credential; such values must come through `secrets`. */
// By whole words: MAX_SEGMENTATION_TOKENS_LENGTH counts tokens, it is not one.
const SECRETISH = /(^|_)(PASSWORD|SECRET|TOKEN|CREDENTIALS?|PRIVATE|AUTH)(_|$)|API_KEY|_KEY$|^KEY$|BROKER_URL/;
/** Dify's published defaults (§3.5): a deployment carrying any of them is open to anyone who read the docs. */
const PUBLIC_DEFAULTS = [
    "sk-9f73s3ljTXVcMT3Blb3ljTqtsKiGHXVcMT3BlbkFJLK7U",
    "lYkiYYT6owG+71oLerGzA7GXCgOT++6ovaezWAjpCjf+Sjc3ZtU+qUEi",
    "QaHbTe77CtuXmsfyhR7+vRjI/+XbV1AaFy691iy+kGDv2Jvy0/eAh8Y1",
    "dify-sandbox",
    "plugin-api-key",
    "inner-api-key",
    "difyai123456",
];

const stripJsonKey = secretArnOf;

/**
 * One dev run with every optional feature switched (ECS Exec off, Bedrock, Spot for web and api, an ECR pull-through
 * prefix, a bigger api, SMTP and extras), shared by the tests that need it so the suite runs the program once for all.
 */
const VARIANT = {
    bedrockModel: "arn:aws:bedrock:ap-northeast-1::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0",
    registry: "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/docker-hub",
    smtpPassword: "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:ses-smtp-AbCdEf",
    extraSecret: "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:openai-XyZ123:key::",
};
let variantRun: Promise<ProgramRun> | undefined;
function variant(): Promise<ProgramRun> {
    variantRun ??= runProgram("dev", {
        ecsExecEnabled: false,
        bedrockModelArns: [VARIANT.bedrockModel],
        fargateSpotRoles: ["web", "api", "worker"],
        imageRegistryPrefix: VARIANT.registry,
        apiCpu: 2048,
        apiMemory: 8192,
        smtpServer: "email-smtp.ap-northeast-1.amazonaws.com",
        smtpUsername: "AKIAEXAMPLE",
        smtpPasswordSecretArn: VARIANT.smtpPassword,
        mailDefaultSendFrom: "no-reply@example.com",
        extraEnvironment: ["worker:LOG_LEVEL=DEBUG", "web:ALLOW_EMBED=true"],
        extraSecrets: [`api:OPENAI_API_KEY=${VARIANT.extraSecret}`],
    });
    return variantRun;
}

for (const stack of STACKS) {
    describe(`DifyCluster (${stack})`, () => {
        let run: ProgramRun;
        before(async () => {
            run = await stackRun(stack);
        });

        it("is one dify-aws:app:DifyCluster component owning one task definition, service and log group per role", () => {
            expect(run.ofType("dify-aws:app:DifyCluster")).to.have.length(1);
            for (const role of ROLES) {
                taskDef(run, role);
                service(run, role);
            }
            taskDef(run, "migration");
            const groups = mine(run, "aws:cloudwatch/logGroup:LogGroup").map((g) => g.inputs.name);
            for (const role of [...ROLES, "migration"]) {
                expect(groups).to.include(`/ecs/dify-${stack}/${role}`);
            }
            // Every log group keeps its events for the stack's retention.
            for (const g of mine(run, "aws:cloudwatch/logGroup:LogGroup")) {
                expect(g.inputs.retentionInDays, g.inputs.name).to.equal(stack === "prd" ? 365 : 14);
            }
        });

        it("exports the cluster name, service names, log group names and an ECS Exec command for an api task", () => {
            expect(run.outputs.clusterName).to.equal(`dify-${stack}`);
            const svcNames = run.outputs.serviceNames as Record<string, string>;
            expect(Object.values(svcNames).sort()).to.deep.equal(ROLES.map((r) => `dify-${stack}-${r}`).sort());
            const logNames = Object.values(run.outputs.logGroupNames as Record<string, string>);
            expect(logNames).to.include(`/ecs/dify-${stack}/api`);
            const cmd = run.outputs.ecsExecCommand as string;
            expect(cmd).to.match(/^aws ecs execute-command /);
            expect(cmd).to.include(`--cluster dify-${stack}`);
            expect(cmd).to.include("--container api");
            expect(cmd).to.include(`--service-name dify-${stack}-api`);
        });

        it("runs Container Insights, ECS Exec audit logging, FARGATE and FARGATE_SPOT, and a Service Connect namespace", () => {
            const cluster = mine(run, "aws:ecs/cluster:Cluster")[0];
            // dev turns Container Insights off (about 200 custom metrics a month); its alarms use ECS service events.
            expect(cluster.inputs.settings).to.deep.include({ name: "containerInsights", value: stack === "prd" ? "enabled" : "disabled" });
            const exec = cluster.inputs.configuration.executeCommandConfiguration;
            expect(exec.logging).to.equal("OVERRIDE");
            expect(exec.logConfiguration.cloudWatchLogGroupName).to.equal(`/ecs/dify-${stack}/exec-audit`);
            // prd has a customer-managed key: sessions and their audit log are encrypted with it.
            expect(exec.logConfiguration.cloudWatchEncryptionEnabled).to.equal(stack === "prd");
            expect(Boolean(exec.kmsKeyId)).to.equal(stack === "prd");
            const cps = mine(run, "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders")[0];
            expect(cps.inputs.capacityProviders).to.have.members(["FARGATE", "FARGATE_SPOT"]);
            expect(mine(run, "aws:servicediscovery/httpNamespace:HttpNamespace")).to.have.length(1);
            expect(cluster.inputs.serviceConnectDefaults.namespace).to.match(/^arn:aws:servicediscovery:/);
        });

        it("pins each role's image to the issue's versions, never `latest` (prd through its ECR pull-through cache, dev from Docker Hub)", () => {
            const expected: Record<Role | "migration", RegExp> = {
                web: /^langgenius\/dify-web:1\.17\.1$/,
                api: /^langgenius\/dify-api:1\.17\.1$/,
                worker: /^langgenius\/dify-api:1\.17\.1$/,
                beat: /^langgenius\/dify-api:1\.17\.1$/,
                migration: /^langgenius\/dify-api:1\.17\.1$/,
                "plugin-daemon": /^langgenius\/dify-plugin-daemon:0\.6\.10-local$/,
                sandbox: /^langgenius\/dify-sandbox:0\.2\.15$/,
                "ssrf-proxy": /^ubuntu\/squid:[A-Za-z0-9_.-]+$/,
                "api-websocket": /^langgenius\/dify-api:1\.17\.1$/,
                // Released with Dify under the same version (PR langgenius/dify#42129 bumps them together).
                "agent-backend": /^langgenius\/dify-agent-backend:1\.17\.1$/,
                "agent-sandbox": /^langgenius\/dify-agent-local-sandbox:1\.17\.1$/,
                "agent-ssrf-proxy": /^ubuntu\/squid:[A-Za-z0-9_.-]+$/,
            };
            // prd pulls through the cache named after the stack, in its own account and region.
            const registry = stack === "prd" ? "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/dify-prd-docker-hub/" : "";
            for (const [family, re] of Object.entries(expected)) {
                const { c } = taskDef(run, family as Role);
                expect(c.image.startsWith(registry), family).to.equal(true);
                expect(c.image.slice(registry.length), family).to.match(re);
                expect(c.image, family).to.not.match(/:latest$/);
            }
        });

        it("gives every role the variables the reference lists for it, with the values Dify needs on AWS", () => {
            const publicUrl = run.outputs.publicUrl as string;
            expect(publicUrl).to.match(/^https?:\/\//);
            for (const family of ["api", "worker", "migration"] as const) {
                const { c } = taskDef(run, family);
                const e = env(c);
                expect([...names(c)], family).to.include.members(API_REQUIRED);
                for (const u of ["CONSOLE_API_URL", "CONSOLE_WEB_URL", "SERVICE_API_URL", "APP_API_URL", "APP_WEB_URL", "FILES_URL", "TRIGGER_URL"]) {
                    expect(e[u], `${family} ${u}`).to.equal(publicUrl);
                }
                expect(e.ENDPOINT_URL_TEMPLATE).to.equal(`${publicUrl}/e/{hook_id}`);
                // Internal file fetches stay inside the VPC (Service Connect name of the api).
                expect(e.INTERNAL_FILES_URL).to.equal("http://api:5001");
                expect(e.STORAGE_TYPE).to.equal("s3"); // lower case: `S3` fails validation since 1.13.3
                expect(e.S3_USE_AWS_MANAGED_IAM).to.equal("true");
                expect(e.S3_BUCKET_NAME).to.equal(run.outputs.filesBucketName);
                expect(e.VECTOR_STORE).to.equal("pgvector");
                // The api image defaults PGVECTOR_PORT to 5433; it must be the Aurora port.
                expect(e.PGVECTOR_PORT).to.equal(String(run.outputs.databasePort));
                expect(e.DB_PORT).to.equal(String(run.outputs.databasePort));
                expect(e.DB_HOST).to.equal(run.outputs.databaseEndpoint);
                expect(e.SQLALCHEMY_POOL_PRE_PING).to.equal("true");
                // TLS, fail-fast sessions and the mode's application name (libpq keywords in the URL's query).
                const extras = new URLSearchParams(e.DB_EXTRAS);
                expect(extras.get("sslmode")).to.equal("require");
                expect(extras.get("application_name")).to.equal(`dify-${family}`);
                expect(e.REDIS_HOST).to.equal(run.outputs.cachePrimaryEndpoint);
                expect(e.REDIS_USE_SSL).to.equal("true");
                expect(e.REDIS_SSL_CERT_REQS).to.equal("CERT_REQUIRED");
                expect(e.PLUGIN_DAEMON_URL).to.equal("http://plugin-daemon:5002");
                expect(e.CODE_EXECUTION_ENDPOINT).to.equal("http://sandbox:8194");
                expect(e.SSRF_PROXY_HTTP_URL).to.equal("http://ssrf-proxy:3128");
                expect(e.SSRF_PROXY_HTTPS_URL).to.equal("http://ssrf-proxy:3128");
                expect(secretArnOf(secrets(c).CELERY_BROKER_URL)).to.equal(run.outputs.celeryBrokerUrlSecretArn);
                expect(secretArnOf(secrets(c).REDIS_PASSWORD)).to.equal(run.outputs.cacheAuthTokenSecretArn);
            }
            expect(env(taskDef(run, "api").c).MODE).to.equal("api");
            expect(env(taskDef(run, "worker").c).MODE).to.equal("worker");
            expect(env(taskDef(run, "beat").c).MODE).to.equal("beat");
            expect([...names(taskDef(run, "beat").c)]).to.include.members(BEAT_REQUIRED);

            const daemon = taskDef(run, "plugin-daemon").c;
            const d = env(daemon);
            expect([...names(daemon)]).to.include.members(DAEMON_REQUIRED);
            expect(d.DB_SSL_MODE).to.equal("require"); // Aurora forces SSL; the daemon's default is disable
            expect(d.DB_DATABASE).to.equal(run.outputs.pluginDatabaseName);
            expect(d.PLUGIN_STORAGE_TYPE).to.equal("aws_s3");
            expect(d.PLUGIN_STORAGE_OSS_BUCKET).to.equal(run.outputs.filesBucketName);
            expect(d.S3_USE_AWS).to.equal("true"); // false would ignore the task role
            expect(d.S3_USE_AWS_MANAGED_IAM).to.equal("true");
            expect(d.AWS_REGION).to.equal("ap-northeast-1");
            expect(d.REDIS_USE_SSL).to.equal("true");
            // CERT_REQUIRED without REDIS_SSL_CA_CERTS stops the daemon at start; CERT_NONE would not verify.
            expect(d.REDIS_SSL_CERT_REQS).to.equal("CERT_OPTIONAL");
            expect(d.DIFY_INNER_API_URL).to.equal("http://api:5001");
            expect(d.SERVER_PORT).to.equal("5002");

            const web = taskDef(run, "web").c;
            expect([...names(web)]).to.include.members(WEB_REQUIRED);
            expect(env(web).HOSTNAME).to.equal("0.0.0.0");
            expect(env(web).CONSOLE_API_URL).to.equal(publicUrl);
            expect(env(web).APP_API_URL).to.equal(publicUrl);

            const sandbox = taskDef(run, "sandbox").c;
            expect([...names(sandbox)]).to.include.members(SANDBOX_REQUIRED);
            expect(env(sandbox).HTTP_PROXY).to.equal("http://ssrf-proxy:3128");
            expect(env(sandbox).HTTPS_PROXY).to.equal("http://ssrf-proxy:3128");
            // An empty volume over /conf hides the image's config.yaml and the sandbox panics (dify#23365).
            expect((sandbox.mountPoints ?? []).map((m) => m.containerPath)).to.not.include("/conf");
        });

        it("migrates only in the migration task: MIGRATION_ENABLED=true there and false everywhere else", () => {
            const m = env(taskDef(run, "migration").c);
            expect(m.MODE).to.equal("migration");
            expect(m.MIGRATION_ENABLED).to.equal("true");
            for (const role of ["api", "worker", "beat"] as Role[]) {
                expect(env(taskDef(run, role).c).MIGRATION_ENABLED, role).to.equal("false");
            }
            for (const role of ["web", "plugin-daemon", "sandbox", "ssrf-proxy"] as Role[]) {
                expect(env(taskDef(run, role).c).MIGRATION_ENABLED ?? "false", role).to.equal("false");
            }
        });

        it("keeps every secret out of `environment`: no secret-looking name, no secret value, no public default", () => {
            const secretValues = new Set<string>();
            for (const v of run.ofType("aws:secretsmanager/secretVersion:SecretVersion")) {
                const raw = String(v.inputs.secretString ?? "");
                secretValues.add(raw);
                try {
                    const parsed = JSON.parse(raw);
                    if (parsed && typeof parsed === "object") {
                        // JSON secrets also hold non-secret fields (host, port, engine): collect only the credentials.
                        Object.entries(parsed).forEach(([k, x]) => /pass|token|secret|key/i.test(k) && typeof x === "string" && secretValues.add(x));
                    }
                } catch {
                    // a plain-string secret
                }
            }
            expect(secretValues.size).to.be.greaterThan(2);
            for (const family of [...ROLES, "migration"] as (Role | "migration")[]) {
                const { c } = taskDef(run, family);
                for (const { name, value } of c.environment) {
                    expect(name, `${family} environment ${name}`).to.not.match(SECRETISH);
                    // No URL with credentials in its user info (a broker or database URL).
                    expect(value, `${family} ${name}`).to.not.match(/:\/\/[^/@\s]*:[^/@\s]+@/);
                    for (const s of secretValues) {
                        expect(value.includes(s), `${family} ${name} carries a secret value`).to.equal(false);
                    }
                    for (const d of PUBLIC_DEFAULTS) {
                        expect(value, `${family} ${name}`).to.not.equal(d);
                    }
                }
                for (const { valueFrom } of c.secrets) {
                    expect(valueFrom, `${family} secret reference`).to.match(/^arn:aws:(secretsmanager|ssm):/);
                }
            }
        });

        it("gates /install with a generated INIT_PASSWORD (at most Dify's 30 characters) from its own secret, given to the api only", () => {
            const generator = mine(run, "random:index/randomPassword:RandomPassword").find((g) => g.name.endsWith("-init-password"))!;
            expect(generator, "a generated INIT_PASSWORD").to.not.equal(undefined);
            expect(generator.inputs.length).to.be.within(20, 30);
            expect(generator.state.result).to.match(/^[A-Za-z0-9]+$/);
            const secret = mine(run, "aws:secretsmanager/secret:Secret").find((x) => String(x.inputs.namePrefix).includes("init-password"))!;
            const version = mine(run, "aws:secretsmanager/secretVersion:SecretVersion").find((v) => v.inputs.secretString === generator.state.result)!;
            expect(version.secretPaths).to.include("secretString");
            expect(version.dependencies).to.include(secret.urn);
            expect(secretArnOf(secrets(taskDef(run, "api").c).INIT_PASSWORD)).to.equal(run.outputs.initPasswordSecretArn);
            expect(String(run.outputs.initPasswordSecretArn)).to.match(/^arn:aws:secretsmanager:.*init-password/);
            for (const role of ["web", "worker", "beat", "plugin-daemon", "sandbox", "ssrf-proxy", "migration"] as const) {
                expect(names(taskDef(run, role).c).has("INIT_PASSWORD"), role).to.equal(false);
            }
            expect(names(taskDef(run, "api").c).has("INIT_PASSWORD") && !env(taskDef(run, "api").c).INIT_PASSWORD).to.equal(true);
        });

        it("keeps plugin installs on the configured index: no mirror auto-detection, no PIP_MIRROR_URL by default", () => {
            const daemon = env(taskDef(run, "plugin-daemon").c);
            expect(daemon.PIP_MIRROR_AUTO_DETECT).to.equal("false");
            expect(daemon).to.not.have.property("PIP_MIRROR_URL");
            expect(env(taskDef(run, "sandbox").c)).to.not.have.property("PIP_MIRROR_URL");
        });

        it("generates seven distinct inner keys, stores them in Secrets Manager, and shares each where Dify shares it", () => {
            const generators = mine(run, "random:index/randomPassword:RandomPassword").filter((g) => !g.name.endsWith("-init-password"));
            expect(generators).to.have.length(6);
            // At least as strong as `openssl rand -base64 42` (56 characters), which Dify documents for SECRET_KEY.
            generators.forEach((g) => expect(g.inputs.length).to.be.at.least(56));
            // The agent backend's server key: 32 random bytes as unpadded base64url (dify-agent's token codec), secret.
            const serverKey = mine(run, "random:index/randomId:RandomId").filter((g) => g.name === "dify-agent-server-secret-key");
            expect(serverKey.map((g) => g.inputs.byteLength)).to.deep.equal([32]);
            const version = mine(run, "aws:secretsmanager/secretVersion:SecretVersion").find((v) => String(v.inputs.secretString).includes("SECRET_KEY"))!;
            expect(version.secretPaths).to.include("secretString");
            const keys = JSON.parse(version.inputs.secretString);
            expect(Object.keys(keys).sort()).to.deep.equal([
                "AGENT_BACKEND_API_TOKEN", "AGENT_LOCAL_SANDBOX_AUTH_TOKEN", "AGENT_SERVER_SECRET_KEY", "CODE_EXECUTION_API_KEY", "INNER_API_KEY_FOR_PLUGIN", "PLUGIN_DAEMON_KEY", "SECRET_KEY",
            ]);
            expect(keys.AGENT_SERVER_SECRET_KEY).to.match(/^[A-Za-z0-9_-]{43}$/);
            for (const v of Object.values(keys) as string[]) {
                expect(PUBLIC_DEFAULTS).to.not.include(v);
            }
            const secret = mine(run, "aws:secretsmanager/secret:Secret").find((x) => String(x.inputs.namePrefix).includes("inner-keys"))!;
            expect(Boolean(secret.inputs.kmsKeyId)).to.equal(stack === "prd");

            const api = secrets(taskDef(run, "api").c);
            const refs = ["SECRET_KEY", "PLUGIN_DAEMON_KEY", "INNER_API_KEY_FOR_PLUGIN", "CODE_EXECUTION_API_KEY"].map((k) => api[k]);
            expect(new Set(refs).size, "four different references").to.equal(4);
            // Each names its JSON key and pins the version the program stored (a new value rolls every reader).
            refs.forEach((r) => expect(r).to.match(/:[A-Z_]+::[0-9a-f-]{36}$/));
            for (const role of ["worker", "beat", "migration"] as const) {
                expect(secrets(taskDef(run, role).c).SECRET_KEY, role).to.equal(api.SECRET_KEY);
            }
            expect(secrets(taskDef(run, "worker").c).INNER_API_KEY_FOR_PLUGIN).to.equal(api.INNER_API_KEY_FOR_PLUGIN);
            const daemon = secrets(taskDef(run, "plugin-daemon").c);
            expect(daemon.SERVER_KEY).to.equal(api.PLUGIN_DAEMON_KEY);
            expect(daemon.DIFY_INNER_API_KEY).to.equal(api.INNER_API_KEY_FOR_PLUGIN);
            expect(secrets(taskDef(run, "sandbox").c).API_KEY).to.equal(api.CODE_EXECUTION_API_KEY);
            // Agent v2: the token api presents is the one the backend checks; the one the backend presents, the
            // sandbox's; the backend reaches the daemon and the inner API with the api's keys.
            const agent = secrets(taskDef(run, "agent-backend").c);
            expect(agent.DIFY_AGENT_API_TOKEN).to.equal(api.AGENT_BACKEND_API_TOKEN).and.to.match(/:AGENT_BACKEND_API_TOKEN::[0-9a-f-]{36}$/);
            expect(secrets(taskDef(run, "worker").c).AGENT_BACKEND_API_TOKEN).to.equal(api.AGENT_BACKEND_API_TOKEN);
            expect(agent.DIFY_AGENT_LOCAL_SANDBOX_AUTH_TOKEN).to.equal(secrets(taskDef(run, "agent-sandbox").c).SHELLCTL_AUTH_TOKEN).and.to.match(/:AGENT_LOCAL_SANDBOX_AUTH_TOKEN::[0-9a-f-]{36}$/);
            expect(agent.DIFY_AGENT_SHELLCTL_AUTH_TOKEN).to.equal(agent.DIFY_AGENT_LOCAL_SANDBOX_AUTH_TOKEN);
            expect(agent.DIFY_AGENT_PLUGIN_DAEMON_API_KEY).to.equal(api.PLUGIN_DAEMON_KEY);
            expect(agent.DIFY_AGENT_INNER_API_KEY).to.equal(api.INNER_API_KEY_FOR_PLUGIN);
            expect(agent.DIFY_AGENT_SERVER_SECRET_KEY).to.match(/:AGENT_SERVER_SECRET_KEY::[0-9a-f-]{36}$/);
            expect(stripJsonKey(agent.DIFY_AGENT_REDIS_URL)).to.equal(run.outputs.agentRedisUrlSecretArn);
            // The database credentials are ManagedData's secret, for both the app and pgvector.
            expect(api.DB_PASSWORD).to.equal(api.PGVECTOR_PASSWORD);
            expect(stripJsonKey(api.DB_PASSWORD)).to.equal(run.outputs.databaseSecretArn);
        });

        it("exposes each port to its callers with a health check on the image's real endpoint", () => {
            const ports: Partial<Record<Role, [number, RegExp]>> = {
                web: [3000, /127\.0\.0\.1:3000\//],
                api: [5001, /127\.0\.0\.1:5001\/health\b/],
                "plugin-daemon": [5002, /127\.0\.0\.1:5002\/health\/check\b/],
                sandbox: [8194, /127\.0\.0\.1:8194\/health\b/],
                "ssrf-proxy": [3128, /127\.0\.0\.1\/3128/],
            };
            for (const [role, [port, check]] of Object.entries(ports) as [Role, [number, RegExp]][]) {
                const { c } = taskDef(run, role);
                expect(c.portMappings?.map((p) => p.containerPort), role).to.deep.equal([port]);
                expect(c.healthCheck?.command[0], role).to.equal("CMD-SHELL");
                expect(c.healthCheck?.command[1], role).to.match(check);
                // ECS limits: startPeriod 0-300 s, timeout 2-60 s and below the interval.
                expect(c.healthCheck!.startPeriod).to.be.within(0, 300);
                expect(c.healthCheck!.timeout).to.be.lessThan(c.healthCheck!.interval);
            }
            // The worker's stop timeout is Fargate's maximum so Celery's warm shutdown can finish running jobs.
            expect(taskDef(run, "worker").c.stopTimeout).to.equal(120);
            for (const role of ROLES) {
                expect(taskDef(run, role).c.stopTimeout, role).to.be.within(2, 120);
                const log = taskDef(run, role).c.logConfiguration;
                expect(log.logDriver).to.equal("awslogs");
                expect(log.options["awslogs-group"]).to.equal(`/ecs/dify-${stack}/${role}`);
            }
        });

        it("attaches web, api and plugin daemon to their target groups with a grace period covering start-up", () => {
            const tgs = run.outputs.targetGroupArns as Record<string, string>;
            const expected: [Role, string, number][] = [
                ["web", tgs.web, 3000],
                ["api", tgs.api, 5001],
                ["plugin-daemon", tgs.pluginDaemon, 5002],
            ];
            for (const [role, tg, port] of expected) {
                const svc = service(run, role);
                // prd rolls web and api out as canaries: the entry then also names their second group (test/canary.test.ts).
                const { advancedConfiguration, ...entry } = svc.inputs.loadBalancers[0];
                expect(svc.inputs.loadBalancers, role).to.have.length(1);
                expect(entry, role).to.deep.equal({ targetGroupArn: tg, containerName: role, containerPort: port });
                expect(advancedConfiguration !== undefined, role).to.equal(stack === "prd" && (role === "web" || role === "api"));
                const start = taskDef(run, role).c.healthCheck!.startPeriod;
                expect(svc.inputs.healthCheckGracePeriodSeconds, role).to.be.at.least(Math.max(60, start));
            }
            for (const role of ["worker", "beat", "sandbox", "ssrf-proxy"] as Role[]) {
                expect(service(run, role).inputs.loadBalancers ?? [], role).to.deep.equal([]);
            }
        });

        it("rolls out without dropping capacity (beat and the agent sandbox: never two at once), with circuit-breaker rollback", () => {
            for (const role of ROLES) {
                const svc = service(run, role).inputs;
                expect(svc.deploymentCircuitBreaker, role).to.deep.equal({ enable: true, rollback: true });
                expect(svc.networkConfiguration.assignPublicIp, role).to.equal(false);
                expect(svc.networkConfiguration.subnets, role).to.deep.equal(run.outputs.privateSubnetIds);
                if (role === "beat" || role === "agent-sandbox") {
                    // Stop first: the old task is gone before the new one starts.
                    expect(svc.desiredCount, role).to.equal(1);
                    expect(svc.deploymentMinimumHealthyPercent, role).to.equal(0);
                    expect(svc.deploymentMaximumPercent, role).to.equal(200 / 2);
                } else {
                    expect(svc.deploymentMinimumHealthyPercent, role).to.equal(100);
                    expect(svc.deploymentMaximumPercent, role).to.equal(200);
                }
                // Pulumi leaves the count to autoscaling, except on a single-task role of an always-on stack.
                expect(service(run, role).ignoreChanges.includes("desiredCount"), role).to.equal(SCALED.includes(role));
            }
            expect(run.outputs.privateSubnetIds as string[]).to.have.length.at.least(2);
        });

        it("changes a service's Spot strategy in place: forceNewDeployment on every service, with an explicit strategy", () => {
            // The AWS provider replaces a service whose capacityProviderStrategies change unless forceNewDeployment is
            // true, and also when the strategy goes from empty (the cluster default) to set; a replaced service with a
            // fixed name collides with itself (or is deleted first: an outage).
            for (const role of ROLES) {
                const svc = service(run, role).inputs;
                expect(svc.forceNewDeployment, role).to.equal(true);
                expect(svc.capacityProviderStrategies, role).to.be.an("array").that.is.not.empty;
            }
        });

        it("reaches the other roles by Service Connect name, on the ports Dify's compose file uses", () => {
            const published: Record<string, number> = {};
            for (const role of ROLES) {
                const sc = service(run, role).inputs.serviceConnectConfiguration;
                expect(sc.enabled, role).to.equal(true);
                for (const s of sc.services ?? []) {
                    for (const a of s.clientAlias) {
                        published[a.dnsName] = a.port;
                    }
                }
            }
            expect(published).to.deep.equal({ api: 5001, "plugin-daemon": 5002, sandbox: 8194, "ssrf-proxy": 3128, "agent-backend": 5050, "agent-sandbox": 5004, "agent-ssrf-proxy": 3128 });
        });

        it("scales every role but the single-task ones on CPU 70 % and (but squid) memory 80 % (60 s out, 300 s in), web and api also on ALB requests", () => {
            const targets = mine(run, "aws:appautoscaling/target:Target");
            expect(targets).to.have.length(SCALED.length);
            for (const single of ["beat", "api-websocket", "agent-sandbox"]) {
                expect(targets.map((t) => t.inputs.resourceId)).to.not.include(`service/dify-${stack}/dify-${stack}-${single}`);
                expect(service(run, single as Role).inputs.desiredCount, single).to.equal(1);
            }
            const policies = mine(run, "aws:appautoscaling/policy:Policy");
            for (const role of SCALED) {
                const resourceId = `service/dify-${stack}/dify-${stack}-${role}`;
                const t = targets.find((x) => x.inputs.resourceId === resourceId)!;
                expect(t, role).to.not.equal(undefined);
                expect(t.inputs.minCapacity).to.be.at.least(1);
                expect(t.inputs.maxCapacity).to.be.at.least(t.inputs.minCapacity);
                // The plugin daemon's service is created without tasks; registering its target starts them (the
                // Service Connect cycle with api, see "Service Connect: every server exists before its clients").
                expect(service(run, role).inputs.desiredCount, role).to.equal(STARTS_EMPTY.includes(role) ? 0 : t.inputs.minCapacity);
                const mineP = policies.filter((p) => p.inputs.resourceId === resourceId).map((p) => p.inputs.targetTrackingScalingPolicyConfiguration);
                const by = (m: string) => mineP.find((p) => p.predefinedMetricSpecification?.predefinedMetricType === m);
                expect(by("ECSServiceAverageCPUUtilization")?.targetValue, role).to.equal(70);
                // squid keeps no cache: its memory follows the connections its CPU serves, so it scales on CPU alone.
                expect(by("ECSServiceAverageMemoryUtilization")?.targetValue, role).to.equal(["ssrf-proxy", "agent-ssrf-proxy"].includes(role) ? undefined : 80);
                for (const p of mineP) {
                    expect(p.scaleOutCooldown).to.equal(60);
                    expect(p.scaleInCooldown).to.equal(300);
                }
                const alb = by("ALBRequestCountPerTarget");
                if ((role === "web" || role === "api") && stack === "prd") {
                    // A canary stack: the busier of the two groups' requests per target (test/canary.test.ts).
                    expect(alb, role).to.equal(undefined);
                    // (api also tracks its connections in flight, a metric of its own: test/resilience.test.ts.)
                    const alb2 = mineP.filter((p) => p.customizedMetricSpecification?.metrics?.some((m: { metricStat?: { metric: { metricName: string } } }) => m.metricStat?.metric.metricName === "RequestCountPerTarget"));
                    expect(alb2.map((p) => p.targetValue), role).to.deep.equal([1000]);
                } else if (role === "web" || role === "api") {
                    expect(alb, role).to.not.equal(undefined);
                    // ALB metric dimension: <load balancer arn suffix>/<target group arn suffix>.
                    expect(alb!.predefinedMetricSpecification.resourceLabel).to.match(/^app\/[^/]+\/[^/]+\/targetgroup\/[^/]+\/[^/]+$/);
                    expect(alb!.predefinedMetricSpecification.resourceLabel.startsWith(`${run.outputs.albArnSuffix}/`)).to.equal(true);
                } else {
                    expect(alb, role).to.equal(undefined);
                }
            }
        });

        it("gates web, api, worker and beat (the Dify version) on the migration task of the api image", () => {
            const gates = run.resources.filter((r) => r.type.endsWith(":MigrationGate") && inCluster(r));
            expect(gates.map((g) => g.name).sort()).to.deep.equal(["dify-migration", "dify-plugin-daemon-migration"]);
            const gate = gates.find((g) => g.name === "dify-migration")!;
            const migration = taskDef(run, "migration");
            expect(gate.inputs.image).to.equal(taskDef(run, "api").c.image);
            expect(gate.inputs.containerName).to.equal(migration.c.name);
            expect(gate.inputs.taskDefinitionArn).to.match(new RegExp(`task-definition/dify-${stack}-migration:`));
            // It runs with the api's security group (which reaches the database and Redis) in the private subnets.
            const apiSg = service(run, "api").inputs.networkConfiguration.securityGroups;
            expect(gate.inputs.securityGroupIds).to.deep.equal(apiSg);
            expect(gate.inputs.subnetIds).to.deep.equal(run.outputs.privateSubnetIds);
            const dbRule = mine(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").find(
                (r) => r.inputs.securityGroupId === run.outputs.databaseSecurityGroupId && r.inputs.referencedSecurityGroupId === apiSg[0],
            )!;
            expect(gate.dependencies, "the api may reach the database before the gate runs").to.include(dbRule.urn);
            // web ships with the api's tag: it must not roll to the new UI while the migration runs or after it failed.
            expect(taskDef(run, "web").c.image.split(":").pop()).to.equal(gate.inputs.image.split(":").pop());
            for (const role of ["web", "api", "worker", "beat"] as Role[]) {
                expect(service(run, role).dependencies, `${role} waits for the migration`).to.include(gate.urn);
            }
        });
    });
}

describe("DifyCluster IAM", () => {
    /** AWS actions without resource-level permissions: the only ones allowed on `*`. */
    const UNSCOPABLE = new Set(["ecr:GetAuthorizationToken", "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]);
    const policies = (run: ProgramRun) =>
        mine(run, "aws:iam/rolePolicy:RolePolicy").map((p) => ({ name: p.name, doc: JSON.parse(p.inputs.policy) as { Statement: { Action: string[]; Resource: string | string[] }[] } }));
    const list = (x: string | string[]) => (Array.isArray(x) ? x : [x]);

    for (const stack of STACKS) {
        it(`${stack}: scopes every statement to ARNs; only unscopable actions use *, and no action wildcards`, async () => {
            const run = await stackRun(stack);
            const all = policies(run);
            expect(all.length).to.be.at.least(5);
            for (const { name, doc } of all) {
                for (const st of doc.Statement) {
                    for (const a of st.Action) {
                        expect(a, `${name} action`).to.not.include("*");
                    }
                    for (const r of list(st.Resource)) {
                        if (r === "*") {
                            st.Action.forEach((a) => expect(UNSCOPABLE.has(a), `${name}: ${a} on *`).to.equal(true));
                        } else {
                            expect(r, `${name} resource`).to.match(/^arn:aws:/);
                        }
                    }
                }
            }
            // The ECS Exec channels (task roles) are the tested exception; ECR is not used with Docker Hub images.
            const star = all.flatMap(({ doc }) => doc.Statement.filter((s) => list(s.Resource).includes("*")).flatMap((s) => s.Action));
            expect(star).to.include("ssmmessages:CreateControlChannel");
        });

        it(`${stack}: the execution role has ECR permissions exactly when images come from ECR (prd's pull-through cache)`, async () => {
            const run = await stackRun(stack);
            const exec = policies(run).find((p) => p.name === "dify-execution")!;
            const ecr = exec.doc.Statement.filter((s) => s.Action.some((a) => a.startsWith("ecr:")));
            if (stack === "dev") {
                expect(taskDef(run, "api").c.image).to.match(/^langgenius\/dify-api:/);
                expect(ecr).to.deep.equal([]);
                return;
            }
            const scoped = ecr.filter((s) => !s.Action.includes("ecr:GetAuthorizationToken"));
            expect(scoped.flatMap((s) => s.Action).sort()).to.deep.equal(["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:BatchImportUpstreamImage", "ecr:CreateRepository", "ecr:GetDownloadUrlForLayer"]);
            expect([...new Set(scoped.flatMap((s) => list(s.Resource)))]).to.deep.equal(["arn:aws:ecr:ap-northeast-1:123456789012:repository/dify-prd-docker-hub/*"]);
        });

        it(`${stack}: with ECS Exec enabled, every task role but the sandboxes' and the read-only proxies' may open the SSM channels and write the audit log`, async () => {
            const run = await stackRun(stack);
            const auditLog = mine(run, "aws:cloudwatch/logGroup:LogGroup").find((g) => g.inputs.name === `/ecs/dify-${stack}/exec-audit`)!;
            expect(auditLog, "ECS Exec audit log group").to.not.equal(undefined);
            for (const role of NO_EXEC) {
                // Users' code runs there and can use the task's credentials, or the root file system is read-only
                // (ECS Exec does not support it): no SSM channel to open.
                expect(service(run, role).inputs.enableExecuteCommand, role).to.equal(false);
                const p = policies(run).find((x) => x.name === `dify-${role}-task`);
                expect((p?.doc.Statement ?? []).flatMap((s) => s.Action).filter((a) => a.startsWith("ssmmessages:") || a.startsWith("logs:")), role).to.deep.equal([]);
            }
            for (const role of ROLES.filter((r) => !NO_EXEC.includes(r))) {
                expect(service(run, role).inputs.enableExecuteCommand, role).to.equal(true);
                const p = policies(run).find((x) => x.name === `dify-${role}-task`);
                expect(p, `${role} task policy`).to.not.equal(undefined);
                const channels = p!.doc.Statement.filter((s) => s.Action.some((a) => a.startsWith("ssmmessages:")));
                // The four actions the ECS Exec agent (SSM) calls; none of them has resource-level permissions.
                expect(channels.flatMap((s) => s.Action).sort(), role).to.deep.equal([
                    "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel",
                ]);
                expect(channels.flatMap((s) => list(s.Resource)), role).to.deep.equal(["*"]);
                const audit = p!.doc.Statement.find((s) => s.Action.includes("logs:PutLogEvents"));
                expect(audit, `${role} writes the ECS Exec audit log`).to.not.equal(undefined);
                expect(list(audit!.Resource), role).to.deep.equal([`${auditLog.state.arn}:*`]);
            }
        });

        it(`${stack}: the execution role reads exactly the secrets the task definitions reference, and decrypts with the stack key`, async () => {
            const run = await stackRun(stack);
            const referenced = new Set<string>();
            for (const family of [...ROLES, "migration"] as (Role | "migration")[]) {
                taskDef(run, family).c.secrets.forEach((s) => referenced.add(stripJsonKey(s.valueFrom)));
            }
            const exec = policies(run).find((p) => p.name === "dify-execution")!;
            const readable = exec.doc.Statement.filter((s) => s.Action.includes("secretsmanager:GetSecretValue")).flatMap((s) => list(s.Resource));
            expect(new Set(readable)).to.deep.equal(referenced);
            const kms = exec.doc.Statement.filter((s) => s.Action.includes("kms:Decrypt"));
            expect(kms.length).to.equal(stack === "prd" ? 1 : 0);
            if (stack === "prd") {
                expect(list(kms[0].Resource)).to.deep.equal([run.outputs.kmsKeyArn]);
            }
            // Every task log group, and nothing else, may be written.
            const logs = exec.doc.Statement.filter((s) => s.Action.includes("logs:PutLogEvents")).flatMap((s) => list(s.Resource));
            expect(logs.every((l) => /^arn:aws:logs:[^:]+:\d{12}:log-group:\/ecs\/dify-/.test(l))).to.equal(true);
        });

        it(`${stack}: only api, worker, the websocket and plugin daemon may use the bucket: list on it, get/put/delete (and abort a multipart upload) on its objects`, async () => {
            const run = await stackRun(stack);
            const bucketArn = run.outputs.filesBucketArn as string;
            for (const role of ROLES) {
                const p = policies(run).find((x) => x.name === `dify-${role}-task`);
                const s3 = (p?.doc.Statement ?? []).filter((s) => s.Action.some((a) => a.startsWith("s3:")));
                // The websocket is the api application too (Socket.IO handlers load and save through its storage).
                if (["api", "worker", "plugin-daemon", "api-websocket"].includes(role)) {
                    const actions = s3.flatMap((s) => s.Action).sort();
                    expect(actions, role).to.deep.equal(["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:PutObject"]);
                    for (const s of s3) {
                        const want = s.Action.includes("s3:ListBucket") ? [bucketArn] : [`${bucketArn}/*`];
                        expect(list(s.Resource), role).to.deep.equal(want);
                    }
                } else {
                    expect(s3, role).to.deep.equal([]);
                }
            }
        });
    }

    it("grants ECS Exec channels only when ECS Exec is enabled", async () => {
        const run = await variant();
        const actions = policies(run).flatMap((p) => p.doc.Statement.flatMap((s) => s.Action));
        expect(actions.filter((a) => a.startsWith("ssmmessages:"))).to.deep.equal([]);
        for (const role of ROLES) {
            expect(service(run, role).inputs.enableExecuteCommand, role).to.equal(false);
        }
        expect(run.outputs.ecsExecCommand).to.match(/disabled/);
    });

    it("lets the plugin daemon (where model plugins run) invoke exactly the configured Bedrock models", async () => {
        const model = VARIANT.bedrockModel;
        const run = await variant();
        const withBedrock = policies(run).filter((p) => p.doc.Statement.some((s) => s.Action.some((a) => a.startsWith("bedrock:"))));
        expect(withBedrock.map((p) => p.name)).to.deep.equal(["dify-plugin-daemon-task"]);
        const st = withBedrock[0].doc.Statement.find((s) => s.Action.includes("bedrock:InvokeModel"))!;
        expect(list(st.Resource)).to.deep.equal([model]);
        const dev = await stackRun("dev");
        expect(policies(dev).flatMap((p) => p.doc.Statement.flatMap((s) => s.Action)).filter((a) => a.startsWith("bedrock:"))).to.deep.equal([]);
    });
});

describe("DifyCluster security groups", () => {
    for (const stack of STACKS) {
        it(`${stack}: admit exactly each role's callers, with a matching egress rule on the caller`, async () => {
            const run = await stackRun(stack);
            const label = new Map<string, string>();
            for (const role of ROLES) {
                label.set(service(run, role).inputs.networkConfiguration.securityGroups[0], role);
            }
            label.set(run.outputs.albSecurityGroupId as string, "alb");
            label.set(run.outputs.databaseSecurityGroupId as string, "db");
            label.set(run.outputs.cacheSecurityGroupId as string, "redis");
            label.set(run.one("aws:ec2/securityGroup:SecurityGroup", "data-plugin-workspace-efs").id!, "plugin-workspace");
            label.set(run.one("aws:ec2/securityGroup:SecurityGroup", "data-agent-workspace-efs").id!, "agent-workspace");
            const dbPort = Number(run.outputs.databasePort);
            const redisPort = Number(run.outputs.cachePort);
            const edge = (r: RegisteredResource, fromKey: string, toKey: string) =>
                `${label.get(r.inputs[fromKey]) ?? r.inputs[fromKey]}->${label.get(r.inputs[toKey]) ?? r.inputs[toKey]}:${r.inputs.fromPort}`;
            const ingress = mine(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
            const egress = mine(run, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").filter((r) => r.inputs.referencedSecurityGroupId);
            const inEdges = ingress.map((r) => edge(r, "referencedSecurityGroupId", "securityGroupId")).sort();
            const outEdges = egress.map((r) => edge(r, "securityGroupId", "referencedSecurityGroupId")).sort();
            const expected = [
                "alb->web:3000", "alb->api:5001", "alb->plugin-daemon:5002",
                "web->api:5001",
                "api->plugin-daemon:5002", "worker->plugin-daemon:5002", "api->sandbox:8194", "worker->sandbox:8194",
                "plugin-daemon->api:5001",
                "api->ssrf-proxy:3128", "worker->ssrf-proxy:3128", "sandbox->ssrf-proxy:3128",
                ...["api", "worker", "beat", "plugin-daemon", "api-websocket"].flatMap((r) => [`${r}->db:${dbPort}`, `${r}->redis:${redisPort}`]),
                // NFS to the shared working path (pluginDaemonSharedStorage), from the daemon only.
                "plugin-daemon->plugin-workspace:2049",
                // Collaboration: the ALB to the websocket, which reads and writes the database and Redis (above).
                "alb->api-websocket:5001",
                // Agent v2: api and worker drive runs on the backend; the backend reaches the daemon, the inner API,
                // its sandbox and Redis (DB 2); the sandbox reaches only its proxy and its workspace; the proxy only
                // the two passages back into Dify (the agent stub, signed files).
                "api->agent-backend:5050", "worker->agent-backend:5050",
                "agent-backend->plugin-daemon:5002", "agent-backend->api:5001", "agent-backend->agent-sandbox:5004", `agent-backend->redis:${redisPort}`,
                "agent-sandbox->agent-ssrf-proxy:3128", "agent-sandbox->agent-workspace:2049",
                "agent-ssrf-proxy->agent-backend:5050", "agent-ssrf-proxy->api:5001",
            ].sort();
            expect(inEdges).to.deep.equal(expected);
            expect(outEdges).to.deep.equal(expected);
            for (const r of [...ingress, ...egress]) {
                expect(r.inputs.ipProtocol).to.equal("tcp");
                expect(r.inputs.fromPort).to.equal(r.inputs.toPort);
                expect(r.inputs.description, r.name).to.be.a("string").and.not.be.empty;
                // Never an address range on ingress: only the calling role's group.
                expect(r.inputs.cidrIpv4 ?? r.inputs.cidrIpv6).to.equal(undefined);
            }
            // No security group of the cluster carries inline rules.
            for (const sg of mine(run, "aws:ec2/securityGroup:SecurityGroup")) {
                expect(sg.inputs.ingress ?? [], sg.name).to.deep.equal([]);
                expect(sg.inputs.egress ?? [], sg.name).to.deep.equal([]);
            }
            // Outbound to the internet only on 443, except the proxies, which serve users' requests on squid's Safe_ports.
            const internet = mine(run, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").filter((r) => r.inputs.cidrIpv4);
            for (const r of internet.filter((x) => !["ssrf-proxy", "agent-ssrf-proxy"].includes(label.get(x.inputs.securityGroupId)!))) {
                expect([r.inputs.fromPort, r.inputs.toPort], `${label.get(r.inputs.securityGroupId)} egress`).to.deep.equal([443, 443]);
            }
        });
    }
});

describe("DifyCluster image registry: ECR permissions and the sandbox's way out", () => {
    const ECR_PULL = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];
    type St = { Action: string[]; Resource: string | string[] };
    const execStatements = (run: ProgramRun) => JSON.parse(mine(run, "aws:iam/rolePolicy:RolePolicy").find((p) => p.name === "dify-execution")!.inputs.policy).Statement as St[];
    const list = (x: string | string[]) => (Array.isArray(x) ? x : [x]);
    const sandboxEgress = (run: ProgramRun) => {
        const sg = service(run, "sandbox").inputs.networkConfiguration.securityGroups[0];
        return mine(run, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").filter((r) => r.inputs.securityGroupId === sg && !r.inputs.referencedSecurityGroupId);
    };

    it("an ECR pull-through prefix: GetAuthorizationToken (unscopable) and the pull actions on that prefix's repositories only", async () => {
        const st = execStatements(await variant());
        const ecr = st.filter((x) => x.Action.some((a) => a.startsWith("ecr:")));
        expect(ecr.filter((x) => x.Action.includes("ecr:GetAuthorizationToken")).map((x) => [x.Action, x.Resource])).to.deep.equal([[["ecr:GetAuthorizationToken"], "*"]]);
        const pull = ecr.filter((x) => x.Action.some((a) => ECR_PULL.includes(a)));
        expect(pull.flatMap((x) => x.Action).sort()).to.deep.equal(ECR_PULL);
        expect(pull.flatMap((x) => list(x.Resource))).to.deep.equal(["arn:aws:ecr:ap-northeast-1:123456789012:repository/docker-hub/*"]);
    });

    it("an ECR registry root (a plain mirror): the pull actions on exactly the images' repositories, no cache import", async () => {
        const run = await runProgram("prd", { imageRegistryPrefix: "210987654321.dkr.ecr.ap-northeast-1.amazonaws.com", dockerHubPullThroughCache: false, dockerHubCredentialsSecretArn: "" });
        const st = execStatements(run);
        const repoOf = (image: string) => image.replace(/^[^/]+\//, "").replace(/:[^/]+$/, "");
        const images = [...ROLES, "migration"].map((f) => taskDef(run, f as Role | "migration").c.image);
        expect(images.every((i) => i.startsWith("210987654321.dkr.ecr.ap-northeast-1.amazonaws.com/"))).to.equal(true);
        const expected = [...new Set(images.map(repoOf))].map((r) => `arn:aws:ecr:ap-northeast-1:210987654321:repository/${r}`).sort();
        expect(expected).to.include("arn:aws:ecr:ap-northeast-1:210987654321:repository/langgenius/dify-api");
        expect(expected).to.include("arn:aws:ecr:ap-northeast-1:210987654321:repository/ubuntu/squid");
        const pull = st.filter((x) => x.Action.includes("ecr:BatchGetImage"));
        expect(pull.flatMap((x) => list(x.Resource)).sort()).to.deep.equal(expected);
        expect(st.flatMap((x) => x.Action)).to.not.include("ecr:BatchImportUpstreamImage");
        // The sandbox pulls through the endpoints here too.
        expect(sandboxEgress(run).map((r) => r.inputs.cidrIpv4)).to.not.include("0.0.0.0/0");
    });

    it("prd (ECR pull-through cache, with the ECR, Secrets Manager and Logs endpoints): the sandbox reaches only the VPC endpoints and the S3 gateway prefix list on 443, never the internet", async () => {
        const run = await stackRun("prd");
        expect(run.ofType("aws:ec2/vpcEndpoint:VpcEndpoint").map((e) => String(e.inputs.serviceName).split(".").slice(3).join(".")).sort()).to.include.members(["ecr.api", "ecr.dkr", "logs", "secretsmanager"]);
        const rules = sandboxEgress(run);
        for (const r of rules) {
            expect([r.inputs.ipProtocol, r.inputs.fromPort, r.inputs.toPort], r.name).to.deep.equal(["tcp", 443, 443]);
            expect(r.inputs.description, r.name).to.be.a("string").and.not.be.empty;
        }
        expect(rules.map((r) => r.inputs.cidrIpv4 ?? r.inputs.prefixListId).sort()).to.deep.equal([run.outputs.vpcCidr, "pl-61a54008"].sort());
        // The prefix list is the region's S3 one (ECR serves image layers from S3).
        const lookup = run.invokes.find((i) => i.token === "aws:ec2/getPrefixList:getPrefixList");
        expect(lookup?.inputs.name).to.equal("com.amazonaws.ap-northeast-1.s3");
        // The sandbox still reaches the SSRF proxy, the one path for its users' HTTP.
        const proxySg = service(run, "ssrf-proxy").inputs.networkConfiguration.securityGroups[0];
        const sandboxSg = service(run, "sandbox").inputs.networkConfiguration.securityGroups[0];
        expect(mine(run, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").some((r) => r.inputs.securityGroupId === sandboxSg && r.inputs.referencedSecurityGroupId === proxySg)).to.equal(true);
        // Roles that need the internet keep it.
        const daemonSg = service(run, "plugin-daemon").inputs.networkConfiguration.securityGroups[0];
        expect(mine(run, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").some((r) => r.inputs.securityGroupId === daemonSg && r.inputs.cidrIpv4 === "0.0.0.0/0")).to.equal(true);
    });

    for (const [what, run] of [
        ["dev (Docker Hub)", () => stackRun("dev")],
        ["an ECR mirror in a VPC without interface endpoints (pulls and secrets go through the NAT)", () => variant()],
    ] as const) {
        it(`${what}: the sandbox keeps 443 to the internet (Fargate pulls through the task's ENI), nothing else`, async () => {
            const rules = sandboxEgress(await run());
            expect(rules.map((r) => [r.inputs.cidrIpv4, r.inputs.fromPort, r.inputs.toPort])).to.deep.equal([["0.0.0.0/0", 443, 443]]);
            expect(rules.some((r) => r.inputs.prefixListId)).to.equal(false);
        });
    }
});

/** squid.conf as squid reads it: ACLs by name (values of every line with that name) and the http_access rules in order. */
function parseSquidConf(conf: string) {
    const acls = new Map<string, { type: string; values: string[] }>();
    const access: { action: "allow" | "deny"; acls: string[] }[] = [];
    const directives = new Map<string, string>();
    for (const raw of conf.split("\n")) {
        const line = raw.replace(/#.*$/, "").trim();
        if (line === "") continue;
        const [word, ...rest] = line.split(/\s+/);
        if (word === "acl") {
            const [name, type, ...values] = rest;
            const acl = acls.get(name) ?? { type, values: [] };
            expect(acl.type, `acl ${name} keeps one type`).to.equal(type);
            acl.values.push(...values);
            acls.set(name, acl);
        } else if (word === "http_access") {
            access.push({ action: rest[0] as "allow" | "deny", acls: rest.slice(1) });
        } else {
            directives.set(word, rest.join(" "));
        }
    }
    return { acls, access, directives };
}

describe("DifyCluster SSRF proxy", () => {
    let conf: ReturnType<typeof parseSquidConf>;
    let run: ProgramRun;
    let c: Container;
    before(async () => {
        run = await stackRun("prd");
        c = taskDef(run, "ssrf-proxy").c;
        conf = parseSquidConf(env(c).SQUID_CONF);
    });
    /** The index of the first rule that matches on every one of `acls` (negations spelled `!name`). */
    const ruleIndex = (action: "allow" | "deny", acls: string[]) => conf.access.findIndex((r) => r.action === action && acls.every((a) => r.acls.includes(a)) && r.acls.length === acls.length);
    const firstAllow = () => conf.access.findIndex((r) => r.action === "allow");

    it("buffers request bodies up to 100 MB as upstream (squid's 512 KB default breaks uploads over ~1 MB, dify #14161)", () => {
        expect(conf.directives.get("client_request_buffer_max_size")).to.equal("100 MB");
    });

    it("allows upstream's Safe_ports only, and CONNECT only to 443, before anything is allowed", () => {
        const safe = [...conf.acls].find(([, a]) => a.type === "port" && a.values.includes("1025-65535"));
        expect(safe, "a Safe_ports ACL").to.not.equal(undefined);
        expect(safe![1].values.sort()).to.deep.equal(["80", "21", "443", "70", "210", "1025-65535", "280", "488", "591", "777"].sort());
        const notSafe = ruleIndex("deny", [`!${safe![0]}`]);
        expect(notSafe, "deny !Safe_ports").to.be.within(0, firstAllow());
        const connect = [...conf.acls].find(([, a]) => a.type === "method" && a.values.includes("CONNECT"))![0];
        const sslPorts = conf.access.find((r) => r.action === "deny" && r.acls[0] === connect && r.acls[1]?.startsWith("!"))!;
        expect(sslPorts, "deny CONNECT !SSL_ports").to.not.equal(undefined);
        expect(conf.acls.get(sslPorts.acls[1].slice(1))!.values).to.deep.equal(["443"]);
        expect(conf.access.indexOf(sslPorts)).to.be.lessThan(firstAllow());
    });

    it("denies the cache manager outright", () => {
        expect(ruleIndex("deny", ["manager"])).to.be.within(0, firstAllow());
        expect(conf.access.some((r) => r.action === "allow" && r.acls.includes("manager"))).to.equal(false);
    });

    it("denies link-local (ECS credentials), loopback, RFC 1918, CGN, multicast, reserved, IPv6 special ranges and the VPC before the only allow", () => {
        const deniedDst = conf.access
            .filter((r, i) => r.action === "deny" && r.acls.length === 1 && i < firstAllow())
            .flatMap((r) => (conf.acls.get(r.acls[0])?.type === "dst" ? conf.acls.get(r.acls[0])!.values : []));
        const upstream = ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4", "::/128", "::ffff:0:0/96", "::/96", "fc00::/7", "fe80::/10"];
        for (const range of [...upstream, "::1", run.outputs.vpcCidr as string]) {
            expect(deniedDst, range).to.include(range);
        }
        expect(conf.access[conf.access.length - 1]).to.deep.equal({ action: "deny", acls: ["all"] });
        // Only clients in the VPC, or the Service Connect proxy in the squid task itself (loopback), are served.
        const allows = conf.access.filter((r) => r.action === "allow");
        expect(allows).to.have.length(1);
        expect(conf.acls.get(allows[0].acls[0])).to.deep.equal({ type: "src", values: [run.outputs.vpcCidr as string, "127.0.0.1/32", "::1"] });
    });

    it("lets the proxy's security group out on exactly those ports", () => {
        const proxySg = service(run, "ssrf-proxy").inputs.networkConfiguration.securityGroups[0];
        const out = mine(run, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").filter((r) => r.inputs.securityGroupId === proxySg && r.inputs.cidrIpv4 === "0.0.0.0/0");
        const ports = out.map((r) => (r.inputs.fromPort === r.inputs.toPort ? String(r.inputs.fromPort) : `${r.inputs.fromPort}-${r.inputs.toPort}`));
        const safe = [...conf.acls].find(([, a]) => a.type === "port" && a.values.includes("1025-65535"))![1].values;
        expect(ports.sort()).to.deep.equal([...safe].sort());
        expect(out.every((r) => r.inputs.ipProtocol === "tcp")).to.equal(true);
    });

    it("is delivered without a custom image: the container command writes the value to squid.conf and runs squid", () => {
        expect(c.command?.join(" ")).to.include("$SQUID_CONF");
        expect(c.command?.join(" ")).to.match(/exec squid .*-N/);
        // prd pulls the stock image through its ECR pull-through cache.
        expect(c.image).to.match(/\/dify-prd-docker-hub\/ubuntu\/squid:/);
    });
});

describe("DifyCluster by configuration", () => {
    it("dev runs every role but beat and the agent sandbox on Spot with no on-demand base; those never; prd stays on demand; the base is web's and api's", async () => {
        const dev = await stackRun("dev");
        const spot = (run: ProgramRun, role: Role) => (service(run, role).inputs.capacityProviderStrategies as { capacityProvider: string; base: number; weight: number }[]);
        const onSpot = (run: ProgramRun, role: Role) => spot(run, role).some((s) => s.capacityProvider === "FARGATE_SPOT" && s.weight > 0);
        for (const role of ROLES) {
            expect(onSpot(dev, role), role).to.equal(role !== "beat" && role !== "agent-sandbox");
            expect(spot(dev, role).find((s) => s.capacityProvider === "FARGATE")!.base, `${role} on-demand base`).to.equal(0);
        }
        const prd = await stackRun("prd");
        for (const role of ROLES) {
            expect(spot(prd, role).every((s) => s.capacityProvider === "FARGATE"), role).to.equal(true);
        }
        // fargateSpotOnDemandBase keeps that many web and api tasks on demand, and only theirs.
        const based = await runProgram("dev", { fargateSpotOnDemandBase: 2 });
        for (const role of ROLES.filter((r) => r !== "beat" && r !== "agent-sandbox")) {
            expect(spot(based, role).find((s) => s.capacityProvider === "FARGATE")!.base, role).to.equal(role === "web" || role === "api" ? 2 : 0);
        }
    });

    it("prd runs at least two tasks of web, api and plugin daemon (autoscaling's minimum, which it enforces)", async () => {
        const prd = await stackRun("prd");
        for (const role of ["web", "api", "plugin-daemon"] as Role[]) {
            const target = mine(prd, "aws:appautoscaling/target:Target").find((t) => t.inputs.resourceId === `service/dify-prd/dify-prd-${role}`)!;
            expect(target.inputs.minCapacity, role).to.be.at.least(2);
        }
    });

    it("sizes tasks from config and prefixes every image with the registry mirror (an ECR pull-through cache)", async () => {
        const run = await variant();
        for (const family of [...ROLES, "migration"] as (Role | "migration")[]) {
            expect(taskDef(run, family).c.image, family).to.match(/^123456789012\.dkr\.ecr\.ap-northeast-1\.amazonaws\.com\/docker-hub\/(langgenius|ubuntu)\//);
        }
        const api = taskDef(run, "api").td.inputs;
        expect([api.cpu, api.memory]).to.deep.equal(["2048", "8192"]);
        const gate = run.resources.find((r) => r.type.endsWith(":MigrationGate"))!;
        expect(gate.inputs.image).to.equal(taskDef(run, "api").c.image);
        // A pull-through cache creates its repositories on first pull: the execution role may, under that path only.
        const exec = JSON.parse(mine(run, "aws:iam/rolePolicy:RolePolicy").find((p) => p.name === "dify-execution")!.inputs.policy);
        const create = exec.Statement.find((st: { Action: string[] }) => st.Action.includes("ecr:BatchImportUpstreamImage"));
        expect(create.Resource).to.deep.equal(["arn:aws:ecr:ap-northeast-1:123456789012:repository/docker-hub/*"]);
        const dev = JSON.parse(mine(await stackRun("dev"), "aws:iam/rolePolicy:RolePolicy").find((p) => p.name === "dify-execution")!.inputs.policy);
        expect(dev.Statement.flatMap((st: { Action: string[] }) => st.Action)).to.not.include("ecr:BatchImportUpstreamImage");
    });

    it("adds SMTP (password from the given secret) to api and worker only, and extra env/secrets to the named role", async () => {
        const pw = VARIANT.smtpPassword;
        const extra = VARIANT.extraSecret;
        const run = await variant();
        for (const role of ["api", "worker"] as Role[]) {
            const c = taskDef(run, role).c;
            expect(env(c).MAIL_TYPE, role).to.equal("smtp");
            expect(env(c).SMTP_SERVER).to.equal("email-smtp.ap-northeast-1.amazonaws.com");
            expect(secrets(c).SMTP_PASSWORD).to.equal(pw);
            expect(env(c)).to.not.have.property("SMTP_PASSWORD");
        }
        expect(env(taskDef(run, "beat").c)).to.not.have.property("MAIL_TYPE");
        expect(env(taskDef(run, "worker").c).LOG_LEVEL).to.equal("DEBUG");
        expect(env(taskDef(run, "web").c).ALLOW_EMBED).to.equal("true");
        expect(secrets(taskDef(run, "api").c).OPENAI_API_KEY).to.equal(extra);
        // The migration task runs the api application and gets the api's extras.
        expect(secrets(taskDef(run, "migration").c).OPENAI_API_KEY).to.equal(extra);
        expect(secrets(taskDef(run, "worker").c)).to.not.have.property("OPENAI_API_KEY");
        const exec = mine(run, "aws:iam/rolePolicy:RolePolicy").find((p) => p.name === "dify-execution")!;
        const readable = JSON.parse(exec.inputs.policy).Statement.filter((s: { Action: string[] }) => s.Action.includes("secretsmanager:GetSecretValue"))[0].Resource;
        expect(readable).to.include(pw);
        expect(readable).to.include(stripJsonKey(extra));
    });
});
