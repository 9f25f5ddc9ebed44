import { expect } from "chai";
import * as fs from "fs";
import { configReference, README, readmeSection } from "./configReference";

describe("README", () => {
    it("documents every key of Pulumi.yaml with its type and default (run `npm run docs:config` after changing keys)", () => {
        expect(readmeSection()).to.equal(configReference());
    });

    it("gives the two commands that set up and test a fresh clone, and .ci/run runs exactly those", () => {
        const readme = fs.readFileSync(README, "utf8");
        expect(readme).to.include("```sh\nnpm ci\nnpm test\n```");
        const ci = fs.readFileSync(".ci/run", "utf8");
        expect(ci).to.match(/^npm ci\b/m);
        expect(ci).to.match(/^npm test$/m);
    });
});
