/**
 * DataGuard: refuses a config change that would replace or delete data a user has, before any data resource changes.
 *
 * The config alone cannot tell a change from a first value: the guard records, in the stack's state, the values of the
 * keys that reach a replace-forcing input (config/dataAtRisk.ts), and its `check` compares the new values with them.
 * A change that would lose a data item fails `pulumi preview` and `pulumi up` with the key, its old and new value and
 * what would be lost, unless `acknowledgeDataLoss` names that item. Every data resource depends on the guard, so none of
 * them is replaced before the check passed.
 *
 * Serialization: the provider reaches only function declarations and non-exported constants of this file.
 */
import * as pulumi from "@pulumi/pulumi";
import type { DataItem, GuardedField } from "../config/dataAtRisk";

export interface DataGuardArgs {
    /** Each data item's description and guarded fields (config/dataAtRisk.ts guardedFields). */
    items: Record<DataItem, { what: string; fields: GuardedField[] }>;
    /** Items the operator accepts to lose in this update (`acknowledgeDataLoss`). */
    acknowledged: DataItem[];
}

interface GuardState {
    items: Record<string, { what: string; fields: GuardedField[] }>;
    acknowledged: string[];
}

/** Compares dotted versions numerically ("7.1" < "7.10"); a non-number part compares as text. */
function lower(next: string, previous: string): boolean {
    const a = next.split(".");
    const b = previous.split(".");
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
        const x = a[i] ?? "0";
        const y = b[i] ?? "0";
        if (x === y) {
            continue;
        }
        const nx = Number(x);
        const ny = Number(y);
        return Number.isNaN(nx) || Number.isNaN(ny) ? x < y : nx < ny;
    }
    return false;
}

/** The data-losing changes between the recorded and the new values, unacknowledged ones only; one sentence each. */
export function dataLosses(olds: GuardState | undefined, news: GuardState): string[] {
    const losses: string[] = [];
    for (const [item, next] of Object.entries(news.items)) {
        const previous = olds?.items?.[item];
        if (!previous || news.acknowledged.includes(item)) {
            continue;
        }
        // An item whose presence was off never held data.
        if (previous.fields.some((f) => f.rule === "removal" && f.value === "false")) {
            continue;
        }
        for (const field of next.fields) {
            const old = previous.fields.find((f) => f.key === field.key);
            if (!old || old.value === field.value) {
                continue;
            }
            const loses =
                (field.rule === "change") || (field.rule === "decrease" && lower(field.value, old.value)) || (field.rule === "removal" && old.value === "true" && field.value === "false");
            if (loses) {
                losses.push(
                    `dify-aws:${field.key} = ${JSON.stringify(field.value)} (deployed: ${JSON.stringify(old.value)}) would ${field.rule === "removal" ? "delete" : "replace"} ${next.what}. ` +
                        `Set it back to keep the data, or add "${item}" to dify-aws:acknowledgeDataLoss to accept losing it (back it up first; remove the acknowledgement after the update).`,
                );
            }
        }
    }
    return losses;
}

const dataGuardProvider: pulumi.dynamic.ResourceProvider<GuardState, GuardState> = {
    async check(olds, news) {
        // `olds` are the inputs recorded by the last update (none on a new stack).
        const losses = dataLosses(olds && (olds as GuardState).items ? (olds as GuardState) : undefined, news as GuardState);
        return { inputs: news, failures: losses.map((reason) => ({ property: "items", reason })) };
    },
    async diff(_id, olds, news) {
        return { changes: JSON.stringify(olds.items) !== JSON.stringify(news.items) || JSON.stringify(olds.acknowledged) !== JSON.stringify(news.acknowledged) };
    },
    async create(inputs) {
        return { id: "data-guard", outs: inputs };
    },
    async update(_id, _olds, news) {
        return { outs: news };
    },
    async delete() {
        // Only a record.
    },
};

/** The record itself: a dynamic resource whose check compares the new values with the recorded ones. */
class DataGuardRecord extends pulumi.dynamic.Resource {
    constructor(name: string, args: DataGuardArgs, opts?: pulumi.CustomResourceOptions) {
        super(dataGuardProvider, name, { items: args.items, acknowledged: args.acknowledged }, opts, "data", "DataGuardRecord");
    }
}

/**
 * Records what the stack's data resources were deployed with and refuses changes that would lose their data. Make
 * every data resource depend on `check`.
 */
export class DataGuard extends pulumi.ComponentResource {
    /** What data resources depend on: it exists only once the check passed. */
    public readonly check: pulumi.Resource;

    constructor(name: string, args: DataGuardArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dify-aws:data:DataGuard", name, {}, opts);
        this.check = new DataGuardRecord(`${name}-record`, args, { parent: this });
        if (args.acknowledged.length > 0) {
            pulumi.log.warn(
                `dify-aws:acknowledgeDataLoss accepts losing ${args.acknowledged.join(", ")} in this update; remove it once the update is done, so the next change that would lose data is refused again.`,
                this,
            );
        }
        this.registerOutputs({});
    }
}
