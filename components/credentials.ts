/**
 * Options of every generator of a credential (a database or cache password, Dify's inner keys, the `/install`
 * password): a generated value must change only when an operator rotates it (README, "Rotating credentials"), never as
 * a side effect.
 * - None of the generator's inputs (length, character set, keepers) can regenerate it: they are ignored once it exists.
 * - Where the stack protects its data, deleting it fails the update: a refactor that renames or re-parents it (a new
 *   URN, so a new value and the old one deleted) stops at preview instead of rotating the credential. Every stack's
 *   generator URNs are also pinned by test/credentials.test.ts, which asks for an alias instead.
 */
import type * as pulumi from "@pulumi/pulumi";

/** The inputs of random.RandomPassword and random.RandomId that would replace (regenerate) the value. */
export const GENERATOR_INPUTS = [
    "length",
    "special",
    "upper",
    "lower",
    "numeric",
    "number",
    "minUpper",
    "minLower",
    "minNumeric",
    "minSpecial",
    "overrideSpecial",
    "byteLength",
    "prefix",
    "keepers",
];

export function credentialOptions(parent: pulumi.Resource, protect: boolean, extra: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions {
    return { ...extra, parent, protect, ignoreChanges: GENERATOR_INPUTS };
}
