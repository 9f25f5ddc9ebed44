import * as pulumi from "@pulumi/pulumi";
import { ClusterSettings, loadClusterSettings } from "./cluster";
import { DataSettings, loadDataSettings } from "./data";
import { declaredKeys, rejectUnknownKeys } from "./declared";
import { EdgeSettings, loadEdgeSettings } from "./edge";
import { loadNetworkSettings, NetworkSettings } from "./network";
import { loadOpsSettings, OpsSettings } from "./ops";
import { ConfigReader } from "./reader";

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
    return {
        stack,
        prefix: `dify-${stack}`,
        customerManagedKey: r.boolean("customerManagedKey"),
        deletionProtection: r.boolean("deletionProtection"),
        logRetentionDays,
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
    if (s.network.vpc.mode === "new" && s.network.vpc.natGateways === "none" && s.cluster.pipMirrorUrl === undefined) {
        r.failKeys(
            { pipMirrorUrl: undefined, natGateways: "none" },
            "the URL of a PyPI mirror reachable inside the VPC: without NAT, the plugin daemon cannot install a plugin's dependencies from pypi.org, nor the sandbox a code node's",
        );
    }
}
