import * as pulumi from "@pulumi/pulumi";
import { capacityInputs, checkCapacity } from "./capacity";
import { ClusterSettings, loadClusterSettings } from "./cluster";
import { AURORA_ACU, DataSettings, loadDataSettings } from "./data";
import { DATA_ITEM_NAMES, DataItem } from "./dataAtRisk";
import { declaredKeys, rejectUnknownKeys } from "./declared";
import { EdgeSettings, loadEdgeSettings } from "./edge";
import { loadNetworkSettings, NetworkSettings, SES_SMTP_ENDPOINT, SES_SMTP_PORTS } from "./network";
import { loadOpsSettings, OpsSettings } from "./ops";
import { ConfigReader } from "./reader";
import { ActiveHours, loadActiveHours } from "./schedule";

export { ConfigError, ConfigReader, PROJECT } from "./reader";

/** Retention values CloudWatch Logs accepts (PutRetentionPolicy), in days. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

/** Settings shared by every component. */
export interface CommonSettings {
    /** The Pulumi stack name. */
    stack: string;
    /** `dify-<stack>`: the prefix of every physical name, kept short so derived names fit AWS limits (ALB/TG 32). */
    prefix: string;
    /** Create one customer-managed KMS key (with rotation) for data, secrets, logs and topics; else AWS-managed keys. */
    customerManagedKey: boolean;
    /** Deletion protection on the database, cache and load balancer, Pulumi `protect` on data, no bucket forceDestroy. */
    deletionProtection: boolean;
    /** Retention of every CloudWatch log group this program creates, in days (a value CloudWatch accepts). */
    logRetentionDays: number;
    /** When the stack runs; outside it every service has zero tasks and Aurora may pause. Undefined: always on. */
    activeHours?: ActiveHours;
    /** Data items this update may replace or delete (config/dataAtRisk.ts); empty refuses any such change. */
    acknowledgedDataLoss: DataItem[];
}

/** The whole, validated stack configuration handed by index.ts to the components. */
export interface StackSettings {
    common: CommonSettings;
    network: NetworkSettings;
    edge: EdgeSettings;
    cluster: ClusterSettings;
    data: DataSettings;
    ops: OpsSettings;
}

// Longest prefix for which the longest derived name (`<prefix>-<role>-<6 random>` target groups, 32 max) still fits.
const STACK_NAME = /^[a-z]([a-z0-9-]{0,10}[a-z0-9])?$/;

function loadCommonSettings(r: ConfigReader, stack: string): CommonSettings {
    if (!STACK_NAME.test(stack)) {
        r.fail("(stack name)", stack, "a stack name of 1-12 lower-case letters, digits and hyphens, starting with a letter (it prefixes AWS names limited to 32 characters)");
    }
    const logRetentionDays = r.integer("logRetentionDays", { min: 1, max: 3653 });
    if (!(LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionDays)) {
        r.fail("logRetentionDays", logRetentionDays, `one of the values CloudWatch Logs accepts: ${LOG_RETENTION_DAYS.join(", ")}`);
    }
    const deletionProtection = r.boolean("deletionProtection");
    const activeHours = loadActiveHours(r);
    const acknowledged = r.boolean("acknowledgeActiveHoursInProduction");
    if (activeHours && deletionProtection && !acknowledged) {
        // A stack that protects its data is a production stack, and production does not sleep by accident.
        r.failKeys(
            { activeHours: JSON.stringify(activeHours), deletionProtection, acknowledgeActiveHoursInProduction: acknowledged },
            "acknowledgeActiveHoursInProduction true to stop a production stack (one that protects its data) every night: outside its active hours Dify answers nothing",
        );
    }
    return {
        stack,
        prefix: `dify-${stack}`,
        customerManagedKey: r.boolean("customerManagedKey"),
        deletionProtection,
        logRetentionDays,
        activeHours,
        acknowledgedDataLoss: r.stringList("acknowledgeDataLoss", {
            item: { regex: new RegExp(`^(${DATA_ITEM_NAMES.join("|")})$`), allowed: `one of ${DATA_ITEM_NAMES.join(", ")}` },
        }) as DataItem[],
    };
}

/**
 * Reads and validates the whole stack config. Throws a ConfigError (naming key, value and what is allowed) before
 * index.ts declares any resource.
 */
export function loadSettings(reader: ConfigReader = new ConfigReader(), stack: string = pulumi.getStack()): StackSettings {
    rejectUnknownKeys(pulumi.runtime.allConfig(), declaredKeys());
    const common = loadCommonSettings(reader, stack);
    const network = loadNetworkSettings(reader);
    const settings: StackSettings = {
        common,
        network,
        edge: loadEdgeSettings(reader, network),
        cluster: loadClusterSettings(reader),
        data: loadDataSettings(reader),
        ops: loadOpsSettings(reader),
    };
    checkAcrossSections(reader, settings);
    return settings;
}

/** Rules that involve keys of more than one section. */
function checkAcrossSections(r: ConfigReader, s: StackSettings): void {
    const capacity = s.data.database.capacity;
    if (capacity.mode === "serverless" && capacity.minAcu === 0 && s.common.activeHours === undefined) {
        // Dify's api, workers and beat hold pooled connections and poll all day: an instance that may pause would
        // never be idle, and the first connection after a pause waits for the resume (up to ~15 s). It pays only on a
        // stack whose services all stop outside active hours.
        r.failKeys(
            { databaseMinCapacity: 0, activeHours: undefined },
            `a databaseMinCapacity of at least ${AURORA_ACU.minWithoutAutoPause} ACU, or activeHours: Dify keeps connections open, so Aurora can pause only when every service is stopped`,
        );
    }
    if (s.network.vpc.mode === "new" && s.network.vpc.natGateways === "none" && s.cluster.pipMirrorUrl === undefined) {
        r.failKeys(
            { pipMirrorUrl: undefined, natGateways: "none" },
            "the URL of a PyPI mirror reachable inside the VPC: without NAT, the plugin daemon cannot install a plugin's dependencies from pypi.org, nor the sandbox a code node's",
        );
    }
    if (s.common.deletionProtection && !s.cluster.migration.snapshot) {
        // Some Dify migrations cannot be reversed: on a stack whose data is protected, the way back from a bad upgrade
        // is the snapshot taken just before it, not an hour of point-in-time recovery.
        r.failKeys(
            { migrationSnapshot: false, deletionProtection: true },
            "migrationSnapshot true on a stack that protects its data (deletionProtection): the pre-migration snapshot is how an upgrade that cannot be reversed is rolled back",
        );
    }
    if (s.data.backup.copyVaultArn !== undefined && !s.common.customerManagedKey) {
        // AWS-managed keys cannot be shared with another account, and AWS Backup copies an Aurora snapshot across
        // accounts only when the destination may use the source key (AWS Backup guide, "Creating backup copies across
        // AWS accounts"); the stack's own key is granted to the copy vault's account.
        r.failKeys(
            { backupCopyVaultArn: s.data.backup.copyVaultArn, customerManagedKey: false },
            "customerManagedKey true with a backupCopyVaultArn: the copy's account is granted the stack's key, which an AWS-managed key cannot be",
        );
    }
    if (s.edge.consoleAuth !== undefined && s.edge.internal && s.network.vpc.mode === "new" && s.network.vpc.natGateways === "none") {
        // The ALB itself calls the identity provider's token and user info endpoints (ELB user guide, "Authenticate
        // users using an Application Load Balancer"); an internal ALB has only its private subnets' routes to reach them.
        r.failKeys(
            { consoleAuth: s.edge.consoleAuth.kind, albInternal: true, natGateways: "none" },
            'natGateways "single" or "perAz" for an internal ALB that signs users in (it calls the identity provider\'s token and user info endpoints on the internet), or an internet-facing ALB, or consoleAuth "none"',
        );
    }
    if (s.cluster.deployment.strategy === "canary" && s.edge.consoleAuth !== undefined) {
        // A canary needs each role on one production listener rule that only forwards: ECS moves the weights of that
        // rule. Under SSO the api has two rules (the console API authenticates, the machine paths do not) and web's
        // authenticates first; AWS documents that a production rule mixing authenticate and forward fails the deployment.
        r.failKeys(
            { deploymentStrategy: "canary", consoleAuth: s.edge.consoleAuth.kind },
            'deploymentStrategy "rolling" with consoleAuth, or consoleAuth "none" with a canary: a canary moves traffic on one forward-only listener rule per role, and SSO puts sign-in actions on web\'s and a second rule on the api',
        );
    }
    const images = s.cluster.images;
    if (s.network.vpc.mode === "new" && s.network.vpc.natGateways === "none" && images.registryPrefix === undefined && !images.dockerHub.pullThroughCache) {
        // Fargate pulls through the task's network interface: without NAT, Docker Hub is out of reach.
        r.failKeys(
            { natGateways: "none", dockerHubPullThroughCache: false, registryPrefix: undefined },
            "dockerHubPullThroughCache true (ECR fetches from Docker Hub itself; tasks pull from ECR through the interface endpoints) or a registryPrefix inside the VPC: without NAT, no task can pull its image from Docker Hub",
        );
    }
    const smtp = s.cluster.smtp;
    if (smtp) {
        const region = new pulumi.Config("aws").get("region");
        const viaEndpoint = s.network.interfaceEndpoints.includes(SES_SMTP_ENDPOINT) && region !== undefined && smtp.server === `email-smtp.${region}.amazonaws.com`;
        smtp.route = viaEndpoint ? "endpoint" : "internet";
        if (viaEndpoint && !SES_SMTP_PORTS.includes(smtp.port)) {
            r.failKeys({ smtpServer: smtp.server, smtpPort: smtp.port }, `one of the ports SES serves SMTP on: ${SES_SMTP_PORTS.join(", ")}`);
        }
        if (!viaEndpoint && s.network.vpc.mode === "new" && s.network.vpc.natGateways === "none") {
            // Without NAT the worker's mail has no way out but SES's endpoint in the VPC.
            r.failKeys(
                { smtpServer: smtp.server, natGateways: "none", interfaceEndpoints: s.network.interfaceEndpoints },
                `smtpServer email-smtp.${region ?? "<region>"}.amazonaws.com with "${SES_SMTP_ENDPOINT}" in interfaceEndpoints: without NAT, mail leaves the VPC only through SES's SMTP endpoint`,
            );
        }
    }
    const idle = s.edge.idleTimeoutSeconds;
    const execution = s.cluster.appMaxExecutionTimeSeconds;
    if (idle < execution + IDLE_MARGIN_SECONDS) {
        // A blocking call is silent until the app run ends: an idle timeout below the run's limit answers 504 first.
        r.failKeys(
            { albIdleTimeoutSeconds: idle, appMaxExecutionTimeSeconds: execution },
            `an albIdleTimeoutSeconds of at least appMaxExecutionTimeSeconds + ${IDLE_MARGIN_SECONDS} (${execution + IDLE_MARGIN_SECONDS}): a blocking API call sends nothing until the app run ends, so a shorter idle timeout answers 504 before Dify does`,
        );
    }
    checkCapacity(r, capacityInputs(s), { apiServerWorkers: r.integer("apiServerWorkers") });
}

/** Seconds between the end of the longest app run and the ALB giving up on a silent connection: Dify's own answer time. */
export const IDLE_MARGIN_SECONDS = 30;

/**
 * The first dify-plugin-daemon release whose replicas take a Redis lock per plugin while they extract and build it
 * (dify-plugin-daemon#564, tag 0.5.3). Before it, daemons sharing a working path delete each other's half-built
 * virtual environments (dify-plugin-daemon#541). Every release of the compatibility table (config/upstream) pins a
 * newer daemon; test/sharedWorkspace.test.ts holds every new row to it.
 */
export const SHARED_WORKING_PATH_MIN_DAEMON = [0, 5, 3] as const;
