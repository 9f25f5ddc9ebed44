/**
 * The restore drill and the restore (issue 18, item 6), checked offline as plans built from a stack's real outputs:
 * a restore stops every database writer before the cluster is touched and brings them back only at the end; a drill
 * touches nothing the stack runs. Running either needs AWS: it is not done here.
 */
import { expect } from "chai";
import { RDS_CLUSTER_IDENTIFIER, RDS_INSTANCE_IDENTIFIER, ruleViolations } from "../config/awsRules";
import { DATABASE_WRITERS, PlanStep, RestoreOutputs, restorePlan } from "../tools/restoreDrill";
import { stackRun } from "./harness";

const NOW = new Date("2026-12-03T04:05:00Z");
const indexOf = (plan: PlanStep[], predicate: (s: PlanStep) => boolean) => plan.findIndex(predicate);
const argv = (s: PlanStep) => s.command.join(" ");

async function outputsOf(stack: "dev" | "prd"): Promise<RestoreOutputs> {
    return (await stackRun(stack)).outputs as unknown as RestoreOutputs;
}

describe("restore: every database writer stops first", () => {
    it("the writers are the roles that open database connections: api, worker, beat, the plugin daemon and the websocket", () => {
        expect([...DATABASE_WRITERS].sort()).to.deep.equal(["api", "apiWebsocket", "beat", "pluginDaemon", "worker"]);
    });

    for (const stack of ["dev", "prd"] as const) {
        it(`${stack}: each writer service is stopped (scalable target 0-0 where it scales, desired count 0), and the plan waits for it, before any restore or rename`, async () => {
            const o = await outputsOf(stack);
            const plan = restorePlan(o, { stack, kind: "restore", now: NOW });
            const firstChange = indexOf(plan, (s) => /rds (restore-db-cluster|modify-db-cluster|modify-db-instance|create-db-instance)/.test(argv(s)));
            const waited = indexOf(plan, (s) => argv(s).startsWith("aws ecs wait services-stable"));
            expect(waited).to.be.greaterThan(-1);
            expect(waited).to.be.lessThan(firstChange);
            for (const role of DATABASE_WRITERS) {
                const service = o.serviceNames[role]!;
                expect(service, role).to.be.a("string");
                const stop = indexOf(plan, (s) => argv(s) === `aws ecs update-service --cluster ${o.clusterName} --service ${service} --desired-count 0`);
                expect(stop, `${role} stopped`).to.be.within(0, waited - 1);
                expect(plan[waited].command, `${role} waited for`).to.include(service);
            }
            // A scaled writer would be scaled back to its minimum by Application Auto Scaling: its range goes to 0-0.
            for (const role of ["api", "worker", "pluginDaemon"] as const) {
                const target = indexOf(plan, (s) => argv(s).includes(`--resource-id service/${o.clusterName}/${o.serviceNames[role]} --min-capacity 0 --max-capacity 0`));
                expect(target, `${role} scalable target`).to.be.within(0, waited - 1);
            }
        });

        it(`${stack}: the old cluster is renamed only after the restored writer is available, and the writers start last (pulumi up), after the swap`, async () => {
            const o = await outputsOf(stack);
            const plan = restorePlan(o, { stack, kind: "restore", time: "2026-12-03T03:00:00Z", now: NOW });
            const restored = indexOf(plan, (s) => argv(s).includes("restore-db-cluster-to-point-in-time"));
            expect(plan[restored].command).to.include.members(["--restore-to-time", "2026-12-03T03:00:00Z", "--source-db-cluster-identifier", o.databaseClusterIdentifier]);
            const available = indexOf(plan, (s) => argv(s).startsWith("aws rds wait db-instance-available"));
            const renameOld = indexOf(plan, (s) => argv(s).includes(`--db-cluster-identifier ${o.databaseClusterIdentifier} --new-db-cluster-identifier ${o.databaseClusterIdentifier}-old`));
            const renameNew = indexOf(plan, (s) => argv(s).includes(`--new-db-cluster-identifier ${o.databaseClusterIdentifier} `));
            expect(restored).to.be.lessThan(available);
            expect(available).to.be.lessThan(renameOld);
            expect(renameOld).to.be.lessThan(renameNew);
            // The writers start only after the swap: pulumi up (scalable targets, beat's count), then the single-task
            // writers explicitly (a stack with activeHours leaves their count to the schedule).
            const starts = plan.map((s, i) => (s.writers === "start" ? i : -1)).filter((i) => i >= 0);
            expect(starts[0]).to.be.greaterThan(renameNew);
            expect(plan[starts[0]].command.slice(0, 2)).to.deep.equal(["pulumi", "up"]);
            expect(starts[starts.length - 1]).to.equal(plan.length - 1);
            for (const role of ["beat", "apiWebsocket"] as const) {
                expect(plan.slice(starts[0]).some((s) => argv(s) === `aws ecs update-service --cluster ${o.clusterName} --service ${o.serviceNames[role]} --desired-count 1`), role).to.equal(true);
            }
            // Every instance of the old cluster moves aside, so its names are free for the restored one.
            for (const instance of o.databaseInstanceIdentifiers) {
                expect(plan.some((s) => argv(s).includes(`--db-instance-identifier ${instance} --new-db-instance-identifier`)), instance).to.equal(true);
            }
        });
    }

    it("restores a named snapshot (a pre-migration or AWS Backup one) with the old cluster's key and security group", async () => {
        const o = await outputsOf("prd");
        const plan = restorePlan(o, { stack: "prd", kind: "restore", snapshot: "dify-prd-dify-1-17-1", now: NOW });
        const restore = plan.find((s) => argv(s).includes("restore-db-cluster-from-snapshot"))!;
        expect(restore.command).to.include.members(["--snapshot-identifier", "dify-prd-dify-1-17-1", "--kms-key-id", o.kmsKeyArn!, "--vpc-security-group-ids", o.databaseSecurityGroupId]);
        // prd is Serverless v2: the restore takes its capacity range.
        expect(restore.command).to.include("--serverless-v2-scaling-configuration");
        expect(plan.some((s) => argv(s).includes("restore-db-cluster-to-point-in-time"))).to.equal(false);
    });

    it("every {placeholder} a step uses is read by an earlier step, for both kinds and both capacity modes", async () => {
        const prd = await outputsOf("prd");
        for (const o of [prd, { ...prd, databaseServerless: false }]) {
            for (const kind of ["drill", "restore"] as const) {
                const known = new Set<string>();
                for (const step of restorePlan(o, { stack: "prd", kind, now: NOW })) {
                    for (const [, name] of argv(step).matchAll(/\{(\w+)\}/g)) {
                        expect(known.has(name), `${kind}: ${step.title} uses {${name}}`).to.equal(true);
                    }
                    step.capture?.forEach((name) => known.add(name));
                }
            }
        }
    });

    it("a provisioned cluster is restored without a Serverless v2 range", async () => {
        const o = { ...(await outputsOf("prd")), databaseServerless: false };
        const plan = restorePlan(o, { stack: "prd", kind: "restore", now: NOW });
        expect(plan.some((s) => s.command.includes("--serverless-v2-scaling-configuration"))).to.equal(false);
        expect(plan.find((s) => argv(s).includes("restore-db-cluster-to-point-in-time"))!.command).to.include("--use-latest-restorable-time");
    });
});

describe("restore drill: measures a restore and touches nothing the stack runs", () => {
    it("dev: restores into a side cluster with a valid, dated identifier, waits for its writer, and deletes it", async () => {
        const o = await outputsOf("dev");
        const plan = restorePlan(o, { stack: "dev", kind: "drill", now: NOW });
        const target = `${o.databaseClusterIdentifier}-drill-202612030405`;
        expect(ruleViolations(RDS_CLUSTER_IDENTIFIER, target)).to.deep.equal([]);
        expect(ruleViolations(RDS_INSTANCE_IDENTIFIER, `${target}-1`)).to.deep.equal([]);
        expect(plan.find((s) => argv(s).includes("restore-db-cluster-to-point-in-time"))!.command).to.include.members(["--db-cluster-identifier", target]);
        expect(argv(plan[plan.length - 1])).to.equal(`aws rds delete-db-cluster --db-cluster-identifier ${target} --skip-final-snapshot`);
    });

    it("dev: no step stops a service, renames, modifies or deletes the live cluster or its instances, or runs pulumi", async () => {
        const o = await outputsOf("dev");
        const plan = restorePlan(o, { stack: "dev", kind: "drill", now: NOW });
        const live = [o.databaseClusterIdentifier, ...o.databaseInstanceIdentifiers];
        for (const step of plan) {
            expect(step.writers, step.title).to.equal(undefined);
            expect(step.command[0], step.title).to.equal("aws");
            expect(step.command[1], step.title).to.equal("rds");
            const mutates = /^(modify|delete|restore|create)-/.test(step.command[2]);
            if (mutates) {
                const named = step.command.filter((_, i) => ["--db-cluster-identifier", "--db-instance-identifier"].includes(step.command[i - 1]));
                expect(named.filter((n) => live.includes(n)), step.title).to.deep.equal([]);
            }
        }
    });
});
