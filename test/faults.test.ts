/**
 * The README's fault table (issue 18, item 8): every fault the issue names has a row on both stacks, every row names
 * at least one alarm or event rule, and every name is one the program registers for that stack (an alarm renamed or
 * dropped fails here). The README shows exactly what tools/docs/faults.ts computes.
 */
import { expect } from "chai";
import { DEPLOYMENT_ALARM } from "../components/alarms/deployments";
import { faultRows, faultSection } from "../tools/docs/faults";
import { paritySection } from "../tools/docs/parity";
import { readSection } from "../tools/docs/readme";
import { DEFAULT_DIFY_RELEASE, DIFY_RELEASES } from "../config/upstream/releases";
import { loadSettingsFor, stackRun } from "./harness";

/** The faults issue 18 asks the table to cover, as words each row's name must contain. */
const FAULTS_ASKED = [/Availability Zone/, /Aurora fails over/, /cache fails over/, /Spot/, /crash/, /credential/, /EFS is slow/, /Ten times/, /restore/];

describe("fault table", () => {
    for (const stack of ["dev", "prd"] as const) {
        it(`${stack}: one row for each fault the issue names, each with what users see and for how long`, () => {
            const rows = faultRows(loadSettingsFor(stack).settings);
            for (const asked of FAULTS_ASKED) {
                expect(rows.filter((r) => asked.test(r.fault)), String(asked)).to.have.length(1);
            }
            for (const r of rows) {
                expect(r.users.length, r.fault).to.be.greaterThan(20);
                expect(r.duration.length, r.fault).to.be.greaterThan(1);
            }
        });

        it(`${stack}: no fault leaves Dify broken without an alarm or event rule that names it, and every name is registered`, async () => {
            const run = await stackRun(stack);
            const registered = new Set([
                ...run.ofType("aws:cloudwatch/metricAlarm:MetricAlarm").map((a) => a.inputs.name as string),
                ...run.ofType("aws:cloudwatch/eventRule:EventRule").map((r) => r.inputs.name as string),
            ]);
            for (const r of faultRows(loadSettingsFor(stack).settings)) {
                expect(r.alarms.length, r.fault).to.be.greaterThan(0);
                for (const name of r.alarms) {
                    expect(registered.has(name), `${r.fault}: ${name}`).to.equal(true);
                }
            }
        });
    }

    it("prd names the failovers themselves: the database's events and the cache's primary moving", () => {
        const rows = faultRows(loadSettingsFor("prd").settings);
        expect(rows.find((r) => /Aurora fails over/.test(r.fault))!.alarms).to.include("dify-prd-database-events");
        expect(rows.find((r) => /cache fails over/.test(r.fault))!.alarms).to.include("dify-prd-cache-failover");
        expect(rows.find((r) => /restore/.test(r.fault))!.alarms).to.include("dify-prd-backup-jobs");
    });

    it("the rows quote what the program deploys: the deployment alarms' windows, and the same rotation story as the runbook", () => {
        const rows = faultRows(loadSettingsFor("prd").settings);
        const deploy = rows.find((r) => /crash/.test(r.fault))!;
        expect(deploy.duration).to.include(`in ${DEPLOYMENT_ALARM.errorWindow.breaching} of ${DEPLOYMENT_ALARM.errorWindow.of} minutes`);
        expect(deploy.duration).to.include(`${loadSettingsFor("prd").settings.cluster.deployment.canaryBakeMinutes}-minute bake`);
        const credential = rows.find((r) => /credential/.test(r.fault))!;
        // The runbook's "Rotating credentials" says a new database password fails new connections during the roll.
        expect(readSection("fault-table")).to.include(credential.users.slice(0, 60));
        expect(credential.users).to.match(/database password fails the new connections/);
        expect(credential.users).to.not.match(/^Through the program: nothing/);
    });

    it("the durations follow the settings: a stack without a database reader waits for a new writer", () => {
        const withReader = faultRows(loadSettingsFor("prd").settings).find((r) => /Aurora/.test(r.fault))!;
        const without = faultRows(loadSettingsFor("prd", { databaseReaderCount: 0 }).settings).find((r) => /Aurora/.test(r.fault))!;
        expect(withReader.duration).to.match(/promote the reader/);
        expect(without.duration).to.match(/new writer instance/);
    });

    it("the README's fault table and parity table are what the code computes (run `npm run docs`)", () => {
        expect(readSection("fault-table")).to.equal(faultSection());
        expect(readSection("parity")).to.equal(paritySection(DIFY_RELEASES[DEFAULT_DIFY_RELEASE]));
    });
});
