/**
 * Reading resources the way the engine hands them to a policy: values that may be unknown during preview, keys that
 * may be AWS-managed, and references from one resource to another (a rule to its security group, a configuration to
 * its bucket) resolved through property dependencies first and values second.
 */
import * as aws from "@pulumi/aws";
import * as policy from "@pulumi/policy";
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";

// `@pulumi/policy` exports UnknownValueError at runtime but its typings do not declare it.
const UnknownValueError = (policy as unknown as { UnknownValueError: new (...args: never[]) => Error }).UnknownValueError;

/**
 * The engine's "unknown during preview" error. Recognized by shape as well as by class, because the proxy that throws
 * it may come from another copy of @pulumi/policy (the program's node_modules vs policy/node_modules).
 */
function isUnknownValueError(e: unknown): boolean {
    return e instanceof UnknownValueError || (e instanceof Error && e.constructor.name === "UnknownValueError" && "unknownTypeSentinel" in e);
}

/** A value the engine does not know yet (during preview: an output of a resource that does not exist yet). */
export const UNKNOWN: unique symbol = Symbol("unknown during preview");
export type Unknown = typeof UNKNOWN;

/**
 * Evaluates a read of resource properties. The engine's property proxy throws when a read reaches a value that is
 * unknown during preview; this returns UNKNOWN instead, so one unknown value does not stop a policy from checking the
 * rest of the stack.
 */
export function known<T>(read: () => T): T | Unknown {
    try {
        return read();
    } catch (e) {
        if (isUnknownValueError(e)) {
            return UNKNOWN;
        }
        throw e;
    }
}

/** True when a property holds a value or will hold one (unknown during preview); false when absent or empty. */
export function isSet(read: () => unknown): boolean {
    const value = known(read);
    return value === UNKNOWN || (value !== undefined && value !== null && value !== "");
}

/**
 * True when a KMS key reference names an AWS-managed key (`alias/aws/rds`, `arn:...:alias/aws/sns`, ...). Those keys
 * cannot be rotated on demand, shared, or have their policy restricted: they do not count as customer-managed.
 * An unknown value is a key created by this program, so it is customer-managed.
 */
export function isAwsManagedKeyReference(value: unknown): boolean {
    return typeof value === "string" && /(^|:)alias\/aws\//.test(value);
}

/** Internet-facing load balancers: `internal` unset means internet-facing (the provider default). */
export function internetFacingLoadBalancers(resources: PolicyResource[]): PolicyResource[] {
    return resources.filter((r) => (r.isType(aws.lb.LoadBalancer) || r.isType(aws.alb.LoadBalancer)) && known(() => r.props.internal) !== true);
}

/** Application load balancers (`loadBalancerType` unset means application, the provider default). */
export function isApplicationLoadBalancer(r: PolicyResource): boolean {
    const type = known(() => r.props.loadBalancerType);
    return type === undefined || type === "application" || type === UNKNOWN;
}

/**
 * A property that holds one value or a list, as a list whose items are read one by one (an item can be unknown while
 * the list is known). An unknown property is `[UNKNOWN]`; an absent or empty one is `[]`.
 */
export function knownList(read: () => unknown): unknown[] {
    const value = known(read);
    if (value === UNKNOWN) {
        return [UNKNOWN];
    }
    if (!Array.isArray(value)) {
        return value === undefined || value === null || value === "" ? [] : [value];
    }
    return Array.from({ length: value.length }, (_, i) => known(() => value[i]));
}

/** The string values of a property that holds one id/ARN or a list of them; UNKNOWN if any is unknown. */
function referenceValues(resource: PolicyResource, property: string): string[] | Unknown {
    const values = knownList(() => resource.props[property]);
    if (values.includes(UNKNOWN)) {
        return UNKNOWN;
    }
    return values.filter((v): v is string => typeof v === "string");
}

/**
 * The resources among `candidates` that `resource`'s `property` refers to. The engine records which resources each
 * input came from (property dependencies); that answers even during preview, when ids and ARNs are still unknown.
 * Without them, the property's values are compared with the candidates' `matchOn` outputs (id, arn, bucket, ...).
 * Returns UNKNOWN when neither can tell yet.
 */
export function referencedBy(resource: PolicyResource, property: string, candidates: PolicyResource[], matchOn: string[]): PolicyResource[] | Unknown {
    const deps = resource.propertyDependencies?.[property];
    if (deps && deps.length > 0) {
        const urns = new Set(deps.map((d) => d.urn));
        return candidates.filter((c) => urns.has(c.urn));
    }
    const values = referenceValues(resource, property);
    if (values === UNKNOWN) {
        return UNKNOWN;
    }
    return candidates.filter((c) =>
        matchOn.some((key) => {
            const v = known(() => c.props[key]);
            return typeof v === "string" && values.includes(v);
        }),
    );
}

/** A name for a resource in a violation message: `type name`. */
export function describe(r: { type: string; name: string }): string {
    return `${r.type.split(":").pop()} "${r.name}"`;
}

/** Every policy of this pack documents what it checks (description) and how to fix a violation (remediationSteps). */
export type PackResourcePolicy = ResourceValidationPolicy & { remediationSteps: string };
export type PackStackPolicy = StackValidationPolicy & { remediationSteps: string };
export type PackPolicy = PackResourcePolicy | PackStackPolicy;

/** S3 buckets of either type token the provider registers (`aws.s3.BucketV2` is the deprecated alias). */
export function s3Buckets(resources: PolicyResource[]): PolicyResource[] {
    return resources.filter((r) => r.isType(aws.s3.Bucket) || r.isType(aws.s3.BucketV2));
}

/**
 * The resources among `companions` (bucket configuration resources: encryption, public access block) that configure
 * `bucket` through their `bucket` input. `undetermined` is true when some companion's bucket is not known yet, so the
 * absence of a match proves nothing.
 */
export function bucketCompanions(bucket: PolicyResource, companions: PolicyResource[]): { matched: PolicyResource[]; undetermined: boolean } {
    const matched: PolicyResource[] = [];
    let undetermined = false;
    for (const c of companions) {
        const refs = referencedBy(c, "bucket", [bucket], ["bucket", "id"]);
        if (refs === UNKNOWN) {
            undetermined = true;
        } else if (refs.length > 0) {
            matched.push(c);
        }
    }
    return { matched, undetermined };
}
