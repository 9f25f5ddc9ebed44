/**
 * MigrationGate: runs a database migration (Dify's, or the plugin daemon's) as a one-off ECS task, once per image, and
 * fails `pulumi up` when it fails.
 *
 * Why a gate: Dify's entrypoint runs `flask upgrade-db` when MIGRATION_ENABLED=true. Letting api/worker/beat do it on
 * start makes replicas race for a Redis lock; the loser logs "Database migration skipped" and serves on the old schema
 * (dify#19910 deadlocks led to MODE=migration, PR #22750). So the services run with MIGRATION_ENABLED=false and depend
 * on this resource, which runs one MODE=migration task and waits for its exit code. If the migration fails, the create
 * throws, `pulumi up` stops before any service is updated, and the running version keeps serving.
 *
 * When it runs (see `diff`): on create, and again only when `image` changes. A new revision of the migration task
 * definition without a new image does NOT re-run it: Dify's schema is versioned by the Alembic revisions shipped inside
 * the image, so a revision that only changes env, CPU/memory, secrets or log settings has no schema to apply, and
 * re-running on every revision would add minutes and a failure point to unrelated deploys. To force a run (for example
 * against a freshly created, empty database with an unchanged image) use `pulumi up --replace <this resource's URN>`.
 * Pin images by version tag or digest: a mutable tag such as `latest` hides new versions from the gate.
 * A downgrade (an older image) also runs it; Alembic cannot upgrade to a revision older than the database's, so the
 * task fails and the gate blocks the downgrade, which Dify does not support anyway.
 *
 * Permissions: whoever runs `pulumi up` (a CI role or a person) needs, besides what the AWS provider needs:
 * - `ecs:RunTask` on the migration task definition (the `task-definition/<family>:*` ARN), with the `ecs:cluster`
 *   condition on the cluster if you scope it;
 * - `ecs:DescribeTasks` and `ecs:StopTask` on the cluster's tasks (`task/<cluster-name>/*`);
 * - `ecs:DescribeTaskDefinition` (resource `*`; only used to say where the failed task's logs are);
 * - `iam:PassRole` on the task definition's execution role and task role (condition `iam:PassedToService` =
 *   `ecs-tasks.amazonaws.com`);
 * - `ecs:TagResource` with condition `ecs:CreateAction` = `RunTask` if the task definition carries tags, because the
 *   task propagates them (ECS authorizes tag-on-create separately).
 * `pulumi preview` needs none of these: only `diff` runs at preview, and it makes no AWS call.
 * The runner uses the AWS SDK's default credential chain in the Pulumi process (environment, `AWS_PROFILE`, SSO, web
 * identity in CI) and honours the stack's `aws:profile`; it does NOT apply the AWS provider's `aws:assumeRoles`, so a
 * stack that assumes a role through provider config must export that role's credentials (or profile) to the process.
 *
 * If the Pulumi process is killed while waiting, the task keeps running to completion on its own; find it with
 * `aws ecs list-tasks --cluster <cluster> --started-by pulumi-migration`. While it holds Dify's Redis upgrade lock, a
 * second run logs "Database migration skipped"; the migration command turns that into its own exit code (commands.ts)
 * and `exitCodes` into an error that says what to do. On a timeout the gate stops the task and runs `cleanup` to end
 * its database sessions, which the server would otherwise keep running with their locks.
 */
import * as pulumi from "@pulumi/pulumi";
import type {
    DescribeTaskDefinitionCommand,
    DescribeTaskDefinitionCommandOutput,
    DescribeTasksCommand,
    DescribeTasksCommandOutput,
    RunTaskCommand,
    RunTaskCommandInput,
    RunTaskCommandOutput,
    StopTaskCommand,
    StopTaskCommandOutput,
    Task,
} from "@aws-sdk/client-ecs";

// NOTE on serialization: Pulumi serializes the provider object below, and every function and value it reaches, into
// the stack state. Everything the provider touches is therefore a plain function declaration or a non-exported
// constant of this file (an exported const would be reached through `exports`, dragging in the whole module and
// @pulumi/pulumi with it), and the AWS SDK is `require`d inside the functions that use it.

/** Arguments of {@link MigrationGate}. */
export interface MigrationGateArgs {
    /** ARN (or name) of the ECS cluster the task runs on. */
    clusterArn: pulumi.Input<string>;
    /**
     * ARN of the migration task definition: the dify-api image with `MODE=migration` and `MIGRATION_ENABLED=true`, so
     * the container runs `flask upgrade-db` and exits. Changing it alone does not re-run the migration (see above).
     */
    taskDefinitionArn: pulumi.Input<string>;
    /** Name of the container in that task definition whose exit code decides success (0) or failure (anything else). */
    containerName: string;
    /** Subnets for the task's ENI (awsvpc): private subnets with a route to ECR, Secrets Manager, the DB and Redis. 1-16. */
    subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Security groups for the task's ENI: the api security group, so the DB and Redis admit it. 1-5. */
    securityGroupIds: pulumi.Input<pulumi.Input<string>[]>;
    /** The api image reference (`repo:tag` or `repo@sha256:...`). A different value runs the migration once more. */
    image: pulumi.Input<string>;
    /** AWS region of the cluster, e.g. `ap-northeast-1`. */
    region: pulumi.Input<string>;
    /** What the migration command's own exit codes mean and what to do about each (keys are exit codes, e.g. "75"). */
    exitCodes?: Record<string, string>;
    /** A command that ends the migration's database sessions, run in the same container after a timeout; and its timeout in seconds. */
    cleanup?: { command: string[]; timeoutSeconds: number };
    /** What an operator runs to end those sessions by hand when the cleanup cannot. */
    manualCleanup?: string;
    /**
     * Seconds to wait for the task to stop, counted from RunTask (so it includes Fargate provisioning and the image
     * pull). On expiry the task is stopped and the deployment fails. Default 1800 (30 min); at least 60.
     */
    timeoutSeconds?: number;
}

/** Default wait: large Dify upgrades (e.g. index builds on message tables) can take many minutes. */
export const DEFAULT_MIGRATION_TIMEOUT_SECONDS = 1800;
/** Fargate provisioning, ENI attachment and the image pull alone regularly take 30-90 s: below this a run cannot pass. */
export const MIN_MIGRATION_TIMEOUT_SECONDS = 60;

/** What the runner needs to start and watch one migration task; the resolved form of {@link MigrationGateArgs}. */
export interface MigrationTaskInput {
    clusterArn: string;
    taskDefinitionArn: string;
    containerName: string;
    subnetIds: string[];
    securityGroupIds: string[];
    /** Seconds from RunTask until the task is stopped as timed out. */
    timeoutSeconds: number;
    /** What the migration command's own exit codes mean and what to do about each, for the error (e.g. "75"). */
    exitCodes?: Record<string, string>;
    /**
     * Run after a timeout, in the same task definition's container, to end the timed-out migration's database sessions
     * (exit 0 when done); bounded by its own timeout in seconds.
     */
    cleanup?: { command: string[]; timeoutSeconds: number };
    /** What an operator runs to end those sessions when the cleanup cannot, for the error. */
    manualCleanup?: string;
}

/** The outcome of a successful migration run. */
export interface MigrationTaskResult {
    taskArn: string;
    /** Always 0: any other exit code is thrown as an error. */
    exitCode: number;
}

/** The part of `ECSClient` the runner uses: only `send`, so tests can pass a fake. */
export interface EcsClientLike {
    send(command: RunTaskCommand): Promise<RunTaskCommandOutput>;
    send(command: DescribeTasksCommand): Promise<DescribeTasksCommandOutput>;
    send(command: StopTaskCommand): Promise<StopTaskCommandOutput>;
    send(command: DescribeTaskDefinitionCommand): Promise<DescribeTaskDefinitionCommandOutput>;
}

/** Time source and sleep, injectable so tests never wait. Milliseconds. */
export interface Clock {
    now(): number;
    sleep(ms: number): Promise<void>;
}

/** The state the gate keeps: its resolved inputs plus what the run produced. */
export interface MigrationGateState extends MigrationTaskInput, MigrationTaskResult {
    image: string;
    region: string;
}

/** `startedBy` on the task (RunTask allows up to 128 of [A-Za-z0-9_/-]): lets operators find migration runs. */
const STARTED_BY = "pulumi-migration";
/** DescribeTasks polling: first wait, growth factor and ceiling (ms). A Dify migration takes minutes, not seconds. */
const FIRST_POLL_MS = 5_000;
const POLL_GROWTH = 1.5;
const MAX_POLL_MS = 30_000;
/** Consecutive DescribeTasks errors (throttling, a briefly MISSING new task) tolerated before giving up. */
const MAX_CONSECUTIVE_POLL_ERRORS = 5;
/** Stop codes that mean ECS or a person ended the task: even exit code 0 then does not prove the migration finished. */
const INTERRUPTED_STOP_CODES = ["UserInitiated", "ServiceSchedulerInitiated", "SpotInterruption", "TerminationNotice", "InfrastructureHealth"];
/** The inputs the gate records (and compares in `diff`); `image` is the only one whose change re-runs the task. */
const RECORDED_FIELDS = ["clusterArn", "taskDefinitionArn", "containerName", "subnetIds", "securityGroupIds", "region", "timeoutSeconds", "exitCodes", "cleanup", "manualCleanup"];
/** awsvpc limits of RunTask's network configuration. */
const MAX_SUBNETS = 16;
const MAX_SECURITY_GROUPS = 5;
/** StopTask's `reason` is limited to 255 characters. */
const MAX_STOP_REASON = 255;

function errorText(e: unknown): string {
    if (e instanceof Error) {
        return e.name && e.name !== "Error" ? `${e.name}: ${e.message}` : e.message;
    }
    return String(e);
}

/** The last path segment of a task ARN (`arn:aws:ecs:<region>:<account>:task/<cluster>/<id>`). */
function taskIdOf(taskArn: string): string {
    return taskArn.split("/").pop() ?? taskArn;
}

/**
 * Where a failed run's output is, for the error message: the awslogs group and stream of the container (ECS names
 * the stream `<prefix>/<container>/<task id>`). Best effort: the run has already failed, so a lookup error only
 * degrades the hint.
 */
async function logLocation(client: EcsClientLike, input: MigrationTaskInput, taskArn: string): Promise<string> {
    const taskId = taskIdOf(taskArn);
    const fallback = `see the log configuration of container "${input.containerName}" in ${input.taskDefinitionArn} (task id ${taskId})`;
    try {
        const { DescribeTaskDefinitionCommand: Describe } = require("@aws-sdk/client-ecs") as typeof import("@aws-sdk/client-ecs");
        const out = await client.send(new Describe({ taskDefinition: input.taskDefinitionArn }));
        const container = out.taskDefinition?.containerDefinitions?.find((c) => c.name === input.containerName);
        const log = container?.logConfiguration;
        const group = log?.options?.["awslogs-group"];
        const prefix = log?.options?.["awslogs-stream-prefix"];
        if (log?.logDriver !== "awslogs" || !group || !prefix) {
            return fallback;
        }
        const stream = `${prefix}/${input.containerName}/${taskId}`;
        const region = log.options?.["awslogs-region"];
        return `CloudWatch Logs group ${group}, stream ${stream} (aws logs tail ${group} --log-stream-names ${stream}${region ? ` --region ${region}` : ""})`;
    } catch {
        return fallback;
    }
}

/** Stops the task; returns a sentence for the error message either way. */
async function stopTask(client: EcsClientLike, input: MigrationTaskInput, taskArn: string, reason: string): Promise<string> {
    try {
        const { StopTaskCommand: Stop } = require("@aws-sdk/client-ecs") as typeof import("@aws-sdk/client-ecs");
        await client.send(new Stop({ cluster: input.clusterArn, task: taskArn, reason: reason.slice(0, MAX_STOP_REASON) }));
        return "The task was stopped (StopTask).";
    } catch (e) {
        return `StopTask failed (${errorText(e)}): stop it by hand with aws ecs stop-task --cluster ${input.clusterArn} --task ${taskArn}.`;
    }
}

/** Decides a STOPPED task: success only for the decisive container exiting 0 on its own. */
async function judgeStoppedTask(client: EcsClientLike, input: MigrationTaskInput, task: Task): Promise<MigrationTaskResult> {
    const taskArn = task.taskArn!;
    const container = (task.containers ?? []).find((c) => c.name === input.containerName);
    const stopReason = task.stoppedReason ?? "none given";
    if (!container) {
        const names = (task.containers ?? []).map((c) => c.name).join(", ");
        throw new Error(
            `Migration task ${taskArn} has no container named "${input.containerName}" (it has: ${names || "none"}); ` +
                `fix containerName or the task definition ${input.taskDefinitionArn}.`,
        );
    }
    // No exit code means the container never ran: image pull, secret retrieval or ENI errors (stopCode
    // TaskFailedToStart, stoppedReason such as "CannotPullContainerError: ..." or "ResourceInitializationError: ...").
    if (task.stopCode === "TaskFailedToStart" || container.exitCode === undefined || container.exitCode === null) {
        const details = [`stop code ${task.stopCode ?? "none"}`, `stopped reason: ${stopReason}`];
        if (container.reason) {
            details.push(`container reason: ${container.reason}`);
        }
        throw new Error(
            `Migration task ${taskArn} never started its container "${input.containerName}" (${details.join("; ")}). ` +
                "The database was not touched; the running version keeps serving.",
        );
    }
    if (container.exitCode === 0 && !INTERRUPTED_STOP_CODES.includes(task.stopCode ?? "")) {
        return { taskArn, exitCode: 0 };
    }
    const logs = await logLocation(client, input, taskArn);
    const meaning = input.exitCodes?.[String(container.exitCode)];
    const how =
        container.exitCode === 0
            ? `exited with code 0 but was interrupted (stop code ${task.stopCode})`
            : `failed with exit code ${container.exitCode}${meaning ? `: ${meaning}` : ""}`;
    throw new Error(
        `Migration ${how}; stopped reason: ${stopReason}${container.reason ? `; container reason: ${container.reason}` : ""}. ` +
            `Task ${taskArn}. Logs: ${logs}. The services were not updated; the running version keeps serving.`,
    );
}

/** Starts one task of the input's task definition (optionally with another command); returns its ARN and status. */
async function startTask(client: EcsClientLike, input: MigrationTaskInput, command?: string[]): Promise<{ taskArn: string; lastStatus: string }> {
    const { RunTaskCommand: Run } = require("@aws-sdk/client-ecs") as typeof import("@aws-sdk/client-ecs");
    const request: RunTaskCommandInput = {
        cluster: input.clusterArn,
        taskDefinition: input.taskDefinitionArn,
        count: 1,
        // On-demand Fargate, never Spot: a reclaimed task would cut a migration short.
        launchType: "FARGATE",
        networkConfiguration: {
            awsvpcConfiguration: { subnets: input.subnetIds, securityGroups: input.securityGroupIds, assignPublicIp: "DISABLED" },
        },
        startedBy: STARTED_BY,
        propagateTags: "TASK_DEFINITION",
        enableExecuteCommand: false,
        ...(command ? { overrides: { containerOverrides: [{ name: input.containerName, command }] } } : {}),
    };
    let run: RunTaskCommandOutput;
    try {
        run = await client.send(new Run(request));
    } catch (e) {
        throw new Error(`Migration task could not be started: RunTask on ${input.clusterArn} with ${input.taskDefinitionArn} failed: ${errorText(e)}`);
    }
    const taskArn = run.tasks?.[0]?.taskArn;
    if ((run.failures?.length ?? 0) > 0 || !taskArn) {
        const reasons = (run.failures ?? []).map((f) => [f.arn, f.reason, f.detail].filter((x) => x).join(": ")).join("; ");
        throw new Error(`Migration task could not be started: RunTask on ${input.clusterArn} reported ${reasons || "no task and no failure reason"}.`);
    }
    return { taskArn, lastStatus: run.tasks?.[0]?.lastStatus ?? "PROVISIONING" };
}

/**
 * Polls DescribeTasks with a growing interval until the task is STOPPED (returns it) or the deadline passes (returns
 * the last status seen). Too many consecutive errors stop the task and throw.
 */
async function waitForStop(client: EcsClientLike, input: MigrationTaskInput, taskArn: string, lastStatus: string, deadline: number, clock: Clock): Promise<Task | { timedOut: string }> {
    const { DescribeTasksCommand: Describe } = require("@aws-sdk/client-ecs") as typeof import("@aws-sdk/client-ecs");
    let delay = FIRST_POLL_MS;
    let consecutiveErrors = 0;
    for (;;) {
        const remaining = deadline - clock.now();
        if (remaining <= 0) {
            return { timedOut: lastStatus };
        }
        await clock.sleep(Math.min(delay, remaining));
        delay = Math.min(delay * POLL_GROWTH, MAX_POLL_MS);

        let task: Task | undefined;
        let problem: string | undefined;
        try {
            const out = await client.send(new Describe({ cluster: input.clusterArn, tasks: [taskArn] }));
            task = out.tasks?.find((t) => t.taskArn === taskArn);
            if (!task) {
                problem = (out.failures ?? []).map((f) => `${f.reason ?? "failure"}${f.detail ? `: ${f.detail}` : ""}`).join("; ") || "task not returned";
            }
        } catch (e) {
            problem = errorText(e);
        }
        if (!task) {
            consecutiveErrors += 1;
            if (consecutiveErrors >= MAX_CONSECUTIVE_POLL_ERRORS) {
                const stopped = await stopTask(client, input, taskArn, "The Pulumi MigrationGate lost track of this migration task");
                throw new Error(`Could not follow migration task ${taskArn}: DescribeTasks failed ${consecutiveErrors} times in a row (last: ${problem}). ${stopped}`);
            }
            continue;
        }
        consecutiveErrors = 0;
        lastStatus = task.lastStatus ?? lastStatus;
        if (task.lastStatus === "STOPPED") {
            return task;
        }
    }
}

/**
 * After a timeout: the stopped container's database session may still run its statement and hold its locks (the
 * server only notices a vanished client when it next writes to it). Runs the cleanup command in the same task
 * definition to end those sessions, and says what happened, or what the operator must run.
 */
async function endSessions(client: EcsClientLike, input: MigrationTaskInput, clock: Clock): Promise<string> {
    const byHand = input.manualCleanup ? ` End them by hand: ${input.manualCleanup}` : "";
    if (!input.cleanup) {
        return byHand ? `Its database session may still hold locks.${byHand}` : "";
    }
    try {
        const { taskArn, lastStatus } = await startTask(client, input, input.cleanup.command);
        const stopped = await waitForStop(client, input, taskArn, lastStatus, clock.now() + input.cleanup.timeoutSeconds * 1000, clock);
        if ("timedOut" in stopped) {
            await stopTask(client, input, taskArn, "The migration session cleanup exceeded its timeout");
            return `The cleanup task ${taskArn} did not finish within ${input.cleanup.timeoutSeconds} s, so its database session may still hold locks.${byHand}`;
        }
        const code = (stopped.containers ?? []).find((c) => c.name === input.containerName)?.exitCode;
        if (code === 0) {
            return `A cleanup task (${taskArn}) ended its database sessions; Dify's upgrade lock expires on its own within a minute.`;
        }
        return `The cleanup task ${taskArn} failed (exit code ${code ?? "none"}, ${stopped.stoppedReason ?? "no reason given"}), so its database session may still hold locks.${byHand}`;
    } catch (e) {
        return `The cleanup task could not run (${errorText(e)}), so its database session may still hold locks.${byHand}`;
    }
}

/**
 * Runs the migration task once and waits for it: RunTask on Fargate in the given private subnets (no public IP),
 * then DescribeTasks with a growing interval until the task is STOPPED. Resolves for exit code 0; throws for a task
 * that cannot be started or never starts its container, a non-zero exit (naming what the exit code means, when the
 * input says), an interrupted run, or the timeout (after stopping the task and ending its database sessions).
 * `client` is an `ECSClient` (or a fake with `send`), `clock` supplies time and sleep.
 */
export async function runMigrationTask(client: EcsClientLike, input: MigrationTaskInput, clock: Clock): Promise<MigrationTaskResult> {
    const deadline = clock.now() + input.timeoutSeconds * 1000;
    const { taskArn, lastStatus } = await startTask(client, input);
    const stopped = await waitForStop(client, input, taskArn, lastStatus, deadline, clock);
    if ("timedOut" in stopped) {
        const how = await stopTask(client, input, taskArn, `Migration exceeded the ${input.timeoutSeconds} s timeout of the Pulumi MigrationGate`);
        const logs = await logLocation(client, input, taskArn);
        const sessions = await endSessions(client, input, clock);
        throw new Error(
            `Migration task ${taskArn} did not finish within ${input.timeoutSeconds} s (last status ${stopped.timedOut}). ${how} ${sessions ? `${sessions} ` : ""}` +
                `Logs: ${logs}. The services were not updated; the running version keeps serving.`,
        );
    }
    return judgeStoppedTask(client, input, stopped);
}

/** A clock that really waits; the provider's default. */
function systemClock(): Clock {
    return { now: () => Date.now(), sleep: (ms: number) => new Promise((resolve) => setTimeout(resolve, ms)) };
}

/** The resolved runner input from the gate's inputs or state. */
function taskInputOf(props: MigrationGateState): MigrationTaskInput {
    return {
        clusterArn: props.clusterArn,
        taskDefinitionArn: props.taskDefinitionArn,
        containerName: props.containerName,
        subnetIds: props.subnetIds,
        securityGroupIds: props.securityGroupIds,
        timeoutSeconds: props.timeoutSeconds,
        exitCodes: props.exitCodes,
        cleanup: props.cleanup,
        manualCleanup: props.manualCleanup,
    };
}

/** Whether any recorded input other than `image` differs (compared as JSON: lists in order). */
function recordedFieldsDiffer(olds: Record<string, unknown>, news: Record<string, unknown>): boolean {
    return RECORDED_FIELDS.some((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
}

/** Checks what the engine resolves; values still unknown at preview are not strings/arrays yet and are skipped. */
function checkInputs(news: Record<string, unknown>): pulumi.dynamic.CheckFailure[] {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const list = (key: string, max: number) => {
        const v = news[key];
        if (Array.isArray(v) && (v.length < 1 || v.length > max)) {
            failures.push({ property: key, reason: `RunTask's awsvpc configuration takes 1 to ${max} ${key}; got ${v.length}` });
        }
    };
    list("subnetIds", MAX_SUBNETS);
    list("securityGroupIds", MAX_SECURITY_GROUPS);
    for (const key of ["clusterArn", "taskDefinitionArn", "image", "region"]) {
        if (news[key] === "") {
            failures.push({ property: key, reason: `${key} must not be empty` });
        }
    }
    return failures;
}

interface MigrationGateProvider extends pulumi.dynamic.ResourceProvider<MigrationGateState, MigrationGateState> {
    /** The stack's `aws:profile`, captured in `configure`. */
    awsProfile?: string;
}

/** The dynamic provider; see the file comment for when it runs. */
const migrationGateProvider: MigrationGateProvider = {
    async configure(req) {
        // Best effort: older engines do not hand stack config to dynamic providers.
        this.awsProfile = req.config.get("aws:profile") || undefined;
    },
    async check(_olds, news) {
        const failures = checkInputs(news as unknown as Record<string, unknown>);
        return { inputs: news, failures };
    },
    async diff(_id, olds, news) {
        // `image` is unknown during a preview when it is computed; a change (or an unknown) means a new version.
        if (olds.image !== news.image) {
            return { changes: true, replaces: ["image"], deleteBeforeReplace: false };
        }
        return { changes: recordedFieldsDiffer(olds as unknown as Record<string, unknown>, news as unknown as Record<string, unknown>) };
    },
    async create(inputs) {
        const { ECSClient } = require("@aws-sdk/client-ecs") as typeof import("@aws-sdk/client-ecs");
        // maxAttempts above the SDK default of 3 rides out DescribeTasks throttling during a long wait.
        const client = new ECSClient({ region: inputs.region, profile: this.awsProfile, maxAttempts: 6 });
        try {
            const result = await runMigrationTask(client, taskInputOf(inputs), systemClock());
            return { id: result.taskArn, outs: { ...inputs, taskArn: result.taskArn, exitCode: result.exitCode } };
        } finally {
            client.destroy();
        }
    },
    async update(_id, olds, news) {
        // Same image: the migration for it already ran; only record the new task definition, subnets, etc.
        return { outs: { ...news, taskArn: olds.taskArn, exitCode: olds.exitCode } };
    },
    async delete() {
        // Nothing to undo: the schema stays migrated (the running version needs it); only the record goes.
    },
};

/**
 * Runs Dify's `MODE=migration` task once per api image and fails the deployment when it fails. Make the api, worker
 * and beat services depend on it (`dependsOn`), so no new task of theirs starts before the schema is current.
 * See the file comment for when it re-runs, and for the IAM permissions the deployer needs.
 */
export class MigrationGate extends pulumi.dynamic.Resource {
    /** ARN of the ECS task that ran the migration for the current image. */
    declare public readonly taskArn: pulumi.Output<string>;
    /** Exit code of the migration container: always 0 once the resource exists. */
    declare public readonly exitCode: pulumi.Output<number>;

    constructor(name: string, args: MigrationGateArgs, opts?: pulumi.CustomResourceOptions) {
        const timeoutSeconds = args.timeoutSeconds ?? DEFAULT_MIGRATION_TIMEOUT_SECONDS;
        if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < MIN_MIGRATION_TIMEOUT_SECONDS) {
            throw new Error(`MigrationGate ${name}: timeoutSeconds must be a whole number of seconds >= ${MIN_MIGRATION_TIMEOUT_SECONDS}; got ${timeoutSeconds}`);
        }
        if (!args.containerName) {
            throw new Error(`MigrationGate ${name}: containerName must name the migration container of the task definition`);
        }
        super(
            migrationGateProvider,
            name,
            {
                clusterArn: args.clusterArn,
                taskDefinitionArn: args.taskDefinitionArn,
                containerName: args.containerName,
                subnetIds: args.subnetIds,
                securityGroupIds: args.securityGroupIds,
                image: args.image,
                region: args.region,
                timeoutSeconds,
                exitCodes: args.exitCodes,
                cleanup: args.cleanup,
                manualCleanup: args.manualCleanup,
                taskArn: undefined,
                exitCode: undefined,
            },
            opts,
            "migration",
            "MigrationGate",
        );
    }
}
