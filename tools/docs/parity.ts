/**
 * The README's parity table: each service upstream's docker compose starts by default at the release a stack deploys,
 * and what runs it here, from the release table (config/upstream) and the mapping (config/upstream/parity.ts). The
 * variables are held to upstream by test/parity.test.ts; this table is the summary a reviewer reads.
 */
import { DIFFERENCES, ROLE_OF_SERVICE, SERVICE_DIFFERENCES } from "../../config/upstream/parity";
import { COMPOSE_FILE, DIFY_REPOSITORY, UpstreamRelease } from "../../config/upstream/types";

/** The managed AWS service that stands in for each compose service this program does not run. */
export const REPLACED_BY: Readonly<Record<string, string>> = {
    init_permissions: "nothing: it chowns the compose storage volume; S3 and the EFS access points own their files",
    redis: "ElastiCache (Valkey or Redis OSS), TLS and AUTH",
    db_postgres: "Aurora PostgreSQL",
    weaviate: "pgvector in the same Aurora cluster (VECTOR_STORE=pgvector)",
    nginx: "the ALB and its listener rules (components/edgeAlb)",
};

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\s+/g, " ").trim();

/** The section between the parity markers, for one release. */
export function paritySection(release: UpstreamRelease): string {
    const rows = Object.entries(release.services).map(([name, s]) => {
        const role = ROLE_OF_SERVICE[name];
        const differences = SERVICE_DIFFERENCES.filter((d) => d.services.includes(name)).map((d) => `${d.aspect}${d.value !== undefined ? ` ${d.value}` : ""}: ${d.reason}`);
        const here = role ? `ECS service \`${role}\`` : (REPLACED_BY[name] ?? "not deployed");
        return `| \`${name}\` | \`${s.image}\` | ${s.ports.join(", ") || "-"} | ${cell([s.mode ? `MODE=${s.mode}` : "", s.profile ? `profile ${s.profile}` : ""].filter(Boolean).join(", ") || "-")} | ${cell(here)} | ${cell(differences.join("; ") || "none")} |`;
    });
    const replaced = release.replacedServices.map((name) => `| \`${name}\` | (upstream's) | - | - | ${cell(REPLACED_BY[name] ?? "not deployed")} | replaced |`);
    const variables = DIFFERENCES.length;
    return [
        `Dify ${release.version}, read at ${DIFY_REPOSITORY}@${release.commit.slice(0, 8)} (\`${COMPOSE_FILE}\`, \`${release.dotenv.file}\`, \`${release.routes.file}\`).`,
        "",
        "| compose service | upstream image | ports | mode / profile | runs here as | differences |",
        "|---|---|---|---|---|---|",
        ...rows,
        ...replaced,
        "",
        `Every variable upstream gives a service is set here with upstream's value, or is one of ${variables} documented differences (config/upstream/parity.ts, each with its reason); test/parity.test.ts fails on anything else.`,
    ].join("\n");
}
