import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { ConfigError, PROJECT } from "./reader";

/** The project file beside index.ts; its `config:` block is the list of keys this program understands. */
export const PROJECT_FILE = path.join(__dirname, "..", "Pulumi.yaml");

/** Project config keys declared in Pulumi.yaml, without the `dify-aws:` namespace. */
export function declaredKeys(file: string = PROJECT_FILE): Set<string> {
    const doc = yaml.load(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> };
    return new Set(Object.keys(doc.config ?? {}).filter((k) => !k.includes(":")));
}

/**
 * Pulumi ignores stack-file keys nobody reads, so a typo (`natGateway` for `natGateways`) would silently deploy the
 * default. Reject any `dify-aws:` key that Pulumi.yaml does not declare, suggesting the closest declared one.
 */
export function rejectUnknownKeys(configured: Record<string, string>, declared: Set<string>): void {
    for (const full of Object.keys(configured)) {
        if (!full.startsWith(`${PROJECT}:`)) {
            continue;
        }
        const key = full.slice(PROJECT.length + 1);
        if (!declared.has(key)) {
            const suggestion = closest(key, [...declared]);
            throw new ConfigError(
                key,
                configured[full],
                `this key is not declared in Pulumi.yaml, so nothing would read it${suggestion ? `; did you mean ${PROJECT}:${suggestion}?` : ""}`,
            );
        }
    }
}

function closest(key: string, candidates: string[]): string | undefined {
    let best: { key: string; distance: number } | undefined;
    for (const c of candidates) {
        const d = editDistance(key.toLowerCase(), c.toLowerCase());
        if (d <= Math.max(2, Math.floor(c.length / 4)) && (!best || d < best.distance)) {
            best = { key: c, distance: d };
        }
    }
    return best?.key;
}

function editDistance(a: string, b: string): number {
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const cur = [i];
        for (let j = 1; j <= b.length; j++) {
            cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        prev = cur;
    }
    return prev[b.length];
}
