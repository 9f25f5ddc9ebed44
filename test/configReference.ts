/**
 * The README's configuration reference, generated from Pulumi.yaml so the two cannot drift.
 * `npm run docs:config` rewrites the README section; test/readme.test.ts fails when it is stale.
 */
import * as fs from "fs";
import * as path from "path";
import { readProjectFile, ROOT } from "./harness";

export const README = path.join(ROOT, "README.md");
const START = "<!-- config-reference:start -->";
const END = "<!-- config-reference:end -->";

function cell(text: string): string {
    return text.replace(/\|/g, "\\|").replace(/\s+/g, " ").trim();
}

function showDefault(value: unknown): string {
    if (value === undefined || value === "" || (Array.isArray(value) && value.length === 0)) {
        return "(none)";
    }
    return `\`${typeof value === "string" ? value : JSON.stringify(value)}\``;
}

export function configReference(): string {
    const rows = Object.entries(readProjectFile().config).map(
        ([key, decl]) => `| \`${key}\` | ${decl.type}${decl.secret ? " (secret)" : ""} | ${showDefault(decl.default)} | ${cell(decl.description ?? "")} |`,
    );
    return ["| key | type | default | description |", "|---|---|---|---|", ...rows].join("\n");
}

export function readmeSection(text: string = fs.readFileSync(README, "utf8")): string {
    const start = text.indexOf(START);
    const end = text.indexOf(END);
    if (start < 0 || end < start) {
        throw new Error(`README.md has no ${START} ... ${END} section`);
    }
    return text.slice(start + START.length, end).trim();
}

if (require.main === module) {
    const text = fs.readFileSync(README, "utf8");
    readmeSection(text); // fails clearly when the markers are missing
    const before = text.slice(0, text.indexOf(START) + START.length);
    const after = text.slice(text.indexOf(END));
    fs.writeFileSync(README, `${before}\n${configReference()}\n${after}`);
}
