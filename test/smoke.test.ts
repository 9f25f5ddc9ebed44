import { expect } from "chai";
import { runProgram } from "./harness";

describe("smoke", () => {
    it("runs dev", async () => {
        const run = await runProgram("dev");
        console.log(run.resources.map((r) => `${r.type} ${r.name} parent=${r.parent.split("::").slice(2).join("::")} protect=${r.protect}`).join("\n"));
        console.log(run.outputs);
        expect(run.resources.length).to.be.greaterThan(5);
        const prd = await runProgram("prd");
        console.log(prd.resources.length, prd.outputs.kmsKeyArn);
    });
});
