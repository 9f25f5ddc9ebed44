/**
 * Upgrades and rollbacks (issue 17): the pre-migration snapshot, a migration that cannot pass wrongly, the plugin
 * daemon's own migration, and how they are wired into both stacks.
 */
import { expect } from "chai";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CreateDBClusterSnapshotCommand, DeleteDBClusterSnapshotCommand, DescribeDBClusterSnapshotsCommand, DBClusterSnapshot } from "@aws-sdk/client-rds";
import { difyMigrationCommand, MIGRATION_EXIT, migrationSessionCleanupCommand, PLUGIN_DAEMON_COMMANDS, snapshotIdentifier, takePreMigrationSnapshot } from "../components/migrationGate";
import type { Clock } from "../components/migrationGate";
import { applicationNameOf } from "../components/difyEnvironment/shared";
import { configErrorFor, containerOf, ProgramRun, runProgram, stackRun } from "./harness";
import { DescribeServiceDeploymentsCommand, DescribeServicesCommand, DescribeTasksCommand, ListServiceDeploymentsCommand, ListTasksCommand } from "@aws-sdk/client-ecs";
import { checkRollouts, RolloutInput } from "../components/rolloutCheck";
import { rolloutBudgetMinutes } from "../components/difyCluster/services";
import { DIFY_ROLES } from "../config/roles";

const dynamic = (run: ProgramRun, kind: string) => run.resources.filter((r) => r.type.endsWith(`:${kind}`));

/** Runs the migration wrapper with a stand-in for the image's /entrypoint.sh that prints `output` and exits `code`. */
function runWrapper(output: string, code: number): { status: number; stderr: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dify-migration-"));
    const entrypoint = path.join(dir, "entrypoint.sh");
    fs.writeFileSync(entrypoint, `printf '%s\\n' ${JSON.stringify(output)}\nexit ${code}\n`);
    const { command } = difyMigrationCommand();
    const script = command[0].replace("/entrypoint.sh", entrypoint).replace(/\/tmp\/dify-migration\.log/g, path.join(dir, "out.log"));
    try {
        execFileSync("/bin/bash", ["-c", script], { stdio: ["ignore", "ignore", "pipe"] });
        return { status: 0, stderr: "" };
    } catch (e) {
        const err = e as { status: number; stderr: Buffer };
        return { status: err.status, stderr: err.stderr.toString() };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

describe("upgrades: the migration command fails when Dify skipped the migration", () => {
    it("runs the image's own entrypoint through bash, as the dify-api Dockerfile's ENTRYPOINT does", () => {
        const { entryPoint, command } = difyMigrationCommand();
        expect(entryPoint).to.deep.equal(["/bin/bash", "-c"]);
        expect(command[0]).to.contain("/bin/bash /entrypoint.sh");
    });

    it("exits 0 only when Dify printed that the migration succeeded", () => {
        expect(runWrapper("Preparing database migration...\nStarting database migration.\nDatabase migration successful!", 0).status).to.equal(0);
    });

    it("exits with the lock-held code when Dify printed \"Database migration skipped\" and exited 0", () => {
        const r = runWrapper("Preparing database migration...\nDatabase migration skipped", 0);
        expect(r.status).to.equal(MIGRATION_EXIT.lockHeld);
        expect(r.stderr).to.contain("upgrade lock");
    });

    it("keeps upgrade-db's own failure code, and refuses an exit 0 that reported nothing", () => {
        expect(runWrapper("Database migration failed: boom", 1).status).to.equal(1);
        expect(runWrapper("Migration completed, exiting normally", 0).status).to.equal(MIGRATION_EXIT.noSuccess);
    });

    it("the timeout cleanup ends exactly the migration's sessions (its application_name), never its own", () => {
        const cleanup = migrationSessionCleanupCommand()[0];
        expect(cleanup).to.contain(`application_name = '${applicationNameOf("migration")}'`);
        expect(cleanup).to.contain("pid <> pg_backend_pid()");
        expect(cleanup).to.contain("pg_terminate_backend");
        // The migration's sessions carry that name (DB_EXTRAS), so the cleanup can find them.
    });
});

/** A fake RDS: the snapshot becomes available after `creatingPolls` polls; `existing` are older snapshots. */
class FakeRds {
    calls: { command: string; input: any }[] = [];
    polls = 0;
    constructor(
        private readonly existing: DBClusterSnapshot[],
        private readonly opts: { creatingPolls?: number; status?: string; createError?: Error } = {},
    ) {}
    async send(command: any): Promise<any> {
        this.calls.push({ command: command.constructor.name, input: command.input });
        if (command instanceof CreateDBClusterSnapshotCommand) {
            if (this.opts.createError) {
                throw this.opts.createError;
            }
            return { DBClusterSnapshot: { DBClusterSnapshotArn: `arn:aws:rds:ap-northeast-1:123456789012:cluster-snapshot:${command.input.DBClusterSnapshotIdentifier}` } };
        }
        if (command instanceof DescribeDBClusterSnapshotsCommand) {
            if (command.input.DBClusterSnapshotIdentifier) {
                this.polls += 1;
                const status = this.opts.status ?? (this.polls > (this.opts.creatingPolls ?? 2) ? "available" : "creating");
                return { DBClusterSnapshots: [{ DBClusterSnapshotIdentifier: command.input.DBClusterSnapshotIdentifier, Status: status }] };
            }
            // The listing: two pages, the new snapshot among them.
            const created = this.calls.find((c) => c.command === "CreateDBClusterSnapshotCommand")!.input;
            const mine = { DBClusterSnapshotIdentifier: created.DBClusterSnapshotIdentifier, Status: "available", SnapshotCreateTime: new Date("2026-12-03T10:00:00Z"), TagList: created.Tags };
            const all = [mine, ...this.existing];
            return command.input.Marker ? { DBClusterSnapshots: all.slice(2) } : { DBClusterSnapshots: all.slice(0, 2), Marker: all.length > 2 ? "page-2" : undefined };
        }
        if (command instanceof DeleteDBClusterSnapshotCommand) {
            return {};
        }
        throw new Error(`unexpected ${command.constructor.name}`);
    }
    named(name: string) {
        return this.calls.filter((c) => c.command === name);
    }
}

class Clock0 implements Clock {
    t = Date.parse("2026-12-03T10:00:00Z");
    now() {
        return this.t;
    }
    async sleep(ms: number) {
        this.t += ms;
    }
}

const ours = (id: string, day: number): DBClusterSnapshot => ({
    DBClusterSnapshotIdentifier: id,
    Status: "available",
    SnapshotCreateTime: new Date(`2026-11-${String(day).padStart(2, "0")}T00:00:00Z`),
    TagList: [{ Key: "dify-aws:pre-migration-snapshot", Value: "dify-prd" }],
});
const INPUT = { clusterIdentifier: "dify-prd-db", version: "dify-1.17.1-plugin-daemon-0.6.10-local", identifierPrefix: "dify-prd", keep: 2, timeoutSeconds: 3600 };

describe("upgrades: the pre-migration snapshot", () => {
    it("is named for the version it precedes, in RDS's character set and length", () => {
        const id = snapshotIdentifier("dify-prd", "dify-1.17.1-plugin-daemon-0.6.10-local", new Date("2026-12-03T10:04:59Z"));
        expect(id).to.equal("dify-prd-pre-dify-1-17-1-plugin-daemon-0-6-10-local-202612031004");
        for (const x of [id, snapshotIdentifier("9x", "A.B", new Date()), snapshotIdentifier("dify-prd", "v".repeat(400), new Date())]) {
            // CreateDBClusterSnapshot: 1-255 letters, digits or hyphens; a letter first; no two hyphens in a row; none last.
            expect(x, x).to.match(/^[a-zA-Z][a-zA-Z0-9-]{0,254}$/);
            expect(x, x).to.not.match(/--|-$/);
        }
    });

    it("creates the snapshot, waits until it is available, then keeps only the newest `keep` of its own", async () => {
        const other = { DBClusterSnapshotIdentifier: "someone-elses", Status: "available", SnapshotCreateTime: new Date("2026-01-01T00:00:00Z"), TagList: [] };
        const rds = new FakeRds([ours("dify-prd-pre-dify-1-16-1-202611200000", 20), other, ours("dify-prd-pre-dify-1-15-0-202611010000", 1)]);
        const result = await takePreMigrationSnapshot(rds, INPUT, new Clock0());
        const create = rds.named("CreateDBClusterSnapshotCommand")[0].input;
        expect(create.DBClusterIdentifier).to.equal("dify-prd-db");
        expect(create.Tags).to.deep.include({ Key: "dify-aws:pre-migration-snapshot", Value: "dify-prd" });
        expect(rds.polls).to.equal(3);
        // Pruned only after the new one was available, only its own, oldest first beyond `keep`.
        expect(rds.named("DeleteDBClusterSnapshotCommand").map((c) => c.input.DBClusterSnapshotIdentifier)).to.deep.equal(["dify-prd-pre-dify-1-15-0-202611010000"]);
        expect(result.pruned).to.deep.equal(["dify-prd-pre-dify-1-15-0-202611010000"]);
        const order = rds.calls.map((c) => c.command);
        expect(order.indexOf("DeleteDBClusterSnapshotCommand")).to.be.greaterThan(order.lastIndexOf("CreateDBClusterSnapshotCommand"));
    });

    it("fails (so no migration starts) when the snapshot cannot be created, fails or is late", async () => {
        const failures: [FakeRds, RegExp][] = [
            [new FakeRds([], { createError: new Error("InvalidDBClusterStateFault") }), /could not be created.*InvalidDBClusterStateFault/],
            [new FakeRds([], { status: "failed" }), /ended failed/],
            [new FakeRds([], { status: "creating" }), /not available within 3600 s/],
        ];
        for (const [rds, message] of failures) {
            let error: Error | undefined;
            try {
                await takePreMigrationSnapshot(rds, INPUT, new Clock0());
            } catch (e) {
                error = e as Error;
            }
            expect(error?.message).to.match(message);
            expect(error?.message).to.contain("no migration ran");
            expect(rds.named("DeleteDBClusterSnapshotCommand")).to.have.length(0);
        }
    });
});

describe("upgrades: wired into both stacks", () => {
    for (const stack of ["dev", "prd"] as const) {
        it(`${stack}: a snapshot named for the dify-api and plugin daemon tags runs before either migration`, async () => {
            const run = await stackRun(stack);
            const [snapshot] = dynamic(run, "PreMigrationSnapshot");
            expect(snapshot.inputs.version).to.equal("dify-1.17.1-plugin-daemon-0.6.10-local");
            expect(snapshot.inputs.keep).to.equal(3);
            const gates = dynamic(run, "MigrationGate");
            const dify = gates.find((g) => g.name === "dify-migration")!;
            const daemon = gates.find((g) => g.name === "dify-plugin-daemon-migration")!;
            expect(dify.dependencies).to.include(snapshot.urn);
            // The daemon migrates after Dify, and its service waits for it.
            expect(daemon.dependencies).to.include(dify.urn);
            expect(run.one("aws:ecs/service:Service", "dify-plugin-daemon").dependencies).to.include(daemon.urn);
            // The snapshot is taken of the cluster the stack runs, once its writer exists.
            expect(snapshot.inputs.clusterIdentifier).to.equal(run.outputs.databaseClusterIdentifier).and.to.equal(`dify-${stack}-db`);
        });

        it(`${stack}: the Dify gate knows the lock-held exit code and how to end a timed-out migration's sessions`, async () => {
            const dify = dynamic(await stackRun(stack), "MigrationGate").find((g) => g.name === "dify-migration")!;
            expect(dify.inputs.exitCodes[String(MIGRATION_EXIT.lockHeld)]).to.contain("Database migration skipped");
            expect(dify.inputs.cleanup.command).to.deep.equal(migrationSessionCleanupCommand());
            expect(dify.inputs.manualCleanup).to.contain("pg_terminate_backend");
        });

        it(`${stack}: the plugin daemon serves without migrating, and its one-off task only migrates`, async () => {
            const run = await stackRun(stack);
            const serve = JSON.parse(run.one("aws:ecs/taskDefinition:TaskDefinition", "dify-plugin-daemon").inputs.containerDefinitions)[0];
            const migrate = containerOf(run, "plugin-daemon-migration") as unknown as { image: string; command: string[] };
            expect(serve.command).to.deep.equal([...PLUGIN_DAEMON_COMMANDS.serve]);
            // tini stays the entry point (the image's ENTRYPOINT): only the command is replaced.
            expect(serve.entryPoint).to.equal(undefined);
            expect(migrate.command).to.deep.equal([...PLUGIN_DAEMON_COMMANDS.migrate]);
            expect(migrate.image).to.equal(serve.image);
        });
    }

    it("the snapshot's provider serializes self-contained: the RDS SDK is required at run time, nothing of Pulumi is captured", async () => {
        const [snapshot] = dynamic(await stackRun("prd"), "PreMigrationSnapshot");
        const text: string = snapshot.inputs.__provider;
        expect(text).to.contain('require("@aws-sdk/client-rds")');
        expect(text).to.not.match(/require\("@pulumi\//);
        expect(text.length).to.be.lessThan(50_000);
    });

    it("prd refuses to turn the snapshot off; dev may", () => {
        const message = configErrorFor("prd", { migrationSnapshot: false });
        expect(message).to.contain("dify-aws:migrationSnapshot = false");
        expect(message).to.contain("dify-aws:deletionProtection = true");
        expect(() => configErrorFor("dev", { migrationSnapshot: false })).to.throw(/expected a ConfigError/);
    });
});


const TD = (rev: number) => `arn:aws:ecs:ap-northeast-1:123456789012:task-definition/dify-prd-api:${rev}`;
const ROLLOUT: RolloutInput = { clusterArn: "arn:aws:ecs:ap-northeast-1:123456789012:cluster/dify-prd", services: { api: { serviceName: "dify-prd-api", taskDefinitionArn: TD(8) } }, timeoutSeconds: 600 };

/** A fake ECS answering DescribeServices with a scripted sequence of primary deployments, and the rollback's story. */
class FakeServiceEcs {
    calls: string[] = [];
    i = 0;
    constructor(private readonly primaries: { taskDefinition: string; rolloutState: string; rolloutStateReason?: string }[]) {}
    async send(command: any): Promise<any> {
        this.calls.push(command.constructor.name);
        if (command instanceof DescribeServicesCommand) {
            const p = this.primaries[Math.min(this.i++, this.primaries.length - 1)];
            return { services: [{ serviceName: "dify-prd-api", deployments: [{ status: "PRIMARY", runningCount: 1, desiredCount: 2, ...p }] }] };
        }
        if (command instanceof ListServiceDeploymentsCommand) {
            return { serviceDeployments: [{ serviceDeploymentArn: "arn:aws:ecs:...:service-deployment/dify-prd/dify-prd-api/abc" }] };
        }
        if (command instanceof DescribeServiceDeploymentsCommand) {
            return {
                serviceDeployments: [
                    {
                        status: "ROLLBACK_SUCCESSFUL",
                        statusReason: "Service deployment rolled back because the circuit breaker threshold was exceeded.",
                        rollback: { reason: "circuit breaker" },
                        createdAt: new Date(),
                    },
                ],
            };
        }
        if (command instanceof ListTasksCommand) {
            return { taskArns: ["arn:aws:ecs:...:task/dify-prd/1"] };
        }
        if (command instanceof DescribeTasksCommand) {
            return { tasks: [{ taskDefinitionArn: TD(8), stoppedReason: "Task failed ELB health checks", containers: [{ name: "api", exitCode: 137 }] }] };
        }
        throw new Error(`unexpected ${command.constructor.name}`);
    }
}

async function rejection(p: Promise<unknown>): Promise<Error | undefined> {
    try {
        await p;
    } catch (e) {
        return e as Error;
    }
    return undefined;
}

describe("upgrades: `up` fails when ECS did not complete the deployment it was given", () => {
    it("fails after a circuit-breaker rollback (one deployment, running = desired: what waitForSteadyState took for success)", async () => {
        const ecs = new FakeServiceEcs([{ taskDefinition: TD(7), rolloutState: "COMPLETED" }]);
        const error = await rejection(checkRollouts(ecs, ROLLOUT, ["api"], new Clock0()));
        expect(error?.message).to.contain("api: ECS runs dify-prd-api:7, not dify-prd-api:8");
        expect(error?.message).to.contain("ROLLBACK_SUCCESSFUL");
        expect(error?.message).to.contain("circuit breaker threshold was exceeded");
        expect(error?.message).to.contain("Task failed ELB health checks: api exit 137");
    });

    it("fails on a FAILED rollout and on one still in progress at the deadline", async () => {
        const failed = await rejection(checkRollouts(new FakeServiceEcs([{ taskDefinition: TD(8), rolloutState: "FAILED", rolloutStateReason: "tasks failed to start" }]), ROLLOUT, ["api"], new Clock0()));
        expect(failed?.message).to.contain("FAILED (tasks failed to start");
        const slow = await rejection(checkRollouts(new FakeServiceEcs([{ taskDefinition: TD(8), rolloutState: "IN_PROGRESS" }]), ROLLOUT, ["api"], new Clock0()));
        expect(slow?.message).to.contain("did not complete within 600 s (last: IN_PROGRESS, 1/2 running)");
    });

    it("passes once the new task definition's rollout COMPLETED, waiting through IN_PROGRESS", async () => {
        const ecs = new FakeServiceEcs([{ taskDefinition: TD(8), rolloutState: "IN_PROGRESS" }, { taskDefinition: TD(8), rolloutState: "IN_PROGRESS" }, { taskDefinition: TD(8), rolloutState: "COMPLETED" }]);
        expect(await rejection(checkRollouts(ecs, ROLLOUT, ["api"], new Clock0()))).to.equal(undefined);
        expect(ecs.calls.filter((c) => c === "DescribeServicesCommand")).to.have.length(3);
    });

    for (const stack of ["dev", "prd"] as const) {
        it(`${stack}: checks every service against the task definition this update registered, after all of them`, async () => {
            const run = await stackRun(stack);
            const [check] = dynamic(run, "RolloutCheck");
            const services = run.ofType("aws:ecs/service:Service");
            expect(Object.keys(check.inputs.services).sort()).to.deep.equal([...DIFY_ROLES].sort());
            for (const svc of services) {
                expect(check.dependencies).to.include(svc.urn);
                const role = Object.keys(check.inputs.services).find((r) => check.inputs.services[r].serviceName === svc.inputs.name)!;
                expect(check.inputs.services[role].taskDefinitionArn, role).to.equal(svc.inputs.taskDefinition);
            }
        });

        it(`${stack}: every service waits long enough for its slowest healthy rollout and a rollback`, async () => {
            const run = await stackRun(stack);
            // The longest drain of any target group (the api's, for SSE streams) bounds every role's.
            const drain = Math.max(...run.ofType("aws:lb/targetGroup:TargetGroup").map((tg) => Number(tg.inputs.deregistrationDelay)));
            expect(drain).to.be.greaterThan(0);
            for (const svc of run.ofType("aws:ecs/service:Service")) {
                const role = svc.inputs.tags["dify-aws:role"];
                const r = DIFY_ROLES.find((x) => x.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`) === role)!;
                const minutes = Number(svc.customTimeouts?.update.replace(/m$/, ""));
                expect(svc.customTimeouts?.create, role).to.equal(svc.customTimeouts?.update);
                // At least the provider's default, and room for the role's slowest rollout (rolling: no bake).
                expect(minutes, role).to.be.at.least(20);
                const tgArn = svc.inputs.loadBalancers?.[0]?.targetGroupArn;
                const ownDrain = tgArn ? Number(run.ofType("aws:lb/targetGroup:TargetGroup").find((tg) => tg.state.arn === tgArn)!.inputs.deregistrationDelay) : 0;
                const d = svc.inputs.deploymentConfiguration;
                const bake = d ? Number(d.bakeTimeInMinutes) + Number(d.canaryConfiguration.canaryBakeTimeInMinutes) : 0;
                expect(minutes, role).to.be.at.least(rolloutBudgetMinutes(r, ownDrain, bake));
            }
        });
    }
});

describe("upgrades: a changed credential rolls every task that reads it", () => {
    const MAIL = { smtpServer: "email-smtp.ap-northeast-1.amazonaws.com", smtpUsername: "AKIAEXAMPLE", mailDefaultSendFrom: "dify@example.com" };
    const containersOf = (run: ProgramRun, family: string) => run.one("aws:ecs/taskDefinition:TaskDefinition", `dify-${family}`).inputs.containerDefinitions as string;

    it("a new SMTP password (a stack secret) changes the api's and the worker's task definitions, and only theirs", async () => {
        const before = await runProgram("prd", { ...MAIL, smtpPassword: "first-password-1" }, { secretKeys: ["smtpPassword"] });
        const after = await runProgram("prd", { ...MAIL, smtpPassword: "second-password-2" }, { secretKeys: ["smtpPassword"] });
        for (const family of ["api", "worker"]) {
            expect(containersOf(after, family), `${family} rolls`).to.not.equal(containersOf(before, family));
        }
        for (const family of ["web", "beat", "plugin-daemon", "sandbox"]) {
            expect(containersOf(after, family), `${family} does not read it`).to.equal(containersOf(before, family));
        }
    });

    for (const stack of ["dev", "prd"] as const) {
        it(`${stack}: every reference to a secret the program stores pins the version holding its value`, async () => {
            const run = await stackRun(stack);
            const versions = new Map<string, string>();
            for (const v of run.ofType("aws:secretsmanager/secretVersion:SecretVersion")) {
                const secret = run.resources.find((r) => r.type === "aws:secretsmanager/secret:Secret" && r.id === v.inputs.secretId)!;
                versions.set(secret.state.arn, v.state.versionId);
            }
            let pinned = 0;
            for (const td of run.ofType("aws:ecs/taskDefinition:TaskDefinition")) {
                for (const c of JSON.parse(td.inputs.containerDefinitions) as { secrets?: { name: string; valueFrom: string }[] }[]) {
                    for (const s of c.secrets ?? []) {
                        const arn = s.valueFrom.split(":").slice(0, 7).join(":");
                        if (versions.has(arn)) {
                            expect(s.valueFrom.split(":")[9], `${td.name} ${s.name}`).to.equal(versions.get(arn));
                            pinned += 1;
                        }
                    }
                }
            }
            expect(pinned).to.be.greaterThan(20);
        });
    }
});
