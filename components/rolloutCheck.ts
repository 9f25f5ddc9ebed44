/**
 * RolloutCheck: `pulumi up` fails unless every service that got a new task definition runs it, its deployment
 * COMPLETED.
 *
 * Why: the AWS provider's `waitForSteadyState` long counted "one deployment, running = desired" as stable, which is
 * exactly where a circuit-breaker rollback ends (hashicorp/terraform-provider-aws#19519,
 * terraform-aws-modules/terraform-aws-ecs#325): `up` exited 0, the state recorded the new task definition, ECS ran the
 * old one, and after a migration old code served the new schema. The provider's newer waiter checks the service
 * deployment's status for new deployments only (TFP PR #43434); this check does not depend on which case the provider
 * is in. It reads what ECS runs (DescribeServices: the PRIMARY deployment's task definition and rolloutState) and, when
 * that is not the task definition this `up` registered, says why: the service deployment's status and reason
 * (ListServiceDeployments / DescribeServiceDeployments) and the stopped tasks' reasons.
 *
 * When it runs: on create, and on every update that changes a service's task definition; it depends on every service,
 * so it starts once they are updated. Permissions of whoever runs `pulumi up`: ecs:DescribeServices,
 * ecs:ListServiceDeployments, ecs:DescribeServiceDeployments, ecs:ListTasks, ecs:DescribeTasks.
 *
 * Serialization: the provider reaches only function declarations and non-exported constants of this file, and
 * requires the AWS SDK inside the functions that use it (see components/migrationGate/task.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import type {
    DescribeServiceDeploymentsCommand,
    DescribeServiceDeploymentsCommandOutput,
    DescribeServicesCommand,
    DescribeServicesCommandOutput,
    DescribeTasksCommand,
    DescribeTasksCommandOutput,
    ListServiceDeploymentsCommand,
    ListServiceDeploymentsCommandOutput,
    ListTasksCommand,
    ListTasksCommandOutput,
} from "@aws-sdk/client-ecs";
import type { Clock } from "./migrationGate/task";

export interface RolloutCheckArgs {
    clusterArn: pulumi.Input<string>;
    region: pulumi.Input<string>;
    /** Each checked service by its role: the service name and the task definition this `up` gave it. */
    services: pulumi.Input<Record<string, pulumi.Input<{ serviceName: pulumi.Input<string>; taskDefinitionArn: pulumi.Input<string> }>>>;
    /** Seconds to wait for the deployments to complete, counted from when the check starts. Default 3600. */
    timeoutSeconds?: number;
}

export interface CheckedService {
    serviceName: string;
    taskDefinitionArn: string;
}

export interface RolloutInput {
    clusterArn: string;
    services: Record<string, CheckedService>;
    timeoutSeconds: number;
}

/** The part of `ECSClient` the check uses, so tests can pass a fake. */
export interface RolloutEcsClient {
    send(command: DescribeServicesCommand): Promise<DescribeServicesCommandOutput>;
    send(command: ListServiceDeploymentsCommand): Promise<ListServiceDeploymentsCommandOutput>;
    send(command: DescribeServiceDeploymentsCommand): Promise<DescribeServiceDeploymentsCommandOutput>;
    send(command: ListTasksCommand): Promise<ListTasksCommandOutput>;
    send(command: DescribeTasksCommand): Promise<DescribeTasksCommandOutput>;
}

export const DEFAULT_ROLLOUT_TIMEOUT_SECONDS = 3600;
const POLL_MS = 15_000;
/** Stopped tasks read for their reasons, and distinct reasons quoted. */
const STOPPED_TASKS_READ = 20;
const REASONS_QUOTED = 3;

function describeError(e: unknown): string {
    return e instanceof Error ? (e.name && e.name !== "Error" ? `${e.name}: ${e.message}` : e.message) : String(e);
}

/** `family:revision` of a task definition ARN, for messages. */
function revisionOf(arn: string | undefined): string {
    return arn ? arn.slice(arn.lastIndexOf("/") + 1) : "none";
}

/** Why tasks of this task definition stopped: the newest distinct stopped reasons, with container exit codes. */
async function stoppedReasons(client: RolloutEcsClient, clusterArn: string, s: CheckedService): Promise<string> {
    const { ListTasksCommand: List, DescribeTasksCommand: Describe } = require("@aws-sdk/client-ecs") as typeof import("@aws-sdk/client-ecs");
    try {
        const listed = await client.send(new List({ cluster: clusterArn, serviceName: s.serviceName, desiredStatus: "STOPPED", maxResults: STOPPED_TASKS_READ }));
        if (!listed.taskArns?.length) {
            return "no stopped task is on record";
        }
        const described = await client.send(new Describe({ cluster: clusterArn, tasks: listed.taskArns }));
        const reasons = new Set<string>();
        for (const t of described.tasks ?? []) {
            if (t.taskDefinitionArn !== s.taskDefinitionArn) {
                continue;
            }
            const containers = (t.containers ?? [])
                .filter((c) => c.exitCode !== undefined || c.reason)
                .map((c) => `${c.name}${c.exitCode !== undefined ? ` exit ${c.exitCode}` : ""}${c.reason ? ` (${c.reason})` : ""}`)
                .join(", ");
            reasons.add(`${t.stoppedReason ?? "no reason"}${containers ? `: ${containers}` : ""}`);
        }
        return reasons.size ? [...reasons].slice(0, REASONS_QUOTED).join("; ") : `no stopped task of ${revisionOf(s.taskDefinitionArn)} is on record`;
    } catch (e) {
        return `stopped tasks unreadable (${describeError(e)})`;
    }
}

/** The newest service deployment's status and reasons (ECS service deployments, since 2024-10). */
async function deploymentStory(client: RolloutEcsClient, clusterArn: string, s: CheckedService): Promise<string> {
    const { ListServiceDeploymentsCommand: List, DescribeServiceDeploymentsCommand: Describe } = require("@aws-sdk/client-ecs") as typeof import("@aws-sdk/client-ecs");
    try {
        const listed = await client.send(new List({ cluster: clusterArn, service: s.serviceName, maxResults: 5 }));
        const arns = (listed.serviceDeployments ?? []).map((d) => d.serviceDeploymentArn!).filter((x) => x);
        if (arns.length === 0) {
            return "no service deployment is on record";
        }
        const described = await client.send(new Describe({ serviceDeploymentArns: arns }));
        const newest = [...(described.serviceDeployments ?? [])].sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0))[0];
        if (!newest) {
            return "no service deployment is on record";
        }
        const parts = [`service deployment ${newest.status ?? "?"}`];
        if (newest.statusReason) {
            parts.push(newest.statusReason);
        }
        if (newest.rollback?.reason) {
            parts.push(`rollback: ${newest.rollback.reason}`);
        }
        return parts.join(": ");
    } catch (e) {
        return `service deployments unreadable (${describeError(e)})`;
    }
}

/**
 * Waits until the service runs the expected task definition with its rollout COMPLETED; returns undefined then, or
 * the failure (rolled back, failed, or still in progress at the deadline).
 */
async function checkService(client: RolloutEcsClient, input: RolloutInput, role: string, s: CheckedService, deadline: number, clock: Clock): Promise<string | undefined> {
    const { DescribeServicesCommand: Describe } = require("@aws-sdk/client-ecs") as typeof import("@aws-sdk/client-ecs");
    let last = "not read yet";
    for (;;) {
        let problem: string | undefined;
        try {
            const out = await client.send(new Describe({ cluster: input.clusterArn, services: [s.serviceName] }));
            const svc = out.services?.[0];
            const primary = svc?.deployments?.find((d) => d.status === "PRIMARY");
            if (!svc || !primary) {
                problem = `service ${s.serviceName} has no primary deployment`;
            } else if (primary.taskDefinition !== s.taskDefinitionArn) {
                const why = [await deploymentStory(client, input.clusterArn, s), `stopped tasks: ${await stoppedReasons(client, input.clusterArn, s)}`].join("; ");
                return `${role}: ECS runs ${revisionOf(primary.taskDefinition)}, not ${revisionOf(s.taskDefinitionArn)} which this update registered: the deployment was rolled back or replaced (${why})`;
            } else if (primary.rolloutState === "FAILED") {
                return `${role}: the deployment of ${revisionOf(s.taskDefinitionArn)} FAILED (${primary.rolloutStateReason ?? "no reason given"}; stopped tasks: ${await stoppedReasons(client, input.clusterArn, s)})`;
            } else if (primary.rolloutState === "COMPLETED") {
                return undefined;
            } else {
                last = `${primary.rolloutState ?? "no rollout state"}, ${primary.runningCount ?? 0}/${primary.desiredCount ?? 0} running`;
            }
        } catch (e) {
            problem = describeError(e);
        }
        if (problem) {
            last = problem;
        }
        if (clock.now() >= deadline) {
            return `${role}: the deployment of ${revisionOf(s.taskDefinitionArn)} did not complete within ${input.timeoutSeconds} s (last: ${last})`;
        }
        await clock.sleep(POLL_MS);
    }
}

/** Checks the given services (all at once); throws one error naming every service that did not roll out. */
export async function checkRollouts(client: RolloutEcsClient, input: RolloutInput, roles: string[], clock: Clock): Promise<void> {
    const deadline = clock.now() + input.timeoutSeconds * 1000;
    const failures = (await Promise.all(roles.map((role) => checkService(client, input, role, input.services[role], deadline, clock)))).filter((x): x is string => x !== undefined);
    if (failures.length) {
        throw new Error(
            `${failures.length} service(s) do not run what this update deployed: ${failures.join(" | ")}. ` +
                "The Pulumi state records the new task definitions; fix forward (or revert the change) and run pulumi up again, which redeploys them.",
        );
    }
}

/** Roles whose task definition changed (or that are new) between two records. */
function changedRoles(olds: Record<string, CheckedService> | undefined, news: Record<string, CheckedService>): string[] {
    return Object.keys(news).filter((role) => olds?.[role]?.taskDefinitionArn !== news[role].taskDefinitionArn || olds?.[role]?.serviceName !== news[role].serviceName);
}

interface RolloutState extends RolloutInput {
    region: string;
}

interface RolloutProvider extends pulumi.dynamic.ResourceProvider<RolloutState, RolloutState> {
    awsProfile?: string;
}

async function verify(provider: RolloutProvider, inputs: RolloutState, roles: string[]): Promise<void> {
    if (roles.length === 0) {
        return;
    }
    const { ECSClient } = require("@aws-sdk/client-ecs") as typeof import("@aws-sdk/client-ecs");
    const client = new ECSClient({ region: inputs.region, profile: provider.awsProfile, maxAttempts: 6 });
    const clock = { now: () => Date.now(), sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)) };
    try {
        await checkRollouts(client, inputs, roles, clock);
    } finally {
        client.destroy();
    }
}

const rolloutProvider: RolloutProvider = {
    async configure(req) {
        this.awsProfile = req.config.get("aws:profile") || undefined;
    },
    async diff(_id, olds, news) {
        const changed = changedRoles(olds.services, news.services).length > 0 || Object.keys(olds.services ?? {}).length !== Object.keys(news.services ?? {}).length;
        return { changes: changed || olds.clusterArn !== news.clusterArn || olds.timeoutSeconds !== news.timeoutSeconds };
    },
    async create(inputs) {
        await verify(this, inputs, Object.keys(inputs.services));
        return { id: `rollout-${Date.now()}`, outs: inputs };
    },
    async update(_id, olds, news) {
        await verify(this, news, changedRoles(olds.services, news.services));
        return { outs: news };
    },
    async delete() {
        // Nothing to undo: it only reads.
    },
};

/** Fails `pulumi up` when a service does not run the task definition this update registered. Depend it on every service. */
export class RolloutCheck extends pulumi.dynamic.Resource {
    constructor(name: string, args: RolloutCheckArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            rolloutProvider,
            name,
            { clusterArn: args.clusterArn, region: args.region, services: args.services, timeoutSeconds: args.timeoutSeconds ?? DEFAULT_ROLLOUT_TIMEOUT_SECONDS },
            opts,
            "rollout",
            "RolloutCheck",
        );
    }
}
