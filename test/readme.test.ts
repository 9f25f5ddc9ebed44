import { expect } from "chai";
import * as fs from "fs";
import { costSection } from "../tools/cost/readmeTable";
import { capacitySection } from "../tools/docs/capacity";
import { configReference, README, readSection } from "../tools/docs/readme";
import { stackComparison } from "../tools/docs/stacks";
import { stackRun } from "./harness";

describe("README", () => {
    it("documents every key of Pulumi.yaml with its type and default (run `npm run docs` after changing keys)", () => {
        expect(readSection("config-reference")).to.equal(configReference());
    });

    it("states the monthly cost of dev, dev with active hours and prd as the estimator computes it today (run `npm run docs`)", async () => {
        const section = await costSection({ dev: await stackRun("dev"), prd: await stackRun("prd") });
        expect(readSection("cost-estimate")).to.equal(section);
        expect(section).to.match(/\| dev \| \*\*\$\d/);
    });

    it("compares dev and prd as their settings are (run `npm run docs`)", () => {
        const table = stackComparison();
        expect(readSection("stack-comparison")).to.equal(table);
        expect(table).to.include("| Deletion protection, Pulumi `protect` on data | off | on |");
    });

    it("states what dev and prd serve and hold at maximum scale as the capacity model computes it (run `npm run docs`)", () => {
        const section = capacitySection();
        expect(readSection("capacity")).to.equal(section);
        expect(section).to.match(/^\| prd \| \*\*1,\d{3}\*\*/m);
    });

    it("gives the two commands that set up and test a fresh clone, and .ci/run runs exactly those", () => {
        const readme = fs.readFileSync(README, "utf8");
        expect(readme).to.include("```sh\nnpm ci\nnpm test\n```");
        const ci = fs.readFileSync(".ci/run", "utf8");
        expect(ci).to.match(/^npm ci\b/m);
        expect(ci).to.match(/^npm test$/m);
    });
});
