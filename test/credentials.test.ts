/**
 * Generated credentials change only when an operator rotates them (issue 17): not when a refactor renames or
 * re-parents their generator, not when one of its inputs is tweaked.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { GENERATOR_INPUTS } from "../components/credentials";
import { ProgramRun, ROOT, stackRun } from "./harness";

const GENERATORS = ["random:index/randomPassword:RandomPassword", "random:index/randomId:RandomId"];
/** Generators that are not credentials: the target groups' name suffixes (random, but public and replaceable). */
const NOT_CREDENTIALS = /-tg-suffix$/;
const PINNED = JSON.parse(fs.readFileSync(path.join(ROOT, "test", "fixtures", "credential-urns.json"), "utf8")) as { urns: string[] };

const credentialsOf = (run: ProgramRun) => run.resources.filter((r) => GENERATORS.includes(r.type) && !NOT_CREDENTIALS.test(r.name));
/** A URN without its `urn:pulumi:<stack>::<project>::` head. */
const tail = (urn: string) => urn.split("::").slice(2).join("::");

describe("credentials: generated once, rotated only on purpose", () => {
    for (const stack of ["dev", "prd"] as const) {
        it(`${stack}: every credential generator keeps the URN it was deployed with (or declares an alias to it)`, async () => {
            const run = await stackRun(stack);
            const moved = credentialsOf(run).filter((r) => !PINNED.urns.includes(tail(r.urn)) && !(r.aliasCount && r.aliasCount > 0));
            expect(
                moved.map((r) => tail(r.urn)),
                "a new URN regenerates the credential: keep the old name, or add an alias, then update test/fixtures/credential-urns.json",
            ).to.deep.equal([]);
            const missing = PINNED.urns.filter((u) => !credentialsOf(run).some((r) => tail(r.urn) === u));
            expect(missing, "a pinned credential is gone: deleting it would rotate what depends on it").to.deep.equal([]);
        });

        it(`${stack}: no input of a generator can regenerate it, and ${stack === "prd" ? "deleting it fails the update" : "dev may delete it with the stack"}`, async () => {
            const run = await stackRun(stack);
            const generators = credentialsOf(run);
            expect(generators).to.have.length(PINNED.urns.length);
            for (const g of generators) {
                for (const input of Object.keys(g.inputs).filter((k) => k !== "__defaults")) {
                    expect(g.ignoreChanges, `${g.name}.${input}`).to.include(input);
                }
                expect(g.protect, g.name).to.equal(stack === "prd");
            }
            expect(GENERATOR_INPUTS).to.include.members(["length", "special", "byteLength", "keepers", "overrideSpecial"]);
        });
    }
});
