/**
 * Restoring the database, as a plan of AWS CLI and Pulumi commands built from a stack's outputs, printed by default and
 * run one by one with --execute. Two kinds:
 *
 * - `drill` (run it against dev, monthly): restores the newest restorable point into a side cluster, times how long
 *   until its writer is available (the restore part of the RTO), and deletes it. Nothing the stack runs is touched.
 * - `restore` (the runbook's "Restoring the database"): stops every writer first, so no pooled connection keeps writing
 *   to the old cluster while it is renamed; restores; swaps the identifiers; and lets `pulumi up` bring the services
 *   back, which also restores their task counts.
 *
 *   npx ts-node --transpile-only tools/restoreDrill.ts --stack dev [--kind drill|restore] [--time <ISO UTC> | --snapshot <id>] [--execute]
 *
 * The plan is a pure function of the outputs (test/restoreDrill.test.ts checks its order offline); only --execute
 * needs the Pulumi CLI, AWS credentials and the stack.
 */
import { execFileSync } from "child_process";
import { ROLE_SPECS } from "../components/difyCluster/roles";
import { SCALED_ROLES, type DifyRole } from "../config/roles";

/** The stack outputs the plan reads (`pulumi stack output --json`). */
export interface RestoreOutputs {
    clusterName: string;
    serviceNames: Partial<Record<DifyRole, string>>;
    databaseClusterIdentifier: string;
    databaseInstanceIdentifiers: string[];
    databaseSecurityGroupId: string;
    /** Aurora Serverless v2 (the restore takes the old cluster's capacity range) rather than provisioned instances. */
    databaseServerless: boolean;
    kmsKeyArn?: string;
}

export interface RestoreOptions {
    stack: string;
    kind: "drill" | "restore";
    /** Restore to this UTC time (point-in-time recovery); neither this nor `snapshot`: the latest restorable time. */
    time?: string;
    /** Restore this cluster snapshot (a pre-migration snapshot, or one AWS Backup made). */
    snapshot?: string;
    /** Used in the drill cluster's identifier: yyyymmddhhmm. */
    now: Date;
}

export interface PlanStep {
    title: string;
    /** argv, the program first. A `$(...)` never appears: values a step needs from AWS are read by `capture` steps. */
    command: string[];
    /**
     * Names under which the step's output is kept, for later steps' `{name}` placeholders: one word of the (text)
     * output each, in order.
     */
    capture?: string[];
    /** The step stops or starts Dify's writers (the plan asserts their order). */
    writers?: "stop" | "start";
}

/** Roles that write to the database: every one must be stopped before the cluster is swapped. */
export const DATABASE_WRITERS: readonly DifyRole[] = (Object.keys(ROLE_SPECS) as DifyRole[]).filter((role) => ROLE_SPECS[role].reaches.database);

/** `MinCapacity=<n>,MaxCapacity=<n>`, the shorthand --serverless-v2-scaling-configuration takes. */
const SCALING_QUERY =
    "join(',', [join('=', ['MinCapacity', to_string(DBClusters[0].ServerlessV2ScalingConfiguration.MinCapacity)]), join('=', ['MaxCapacity', to_string(DBClusters[0].ServerlessV2ScalingConfiguration.MaxCapacity)])])";

const stamp = (d: Date) => d.toISOString().replace(/[-:T]/g, "").slice(0, 12);

/** The commands of a drill or a restore, in order. */
export function restorePlan(o: RestoreOutputs, opt: RestoreOptions): PlanStep[] {
    const old = o.databaseClusterIdentifier;
    const target = opt.kind === "drill" ? `${old}-drill-${stamp(opt.now)}` : `${old}-restore`;
    const steps: PlanStep[] = [];
    const aws = (...args: string[]) => ["aws", ...args];

    // What the restored cluster must share with the old one: subnet group, parameter group, engine version, key and
    // the Serverless v2 capacity (a provisioned cluster reports none).
    steps.push(
        {
            title: "Read the cluster's subnet group, parameter group and engine version",
            command: aws("rds", "describe-db-clusters", "--db-cluster-identifier", old, "--query", "DBClusters[0].[DBSubnetGroup, DBClusterParameterGroup, EngineVersion]", "--output", "text"),
            capture: ["subnets", "params", "version"],
        },
        ...(o.databaseServerless
            ? [
                  {
                      title: "Read its Serverless v2 capacity",
                      command: aws("rds", "describe-db-clusters", "--db-cluster-identifier", old, "--query", SCALING_QUERY, "--output", "text"),
                      capture: ["scaling"],
                  },
              ]
            : []),
        { title: "Read the writer's instance class", command: aws("rds", "describe-db-instances", "--db-instance-identifier", o.databaseInstanceIdentifiers[0], "--query", "DBInstances[0].DBInstanceClass", "--output", "text"), capture: ["instanceClass"] },
    );

    if (opt.kind === "restore") {
        // Stop every writer before anything changes: pooled connections otherwise keep writing to the old cluster
        // until they are recycled, and those writes would be lost with it. Scaled roles: their scalable target to
        // 0-0 (Application Auto Scaling would otherwise scale a service back to its minimum); the others: desired 0.
        for (const role of DATABASE_WRITERS) {
            const service = o.serviceNames[role];
            if (!service) {
                continue;
            }
            if ((SCALED_ROLES as readonly string[]).includes(role)) {
                steps.push({
                    title: `Stop ${role} (scalable target 0-0)`,
                    command: aws("application-autoscaling", "register-scalable-target", "--service-namespace", "ecs", "--scalable-dimension", "ecs:service:DesiredCount", "--resource-id", `service/${o.clusterName}/${service}`, "--min-capacity", "0", "--max-capacity", "0"),
                    writers: "stop",
                });
            }
            steps.push({ title: `Stop ${role} (desired count 0)`, command: aws("ecs", "update-service", "--cluster", o.clusterName, "--service", service, "--desired-count", "0"), writers: "stop" });
        }
        const stopped = DATABASE_WRITERS.flatMap((r) => (o.serviceNames[r] ? [o.serviceNames[r]!] : []));
        steps.push({ title: "Wait until every writer has stopped", command: aws("ecs", "wait", "services-stable", "--cluster", o.clusterName, "--services", ...stopped), writers: "stop" });
    }

    const common = ["--db-cluster-identifier", target, "--db-subnet-group-name", "{subnets}", "--vpc-security-group-ids", o.databaseSecurityGroupId, "--db-cluster-parameter-group-name", "{params}", "--engine", "aurora-postgresql", "--engine-version", "{version}", "--copy-tags-to-snapshot", ...(o.kmsKeyArn ? ["--kms-key-id", o.kmsKeyArn] : [])];
    const scaling = o.databaseServerless ? ["--serverless-v2-scaling-configuration", "{scaling}"] : [];
    steps.push(
        opt.snapshot
            ? { title: `Restore snapshot ${opt.snapshot} into ${target}`, command: aws("rds", "restore-db-cluster-from-snapshot", ...common, ...scaling, "--snapshot-identifier", opt.snapshot) }
            : {
                  title: `Restore ${old} to ${opt.time ?? "its latest restorable time"} into ${target}`,
                  command: aws("rds", "restore-db-cluster-to-point-in-time", ...common, ...scaling, "--source-db-cluster-identifier", old, ...(opt.time ? ["--restore-to-time", opt.time] : ["--use-latest-restorable-time"])),
              },
        // A restored cluster has no instances.
        { title: `Add a writer to ${target}`, command: aws("rds", "create-db-instance", "--db-cluster-identifier", target, "--db-instance-identifier", `${target}-1`, "--engine", "aurora-postgresql", "--db-instance-class", "{instanceClass}") },
        { title: `Wait until ${target}'s writer is available (the restore part of the RTO)`, command: aws("rds", "wait", "db-instance-available", "--db-instance-identifier", `${target}-1`) },
    );

    if (opt.kind === "drill") {
        steps.push(
            { title: `Delete the drill writer ${target}-1`, command: aws("rds", "delete-db-instance", "--db-instance-identifier", `${target}-1`, "--skip-final-snapshot") },
            { title: `Wait for it to go`, command: aws("rds", "wait", "db-instance-deleted", "--db-instance-identifier", `${target}-1`) },
            { title: `Delete the drill cluster ${target}`, command: aws("rds", "delete-db-cluster", "--db-cluster-identifier", target, "--skip-final-snapshot") },
        );
        return steps;
    }

    // Swap the identifiers: the endpoints follow the identifier, so every secret and service setting stays valid.
    steps.push({ title: `Rename ${old} to ${old}-old`, command: aws("rds", "modify-db-cluster", "--db-cluster-identifier", old, "--new-db-cluster-identifier", `${old}-old`, "--apply-immediately") });
    for (const instance of o.databaseInstanceIdentifiers) {
        steps.push({ title: `Rename ${instance}`, command: aws("rds", "modify-db-instance", "--db-instance-identifier", instance, "--new-db-instance-identifier", instance.replace(old, `${old}-old`), "--apply-immediately") });
    }
    steps.push(
        { title: `Wait until ${old}-old is available (the old names are then free)`, command: aws("rds", "wait", "db-cluster-available", "--db-cluster-identifier", `${old}-old`) },
        { title: `Rename ${target} to ${old}`, command: aws("rds", "modify-db-cluster", "--db-cluster-identifier", target, "--new-db-cluster-identifier", old, "--apply-immediately") },
        { title: `Rename its writer to ${o.databaseInstanceIdentifiers[0]}`, command: aws("rds", "modify-db-instance", "--db-instance-identifier", `${target}-1`, "--new-db-instance-identifier", o.databaseInstanceIdentifiers[0], "--apply-immediately") },
        { title: `Wait until ${old} answers again`, command: aws("rds", "wait", "db-instance-available", "--db-instance-identifier", o.databaseInstanceIdentifiers[0]) },
        // Pulumi reads what now carries its identifiers, recreates the readers and puts back every scalable target's
        // range and beat's one task: the writers start on the restored data.
        { title: "Let Pulumi read the restored cluster", command: ["pulumi", "refresh", "--stack", opt.stack, "--yes"] },
        { title: "Converge: readers, settings, and every writer back at its task count", command: ["pulumi", "up", "--stack", opt.stack, "--yes", "--policy-pack", "policy", "--policy-pack-config", `policy/config/${opt.stack}.json`], writers: "start" },
    );
    // A single-task writer (beat, the websocket) on a stack with activeHours has its task count left to the schedule
    // (the service ignores desiredCount): start it explicitly, as its schedule would. Harmless where up already did.
    for (const role of DATABASE_WRITERS.filter((r) => !(SCALED_ROLES as readonly string[]).includes(r))) {
        const service = o.serviceNames[role];
        if (service) {
            steps.push({ title: `Start ${role} (one task)`, command: aws("ecs", "update-service", "--cluster", o.clusterName, "--service", service, "--desired-count", "1"), writers: "start" });
        }
    }
    return steps;
}

/** Parses `--key value` flags. */
function flags(argv: string[]): Record<string, string | true> {
    const out: Record<string, string | true> = {};
    for (let i = 0; i < argv.length; i++) {
        if (argv[i].startsWith("--")) {
            const next = argv[i + 1];
            out[argv[i].slice(2)] = next === undefined || next.startsWith("--") ? true : (i++, next);
        }
    }
    return out;
}

function main(): void {
    const f = flags(process.argv.slice(2));
    const stack = typeof f.stack === "string" ? f.stack : undefined;
    const kind = f.kind === "restore" ? "restore" : f.kind === undefined || f.kind === "drill" ? "drill" : undefined;
    if (!stack || !kind) {
        console.error("usage: restoreDrill.ts --stack <stack> [--kind drill|restore] [--time <ISO UTC> | --snapshot <id>] [--execute]");
        process.exit(2);
    }
    const outputs = JSON.parse(execFileSync("pulumi", ["stack", "output", "--json", "--stack", stack]).toString()) as RestoreOutputs;
    const plan = restorePlan(outputs, { stack, kind, time: typeof f.time === "string" ? f.time : undefined, snapshot: typeof f.snapshot === "string" ? f.snapshot : undefined, now: new Date() });
    const captured: Record<string, string> = {};
    const started = Date.now();
    for (const [i, step] of plan.entries()) {
        const argv = step.command.map((a) => a.replace(/\{(\w+)\}/g, (_, k: string) => captured[k] ?? `{${k}}`));
        console.log(`\n# ${i + 1}. ${step.title}\n${argv.map((a) => (/[\s'"$()*]/.test(a) ? `'${a}'` : a)).join(" ")}`);
        if (f.execute === true) {
            const out = execFileSync(argv[0], argv.slice(1), { stdio: ["inherit", "pipe", "inherit"] }).toString().trim();
            if (step.capture) {
                const words = out.split(/\s+/);
                if (words.length !== step.capture.length) {
                    throw new Error(`${step.title}: expected ${step.capture.join(", ")}, AWS answered "${out}"`);
                }
                step.capture.forEach((name, i) => (captured[name] = words[i]));
            }
            console.log(`# done after ${Math.round((Date.now() - started) / 1000)} s`);
        }
    }
    if (f.execute !== true) {
        console.log("\n# Printed only. Run again with --execute to carry it out.");
    }
}

if (require.main === module) {
    main();
}
