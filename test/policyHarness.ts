/**
 * Runs the policy pack without the CLI: typed fixtures become the ResourceValidationArgs / StackValidationArgs the
 * engine would send, registered resources of a mocked program run become the same, and the pack's config files are
 * resolved the way `--policy-pack-config` is (per-policy levels over "all", schema defaults filled in).
 */
import * as fs from "fs";
import * as path from "path";
import type { EnforcementLevel, PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs } from "@pulumi/policy";
import type { Resource, Unwrap } from "@pulumi/pulumi";
import { CONFIG_PROPERTIES, ConfigKey } from "../policy/config";
import { PACK_ENFORCEMENT, packPolicies } from "../policy/policies";
import { PackPolicy } from "../policy/resources";
import type { RegisteredResource } from "./mocks";

// The engine hands policies their properties through this proxy; it throws on values unknown during preview.
const proxy = require("@pulumi/policy/proxy") as {
    unknownCheckingProxy<T extends object>(value: T): T;
    UnknownValueError: new (...args: never[]) => Error;
    unknownStringValue: string;
    unknownArrayValue: string;
    unknownBooleanValue: string;
};
/** What a string input holds during preview when it comes from an output not known yet. */
export const PREVIEW_UNKNOWN_STRING = proxy.unknownStringValue;

export const POLICY_DIR = path.resolve(__dirname, "..", "policy");

type ResourceClass<TArgs> = { new (name: string, args: TArgs, ...rest: any[]): Resource };
/** The type token of a provider resource class, e.g. `aws:rds/cluster:Cluster`. */
export function typeOf(cls: { new (...args: any[]): Resource }): string {
    return (cls as unknown as { __pulumiType: string }).__pulumiType;
}

const STACK_URN_PREFIX = "urn:pulumi:test::dify-aws::";
function urnOf(type: string, name: string): string {
    return `${STACK_URN_PREFIX}${type}::${name}`;
}

class NotApplicable extends Error {}

function resourceOptions(protect: boolean): ResourceValidationArgs["opts"] {
    return { protect, ignoreChanges: [], aliases: [], additionalSecretOutputs: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 } };
}

export interface FixtureOptions {
    /** Logical name; defaults to `fixture`. */
    name?: string;
    /** The Pulumi `protect` resource option. */
    protect?: boolean;
}

/** The args the engine sends a resource policy for a resource of class `cls` with these inputs. */
export function resourceArgs<TArgs>(cls: ResourceClass<TArgs>, props: Unwrap<NonNullable<TArgs>>, options: FixtureOptions = {}): ResourceValidationArgs {
    return rawResourceArgs(typeOf(cls), props as Record<string, unknown>, options.name ?? "fixture", options.protect ?? false);
}

function rawResourceArgs(type: string, props: Record<string, unknown>, name: string, protect: boolean): ResourceValidationArgs {
    const wrapped = proxy.unknownCheckingProxy(props);
    return {
        type,
        props: wrapped,
        urn: urnOf(type, name),
        name,
        opts: resourceOptions(protect),
        stackTags: new Map(),
        isType: (cls) => typeOf(cls) === type,
        asType: ((cls: { new (...args: any[]): Resource }) => (typeOf(cls) === type ? wrapped : undefined)) as ResourceValidationArgs["asType"],
        getConfig: <T extends object>() => ({}) as T,
        notApplicable: (reason?: string): never => {
            throw new NotApplicable(reason);
        },
    };
}

export interface StackFixtureOptions extends FixtureOptions {
    /** Which resources each property came from, as the engine records it (`securityGroupId` → the group). */
    propertyDependencies?: Record<string, PolicyResource[]>;
}

/**
 * A resource as a stack policy sees it: its outputs (the inputs plus what AWS computed, such as `id` and `arn`).
 * `outputs` holds the computed part.
 */
export function stackResource<TArgs>(
    cls: ResourceClass<TArgs>,
    props: Unwrap<NonNullable<TArgs>>,
    outputs: Record<string, unknown> = {},
    options: StackFixtureOptions = {},
): PolicyResource {
    return rawStackResource(typeOf(cls), { ...(props as Record<string, unknown>), ...outputs }, options.name ?? "fixture", options.protect ?? false, options.propertyDependencies ?? {});
}

function rawStackResource(type: string, props: Record<string, unknown>, name: string, protect: boolean, propertyDependencies: Record<string, PolicyResource[]>): PolicyResource {
    const wrapped = proxy.unknownCheckingProxy(props);
    return {
        type,
        props: wrapped,
        urn: urnOf(type, name),
        name,
        opts: resourceOptions(protect),
        dependencies: Object.values(propertyDependencies).flat(),
        propertyDependencies,
        isType: (cls) => typeOf(cls) === type,
        asType: ((cls: { new (...args: any[]): Resource }) => (typeOf(cls) === type ? wrapped : undefined)) as PolicyResource["asType"],
    };
}

export interface Violation {
    policy: string;
    message: string;
    urn: string;
}

/**
 * A policy that stopped on a value unknown during preview. The CLI reports it as an advisory "can't run policy ...
 * during preview" (@pulumi/policy's server catches the property proxy's UnknownValueError), never as a violation.
 */
export interface CannotRun {
    policy: string;
    urn: string;
    message: string;
}

/** Collects the "can't run during preview" notes of one pack run. */
type CannotRunSink = CannotRun[] | undefined;

function isUnknownValueError(e: unknown): boolean {
    return e instanceof proxy.UnknownValueError;
}

/**
 * Runs a resource policy on one resource; returns its violations (none when it does not apply). A read of a value
 * unknown during preview ends that validation as the CLI does: noted in `cannotRun` when given, else thrown.
 */
export async function runResourcePolicy(policy: PackPolicy, args: ResourceValidationArgs, config: Record<string, unknown> = {}, cannotRun?: CannotRunSink): Promise<Violation[]> {
    if (!("validateResource" in policy) || !policy.validateResource) {
        throw new Error(`${policy.name} is not a resource policy`);
    }
    const violations: Violation[] = [];
    const report: ReportViolation = (message) => violations.push({ policy: policy.name, message, urn: args.urn });
    const withConfig = { ...args, getConfig: <T extends object>() => config as T };
    for (const validate of Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource]) {
        try {
            await validate(withConfig, report);
        } catch (e) {
            if (cannotRun && isUnknownValueError(e)) {
                cannotRun.push({ policy: policy.name, urn: args.urn, message: (e as Error).message });
            } else if (!(e instanceof NotApplicable)) {
                throw e;
            }
        }
    }
    return violations;
}

/** Runs a stack policy over these resources; returns its violations (unknown values: see runResourcePolicy). */
export async function runStackPolicy(policy: PackPolicy, resources: PolicyResource[], config: Record<string, unknown> = {}, cannotRun?: CannotRunSink): Promise<Violation[]> {
    if (!("validateStack" in policy)) {
        throw new Error(`${policy.name} is not a stack policy`);
    }
    const violations: Violation[] = [];
    const args: StackValidationArgs = {
        resources,
        stackTags: new Map(),
        getConfig: <T extends object>() => config as T,
        notApplicable: (reason?: string): never => {
            throw new NotApplicable(reason);
        },
    };
    try {
        await policy.validateStack(args, (message, urn) => violations.push({ policy: policy.name, message, urn: urn ?? "" }));
    } catch (e) {
        if (cannotRun && isUnknownValueError(e)) {
            cannotRun.push({ policy: policy.name, urn: "", message: (e as Error).message });
        } else if (!(e instanceof NotApplicable)) {
            throw e;
        }
    }
    return violations;
}

/** A `--policy-pack-config` file: a level per policy (or "all"), or an object with enforcementLevel and properties. */
export type PackConfigFile = Record<string, EnforcementLevel | ({ enforcementLevel?: EnforcementLevel } & Record<string, unknown>)>;

export function readPackConfigFile(stack: string): PackConfigFile {
    return JSON.parse(fs.readFileSync(path.join(POLICY_DIR, "config", `${stack}.json`), "utf8")) as PackConfigFile;
}

export interface ResolvedPolicyConfig {
    level: EnforcementLevel;
    /** The policy's properties with schema defaults filled in, as the CLI hands them over. */
    properties: Record<string, unknown>;
}

const LEVELS: EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];

/**
 * Resolves a config file for every policy as the CLI does: the policy's own entry, else "all", else the policy's
 * level, else the pack's. Rejects what the CLI rejects: unknown policy names, unknown properties, bad levels.
 */
export function resolvePackConfig(file: PackConfigFile, policies: PackPolicy[] = packPolicies): Map<string, ResolvedPolicyConfig> {
    const names = new Set(policies.map((p) => p.name));
    for (const [key, value] of Object.entries(file)) {
        if (key !== "all" && !names.has(key)) {
            throw new Error(`policy config names "${key}", which is not a policy of the pack`);
        }
        const level = typeof value === "string" ? value : value.enforcementLevel;
        if (level !== undefined && !LEVELS.includes(level)) {
            throw new Error(`policy config "${key}" has enforcement level "${level}"`);
        }
    }
    const all = file.all;
    if (all !== undefined && typeof all !== "string") {
        throw new Error(`policy config "all" takes only an enforcement level`);
    }
    const resolved = new Map<string, ResolvedPolicyConfig>();
    for (const p of policies) {
        const entry = file[p.name];
        const { enforcementLevel, ...given } = typeof entry === "object" ? entry : { enforcementLevel: entry };
        const declared = Object.keys(p.configSchema?.properties ?? {});
        for (const key of Object.keys(given)) {
            if (!declared.includes(key)) {
                throw new Error(`policy config "${p.name}" sets ${key}, which the policy's configSchema does not declare`);
            }
        }
        const properties: Record<string, unknown> = {};
        for (const key of declared) {
            properties[key] = given[key] ?? CONFIG_PROPERTIES[key as ConfigKey].default;
        }
        resolved.set(p.name, { level: enforcementLevel ?? all ?? p.enforcementLevel ?? PACK_ENFORCEMENT, properties });
    }
    return resolved;
}

export interface PackReport {
    violations: (Violation & { level: EnforcementLevel; resource: string })[];
    mandatory: number;
    advisory: number;
    /** Policies that met a value unknown during preview (advisory notes, as the CLI prints them). */
    cannotRun: (CannotRun & { resource: string })[];
}

/**
 * Runs every policy of the pack over a program run's registered resources with a resolved config: resource policies
 * on each resource's inputs (with its `protect`), stack policies on every resource's outputs (the mock's answer plus
 * its id, or, in a preview run, the inputs with every computed output unknown) and the property dependencies the
 * engine records, the way the engine runs them on `pulumi up` and `pulumi preview`.
 */
export async function runPack(resources: RegisteredResource[], config: Map<string, ResolvedPolicyConfig>, policies: PackPolicy[] = packPolicies): Promise<PackReport> {
    const byUrn = new Map<string, PolicyResource>();
    const stackResources = resources.map((r) => {
        const id = r.id ?? (r.custom ? PREVIEW_UNKNOWN_STRING : undefined);
        const converted = rawStackResource(r.type, { ...r.state, ...(id ? { id } : {}) }, r.name, r.protect, {});
        converted.urn = r.urn;
        byUrn.set(r.urn, converted);
        return converted;
    });
    const resolve = (urns: string[]) => urns.map((u) => byUrn.get(u)).filter((d): d is PolicyResource => d !== undefined);
    resources.forEach((r, i) => {
        stackResources[i].dependencies = resolve(r.dependencies);
        stackResources[i].propertyDependencies = Object.fromEntries(Object.entries(r.propertyDependencies).map(([k, urns]) => [k, resolve(urns)]));
        stackResources[i].parent = byUrn.get(r.parent);
    });

    const report: PackReport = { violations: [], mandatory: 0, advisory: 0, cannotRun: [] };
    const cannotRun: CannotRun[] = [];
    const names = new Map(resources.map((r) => [r.urn, `${r.type} ${r.name}`]));
    for (const p of policies) {
        const { level, properties } = config.get(p.name)!;
        if (level === "disabled") {
            continue;
        }
        let found: Violation[] = [];
        if ("validateStack" in p) {
            found = await runStackPolicy(p, stackResources, properties, cannotRun);
        } else {
            for (const r of resources) {
                const args = rawResourceArgs(r.type, r.inputs, r.name, r.protect);
                args.urn = r.urn;
                found.push(...(await runResourcePolicy(p, args, properties, cannotRun)));
            }
        }
        const effective: EnforcementLevel = level === "remediate" ? "mandatory" : level;
        for (const v of found) {
            report.violations.push({ ...v, level: effective, resource: names.get(v.urn) ?? "(stack)" });
            report[effective === "mandatory" ? "mandatory" : "advisory"]++;
        }
    }
    report.cannotRun = cannotRun.map((c) => ({ ...c, resource: names.get(c.urn) ?? "(stack)" }));
    return report;
}

/** The report as the CLI prints it: one line per violation. */
export function formatReport(stack: string, report: PackReport): string {
    const lines = report.violations.map((v) => `  [${v.level}] ${v.policy}: ${v.resource}: ${v.message}`);
    const notes = report.cannotRun.map((c) => `  [advisory] can't run ${c.policy} during preview: ${c.resource}: ${c.message}`);
    return [`policy pack on ${stack}: ${report.mandatory} mandatory, ${report.advisory} advisory violation(s)`, ...lines, ...notes].join("\n");
}
