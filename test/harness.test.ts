import { expect } from "chai";
import * as path from "path";
import { runProgram } from "./harness";

describe("test harness", () => {
    it("fails a run whose program throws inside an apply, instead of passing with nothing registered", async () => {
        let error: Error | undefined;
        try {
            await runProgram("dev", {}, { entry: path.join(__dirname, "fixtures", "throwsInApply.ts") });
        } catch (e) {
            error = e as Error;
        }
        expect(error?.message).to.match(/unhandled rejection.*cannot name bucket/);
    });

    it("applies Pulumi.yaml defaults and the stack file (the CLI does; mocks do not)", async () => {
        const run = await runProgram("prd");
        // natGateways is set in neither stack file for prd: the value comes from Pulumi.yaml's default.
        expect(run.one("awsx:ec2:Vpc").inputs.natGateways.strategy).to.equal("OnePerAz");
        // logRetentionDays comes from Pulumi.prd.yaml, overriding the default.
        expect(run.one("aws:cloudwatch/logGroup:LogGroup", "network-flow-logs").inputs.retentionInDays).to.equal(365);
    });

    it("records resource options the mock monitor does not pass to newResource", async () => {
        const run = await runProgram("prd");
        const component = run.one("dify-aws:network:VpcWithEndpoints");
        expect(run.one("aws:ec2/flowLog:FlowLog").parent).to.equal(component.urn);
        expect(run.one("aws:kms/key:Key", "key-key").protect).to.equal(true);
    });
});
