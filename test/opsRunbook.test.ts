/**
 * The README runbook names stack outputs, config keys and files; an operator copies those commands during an incident.
 * These tests keep every name it uses in step with what the program actually exports and declares.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { readProjectFile, ROOT, stackRun } from "./harness";

function runbook(): string {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const start = readme.indexOf("\n## Runbook");
    expect(start, "README.md has a ## Runbook section").to.be.at.least(0);
    const next = readme.indexOf("\n## ", start + 1);
    return readme.slice(start, next < 0 ? undefined : next);
}

const unique = (xs: string[]) => [...new Set(xs)].sort();

describe("README runbook", () => {
    it("covers every operation the platform team needs", () => {
        const headings = [...runbook().matchAll(/^### (.+)$/gm)].map((m) => m[1].toLowerCase());
        for (const topic of ["state backend", "first deploy", "upgrading dify", "rolling back", "ecs exec", "database", "snapshot", "tearing down dev"]) {
            expect(headings.some((h) => h.includes(topic)), `a ### section about ${topic} (have: ${headings.join(" | ")})`).to.equal(true);
        }
    });

    it("explains the upgrade's migration gate, rolling deploy and automatic rollback", () => {
        const text = runbook();
        expect(text).to.match(/MODE=migration/);
        expect(text).to.match(/minimum healthy 100 %, maximum 200 %/);
        expect(text).to.match(/circuit\s+breaker/);
        expect(text).to.match(/difyImageTag/);
    });

    for (const stack of ["dev", "prd"] as const) {
        it(`uses only stack outputs the ${stack} program exports, and only keys those outputs have`, async () => {
            const run = await stackRun(stack);
            const text = runbook();
            const used = unique([...text.matchAll(/pulumi stack output (\w+)/g)].map((m) => m[1]));
            expect(used.length).to.be.greaterThan(8);
            for (const name of used) {
                expect(run.outputs, `pulumi stack output ${name}`).to.have.property(name);
            }
            // `pulumi stack output <map> --json | jq -r .<key>`
            const lookups = [...text.matchAll(/pulumi stack output (\w+)[^|\n)]*--json \| jq -r \.(\w+)/g)];
            expect(lookups.length).to.be.greaterThan(3);
            for (const m of lookups) {
                expect(run.outputs[m[1]] as Record<string, unknown>, `${m[1]}.${m[2]}`).to.have.property(m[2]);
            }
        });
    }

    it("sets only config keys Pulumi.yaml declares", () => {
        const declared = new Set(Object.keys(readProjectFile().config));
        const used = unique([...runbook().matchAll(/dify-aws:(\w+)/g)].map((m) => m[1]));
        expect(used.length).to.be.greaterThan(5);
        for (const key of used) {
            expect(declared.has(key), `dify-aws:${key}`).to.equal(true);
        }
    });

    it("names files that exist", () => {
        const files = unique([...runbook().matchAll(/(\.github\/workflows\/[\w.-]+\.yml|components\/[\w/]+\.ts|policy\/config\/(?:dev|prd)\.json)/g)].map((m) => m[1]));
        expect(files.length).to.be.greaterThan(2);
        for (const file of files) {
            expect(fs.existsSync(path.join(ROOT, file)), file).to.equal(true);
        }
    });

    it("names the GitHub variables the workflows read", () => {
        const text = runbook();
        const workflows = ["preview.yml", "deploy.yml"].map((f) => fs.readFileSync(path.join(ROOT, ".github", "workflows", f), "utf8")).join("\n");
        const vars = unique([...workflows.matchAll(/vars\.([A-Z_]+)/g)].map((m) => m[1]).concat([...workflows.matchAll(/roleVariable: ([A-Z_]+)/g)].map((m) => m[1])));
        expect(vars).to.include.members(["AWS_DEPLOY_ROLE_ARN", "AWS_PREVIEW_ROLE_ARN_DEV", "AWS_PREVIEW_ROLE_ARN_PRD", "AWS_REGION", "PULUMI_BACKEND_URL"]);
        for (const v of vars) {
            expect(text, v).to.include(v);
        }
        for (const s of unique([...workflows.matchAll(/secrets\.([A-Z_]+)/g)].map((m) => m[1]))) {
            expect(text, s).to.include(s);
        }
    });
});
