/**
 * The README's dev/prd comparison, read from each stack's validated settings, so the table cannot drift from the
 * stack files.
 */
import type { StackSettings } from "../../config";
import { SCALED_ROLES } from "../../config/roles";
import { loadSettingsFor } from "../offline/settings";

type Row = [what: string, value: (s: StackSettings) => string];

const onOff = (on: boolean) => (on ? "on" : "off");
const NAT = { none: "no NAT", single: "one NAT", perAz: "a NAT per AZ" } as const;

const ROWS: Row[] = [
    ["AZs / NAT", (s) => (s.network.vpc.mode === "new" ? `${s.network.vpc.azCount} / ${NAT[s.network.vpc.natGateways]}` : "adopted VPC")],
    ["Interface endpoints", (s) => (s.network.interfaceEndpoints.length > 0 ? s.network.interfaceEndpoints.join(", ") : "none (AWS APIs through the NAT); S3 gateway endpoint")],
    ["Flow log", (s) => s.network.flowLogTrafficType],
    ["Encryption keys", (s) => (s.common.customerManagedKey ? "one customer-managed KMS key, rotated" : "AWS-managed")],
    ["Deletion protection, Pulumi `protect` on data", (s) => onOff(s.common.deletionProtection)],
    ["Log retention", (s) => `${s.common.logRetentionDays} days`],
    [
        "Aurora",
        (s) => {
            const c = s.data.database.capacity;
            const size = c.mode === "serverless" ? `Serverless v2 ${c.minAcu}-${c.maxAcu} ACU` : c.instanceClass;
            return `${size}, writer + ${s.data.database.readerCount} reader(s), ${s.data.database.backupRetentionDays} days of backups`;
        },
    ],
    ["Cache", (s) => `${s.data.cache.replicaCount + 1} x ${s.data.cache.nodeType} (${s.data.cache.engine} ${s.data.cache.engineVersion})`],
    ["Tasks per role (min-max)", (s) => SCALED_ROLES.map((r) => `${r} ${s.cluster.roles[r].minTasks}-${s.cluster.roles[r].maxTasks}`).join(", ") + ", beat 1"],
    ["Fargate Spot", (s) => (s.cluster.spotRoles.length > 0 ? `${s.cluster.spotRoles.join(", ")} (web and api keep ${s.cluster.spotOnDemandBase} on demand)` : "none")],
    [
        "CPU architecture",
        (s) => {
            const byArch = new Map<string, string[]>();
            for (const [role, arch] of Object.entries(s.cluster.architectures)) {
                byArch.set(arch, [...(byArch.get(arch) ?? []), role]);
            }
            return [...byArch].map(([arch, roles]) => `${arch}: ${roles.join(", ")}`).join("; ");
        },
    ],
    ["Container Insights", (s) => s.cluster.containerInsights],
    ["Images", (s) => (s.cluster.images.dockerHub.pullThroughCache ? "ECR pull-through cache for Docker Hub" : s.cluster.images.registryPrefix ?? (s.cluster.images.dockerHub.credentialsSecretArn ? "Docker Hub, authenticated" : "Docker Hub, anonymous"))],
    ["Edge", (s) => `${s.edge.tls.mode === "https" ? "HTTPS" : "HTTP only (opted in)"}, WAF ${onOff(s.edge.waf !== undefined)}`],
    ["Plugin daemon working path", (s) => (s.data.pluginWorkspace ? `shared EFS${s.common.deletionProtection ? ", backed up" : ""}` : "task storage")],
    ["Active hours", (s) => (s.common.activeHours ? JSON.stringify(s.common.activeHours) : "always on")],
];

/** The comparison table of dev and prd. */
export function stackComparison(): string {
    const dev = loadSettingsFor("dev").settings;
    const prd = loadSettingsFor("prd").settings;
    return ["| | dev | prd |", "|---|---|---|", ...ROWS.map(([what, value]) => `| ${what} | ${value(dev)} | ${value(prd)} |`)].join("\n");
}
