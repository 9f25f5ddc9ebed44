/**
 * No config change destroys user data (issue 17): every key that reaches a replace-forcing input of a data resource,
 * or removes one, is refused by the data guard's check unless acknowledged, on both stacks; and every data resource
 * waits for that check.
 */
import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { DATA_ITEM_NAMES, DATA_ITEMS, DataItem, guardedFields } from "../config/dataAtRisk";
import { configErrorFor, loadSettingsFor, ProgramRun, stackRun } from "./harness";
import type { RegisteredResource } from "./mocks";

type GuardInputs = { items: Record<string, { what: string; fields: { key: string; value: string; rule: string }[] }>; acknowledged: string[] };

/** The guard's provider as the engine gets it (deserialized from `__provider`). */
function provider(guard: RegisteredResource): pulumi.dynamic.ResourceProvider {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const requireFromString = require("require-from-string") as (code: string) => { handler(): pulumi.dynamic.ResourceProvider };
    return requireFromString(guard.inputs.__provider).handler();
}

/** What the program gives the guard for a stack and overrides (the same function the program calls). */
function inputsFor(stack: "dev" | "prd", overrides: Record<string, unknown>): GuardInputs {
    const { settings } = loadSettingsFor(stack, overrides);
    const fields = guardedFields(settings);
    return { items: Object.fromEntries(DATA_ITEM_NAMES.map((i) => [i, { what: DATA_ITEMS[i], fields: fields[i] }])), acknowledged: settings.common.acknowledgedDataLoss };
}

/** Each key that can lose data, a value that does on each stack, and the items it would lose. */
const LOSSES: { key: string; value: (stack: "dev" | "prd") => unknown; loses: (stack: "dev" | "prd") => DataItem[] }[] = [
    { key: "bucketName", value: () => "acme-renamed-dify-files", loses: () => ["files"] },
    {
        key: "customerManagedKey",
        // dev has no key: turning it on re-encrypts (replaces) the data; prd turning it off also deletes the key.
        value: (stack) => stack === "dev",
        // prd's backup vault is encrypted with the key too (a new key replaces the vault, which AWS refuses while it
        // holds recovery points); dev has no plan.
        loses: (stack) => (stack === "dev" ? ["database", "cache", "pluginWorkspace", "agentWorkspace"] : ["database", "cache", "pluginWorkspace", "agentWorkspace", "key", "backups"]),
    },
    { key: "cacheEngine", value: () => ({ cacheEngine: "redis", cacheEngineVersion: "7.1" }), loses: () => ["cache"] },
    { key: "cacheEngineVersion", value: () => "8.0", loses: () => ["cache"] },
    { key: "pluginDaemonSharedStorage", value: () => false, loses: () => ["pluginWorkspace"] },
    { key: "agentV2Enabled", value: () => false, loses: () => ["agentWorkspace"] },
    { key: "bucketAccessLogs", value: () => false, loses: () => ["accessLogs"] },
    // dev has no plan to lose.
    { key: "backupPlan", value: () => false, loses: (stack) => (stack === "prd" ? ["backups"] : []) },
];
const overridesOf = (key: string, value: unknown) => (value !== null && typeof value === "object" ? (value as Record<string, unknown>) : { [key]: value });

describe("data guard: a config change that would lose data is refused unless acknowledged", () => {
    for (const stack of ["dev", "prd"] as const) {
        describe(stack, () => {
            let run: ProgramRun;
            let guard: RegisteredResource;
            before(async () => {
                run = await stackRun(stack);
                guard = run.resources.find((r) => r.type.endsWith(":DataGuardRecord"))!;
            });

            it("records exactly the guarded values of the stack's config, and waits for nothing", () => {
                const expected = inputsFor(stack, {});
                expect(guard.inputs.items).to.deep.equal(expected.items);
                expect(guard.inputs.acknowledged).to.deep.equal([]);
                expect(guard.dependencies).to.deep.equal([]);
            });

            it("every data resource waits for the guard's check", () => {
                const data = [
                    ...run.ofType("aws:s3/bucket:Bucket").filter((b) => b.name === "data-files"),
                    ...run.ofType("aws:rds/cluster:Cluster"),
                    ...run.ofType("aws:elasticache/replicationGroup:ReplicationGroup"),
                    ...run.ofType("aws:efs/fileSystem:FileSystem"),
                    ...run.ofType("aws:kms/key:Key").filter((k) => k.name === "key-key"),
                    ...run.ofType("aws:s3/bucket:Bucket").filter((b) => b.name === "data-files-access-logs"),
                    ...run.ofType("aws:backup/vault:Vault"),
                ];
                expect(data.length).to.be.at.least(stack === "prd" ? 8 : 6);
                for (const r of data) {
                    expect(r.dependencies, r.name).to.include(guard.urn);
                }
            });

            for (const loss of LOSSES) {
                it(`${loss.key}: refused, naming the key, both values and the data; passes once acknowledged`, async () => {
                    const p = provider(guard);
                    const olds = guard.inputs as GuardInputs;
                    const value = loss.value(stack);
                    const news = inputsFor(stack, overridesOf(loss.key, value));
                    const refused = await p.check!(olds, news);
                    const reasons = (refused.failures ?? []).map((f) => f.reason);
                    // One sentence per changed key and item; together they name exactly the items at risk.
                    const named = DATA_ITEM_NAMES.filter((item) => reasons.some((r) => r.includes(DATA_ITEMS[item]) && r.includes(`"${item}"`)));
                    expect(named, reasons.join("\n")).to.deep.equal(loss.loses(stack));
                    expect(reasons.every((r) => r.includes("dify-aws:") && r.includes("deployed:"))).to.equal(true);
                    const acknowledged = inputsFor(stack, { ...overridesOf(loss.key, value), acknowledgeDataLoss: loss.loses(stack) });
                    expect((await p.check!(olds, acknowledged)).failures ?? []).to.deep.equal([]);
                });
            }

            it("lets through what loses nothing: a first deploy, an unchanged config, a higher cache version, a workspace added", async () => {
                const p = provider(guard);
                const olds = guard.inputs as GuardInputs;
                expect((await p.check!({}, olds)).failures ?? []).to.deep.equal([]);
                expect((await p.check!(olds, inputsFor(stack, {}))).failures ?? []).to.deep.equal([]);
                expect((await p.check!(olds, inputsFor(stack, { cacheEngineVersion: "9.0" }))).failures ?? []).to.deep.equal([]);
                const withoutAgent = inputsFor(stack, { agentV2Enabled: false, acknowledgeDataLoss: ["agentWorkspace"] });
                expect((await p.check!(withoutAgent, inputsFor(stack, {}))).failures ?? []).to.deep.equal([]);
            });
        });
    }

    it("refuses an acknowledgement that names no data item, echoing it", () => {
        const message = configErrorFor("prd", { acknowledgeDataLoss: ["files", "everything"] });
        expect(message).to.contain('"everything"');
        expect(message).to.contain("files, database, cache, pluginWorkspace, agentWorkspace, key");
    });
});
