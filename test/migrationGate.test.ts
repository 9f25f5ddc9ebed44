import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import {
    DescribeTaskDefinitionCommand,
    DescribeTasksCommand,
    RunTaskCommand,
    RunTaskCommandInput,
    StopTaskCommand,
    StopTaskCommandInput,
    Task,
} from "@aws-sdk/client-ecs";
import { Clock, MigrationGate, MigrationTaskInput, runMigrationTask } from "../components/migrationGate";
import { RegisteredResource } from "./mocks";
import { mocks } from "./setup";

const CLUSTER = "arn:aws:ecs:ap-northeast-1:123456789012:cluster/dify-dev";
const TASK_DEF = "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/dify-dev-migration:7";
const TASK_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
const TASK_ARN = `arn:aws:ecs:ap-northeast-1:123456789012:task/dify-dev/${TASK_ID}`;
const INPUT: MigrationTaskInput = {
    clusterArn: CLUSTER,
    taskDefinitionArn: TASK_DEF,
    containerName: "api",
    subnetIds: ["subnet-0aaa1111", "subnet-0bbb2222"],
    securityGroupIds: ["sg-0ccc3333"],
    timeoutSeconds: 1800,
};

type Call = { command: string; input: any };

/** A task as DescribeTasks returns it, for the migration container "api". */
function task(lastStatus: string, extra: Partial<Task> = {}, container: Record<string, unknown> = {}): Task {
    return {
        taskArn: TASK_ARN,
        lastStatus,
        containers: [{ name: "api", taskArn: TASK_ARN, lastStatus, ...container }],
        ...extra,
    } as Task;
}

const stoppedWith = (exitCode: number | undefined, extra: Partial<Task> = {}, container: Record<string, unknown> = {}) =>
    task("STOPPED", { stopCode: "EssentialContainerExited", stoppedReason: "Essential container in task exited", ...extra }, { exitCode, ...container });

/**
 * A fake ECS client: answers RunTask, DescribeTasks (a scripted sequence, the last answer repeating), StopTask and
 * DescribeTaskDefinition, and records every command with its input. Commands are the SDK's real classes.
 */
class FakeEcs {
    calls: Call[] = [];
    describeIndex = 0;
    constructor(
        private readonly script: {
            run?: (input: RunTaskCommandInput) => unknown;
            describe?: (Task | Error | { failures: unknown[] })[];
            stop?: (input: StopTaskCommandInput) => unknown;
            taskDefinition?: unknown;
        },
    ) {}

    async send(command: any): Promise<any> {
        const call = { command: command.constructor.name, input: command.input };
        this.calls.push(call);
        if (command instanceof RunTaskCommand) {
            return this.script.run ? this.script.run(command.input) : { tasks: [task("PROVISIONING")], failures: [] };
        }
        if (command instanceof DescribeTasksCommand) {
            const answers = this.script.describe ?? [stoppedWith(0)];
            const answer = answers[Math.min(this.describeIndex++, answers.length - 1)];
            if (answer instanceof Error) {
                throw answer;
            }
            return "failures" in answer && !("taskArn" in answer) ? { tasks: [], failures: answer.failures } : { tasks: [answer], failures: [] };
        }
        if (command instanceof StopTaskCommand) {
            return this.script.stop ? this.script.stop(command.input) : { task: task("STOPPING") };
        }
        if (command instanceof DescribeTaskDefinitionCommand) {
            if (this.script.taskDefinition instanceof Error) {
                throw this.script.taskDefinition;
            }
            return this.script.taskDefinition ?? { taskDefinition: { containerDefinitions: [{ name: "api" }] } };
        }
        throw new Error(`unexpected command ${call.command}`);
    }

    named(command: string): Call[] {
        return this.calls.filter((c) => c.command === command);
    }
}

/** A clock whose sleep only moves the time on, so tests never wait. */
class FakeClock implements Clock {
    t = 1_700_000_000_000;
    sleeps: number[] = [];
    now(): number {
        return this.t;
    }
    async sleep(ms: number): Promise<void> {
        expect(ms, "sleep duration").to.be.greaterThan(0);
        this.sleeps.push(ms);
        this.t += ms;
    }
}

async function expectRejection(p: Promise<unknown>): Promise<Error> {
    try {
        await p;
    } catch (e) {
        return e as Error;
    }
    throw new Error("expected the migration run to fail, but it succeeded");
}

/** The awslogs configuration ECS uses to name the stream `<prefix>/<container>/<task id>`. */
const AWSLOGS_TASK_DEFINITION = {
    taskDefinition: {
        containerDefinitions: [
            {
                name: "api",
                logConfiguration: {
                    logDriver: "awslogs",
                    options: { "awslogs-group": "/dify/dev/migration", "awslogs-stream-prefix": "migration", "awslogs-region": "ap-northeast-1" },
                },
            },
        ],
    },
};

describe("MigrationGate runner (runMigrationTask, fake ECS client)", () => {
    it("starts one task on on-demand Fargate in the private subnets with the api security group and no public IP", async () => {
        const ecs = new FakeEcs({});
        await runMigrationTask(ecs, INPUT, new FakeClock());
        const runs = ecs.named("RunTaskCommand");
        expect(runs).to.have.length(1);
        const req = runs[0].input as RunTaskCommandInput;
        expect(req.cluster).to.equal(CLUSTER);
        expect(req.taskDefinition).to.equal(TASK_DEF);
        expect(req.count ?? 1).to.equal(1);
        // Either the Fargate launch type or a strategy of FARGATE only: Spot could reclaim the task mid-migration.
        if (req.capacityProviderStrategy) {
            expect(req.launchType).to.equal(undefined);
            expect(req.capacityProviderStrategy.map((s) => s.capacityProvider)).to.deep.equal(["FARGATE"]);
        } else {
            expect(req.launchType).to.equal("FARGATE");
        }
        expect(req.networkConfiguration?.awsvpcConfiguration).to.deep.equal({
            subnets: INPUT.subnetIds,
            securityGroups: INPUT.securityGroupIds,
            assignPublicIp: "DISABLED",
        });
        // RunTask's startedBy: up to 128 of letters, digits, hyphen, slash, underscore.
        expect(req.startedBy).to.match(/^[A-Za-z0-9_/-]{1,128}$/);
        expect(req.startedBy).to.contain("migration");
        expect(req.propagateTags).to.equal("TASK_DEFINITION");
        expect(req.overrides, "the task definition alone decides what runs").to.equal(undefined);
    });

    it("succeeds when the container exits 0 on its own, polling until STOPPED with a growing interval", async () => {
        const ecs = new FakeEcs({ describe: [task("PROVISIONING"), task("PENDING"), task("RUNNING"), task("RUNNING"), task("DEPROVISIONING"), stoppedWith(0)] });
        const clock = new FakeClock();
        const result = await runMigrationTask(ecs, INPUT, clock);
        expect(result).to.deep.equal({ taskArn: TASK_ARN, exitCode: 0 });
        // DEPROVISIONING is not the end: it waited for STOPPED.
        expect(ecs.named("DescribeTasksCommand")).to.have.length(6);
        for (const d of ecs.named("DescribeTasksCommand")) {
            expect(d.input).to.deep.equal({ cluster: CLUSTER, tasks: [TASK_ARN] });
        }
        expect(ecs.named("StopTaskCommand")).to.have.length(0);
        // Backoff: never hammers the API (>= 1 s), never grows without bound (<= 60 s), never shrinks.
        expect(clock.sleeps).to.have.length(6);
        expect(Math.min(...clock.sleeps)).to.be.at.least(1000);
        expect(Math.max(...clock.sleeps)).to.be.at.most(60_000);
        expect(clock.sleeps[clock.sleeps.length - 1]).to.be.greaterThan(clock.sleeps[0]);
        clock.sleeps.slice(1).forEach((s, i) => expect(s).to.be.at.least(clock.sleeps[i]));
    });

    it("fails on a non-zero exit, naming the exit code, the stop reason and the CloudWatch log stream", async () => {
        const ecs = new FakeEcs({ describe: [task("RUNNING"), stoppedWith(1)], taskDefinition: AWSLOGS_TASK_DEFINITION });
        const error = await expectRejection(runMigrationTask(ecs, INPUT, new FakeClock()));
        expect(error.message).to.match(/exit code 1\b/);
        expect(error.message).to.contain("Essential container in task exited");
        expect(error.message).to.contain("/dify/dev/migration");
        expect(error.message).to.contain(`migration/api/${TASK_ID}`);
        expect(error.message).to.contain(TASK_ARN);
        expect(ecs.named("StopTaskCommand")).to.have.length(0);
    });

    it("still fails with the exit code when the log location cannot be looked up", async () => {
        const denied = Object.assign(new Error("User is not authorized to perform: ecs:DescribeTaskDefinition"), { name: "AccessDeniedException" });
        const ecs = new FakeEcs({ describe: [stoppedWith(137)], taskDefinition: denied });
        const error = await expectRejection(runMigrationTask(ecs, INPUT, new FakeClock()));
        expect(error.message).to.match(/exit code 137\b/);
        expect(error.message).to.contain(TASK_ID);
    });

    it("does not count exit 0 as success when the task was stopped from outside (the migration may be cut short)", async () => {
        const ecs = new FakeEcs({ describe: [stoppedWith(0, { stopCode: "UserInitiated", stoppedReason: "Task stopped by user" })] });
        const error = await expectRejection(runMigrationTask(ecs, INPUT, new FakeClock()));
        expect(error.message).to.contain("UserInitiated");
        expect(error.message).to.contain("Task stopped by user");
    });

    it("fails without polling when RunTask reports failures (the task never starts)", async () => {
        const ecs = new FakeEcs({
            run: () => ({ tasks: [], failures: [{ arn: CLUSTER, reason: "Capacity is unavailable at this time. Please try again later or in a different availability zone" }] }),
        });
        const error = await expectRejection(runMigrationTask(ecs, INPUT, new FakeClock()));
        expect(error.message).to.contain("Capacity is unavailable");
        expect(ecs.named("DescribeTasksCommand")).to.have.length(0);
    });

    it("fails with the API error when RunTask itself is refused", async () => {
        const refused = Object.assign(new Error("TaskDefinition is inactive"), { name: "ClientException" });
        const ecs = new FakeEcs({
            run: () => {
                throw refused;
            },
        });
        const error = await expectRejection(runMigrationTask(ecs, INPUT, new FakeClock()));
        expect(error.message).to.contain("ClientException: TaskDefinition is inactive");
        expect(error.message).to.contain(TASK_DEF);
    });

    it("fails with the reason when the task stops as TaskFailedToStart (image pull error, no exit code)", async () => {
        const reason = "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref docker.io/langgenius/dify-api:1.17.9: not found";
        const ecs = new FakeEcs({
            describe: [task("PENDING"), task("STOPPED", { stopCode: "TaskFailedToStart", stoppedReason: reason }, { reason: "CannotPullContainerError" })],
        });
        const error = await expectRejection(runMigrationTask(ecs, INPUT, new FakeClock()));
        expect(error.message).to.contain("TaskFailedToStart");
        expect(error.message).to.contain(reason);
        expect(error.message).to.not.match(/exit code/);
    });

    it("treats a STOPPED container without an exit code as never started (e.g. secrets could not be fetched)", async () => {
        const reason = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed";
        const ecs = new FakeEcs({ describe: [task("STOPPED", { stopCode: "EssentialContainerExited", stoppedReason: reason })] });
        const error = await expectRejection(runMigrationTask(ecs, INPUT, new FakeClock()));
        expect(error.message).to.contain(reason);
        expect(error.message).to.match(/never started/);
    });

    it("fails when the task definition has no container of that name, listing the ones it has", async () => {
        const ecs = new FakeEcs({ describe: [stoppedWith(0)] });
        const error = await expectRejection(runMigrationTask(ecs, { ...INPUT, containerName: "migration" }, new FakeClock()));
        expect(error.message).to.contain('"migration"');
        expect(error.message).to.contain("api");
    });

    it("on timeout stops the task (StopTask on the cluster) and fails, without waiting past the deadline", async () => {
        const ecs = new FakeEcs({ describe: [task("RUNNING")] });
        const clock = new FakeClock();
        const start = clock.t;
        const error = await expectRejection(runMigrationTask(ecs, { ...INPUT, timeoutSeconds: 300 }, clock));
        const stops = ecs.named("StopTaskCommand");
        expect(stops).to.have.length(1);
        expect(stops[0].input.cluster).to.equal(CLUSTER);
        expect(stops[0].input.task).to.equal(TASK_ARN);
        // StopTask's reason is limited to 255 characters.
        expect(stops[0].input.reason.length).to.be.within(1, 255);
        expect(clock.t - start).to.equal(300_000);
        expect(error.message).to.match(/300 s/);
        expect(error.message).to.contain(TASK_ARN);
        expect(error.message).to.match(/stopped/i);
    });

    it("on timeout with a failing StopTask says how to stop the task by hand", async () => {
        const ecs = new FakeEcs({
            describe: [task("RUNNING")],
            stop: () => {
                throw Object.assign(new Error("not authorized to perform: ecs:StopTask"), { name: "AccessDeniedException" });
            },
        });
        const error = await expectRejection(runMigrationTask(ecs, { ...INPUT, timeoutSeconds: 120 }, new FakeClock()));
        expect(error.message).to.contain("AccessDeniedException");
        expect(error.message).to.contain(`aws ecs stop-task --cluster ${CLUSTER} --task ${TASK_ARN}`);
    });

    it("rides out transient DescribeTasks errors and a briefly MISSING new task", async () => {
        const throttled = Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
        const ecs = new FakeEcs({ describe: [{ failures: [{ arn: TASK_ARN, reason: "MISSING" }] }, throttled, task("RUNNING"), throttled, stoppedWith(0)] });
        const result = await runMigrationTask(ecs, INPUT, new FakeClock());
        expect(result.exitCode).to.equal(0);
        expect(ecs.named("StopTaskCommand")).to.have.length(0);
    });

    it("gives up (stopping the task) when DescribeTasks keeps failing, long before the timeout", async () => {
        const throttled = Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
        const ecs = new FakeEcs({ describe: [task("RUNNING"), throttled] });
        const clock = new FakeClock();
        const start = clock.t;
        const error = await expectRejection(runMigrationTask(ecs, INPUT, clock));
        expect(error.message).to.contain("ThrottlingException");
        expect(ecs.named("StopTaskCommand")).to.have.length(1);
        expect(clock.t - start).to.be.lessThan(INPUT.timeoutSeconds * 1000);
    });
});

/** The provider as the engine gets it: deserialized from the `__provider` input, the way Pulumi's dynamic host does. */
function deserializeProvider(registered: RegisteredResource): pulumi.dynamic.ResourceProvider & { awsProfile?: string } {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const requireFromString = require("require-from-string") as (code: string) => { handler(): pulumi.dynamic.ResourceProvider };
    return requireFromString(registered.inputs.__provider).handler();
}

describe("MigrationGate resource (under mocks)", () => {
    const IMAGE = "langgenius/dify-api:1.17.1";
    let gate: RegisteredResource;
    let dependency: RegisteredResource;

    before(async () => {
        mocks.reset();
        // Stands in for what the gate depends on (in DifyCluster: the migration task definition and the data tier).
        class Upstream extends pulumi.CustomResource {}
        const before = new Upstream("aws:ecs/taskDefinition:TaskDefinition", "migration-td", {});
        new MigrationGate(
            "dify-dev-migration",
            {
                clusterArn: pulumi.output(CLUSTER),
                taskDefinitionArn: pulumi.output(TASK_DEF),
                containerName: "api",
                subnetIds: pulumi.output(INPUT.subnetIds),
                securityGroupIds: INPUT.securityGroupIds,
                image: IMAGE,
                region: "ap-northeast-1",
            },
            { dependsOn: [before] },
        );
        await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
        gate = mocks.resources.find((r) => r.name === "dify-dev-migration")!;
        dependency = mocks.resources.find((r) => r.name === "migration-td")!;
    });

    it("registers as a dynamic resource with the given inputs and the default 30 min timeout", () => {
        expect(gate, "the gate was registered").to.not.equal(undefined);
        expect(gate.custom).to.equal(true);
        expect(gate.type).to.match(/^pulumi-nodejs:dynamic/);
        expect(gate.type).to.contain("MigrationGate");
        expect(gate.inputs).to.include({ clusterArn: CLUSTER, taskDefinitionArn: TASK_DEF, containerName: "api", image: IMAGE, region: "ap-northeast-1", timeoutSeconds: 1800 });
        expect(gate.inputs.subnetIds).to.deep.equal(INPUT.subnetIds);
        expect(gate.inputs.securityGroupIds).to.deep.equal(INPUT.securityGroupIds);
        expect(gate.dependencies).to.include(dependency.urn);
    });

    it("serializes its provider small and self-contained: the AWS SDK is required at run time, not embedded", () => {
        const text: string = gate.inputs.__provider;
        expect(text).to.be.a("string").and.contain("exports.handler");
        expect(text).to.contain('require("@aws-sdk/client-ecs")');
        expect(text.length, "serialized provider size").to.be.lessThan(50_000);
        // Nothing of @pulumi/pulumi or of other program modules may be captured into the stack state.
        expect(text).to.not.match(/require\("@pulumi\//);
        expect(text).to.not.contain("registerResource");
    });

    it("the deserialized provider re-runs (replaces) only when the image changes", async () => {
        const provider = deserializeProvider(gate);
        const state = { ...gate.inputs, __provider: undefined, taskArn: TASK_ARN, exitCode: 0 };
        const same = { ...gate.inputs };

        const unchanged = await provider.diff!(TASK_ARN, state, same);
        expect(unchanged.changes).to.equal(false);
        expect(unchanged.replaces ?? []).to.deep.equal([]);

        const upgraded = await provider.diff!(TASK_ARN, state, { ...same, image: "langgenius/dify-api:1.18.0" });
        expect(upgraded.changes).to.equal(true);
        expect(upgraded.replaces).to.deep.equal(["image"]);
        // Create-before-delete: the new version's migration runs before the old record goes.
        expect(upgraded.deleteBeforeReplace ?? false).to.equal(false);

        // A preview with a computed image does not know it yet: assume a new version.
        const unknown = await provider.diff!(TASK_ARN, state, { ...same, image: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" });
        expect(unknown.replaces).to.deep.equal(["image"]);
    });

    it("a new task definition revision with the same image is an in-place update that runs nothing", async () => {
        const provider = deserializeProvider(gate);
        const state = { ...gate.inputs, taskArn: TASK_ARN, exitCode: 0 };
        const news = { ...gate.inputs, taskDefinitionArn: TASK_DEF.replace(/:7$/, ":8") };
        const diff = await provider.diff!(TASK_ARN, state, news);
        expect(diff.changes).to.equal(true);
        expect(diff.replaces ?? []).to.deep.equal([]);
        const updated = await provider.update!(TASK_ARN, state, news);
        expect(updated.outs).to.include({ taskDefinitionArn: news.taskDefinitionArn, taskArn: TASK_ARN, exitCode: 0, image: IMAGE });
    });

    it("delete does nothing (a migrated schema is not undone)", async () => {
        const provider = deserializeProvider(gate);
        await provider.delete!(TASK_ARN, { ...gate.inputs, taskArn: TASK_ARN, exitCode: 0 });
    });

    it("check rejects network settings RunTask would refuse (1-16 subnets, 1-5 security groups)", async () => {
        const provider = deserializeProvider(gate);
        const ok = await provider.check!({}, { ...gate.inputs });
        expect(ok.failures ?? []).to.deep.equal([]);
        const tooMany = await provider.check!({}, {
            ...gate.inputs,
            subnetIds: [],
            securityGroupIds: ["sg-1", "sg-2", "sg-3", "sg-4", "sg-5", "sg-6"],
        });
        expect((tooMany.failures ?? []).map((f) => f.property).sort()).to.deep.equal(["securityGroupIds", "subnetIds"]);
    });

    it("configure picks up the stack's aws:profile for the SDK client", async () => {
        const provider = deserializeProvider(gate);
        await provider.configure!({ config: { get: (k: string) => (k === "aws:profile" ? "dify-deployer" : undefined), require: () => "" } });
        expect(provider.awsProfile).to.equal("dify-deployer");
    });

    it("refuses a timeout too short for Fargate to even start the task", () => {
        const args = { clusterArn: CLUSTER, taskDefinitionArn: TASK_DEF, containerName: "api", subnetIds: ["s"], securityGroupIds: ["sg"], image: IMAGE, region: "ap-northeast-1" };
        expect(() => new MigrationGate("short", { ...args, timeoutSeconds: 30 })).to.throw(/timeoutSeconds/);
        expect(() => new MigrationGate("fraction", { ...args, timeoutSeconds: 90.5 })).to.throw(/timeoutSeconds/);
    });
});

/** A fake ECS whose first task never stops (the migration that times out) and whose second (the cleanup) exits `cleanupExit`. */
class TimingOutEcs extends FakeEcs {
    constructor(private readonly cleanupExit: number | Error) {
        super({});
    }
    async send(command: any): Promise<any> {
        if (command instanceof DescribeTasksCommand) {
            this.calls.push({ command: "DescribeTasksCommand", input: command.input });
            if (this.named("RunTaskCommand").length < 2) {
                return { tasks: [task("RUNNING")], failures: [] };
            }
            if (this.cleanupExit instanceof Error) {
                throw this.cleanupExit;
            }
            return { tasks: [stoppedWith(this.cleanupExit)], failures: [] };
        }
        return super.send(command);
    }
}

describe("MigrationGate runner: a gate that cannot pass wrongly (issue 17)", () => {
    const EXIT_CODES = { "75": "another process holds Dify's upgrade lock; find it with aws ecs list-tasks --started-by pulumi-migration" };
    const CLEANUP = { command: ["end the sessions"], timeoutSeconds: 300 };
    const MANUAL = "run SELECT pg_terminate_backend(pid) ... as the master user";

    it("fails on the wrapper's lock-held exit code, saying what it means and what to do (it used to pass as exit 0)", async () => {
        const ecs = new FakeEcs({ describe: [stoppedWith(75)], taskDefinition: AWSLOGS_TASK_DEFINITION });
        const error = await expectRejection(runMigrationTask(ecs, { ...INPUT, exitCodes: EXIT_CODES }, new FakeClock()));
        expect(error.message).to.contain("exit code 75: another process holds Dify's upgrade lock");
        expect(error.message).to.contain("list-tasks --started-by pulumi-migration");
    });

    it("on timeout stops the migration, then runs the cleanup command in the same task definition, and says so", async () => {
        const ecs = new TimingOutEcs(0);
        const error = await expectRejection(runMigrationTask(ecs, { ...INPUT, cleanup: CLEANUP, manualCleanup: MANUAL }, new FakeClock()));
        const runs = ecs.named("RunTaskCommand").map((c) => c.input as RunTaskCommandInput);
        expect(runs).to.have.length(2);
        expect(runs[1].taskDefinition).to.equal(TASK_DEF);
        expect(runs[1].overrides?.containerOverrides).to.deep.equal([{ name: "api", command: ["end the sessions"] }]);
        // The migration was stopped before the cleanup started.
        const order = ecs.calls.map((c) => c.command);
        expect(order.indexOf("StopTaskCommand")).to.be.lessThan(order.lastIndexOf("RunTaskCommand"));
        expect(error.message).to.contain("did not finish within 1800 s");
        expect(error.message).to.contain("ended its database sessions");
        expect(error.message).to.not.contain(MANUAL);
    });

    it("on timeout with a failing cleanup tells the operator exactly what to run", async () => {
        for (const outcome of [1, new Error("ThrottlingException: Rate exceeded")]) {
            const error = await expectRejection(runMigrationTask(new TimingOutEcs(outcome), { ...INPUT, cleanup: CLEANUP, manualCleanup: MANUAL }, new FakeClock()));
            expect(error.message, String(outcome)).to.contain(`End them by hand: ${MANUAL}`);
        }
    });

    it("without a cleanup command, the timeout still names the manual step", async () => {
        const error = await expectRejection(runMigrationTask(new TimingOutEcs(0), { ...INPUT, manualCleanup: MANUAL }, new FakeClock()));
        expect(error.message).to.contain(MANUAL);
    });
});
