import * as pulumi from "@pulumi/pulumi";
import { loadProcessSettings, ProcessSettings } from "./capacity";
import { describeFargateMemory, DIFY_ROLES, DifyFeature, DifyRole, ENV_TARGETS, EnvTarget, FARGATE_CPU_UNITS, FEATURE_ROLES, isFargateSize, RoleSize, SCALED_ROLES, ScaledRole, ScaledRoleSettings, SINGLE_ROLES, SingleRole } from "./roles";
import { DIFY_RELEASES, HOW_TO_ADD_A_RELEASE, releaseImages } from "./upstream/releases";
import type { UpstreamRelease } from "./upstream/types";
import { parseCidr } from "./cidr";
import { ConfigReader } from "./reader";
import { optionalStackSecret } from "./secrets";
import { isSecretLookingName, isUrlWithPassword } from "./secretNames";

export interface ImageSettings {
    /** Tag of langgenius/dify-api and langgenius/dify-web (they are released together), e.g. `1.17.1`. */
    difyTag: string;
    /** The release's parity table (config/upstream): what upstream runs and sets at difyTag. */
    release: UpstreamRelease;
    /** Tag of langgenius/dify-plugin-daemon; always a `-local` variant, the one the release pins. */
    pluginDaemonTag: string;
    /** Tag of langgenius/dify-sandbox, the one the release pins. */
    sandboxTag: string;
    /** Tag of langgenius/dify-agent-backend and langgenius/dify-agent-local-sandbox, the one the release pins. */
    agentTag: string;
    /** Full reference of the squid image for the SSRF proxy, e.g. `ubuntu/squid:6.6-24.04_beta`. */
    ssrfProxyImage: string;
    /**
     * Prepended (with a `/`) to every image reference: an ECR pull-through cache or a registry mirror for closed
     * networks, e.g. `123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/docker-hub`. Undefined pulls from Docker Hub
     * (or from the pull-through cache below).
     */
    registryPrefix?: string;
    /**
     * How images come from Docker Hub when no registryPrefix is given. Docker Hub rate-limits anonymous pulls per IP,
     * and every task pulls through the stack's NAT IPs.
     * - `pullThroughCache`: the program creates an ECR pull-through cache rule for Docker Hub, authenticated with
     *   `credentialsSecretArn` (a secret named `ecr-pullthroughcache/...` holding `{"username","accessToken"}`), and
     *   pulls every image from ECR in the stack's region.
     * - else with `credentialsSecretArn` (a secret holding `{"username","password"}`): authenticated pulls from Docker
     *   Hub (ECS repositoryCredentials).
     * - else anonymous pulls (the program warns).
     */
    dockerHub: { pullThroughCache: boolean; credentialsSecretArn?: string };
}

/** One model-server destination of the plugin daemon (`modelEndpointEgress` item `<port>[-<port>]@<cidr or pl-id>`). */
export interface ModelEndpointEgress {
    /** The item as written in config. */
    raw: string;
    fromPort: number;
    toPort: number;
    /** An IPv4 or IPv6 CIDR, or a managed prefix list id (pl-...). */
    destination: { cidr: string; version: 4 | 6 } | { prefixListId: string };
}

export interface SmtpSettings {
    server: string;
    port: number;
    /**
     * How mail leaves: `endpoint` through SES's SMTP interface endpoint in the VPC (server email-smtp.<stack region>
     * .amazonaws.com with `email-smtp` among interfaceEndpoints; private DNS answers the endpoint's addresses), else
     * `internet` through the NAT. Set by the cross-section check (config/index.ts).
     */
    route: "endpoint" | "internet";
    username: string;
    /** The password: an existing Secrets Manager secret (ARN) or a stack secret that the component stores. */
    password: { secretArn: string } | { value: pulumi.Output<string> };
    defaultSendFrom: string;
    /** Implicit TLS (465) when true and opportunisticTls false; STARTTLS (587) when both are true. */
    useTls: boolean;
    opportunisticTls: boolean;
}

/** A user-provided secret injected into one role: Secrets Manager (optionally one JSON key) or SSM parameter ARN. */
export interface ExtraSecret {
    name: string;
    /** The ECS `valueFrom`, as given. */
    valueFrom: string;
    /** The secret or parameter ARN the execution role must be able to read (valueFrom without a JSON-key suffix). */
    resourceArn: string;
    kind: "secretsmanager" | "ssm";
}

/** The CPU architecture of a task (RuntimePlatform.cpuArchitecture). */
export type CpuArchitecture = "ARM64" | "X86_64";
export const CPU_ARCHITECTURES: readonly CpuArchitecture[] = ["ARM64", "X86_64"];

/**
 * Images whose upstream build publishes linux/arm64 under the same tag (a multi-arch manifest), checked in each
 * project's build workflow at the pinned versions:
 * - langgenius/dify-api, langgenius/dify-web: .github/workflows/build-push.yml builds linux/amd64 and linux/arm64 (on
 *   an arm64 runner) and merges them with `docker buildx imagetools create`;
 * - langgenius/dify-plugin-daemon (`-local`): build-push.yml builds `<tag>-local-linux-amd64` and
 *   `<tag>-local-linux-arm64` and `docker manifest create`s `<tag>-local` from both (0.6.10);
 * - langgenius/dify-sandbox: build-universal.yml builds amd64 and arm64 and creates the `<tag>` manifest from both
 *   (0.2.15); its arm64 seccomp list allows fstatat only with network enabled, which ENABLE_NETWORK=true is.
 * Not ubuntu/squid 6.6-24.04_beta: it was built from Canonical's legacy repository, whose build definition could not be
 * read, so the SSRF proxy stays on X86_64 whatever cpuArchitecture says.
 */
export const ARM64_IMAGES: readonly string[] = ["langgenius/dify-api", "langgenius/dify-web", "langgenius/dify-plugin-daemon", "langgenius/dify-sandbox"];

/** The smallest plugin-daemon task memory (MiB) accepted. */
export const PLUGIN_DAEMON_MIN_MEMORY = 2048;

/** Container Insights on the cluster (the ECS cluster setting `containerInsights`). */
export type ContainerInsights = "enhanced" | "enabled" | "disabled";
export const CONTAINER_INSIGHTS_MODES: readonly ContainerInsights[] = ["enhanced", "enabled", "disabled"];

export interface ClusterSettings {
    images: ImageSettings;
    /**
     * Each role's task CPU architecture: cpuArchitecture where the role's image publishes it (ARM64_IMAGES), else
     * X86_64. The migration task takes the api's.
     */
    architectures: Record<DifyRole, CpuArchitecture>;
    /**
     * Container Insights: `enabled` (per-service and per-task-family metrics, billed as custom metrics), `enhanced`
     * (adds task- and container-level metrics) or `disabled` (then the alarms use ECS service events instead of
     * running-task counts).
     */
    containerInsights: ContainerInsights;
    /** On-demand tasks web and api keep under their Spot tasks when they may run on Spot. */
    spotOnDemandBase: number;
    /** Size and task counts of every scaled role. */
    roles: Record<ScaledRole, ScaledRoleSettings>;
    /** Size of each role that runs exactly one task (beat, the collaboration websocket, the agent sandbox). */
    singles: Record<SingleRole, RoleSize>;
    /** The Dify features that are on (Agent v2, collaboration mode); their roles run only then. */
    features: Record<DifyFeature, boolean>;
    /** The roles that run: every role but those of a feature that is off. */
    enabledRoles: DifyRole[];
    /** gunicorn workers and connections, Celery concurrency and the database pools, resolved (config/capacity.ts). */
    processes: ProcessSettings;
    /** Roles allowed to run on FARGATE_SPOT (web and api always keep one on-demand task as base). */
    spotRoles: DifyRole[];
    /** ECS Exec on every service, with session audit logs in CloudWatch; adds the SSM permissions to task roles. */
    ecsExecEnabled: boolean;
    /** Bedrock model / inference-profile ARNs the plugin daemon (where model-provider plugins run) may invoke. */
    bedrockModelArns: string[];
    /** ALB requests per target per minute that web and api scale out at. */
    albRequestsPerTarget: number;
    /** Seconds an app run may take (APP_MAX_EXECUTION_TIME); the ALB's idle timeout covers it (config/index.ts). */
    appMaxExecutionTimeSeconds: number;
    /**
     * Before each new version migrates: a manual Aurora cluster snapshot named for it (`snapshot`), of which the newest
     * `snapshotsKept` are kept. A stack that protects its data must take it (config/index.ts).
     */
    migration: { snapshot: boolean; snapshotsKept: number };
    /**
     * How web and api roll out (PROGRESSIVE_ROLES): `rolling` (ECS rolling update, circuit breaker) or `canary` (ECS
     * native canary: `canaryPercent` of the traffic to the new tasks for `canaryBakeMinutes`, then all of it, the old
     * tasks kept `bakeMinutes` more; a deployment alarm in ALARM rolls back). Every other role always rolls.
     */
    deployment: { strategy: "rolling" | "canary"; canaryPercent: number; canaryBakeMinutes: number; bakeMinutes: number };
    smtp?: SmtpSettings;
    /**
     * Model servers the plugin daemon (where model-provider plugins run) reaches besides HTTPS: a self-hosted Ollama
     * (11434) or vLLM (8000) in a peered VPC, on premises or on the internet, by port range and CIDR or prefix list.
     */
    modelEndpointEgress: ModelEndpointEgress[];
    /** Extra plain environment per role (never secret-looking names; those go to extraSecrets). */
    extraEnvironment: Partial<Record<EnvTarget, Record<string, string>>>;
    /** Extra secrets per role. */
    extraSecrets: Partial<Record<EnvTarget, ExtraSecret[]>>;
    /**
     * A PyPI-compatible index (PIP_MIRROR_URL) for the plugin daemon's plugin installs and the sandbox's code-node
     * dependencies; undefined means pypi.org. The daemon's own mirror probing is always off.
     */
    pipMirrorUrl?: string;
}

/**
 * Names the component sets itself and config may not override: the mode switches that gate migrations, and every
 * value that arrives through `secrets`. Overriding MIGRATION_ENABLED on a service would race the migration gate.
 */
export const RESERVED_ENV_NAMES = [
    "MODE",
    "MIGRATION_ENABLED",
    "SECRET_KEY",
    "DB_USERNAME",
    "DB_PASSWORD",
    "PGVECTOR_USER",
    "PGVECTOR_PASSWORD",
    "REDIS_PASSWORD",
    "CELERY_BROKER_URL",
    "PLUGIN_DAEMON_KEY",
    "INNER_API_KEY_FOR_PLUGIN",
    "CODE_EXECUTION_API_KEY",
    "SERVER_KEY",
    "DIFY_INNER_API_KEY",
    "API_KEY",
    "SMTP_PASSWORD",
    "SQUID_CONF",
    "INIT_PASSWORD",
    // The package index is the pipMirrorUrl key's, and the daemon never picks one itself.
    "PIP_MIRROR_URL",
    "PIP_MIRROR_AUTO_DETECT",
    // Process and pool sizes come from the capacity keys (config/capacity.ts), which the connection check counts;
    // CELERY_WORKER_CONCURRENCY and CELERY_AUTO_SCALE would override CELERY_WORKER_AMOUNT in the entrypoint, and the
    // model assumes the gevent classes (the only ones Dify's psycopg and gRPC patches support).
    "SERVER_WORKER_AMOUNT",
    "SERVER_WORKER_CONNECTIONS",
    "SERVER_WORKER_CLASS",
    "CELERY_WORKER_AMOUNT",
    "CELERY_WORKER_CONCURRENCY",
    "CELERY_AUTO_SCALE",
    "CELERY_MAX_WORKERS",
    "CELERY_MIN_WORKERS",
    "CELERY_WORKER_CLASS",
    "CELERY_WORKER_POOL",
    "SQLALCHEMY_POOL_SIZE",
    "SQLALCHEMY_MAX_OVERFLOW",
    "PGVECTOR_MAX_CONNECTION",
    "DB_MAX_OPEN_CONNS",
    "DB_MAX_IDLE_CONNS",
];


const DOCKER_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const TAG_ALLOWED = "a pinned image tag (letters, digits, _ . -; up to 128 characters), never `latest`: a moving tag redeploys whatever was pushed last";
// An image reference with a pinned tag or digest: [registry/]repository(:tag|@sha256:digest).
const IMAGE_REF = /^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$/;
// A registry host (with optional port) and optional path, no scheme, no trailing slash.
const REGISTRY_PREFIX = {
    regex: /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/,
    allowed: "a registry host with an optional path and no scheme or trailing slash, e.g. 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/docker-hub",
};
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
const SECRETS_MANAGER_ARN = /^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+)(:[^:]+::)?$/;
const SSM_PARAMETER_ARN = /^arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter\/[A-Za-z0-9/_.-]+$/;
const BEDROCK_ARN = {
    regex: /^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:(\d{12})?:(foundation-model|inference-profile|application-inference-profile|provisioned-model|custom-model)\/[A-Za-z0-9.:/_-]+$/,
    allowed: "a Bedrock foundation-model, inference-profile or provisioned/custom model ARN (no wildcards)",
};
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$|^[^<>]+<[^@\s]+@[^@\s]+\.[^@\s]+>$/;
const PACKAGE_INDEX_URL = {
    regex: /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~%/-]*)?$/,
    allowed: "the http(s) URL of a PyPI-compatible simple index, without credentials, e.g. https://pypi.internal.example.com/simple/",
};
const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;

function imageTag(r: ConfigReader, key: string, extra?: { regex: RegExp; allowed: string }): string {
    const value = r.string(key, { regex: DOCKER_TAG, allowed: TAG_ALLOWED });
    if (value.toLowerCase() === "latest") {
        r.fail(key, value, TAG_ALLOWED);
    }
    if (extra && !extra.regex.test(value)) {
        r.fail(key, value, extra.allowed);
    }
    return value;
}

function loadImages(r: ConfigReader): ImageSettings {
    const ssrfProxyImage = r.string("ssrfProxyImage", {
        regex: IMAGE_REF,
        allowed: "an image reference with a pinned tag or digest, e.g. ubuntu/squid:6.6-24.04_beta",
    });
    if (/:latest$/i.test(ssrfProxyImage)) {
        r.fail("ssrfProxyImage", ssrfProxyImage, TAG_ALLOWED);
    }
    const difyTag = imageTag(r, "difyImageTag");
    const tags = {
        pluginDaemonImageTag: imageTag(r, "pluginDaemonImageTag", {
            regex: /-local$/,
            allowed: "a `-local` tag (e.g. 0.6.10-local): the `-serverless` variant needs a serverless connector this program does not deploy",
        }),
        sandboxImageTag: imageTag(r, "sandboxImageTag"),
        agentImageTag: imageTag(r, "agentImageTag"),
    };
    const release = DIFY_RELEASES[difyTag];
    if (release === undefined) {
        r.fail("difyImageTag", difyTag, `a Dify release with a parity table (${Object.keys(DIFY_RELEASES).join(", ")}); to deploy ${difyTag}, ${HOW_TO_ADD_A_RELEASE}`);
    }
    // The images upstream released together: any other combination is one nobody tested.
    const pinned = releaseImages(release);
    const expected = { pluginDaemonImageTag: pinned.pluginDaemon, sandboxImageTag: pinned.sandbox, agentImageTag: pinned.agent };
    const wrong = (Object.keys(expected) as (keyof typeof expected)[]).filter((k) => tags[k] !== expected[k]);
    if (wrong.length > 0) {
        r.failKeys(
            { difyImageTag: difyTag, ...tags },
            `the images Dify ${difyTag} ships with (its docker-compose.yaml at ${release.commit.slice(0, 8)}): pluginDaemonImageTag ${expected.pluginDaemonImageTag}, sandboxImageTag ${expected.sandboxImageTag}, agentImageTag ${expected.agentImageTag}; upstream never shipped ${wrong.map((k) => `${k} ${tags[k]}`).join(", ")} with it`,
        );
    }
    return {
        difyTag,
        release,
        pluginDaemonTag: tags.pluginDaemonImageTag,
        sandboxTag: tags.sandboxImageTag,
        agentTag: tags.agentImageTag,
        ssrfProxyImage,
        ...imageSource(r),
    };
}

/** An ECR pull-through cache authenticates to Docker Hub with a secret whose name AWS requires to start so. */
export const PULL_THROUGH_CACHE_SECRET_PREFIX = "ecr-pullthroughcache/";

function imageSource(r: ConfigReader): Pick<ImageSettings, "registryPrefix" | "dockerHub"> {
    const prefix = registryPrefix(r);
    const pullThroughCache = r.boolean("dockerHubPullThroughCache");
    const credentialsSecretArn = r.optionalString("dockerHubCredentialsSecretArn", {
        regex: SECRETS_MANAGER_ARN,
        allowed: "a Secrets Manager secret ARN holding the Docker Hub user name and access token",
    });
    const keys = { dockerHubPullThroughCache: pullThroughCache, dockerHubCredentialsSecretArn: credentialsSecretArn, imageRegistryPrefix: prefix };
    if (prefix !== undefined && (pullThroughCache || credentialsSecretArn !== undefined)) {
        r.failKeys(keys, "either imageRegistryPrefix (your own mirror or cache, which authenticates its own way) or the Docker Hub settings, not both");
    }
    if (pullThroughCache) {
        const secretName = /:secret:(.+)$/.exec(credentialsSecretArn ?? "")?.[1];
        if (credentialsSecretArn === undefined) {
            r.failKeys(keys, `a dockerHubCredentialsSecretArn: an ECR pull-through cache for Docker Hub must authenticate, with a secret named ${PULL_THROUGH_CACHE_SECRET_PREFIX}<name> holding {"username", "accessToken"}`);
        }
        if (!secretName!.startsWith(PULL_THROUGH_CACHE_SECRET_PREFIX)) {
            r.failKeys(keys, `a secret whose name starts with ${PULL_THROUGH_CACHE_SECRET_PREFIX} (ECR accepts no other for a pull-through cache rule)`);
        }
        const stackRegion = new pulumi.Config("aws").get("region");
        const secretRegion = credentialsSecretArn!.split(":")[3];
        if (stackRegion !== undefined && secretRegion !== stackRegion) {
            r.failKeys({ ...keys, "aws:region": stackRegion }, `a secret in the stack's region ${stackRegion}: ECR reads a pull-through cache's secret in its own account and region only`);
        }
    }
    return { registryPrefix: prefix, dockerHub: { pullThroughCache, credentialsSecretArn } };
}

/**
 * Host, account, region and repository path (undefined at the registry root) of an ECR registry prefix
 * (`<account>.dkr.ecr.<region>.amazonaws.com[/<path>]`); undefined for Docker Hub or any other registry.
 */
export function ecrRegistry(prefix: string | undefined): { host: string; account: string; region: string; path?: string } | undefined {
    const m = /^((\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?)(?:\/(.+))?$/.exec(prefix ?? "");
    return m ? { host: m[1], account: m[2], region: m[3], path: m[4] } : undefined;
}

/**
 * An ECR registry prefix must be in the stack's region: tasks pull it through the VPC endpoints (and S3 gateway),
 * which serve their own region only, and the sandbox then has no other way out on 443.
 */
function registryPrefix(r: ConfigReader): string | undefined {
    const prefix = r.optionalString("imageRegistryPrefix", REGISTRY_PREFIX);
    const ecrRegion = ecrRegistry(prefix)?.region;
    const stackRegion = new pulumi.Config("aws").get("region");
    if (ecrRegion !== undefined && stackRegion !== undefined && ecrRegion !== stackRegion) {
        r.fail("imageRegistryPrefix", prefix, `an ECR registry in the stack's region ${stackRegion} (pulled through its VPC endpoints), or a non-ECR mirror`);
    }
    return prefix;
}

function loadSize(r: ConfigReader, role: DifyRole): RoleSize {
    const cpuKey = `${role}Cpu`;
    const memoryKey = `${role}Memory`;
    // CPU units, not vCPUs: "0.5" is 512.
    const cpu = r.integerOneOf(cpuKey, FARGATE_CPU_UNITS, "a Fargate task CPU value in CPU units (1024 = 1 vCPU; 0.5 vCPU is 512)");
    const memory = r.integer(memoryKey);
    if (!isFargateSize(cpu, memory)) {
        r.fail(memoryKey, memory, `a memory size Fargate accepts with ${cpuKey}=${cpu}: ${describeFargateMemory(cpu)} MiB`);
    }
    return { cpu, memory };
}

function loadScaledRole(r: ConfigReader, role: ScaledRole): ScaledRoleSettings {
    const size = loadSize(r, role);
    // Every scaled role serves requests or consumes a queue: zero tasks is an outage, not a saving.
    const minTasks = r.integer(`${role}MinTasks`, { min: 1, max: 1000 });
    const maxTasks = r.integer(`${role}MaxTasks`, { min: 1, max: 1000 });
    if (minTasks > maxTasks) {
        r.fail(`${role}MinTasks`, minTasks, `at most ${role}MaxTasks (${maxTasks})`);
    }
    return { ...size, minTasks, maxTasks };
}

/** `<port>` or `<from>-<to>`, then `@`, then a CIDR or a prefix list id (EC2 PrefixListId: pl- and 8 or 17 hex digits). */
const MODEL_ENDPOINT = /^(\d{1,5})(?:-(\d{1,5}))?@(.+)$/;
const PREFIX_LIST_ID = /^pl-([0-9a-f]{8}|[0-9a-f]{17})$/;
const MODEL_ENDPOINT_ALLOWED = "<port>@<CIDR or prefix list id>, or <from>-<to>@..., e.g. 11434@10.20.0.0/16 (Ollama in a peered VPC) or 8000-8001@pl-0123456789abcdef0; ports 1-65535, a CIDR without host bits";

function loadModelEndpointEgress(r: ConfigReader): ModelEndpointEgress[] {
    const items = r.stringList("modelEndpointEgress");
    const out: ModelEndpointEgress[] = [];
    for (const [i, raw] of items.entries()) {
        const key = `modelEndpointEgress[${i}]`;
        const m = MODEL_ENDPOINT.exec(raw);
        if (!m) {
            r.fail(key, raw, MODEL_ENDPOINT_ALLOWED);
        }
        const fromPort = Number(m[1]);
        const toPort = m[2] === undefined ? fromPort : Number(m[2]);
        if (fromPort < 1 || toPort > 65535 || fromPort > toPort) {
            r.fail(key, raw, `ports 1-65535 with the lower one first (${MODEL_ENDPOINT_ALLOWED})`);
        }
        const target = m[3];
        let destination: ModelEndpointEgress["destination"];
        if (target.startsWith("pl-")) {
            if (!PREFIX_LIST_ID.test(target)) {
                r.fail(key, raw, "a prefix list id of pl- and 8 or 17 lower-case hex digits, e.g. pl-0123456789abcdef0");
            }
            destination = { prefixListId: target };
        } else {
            const cidr = parseCidr(target);
            if (!cidr) {
                r.fail(key, raw, `a CIDR without host bits after the @ (${MODEL_ENDPOINT_ALLOWED})`);
            }
            destination = { cidr: target, version: cidr.version };
        }
        const duplicate = out.find((o) => o.fromPort === fromPort && o.toPort === toPort && JSON.stringify(o.destination) === JSON.stringify(destination));
        if (duplicate) {
            r.fail(key, raw, `a destination not already listed (${JSON.stringify(duplicate.raw)} is the same): EC2 refuses a duplicate security group rule`);
        }
        out.push({ raw, fromPort, toPort, destination });
    }
    return out;
}

function loadSmtp(r: ConfigReader): SmtpSettings | undefined {
    // Every key is read whether or not SMTP is on, so Pulumi.yaml and the loader always declare the same keys.
    const server = r.optionalString("smtpServer", { regex: HOST, allowed: "a host name such as email-smtp.ap-northeast-1.amazonaws.com" });
    const port = r.integer("smtpPort", { min: 1, max: 65535 });
    const username = r.optionalString("smtpUsername");
    const secretArn = r.optionalString("smtpPasswordSecretArn", {
        regex: SECRETS_MANAGER_ARN,
        allowed: "a Secrets Manager secret ARN (optionally with :jsonKey:: for one key of a JSON secret)",
    });
    const password = optionalStackSecret(r, "smtpPassword");
    const defaultSendFrom = r.optionalString("mailDefaultSendFrom", { regex: EMAIL, allowed: "an e-mail address, e.g. no-reply@example.com or Dify <no-reply@example.com>" });
    const useTls = r.boolean("smtpUseTls");
    const opportunisticTls = r.boolean("smtpOpportunisticTls");
    if (server === undefined) {
        if (secretArn !== undefined || password !== undefined || username !== undefined) {
            r.fail("smtpServer", "", "a host name: smtpUsername / smtpPassword / smtpPasswordSecretArn are set, so SMTP is meant to be on");
        }
        return undefined;
    }
    if (defaultSendFrom === undefined) {
        r.fail("mailDefaultSendFrom", "", "an e-mail address: Dify refuses to send mail without MAIL_DEFAULT_SEND_FROM");
    }
    if (username === undefined) {
        r.fail("smtpUsername", "", "the SMTP user name (for SES, the SMTP credentials' user name)");
    }
    if ((secretArn === undefined) === (password === undefined)) {
        r.fail(
            "smtpPasswordSecretArn",
            secretArn ?? "",
            "exactly one of smtpPasswordSecretArn (an existing secret) or smtpPassword (set with `pulumi config set --secret`)",
        );
    }
    if (opportunisticTls && !useTls) {
        r.fail("smtpOpportunisticTls", opportunisticTls, "false unless smtpUseTls is true (STARTTLS needs both)");
    }
    checkSmtpTransport(r, port, useTls, opportunisticTls);
    return {
        server,
        port,
        route: "internet",
        username,
        password: secretArn !== undefined ? { secretArn } : { value: password! },
        defaultSendFrom,
        useTls,
        opportunisticTls,
    };
}

/**
 * SMTP ports whose transport is fixed (RFC 8314, and SES's alternative ports 2465/2587): implicit TLS from the first
 * byte, or plain SMTP upgraded with STARTTLS. Dify maps them to SMTP_USE_TLS (TLS at all) and SMTP_OPPORTUNISTIC_TLS
 * (STARTTLS rather than implicit TLS); a mismatch fails at the first mail, not at deploy time.
 */
export const SMTP_IMPLICIT_TLS_PORTS = [465, 2465];
export const SMTP_STARTTLS_PORTS = [25, 587, 2587];

function checkSmtpTransport(r: ConfigReader, port: number, useTls: boolean, opportunisticTls: boolean): void {
    const keys = { smtpPort: port, smtpUseTls: useTls, smtpOpportunisticTls: opportunisticTls };
    if (!useTls) {
        r.failKeys(keys, "smtpUseTls true: without TLS the SMTP password and every mail cross the network in clear (465 with implicit TLS, or 587 with smtpOpportunisticTls for STARTTLS)");
    }
    if (SMTP_IMPLICIT_TLS_PORTS.includes(port) && opportunisticTls) {
        r.failKeys(keys, `smtpOpportunisticTls false on port ${port}, which speaks TLS from the first byte (STARTTLS is for ${SMTP_STARTTLS_PORTS.join(", ")})`);
    }
    if (SMTP_STARTTLS_PORTS.includes(port) && !opportunisticTls) {
        r.failKeys(keys, `smtpOpportunisticTls true on port ${port}, which starts in plain text and upgrades with STARTTLS (implicit TLS is for ${SMTP_IMPLICIT_TLS_PORTS.join(", ")})`);
    }
}

/** Splits `role:NAME=value` (value may contain `=`, `:`); fails with the key on anything else. */
function parseRoleAssignment(r: ConfigReader, key: string, item: string): { target: EnvTarget; name: string; value: string } {
    const m = /^([A-Za-z]+):([^=]+)=(.*)$/.exec(item);
    if (!m) {
        r.fail(key, item, "items of the form role:NAME=value, e.g. api:LOG_LEVEL=DEBUG");
    }
    const [, target, name, value] = m;
    if (!(ENV_TARGETS as readonly string[]).includes(target)) {
        r.fail(key, item, `a role of ${ENV_TARGETS.join(", ")} before the colon`);
    }
    if (!ENV_NAME.test(name)) {
        r.fail(key, item, "an environment variable name of upper-case letters, digits and underscores");
    }
    if (RESERVED_ENV_NAMES.includes(name)) {
        r.fail(key, item, `a name this program does not manage itself (${RESERVED_ENV_NAMES.join(", ")} are reserved)`);
    }
    return { target: target as EnvTarget, name, value };
}

function loadExtras(r: ConfigReader): Pick<ClusterSettings, "extraEnvironment" | "extraSecrets"> {
    const extraEnvironment: ClusterSettings["extraEnvironment"] = {};
    for (const item of r.stringList("extraEnvironment")) {
        const { target, name, value } = parseRoleAssignment(r, "extraEnvironment", item);
        if (isSecretLookingName(name)) {
            r.fail("extraEnvironment", item, "a name that does not look secret; put secrets in extraSecrets (role:NAME=<secret ARN>) so they never sit in the task definition");
        }
        if (isUrlWithPassword(value)) {
            r.fail("extraEnvironment", `${target}:${name}=(a URL with a password, not shown)`, "a value without credentials; put it in Secrets Manager and use extraSecrets");
        }
        const env = (extraEnvironment[target] ??= {});
        if (name in env) {
            r.fail("extraEnvironment", item, `each role:NAME at most once (${target}:${name} repeats)`);
        }
        env[name] = value;
    }
    const extraSecrets: ClusterSettings["extraSecrets"] = {};
    for (const item of r.stringList("extraSecrets")) {
        const { target, name, value } = parseRoleAssignment(r, "extraSecrets", item);
        const sm = SECRETS_MANAGER_ARN.exec(value);
        const ssm = SSM_PARAMETER_ARN.test(value);
        if (!sm && !ssm) {
            r.fail("extraSecrets", item, "a Secrets Manager secret ARN (optionally :jsonKey::) or an SSM parameter ARN after the =");
        }
        const list = (extraSecrets[target] ??= []);
        if (list.some((s) => s.name === name) || extraEnvironment[target]?.[name] !== undefined) {
            r.fail("extraSecrets", item, `each role:NAME at most once across extraEnvironment and extraSecrets (${target}:${name} repeats)`);
        }
        list.push({ name, valueFrom: value, resourceArn: sm ? sm[1] : value, kind: sm ? "secretsmanager" : "ssm" });
    }
    return { extraEnvironment, extraSecrets };
}

/** The image repository of a role (without registry and tag), to look its architectures up. */
function repositoryOf(image: string): string {
    return image.replace(/@.*$/, "").replace(/:[^/]*$/, "");
}

/** The image repository each role runs (the migration task runs the api's). */
function repositories(images: ImageSettings): Record<DifyRole, string> {
    return {
        web: "langgenius/dify-web",
        api: "langgenius/dify-api",
        worker: "langgenius/dify-api",
        beat: "langgenius/dify-api",
        apiWebsocket: "langgenius/dify-api",
        pluginDaemon: "langgenius/dify-plugin-daemon",
        sandbox: "langgenius/dify-sandbox",
        ssrfProxy: repositoryOf(images.ssrfProxyImage),
        agentBackend: "langgenius/dify-agent-backend",
        agentSandbox: "langgenius/dify-agent-local-sandbox",
        agentSsrfProxy: repositoryOf(images.ssrfProxyImage),
    };
}

/**
 * Roles that must never run two tasks at once, so never on Spot: a Spot interruption starts the replacement while the
 * reclaimed task still drains for up to two minutes. beat would dispatch every schedule twice; two agent sandboxes
 * would write the same homes and workspaces.
 */
export const EXCLUSIVE_ROLES: readonly DifyRole[] = ["beat", "agentSandbox"];

export function loadClusterSettings(r: ConfigReader): ClusterSettings {
    const images = loadImages(r);
    const cpuArchitecture = r.oneOf("cpuArchitecture", CPU_ARCHITECTURES);
    const repos = repositories(images);
    const architectures = Object.fromEntries(
        DIFY_ROLES.map((role) => [role, cpuArchitecture === "ARM64" && ARM64_IMAGES.includes(repos[role]) ? "ARM64" : "X86_64"]),
    ) as Record<DifyRole, CpuArchitecture>;
    const features: Record<DifyFeature, boolean> = { agentV2: r.boolean("agentV2Enabled"), collaboration: r.boolean("collaborationEnabled") };
    const off = (Object.keys(FEATURE_ROLES) as DifyFeature[]).filter((f) => !features[f]).flatMap((f) => FEATURE_ROLES[f] as readonly DifyRole[]);
    const enabledRoles = DIFY_ROLES.filter((role) => !off.includes(role));
    const containerInsights = r.oneOf("containerInsights", CONTAINER_INSIGHTS_MODES);
    const spotOnDemandBase = r.integer("fargateSpotOnDemandBase", { min: 0, max: 1000 });
    const roles = Object.fromEntries(SCALED_ROLES.map((role) => [role, loadScaledRole(r, role)])) as Record<ScaledRole, ScaledRoleSettings>;
    const singles = Object.fromEntries(SINGLE_ROLES.map((role) => [role, loadSize(r, role)])) as Record<SingleRole, RoleSize>;
    const processes = loadProcessSettings(r, roles);
    if (roles.pluginDaemon.memory < PLUGIN_DAEMON_MIN_MEMORY) {
        r.fail(
            "pluginDaemonMemory",
            roles.pluginDaemon.memory,
            `at least ${PLUGIN_DAEMON_MIN_MEMORY} MiB: every installed plugin runs as its own Python process in every daemon task, and below that a daemon with a few plugins is OOM-killed in a loop (aws-samples/dify-self-hosted-on-aws#119)`,
        );
    }
    const spotRoles = r.stringList("fargateSpotRoles", {
        item: { regex: new RegExp(`^(${DIFY_ROLES.join("|")})$`), allowed: `one of ${DIFY_ROLES.join(", ")}` },
    }) as DifyRole[];
    const exclusive = spotRoles.find((role) => EXCLUSIVE_ROLES.includes(role));
    if (exclusive !== undefined) {
        r.fail("fargateSpotRoles", exclusive, `roles other than ${EXCLUSIVE_ROLES.join(" and ")}: they must never run twice, and a Spot interruption overlaps the old and new task`);
    }
    // FARGATE_SPOT runs Linux X86_64 tasks on platform 1.3.0+ and Linux ARM64 tasks on 1.4.0+ (CapacityProviderStrategyItem,
    // ECS API reference; ARM64 since September 2024, which older user-guide pages predate). Every service here is Linux
    // on platform LATEST (1.4.0), so each Spot role runs on either architecture; only beat is refused, above.
    const ecsExecEnabled = r.boolean("ecsExecEnabled");
    const bedrockModelArns = r.stringList("bedrockModelArns", { item: BEDROCK_ARN });
    const albRequestsPerTarget = r.integer("albRequestsPerTarget", { min: 10, max: 100000 });
    const appMaxExecutionTimeSeconds = r.integer("appMaxExecutionTimeSeconds", { min: 60, max: 3600 });
    const migration = { snapshot: r.boolean("migrationSnapshot"), snapshotsKept: r.integer("migrationSnapshotsKept", { min: 1, max: 20 }) };
    // Ranges of the ECS API (DeploymentConfiguration): canaryPercent 0.1-100, bake times 0-1440 minutes.
    const deployment = {
        strategy: r.oneOf("deploymentStrategy", ["rolling", "canary"] as const),
        canaryPercent: r.integer("canaryPercent", { min: 1, max: 100 }),
        canaryBakeMinutes: r.integer("canaryBakeMinutes", { min: 0, max: 1440 }),
        bakeMinutes: r.integer("deploymentBakeMinutes", { min: 0, max: 1440 }),
    };
    const smtp = loadSmtp(r);
    const modelEndpointEgress = loadModelEndpointEgress(r);
    const pipMirrorUrl = r.optionalString("pipMirrorUrl", PACKAGE_INDEX_URL);
    return {
        images,
        architectures,
        containerInsights,
        spotOnDemandBase,
        roles,
        singles,
        features,
        enabledRoles,
        processes,
        spotRoles,
        ecsExecEnabled,
        bedrockModelArns,
        albRequestsPerTarget,
        appMaxExecutionTimeSeconds,
        migration,
        deployment,
        smtp,
        modelEndpointEgress,
        pipMirrorUrl,
        ...loadExtras(r),
    };
}
