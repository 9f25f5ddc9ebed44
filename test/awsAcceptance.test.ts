/**
 * AWS acceptance: every string the program sends meets the rule AWS applies to it (config/awsRules.ts), on both stacks
 * and their variants, at `up` and at preview (where values not known yet are skipped).
 */
import { expect } from "chai";
import { EC2_SECURITY_GROUP_DESCRIPTION, inputViolations, ruleViolations } from "../config/awsRules";
import { ProgramRun, stackRun } from "./harness";

function violations(run: ProgramRun): string[] {
    return run.resources.flatMap((r) => inputViolations(r.type, r.inputs).map((v) => `${r.type} ${r.name}: ${v}`));
}

describe("AWS acceptance of every string the program sends", () => {
    it("the security group description rule refuses what EC2 refuses (the plugin workspace's old apostrophe)", () => {
        expect(ruleViolations(EC2_SECURITY_GROUP_DESCRIPTION, "EFS mount targets of the plugin daemon's working path: ingress rules are added per caller by the consumer")).to.have.length(1);
        expect(ruleViolations(EC2_SECURITY_GROUP_DESCRIPTION, "Dify ALB: HTTPS and HTTP from the allow-list only; egress only to Dify task ports")).to.deep.equal([]);
        expect(ruleViolations(EC2_SECURITY_GROUP_DESCRIPTION, "")).to.have.length(1);
        expect(ruleViolations(EC2_SECURITY_GROUP_DESCRIPTION, "x".repeat(256))).to.have.length(1);
    });

    for (const stack of ["dev", "prd"] as const) {
        for (const preview of [false, true]) {
            it(`${stack}${preview ? " (preview)" : ""}: every registered input AWS would accept`, async () => {
                const run = await stackRun(stack, { preview });
                expect(violations(run)).to.deep.equal([]);
            });
        }
    }
});
