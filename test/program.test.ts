import { expect } from "chai";
import { ProgramRun, stackRun } from "./harness";

const RANDOM_TYPES = ["random:index/randomPassword:RandomPassword", "random:index/randomString:RandomString"];

/** Every (path, string) leaf of a value. */
function leaves(value: unknown, path = ""): [string, string][] {
    if (typeof value === "string") {
        return [[path, value]];
    }
    if (Array.isArray(value)) {
        return value.flatMap((v, i) => leaves(v, `${path}[${i}]`));
    }
    if (value && typeof value === "object") {
        return Object.entries(value).flatMap(([k, v]) => leaves(v, path ? `${path}.${k}` : k));
    }
    return [];
}

describe("the whole program", () => {
    for (const stack of ["dev", "prd"] as const) {
        describe(stack, () => {
            let run: ProgramRun;
            before(async () => {
                run = await stackRun(stack);
            });

            it("registers the stack's components and their resources", () => {
                const components = run.resources.filter((r) => !r.custom).map((r) => r.type);
                for (const type of ["dify-aws:network:VpcWithEndpoints", "dify-aws:data:ManagedData", "dify-aws:edge:EdgeAlb", "dify-aws:app:DifyCluster", "dify-aws:ops:Alarms"]) {
                    expect(components, type).to.include(type);
                }
                const stackKeys = run.resources.filter((r) => r.type === "dify-aws:security:EncryptionKey" && r.parent === "");
                expect(stackKeys.length, "the stack key exists exactly when configured").to.equal(stack === "prd" ? 1 : 0);
                // Every AWS resource is some component's child; none is left at the stack's root.
                expect(run.resources.filter((r) => r.custom && r.parent === "")).to.deep.equal([]);
            });

            it("declares nothing at the top level but this project's components (index.ts holds no resource logic)", () => {
                const topLevel = run.resources.filter((r) => r.parent === "");
                expect(topLevel.length).to.be.greaterThan(0);
                for (const r of topLevel) {
                    expect(r.type, r.name).to.match(/^dify-aws:[a-z]+:[A-Z][A-Za-z]+$/);
                    expect(r.custom, r.name).to.equal(false);
                }
            });

            it("gives every resource a unique logical name within its type", () => {
                const seen = new Set<string>();
                for (const r of run.resources) {
                    const key = `${r.type}::${r.name}`;
                    expect(seen.has(key), key).to.equal(false);
                    seen.add(key);
                }
            });

            it("never lets a generated secret leave a secret input: not in plain inputs, not in outputs", () => {
                const generated = run.resources.filter((r) => RANDOM_TYPES.includes(r.type)).map((r) => r.state.result as string);
                for (const r of run.resources) {
                    for (const [path, value] of leaves(r.inputs)) {
                        for (const secret of generated) {
                            if (value.includes(secret)) {
                                expect(r.secretPaths.some((p) => path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`)), `${r.type} ${r.name} ${path} holds a generated secret in plain text`).to.equal(true);
                            }
                        }
                    }
                }
                for (const [path, value] of leaves(run.outputs)) {
                    for (const secret of generated) {
                        expect(value.includes(secret), `output ${path} holds a generated secret`).to.equal(false);
                    }
                }
            });

            it("protects the stack key when the stack protects data", () => {
                const keys = run.ofType("aws:kms/key:Key").filter((k) => k.name === "key-key");
                if (stack === "prd") {
                    expect(keys).to.have.length(1);
                    expect(keys[0].protect).to.equal(true);
                    expect(keys[0].inputs.enableKeyRotation).to.equal(true);
                    expect(keys[0].inputs.deletionWindowInDays).to.equal(30);
                } else {
                    expect(keys, "dev uses AWS-managed keys").to.have.length(0);
                }
            });
        });
    }

    it("lets CloudWatch Logs and alarms use the prd key only for this account", async () => {
        const run = await stackRun("prd");
        const policy = JSON.parse(run.one("aws:kms/key:Key", "key-key").inputs.policy);
        const logs = policy.Statement.find((s: { Principal: { Service?: string } }) => s.Principal.Service === "logs.ap-northeast-1.amazonaws.com");
        expect(logs.Condition.ArnLike["kms:EncryptionContext:aws:logs:arn"]).to.equal("arn:aws:logs:ap-northeast-1:123456789012:log-group:*");
        const alarms = policy.Statement.find((s: { Principal: { Service?: string } }) => s.Principal.Service === "cloudwatch.amazonaws.com");
        expect(alarms.Action).to.not.include("kms:*");
        expect(alarms.Condition.StringEquals["aws:SourceAccount"]).to.equal("123456789012");
    });
});
