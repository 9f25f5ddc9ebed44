/**
 * The whole program through the policy pack: everything the dev and prd programs register under mocks is fed to
 * every policy with that stack's `--policy-pack-config` file, as `pulumi up --policy-pack policy` would.
 */
import { expect } from "chai";
import { ProgramRun, stackRun } from "./harness";
import { formatReport, PackReport, readPackConfigFile, resolvePackConfig, runPack } from "./policyHarness";

const STACKS = ["dev", "prd"] as const;

describe("policy pack over the whole program", () => {
    const runs: Partial<Record<(typeof STACKS)[number], ProgramRun>> = {};
    before(async () => {
        for (const stack of STACKS) {
            runs[stack] = await stackRun(stack);
        }
    });

    for (const stack of STACKS) {
        it(`${stack}: zero mandatory violations with policy/config/${stack}.json`, async () => {
            const run = runs[stack]!;
            // The check means nothing unless the program registered its resources.
            expect(run.resources.filter((r) => r.custom).length).to.be.greaterThan(10);
            const report = await runPack(run.resources, resolvePackConfig(readPackConfigFile(stack)));
            console.log(formatReport(stack, report));
            const mandatory = report.violations.filter((v) => v.level === "mandatory");
            expect(mandatory.map((v) => `${v.policy}: ${v.resource}: ${v.message}`)).to.deep.equal([]);
        });
    }

    it("is not vacuous: dev's resources under prd's policy config are rejected where dev relaxes the rules", async () => {
        const report: PackReport = await runPack(runs.dev!.resources, resolvePackConfig(readPackConfigFile("prd")));
        const failing = new Set(report.violations.filter((v) => v.level === "mandatory").map((v) => v.policy));
        // dev keeps no customer-managed key (its log groups use the AWS-owned key).
        expect([...failing]).to.include("customer-managed-keys");
    });
});
