/**
 * PreMigrationSnapshot: a manual Aurora cluster snapshot taken before the migrations of a new version run, named for
 * that version, awaited until it is available, and pruned to the newest `keep` this resource made.
 *
 * Why: some Dify migrations cannot be reversed, and point-in-time recovery restores a whole new cluster to a time,
 * which takes an hour or more to find and bring up. A snapshot named for the version it precedes is the runbook's way
 * back from a bad upgrade (README, "Roll back an upgrade"). Manual snapshots outlive the cluster's backup retention
 * and are not deleted with the cluster.
 *
 * When it runs (see `diff`): on create, and again whenever `version` changes (a new dify-api or plugin daemon tag).
 * The migration gates depend on it, so no migration starts before the snapshot is available; when the snapshot fails
 * or times out, `up` stops before any migration and the running version keeps serving.
 *
 * Permissions of whoever runs `pulumi up`: rds:CreateDBClusterSnapshot and rds:AddTagsToResource (tags on create) on the
 * cluster and `cluster-snapshot:<prefix>-pre-*`, rds:DescribeDBClusterSnapshots, and rds:DeleteDBClusterSnapshot on
 * `cluster-snapshot:<prefix>-pre-*`. Like the gate, it uses the SDK's default credential chain and `aws:profile`.
 *
 * Serialization: as in task.ts, the provider reaches only function declarations and non-exported constants of this
 * file, and requires the AWS SDK inside the functions that use it.
 */
import * as pulumi from "@pulumi/pulumi";
import type {
    CreateDBClusterSnapshotCommand,
    CreateDBClusterSnapshotCommandOutput,
    DBClusterSnapshot,
    DeleteDBClusterSnapshotCommand,
    DeleteDBClusterSnapshotCommandOutput,
    DescribeDBClusterSnapshotsCommand,
    DescribeDBClusterSnapshotsCommandOutput,
} from "@aws-sdk/client-rds";
import type { Clock } from "./task";

export interface PreMigrationSnapshotArgs {
    /** The Aurora cluster identifier (not its ARN). */
    clusterIdentifier: pulumi.Input<string>;
    /** What is about to be migrated to, e.g. `dify-1.17.1-plugin-daemon-0.6.10-local`: part of the name; a change snapshots again. */
    version: pulumi.Input<string>;
    /** The snapshots' name prefix, e.g. `dify-prd`; names are `<prefix>-pre-<version>-<UTC yyyymmddhhmm>`. */
    identifierPrefix: string;
    /** How many of its snapshots to keep (the newest); older ones it made are deleted once a new one is available. At least 1. */
    keep: number;
    region: pulumi.Input<string>;
    /** Seconds to wait for the snapshot to become available. Default 3600. */
    timeoutSeconds?: number;
}

/** The tag that marks a snapshot as made by this resource (its value: the prefix), so pruning never touches others. */
export const PRE_MIGRATION_TAG = "dify-aws:pre-migration-snapshot";
// The same tag for the provider, which must not reach `exports` (see Serialization above).

export const DEFAULT_SNAPSHOT_TIMEOUT_SECONDS = 3600;

export interface SnapshotInput {
    clusterIdentifier: string;
    version: string;
    identifierPrefix: string;
    keep: number;
    timeoutSeconds: number;
}

export interface SnapshotResult {
    snapshotIdentifier: string;
    snapshotArn: string;
    /** Identifiers of the older snapshots deleted by this run. */
    pruned: string[];
}

/** The part of `RDSClient` the snapshot runner uses, so tests can pass a fake. */
export interface RdsClientLike {
    send(command: CreateDBClusterSnapshotCommand): Promise<CreateDBClusterSnapshotCommandOutput>;
    send(command: DescribeDBClusterSnapshotsCommand): Promise<DescribeDBClusterSnapshotsCommandOutput>;
    send(command: DeleteDBClusterSnapshotCommand): Promise<DeleteDBClusterSnapshotCommandOutput>;
}

const TAG = "dify-aws:pre-migration-snapshot";
const POLL_MS = 15_000;
/** DBClusterSnapshotIdentifier: 1-255 letters, digits or hyphens, a letter first, no two hyphens in a row, no hyphen last (CreateDBClusterSnapshot). */
const MAX_IDENTIFIER = 255;

function errorMessage(e: unknown): string {
    return e instanceof Error ? (e.name && e.name !== "Error" ? `${e.name}: ${e.message}` : e.message) : String(e);
}

/** The snapshot identifier for a version at a time: only what RDS accepts, within its length. */
export function snapshotIdentifier(prefix: string, version: string, at: Date): string {
    const stamp = at.toISOString().replace(/[-:T]/g, "").slice(0, 12);
    const slug = (x: string) =>
        x
            .toLowerCase()
            .replace(/[^a-z0-9]+/g, "-")
            .replace(/^-+|-+$/g, "");
    const head = `${slug(prefix)}-pre-`;
    const tail = `-${stamp}`;
    const middle = slug(version).slice(0, MAX_IDENTIFIER - head.length - tail.length).replace(/-+$/, "");
    const id = `${head}${middle}${tail}`.replace(/-{2,}/g, "-");
    return /^[a-z]/.test(id) ? id : `s${id}`.slice(0, MAX_IDENTIFIER);
}

/** This resource's snapshots of the cluster, newest first (every page of DescribeDBClusterSnapshots). */
async function ownSnapshots(client: RdsClientLike, input: SnapshotInput): Promise<DBClusterSnapshot[]> {
    const { DescribeDBClusterSnapshotsCommand: Describe } = require("@aws-sdk/client-rds") as typeof import("@aws-sdk/client-rds");
    const all: DBClusterSnapshot[] = [];
    let marker: string | undefined;
    do {
        const page = await client.send(new Describe({ DBClusterIdentifier: input.clusterIdentifier, SnapshotType: "manual", Marker: marker }));
        all.push(...(page.DBClusterSnapshots ?? []));
        marker = page.Marker;
    } while (marker);
    return all
        .filter((s) => (s.TagList ?? []).some((t) => t.Key === TAG && t.Value === input.identifierPrefix))
        .sort((a, b) => (b.SnapshotCreateTime?.getTime() ?? 0) - (a.SnapshotCreateTime?.getTime() ?? 0));
}

/**
 * Creates the snapshot, waits until it is available, then deletes this resource's snapshots beyond the newest `keep`.
 * Throws when it cannot be created, fails or times out: the migrations that depend on it then never start.
 */
export async function takePreMigrationSnapshot(client: RdsClientLike, input: SnapshotInput, clock: Clock): Promise<SnapshotResult> {
    const { CreateDBClusterSnapshotCommand: Create, DescribeDBClusterSnapshotsCommand: Describe, DeleteDBClusterSnapshotCommand: Delete } =
        require("@aws-sdk/client-rds") as typeof import("@aws-sdk/client-rds");
    const id = snapshotIdentifier(input.identifierPrefix, input.version, new Date(clock.now()));
    let arn: string;
    try {
        const out = await client.send(
            new Create({
                DBClusterIdentifier: input.clusterIdentifier,
                DBClusterSnapshotIdentifier: id,
                Tags: [
                    { Key: TAG, Value: input.identifierPrefix },
                    { Key: "dify-aws:version", Value: input.version.slice(0, 256) },
                ],
            }),
        );
        arn = out.DBClusterSnapshot?.DBClusterSnapshotArn ?? id;
    } catch (e) {
        throw new Error(`The pre-migration snapshot of ${input.clusterIdentifier} could not be created (${errorMessage(e)}); no migration ran, the running version keeps serving.`);
    }
    const deadline = clock.now() + input.timeoutSeconds * 1000;
    for (;;) {
        let status = "unknown";
        try {
            const out = await client.send(new Describe({ DBClusterSnapshotIdentifier: id }));
            status = out.DBClusterSnapshots?.[0]?.Status ?? "unknown";
        } catch (e) {
            status = `unreadable (${errorMessage(e)})`;
        }
        if (status === "available") {
            break;
        }
        if (status === "failed" || status === "deleted") {
            throw new Error(`The pre-migration snapshot ${id} of ${input.clusterIdentifier} ended ${status}; no migration ran, the running version keeps serving.`);
        }
        if (clock.now() >= deadline) {
            throw new Error(
                `The pre-migration snapshot ${id} of ${input.clusterIdentifier} was not available within ${input.timeoutSeconds} s (last status ${status}); no migration ran. ` +
                    `Wait for it (aws rds describe-db-cluster-snapshots --db-cluster-snapshot-identifier ${id}) and run pulumi up again.`,
            );
        }
        await clock.sleep(POLL_MS);
    }
    const pruned: string[] = [];
    const own = await ownSnapshots(client, input);
    for (const old of own.slice(Math.max(1, input.keep))) {
        if (old.DBClusterSnapshotIdentifier && old.DBClusterSnapshotIdentifier !== id && old.Status === "available") {
            try {
                await client.send(new Delete({ DBClusterSnapshotIdentifier: old.DBClusterSnapshotIdentifier }));
                pruned.push(old.DBClusterSnapshotIdentifier);
            } catch {
                // An old snapshot left behind costs storage, never data: the next run prunes it again.
            }
        }
    }
    return { snapshotIdentifier: id, snapshotArn: arn, pruned };
}

interface SnapshotState extends SnapshotInput, SnapshotResult {
    region: string;
}

interface SnapshotProvider extends pulumi.dynamic.ResourceProvider<SnapshotState, SnapshotState> {
    awsProfile?: string;
}

const snapshotProvider: SnapshotProvider = {
    async configure(req) {
        this.awsProfile = req.config.get("aws:profile") || undefined;
    },
    async check(_olds, news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        const keep = (news as unknown as Record<string, unknown>).keep;
        if (typeof keep === "number" && (!Number.isInteger(keep) || keep < 1)) {
            failures.push({ property: "keep", reason: `keep must be a whole number of snapshots >= 1; got ${keep}` });
        }
        return { inputs: news, failures };
    },
    async diff(_id, olds, news) {
        if (olds.version !== news.version || olds.clusterIdentifier !== news.clusterIdentifier) {
            return { changes: true, replaces: ["version"], deleteBeforeReplace: false };
        }
        return { changes: olds.keep !== news.keep || olds.timeoutSeconds !== news.timeoutSeconds || olds.identifierPrefix !== news.identifierPrefix };
    },
    async create(inputs) {
        const { RDSClient } = require("@aws-sdk/client-rds") as typeof import("@aws-sdk/client-rds");
        const client = new RDSClient({ region: inputs.region, profile: this.awsProfile, maxAttempts: 6 });
        const clock = { now: () => Date.now(), sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)) };
        try {
            const result = await takePreMigrationSnapshot(client, inputs, clock);
            return { id: result.snapshotIdentifier, outs: { ...inputs, ...result } };
        } finally {
            client.destroy();
        }
    },
    async update(_id, olds, news) {
        return { outs: { ...news, snapshotIdentifier: olds.snapshotIdentifier, snapshotArn: olds.snapshotArn, pruned: olds.pruned } };
    },
    async delete() {
        // The snapshots are the way back from an upgrade: they outlive this record (and the stack).
    },
};

/**
 * Takes a manual cluster snapshot before each new version's migrations and keeps the newest `keep`. Make the
 * migration gates depend on it.
 */
export class PreMigrationSnapshot extends pulumi.dynamic.Resource {
    /** The snapshot taken before the current version's migrations. */
    declare public readonly snapshotIdentifier: pulumi.Output<string>;
    declare public readonly snapshotArn: pulumi.Output<string>;

    constructor(name: string, args: PreMigrationSnapshotArgs, opts?: pulumi.CustomResourceOptions) {
        if (!Number.isInteger(args.keep) || args.keep < 1) {
            throw new Error(`PreMigrationSnapshot ${name}: keep must be a whole number of snapshots >= 1; got ${args.keep}`);
        }
        super(
            snapshotProvider,
            name,
            {
                clusterIdentifier: args.clusterIdentifier,
                version: args.version,
                identifierPrefix: args.identifierPrefix,
                keep: args.keep,
                region: args.region,
                timeoutSeconds: args.timeoutSeconds ?? DEFAULT_SNAPSHOT_TIMEOUT_SECONDS,
                snapshotIdentifier: undefined,
                snapshotArn: undefined,
                pruned: undefined,
            },
            opts,
            "migration",
            "PreMigrationSnapshot",
        );
    }
}
