/**
 * The README's generated sections: the configuration reference (from Pulumi.yaml), the dev/prd comparison (from the
 * stacks' settings), the cost table (from the cost estimator), the capacity table (from the capacity model), the
 * upstream parity table (from config/upstream) and the fault table (tools/docs/faults.ts). `npm run docs` rewrites them; test/readme.test.ts
 * fails when one is stale, so no figure in the README is typed by hand.
 */
import * as fs from "fs";
import * as path from "path";
import { readProjectFile, ROOT } from "../offline/runner";

export const README = path.join(ROOT, "README.md");

const markers = (name: string) => ({ start: `<!-- ${name}:start -->`, end: `<!-- ${name}:end -->` });

/** The text between a section's markers. */
export function readSection(name: string, text: string = fs.readFileSync(README, "utf8")): string {
    const { start, end } = markers(name);
    const a = text.indexOf(start);
    const b = text.indexOf(end);
    if (a < 0 || b < a) {
        throw new Error(`README.md has no ${start} ... ${end} section`);
    }
    return text.slice(a + start.length, b).trim();
}

/** The text with a section's content replaced. */
export function replaceSection(text: string, name: string, content: string): string {
    readSection(name, text); // fails clearly when the markers are missing
    const { start, end } = markers(name);
    return `${text.slice(0, text.indexOf(start) + start.length)}\n${content}\n${text.slice(text.indexOf(end))}`;
}

function cell(text: string): string {
    return text.replace(/\|/g, "\\|").replace(/\s+/g, " ").trim();
}

function showDefault(value: unknown): string {
    if (value === undefined || value === "" || (Array.isArray(value) && value.length === 0)) {
        return "(none)";
    }
    return `\`${typeof value === "string" ? value : JSON.stringify(value)}\``;
}

/** The configuration reference: one row per key of Pulumi.yaml. */
export function configReference(): string {
    const rows = Object.entries(readProjectFile().config).map(
        ([key, decl]) => `| \`${key}\` | ${decl.type}${decl.secret ? " (secret)" : ""} | ${showDefault(decl.default)} | ${cell(decl.description ?? "")} |`,
    );
    return ["| key | type | default | description |", "|---|---|---|---|", ...rows].join("\n");
}

/** Every generated section, by marker name. */
export async function generatedSections(): Promise<Record<string, string>> {
    const { costSection } = await import("../cost/readmeTable");
    const { capacitySection } = await import("./capacity");
    const { stackComparison } = await import("./stacks");
    const { faultSection } = await import("./faults");
    const { paritySection } = await import("./parity");
    const { DIFY_RELEASES, DEFAULT_DIFY_RELEASE } = await import("../../config/upstream/releases");
    return {
        "config-reference": configReference(),
        "stack-comparison": stackComparison(),
        "cost-estimate": await costSection(),
        capacity: capacitySection(),
        parity: paritySection(DIFY_RELEASES[DEFAULT_DIFY_RELEASE]),
        "fault-table": faultSection(),
    };
}

if (require.main === module) {
    generatedSections().then(
        (sections) => {
            let text = fs.readFileSync(README, "utf8");
            for (const [name, content] of Object.entries(sections)) {
                text = replaceSection(text, name, content);
            }
            fs.writeFileSync(README, text);
            process.exit(0);
        },
        (e: Error) => {
            console.error(e.message);
            process.exit(2);
        },
    );
}
