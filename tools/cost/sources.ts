/**
 * Where the resources to price come from: a run of the program under the offline runner (what `npm run cost` does),
 * a real `pulumi preview --json` on top of `pulumi stack export` (what the preview workflow does), or the export
 * alone (what is deployed now). All three become the same list of types, inputs and dependencies.
 */
import type { RegisteredResource } from "../offline/mocks";
import type { PricedResource } from "./pricing";

/** The last `::` part of a URN is the resource's logical name. */
function nameOf(urn: string): string {
    return urn.split("::").pop() ?? urn;
}

/** What the program registered in an offline run (inputs as it gave them). */
export function fromRegistered(resources: RegisteredResource[]): PricedResource[] {
    return resources.map((r) => ({ urn: r.urn, type: r.type, name: r.name, inputs: r.inputs, dependencies: r.dependencies }));
}

/** A resource in a deployment or a preview step (Pulumi's checkpoint format: apitype.ResourceV3). */
interface StateResource {
    urn: string;
    type: string;
    inputs?: Record<string, unknown>;
    outputs?: Record<string, unknown>;
    dependencies?: string[];
    delete?: boolean;
}

function fromState(r: StateResource): PricedResource {
    return { urn: r.urn, type: r.type, name: nameOf(r.urn), inputs: (r.inputs ?? {}) as Record<string, any>, dependencies: r.dependencies ?? [] };
}

/** `pulumi stack export`: `{ version: 3, deployment: { resources: [...] } }` (an empty stack has no resources). */
export function fromStateExport(exported: unknown): PricedResource[] {
    const deployment = (exported as { deployment?: { resources?: StateResource[] } })?.deployment;
    return (deployment?.resources ?? []).filter((r) => !r.delete).map(fromState);
}

interface PreviewStep {
    op: string;
    urn: string;
    newState?: StateResource;
    oldState?: StateResource;
}

/** Steps that leave a resource in place as its new state says; the others remove it. */
const KEEPS = new Set(["same", "create", "update", "replace", "create-replacement", "read", "read-replacement", "import", "import-replacement", "refresh"]);
const REMOVES = new Set(["delete", "discard", "read-discard", "discard-replaced", "remove-pending-replace"]);

/**
 * The stack as it will be after a `pulumi preview --json`: the current state (`pulumi stack export`, if given) with
 * every step applied. A preview lists changed resources and may or may not list unchanged ones ("same"); starting
 * from the export makes the result right either way.
 */
export function fromPreview(preview: unknown, exported?: unknown): PricedResource[] {
    const after = new Map(fromStateExport(exported).map((r) => [r.urn, r]));
    for (const step of (preview as { steps?: PreviewStep[] })?.steps ?? []) {
        if (REMOVES.has(step.op)) {
            after.delete(step.urn);
        } else if (KEEPS.has(step.op) && step.newState) {
            after.set(step.urn, fromState(step.newState));
        }
    }
    return [...after.values()];
}

/** The stack's region as the preview's config states it (`aws:region`), if it does. */
export function previewRegion(preview: unknown): string | undefined {
    const config = (preview as { config?: Record<string, unknown> })?.config ?? {};
    const region = config["aws:region"];
    return typeof region === "string" ? region : undefined;
}
