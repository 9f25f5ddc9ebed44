import * as pulumi from "@pulumi/pulumi";
import { isSecretLookingName } from "./secretNames";

/** The Pulumi project name: config keys are read as `dify-aws:<key>`. */
export const PROJECT = "dify-aws";

/** A config key as an environment-style name (`smtpPassword` -> `SMTP_PASSWORD`), to judge whether it looks secret. */
function keyWords(key: string): string {
    return key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

/** True when a config key's name says it holds a secret (its value is then never printed). */
export function isSecretLookingKey(key: string): boolean {
    return isSecretLookingName(keyWords(key));
}

/**
 * A stack-config mistake, thrown before any resource is declared. The message always names every key involved, the
 * value each was given (never the value of a key whose name looks secret) and what would have been accepted, so
 * `pulumi preview` fails with something a user can act on.
 */
export class ConfigError extends Error {
    /**
     * Recognized by name, not by class identity: the test harness loads the program's modules afresh for each run, so
     * an error can come from another copy of this class than the one a caller imported.
     */
    static [Symbol.hasInstance](value: unknown): boolean {
        return value instanceof Error && value.name === "ConfigError";
    }

    /** The keys involved with their values, the first one being the key to change. */
    readonly keys: Record<string, unknown>;

    constructor(key: string | Record<string, unknown>, value: unknown, readonly allowed: string) {
        const keys = typeof key === "string" ? { [key]: value } : key;
        // Keys of this project are named with its namespace; another namespace's key (aws:region) is given in full.
        const full = (k: string) => (k.includes(":") ? k : `${PROJECT}:${k}`);
        super(`Invalid stack config ${Object.entries(keys).map(([k, v]) => `${full(k)} = ${ConfigError.show(k, v)}`).join(", ")}: ${allowed}`);
        this.name = "ConfigError";
        this.keys = keys;
    }

    /** The first key named (the one to change). */
    get key(): string {
        return Object.keys(this.keys)[0];
    }

    get value(): unknown {
        return this.keys[this.key];
    }

    private static show(key: string, value: unknown): string {
        if (value === undefined || value === "") {
            return "(not set)";
        }
        if (isSecretLookingKey(key)) {
            return "(a value, not shown)";
        }
        return typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
    }
}

export interface NumberBounds {
    min?: number;
    max?: number;
    /** The value must be a multiple of this step (e.g. 0.5 for Aurora ACUs). */
    step?: number;
}

/**
 * Typed, validating access to the project's config. Every key it reads is declared in `Pulumi.yaml` (with its
 * default there), so a missing value means the key was deleted or mistyped in a stack file. The reader records the
 * keys it read, which lets a test prove that `Pulumi.yaml` and the loader declare the same keys.
 */
export class ConfigReader {
    readonly keysRead = new Set<string>();
    private readonly config: pulumi.Config;

    constructor(config?: pulumi.Config) {
        this.config = config ?? new pulumi.Config(PROJECT);
    }

    /** Throws a ConfigError for `key`; use for cross-key rules the typed getters cannot express. */
    fail(key: string, value: unknown, allowed: string): never {
        throw new ConfigError(key, value, allowed);
    }

    /** Throws a ConfigError naming several keys with their values (the first is the one to change). */
    failKeys(keys: Record<string, unknown>, allowed: string): never {
        throw new ConfigError(keys, undefined, allowed);
    }

    private raw(key: string): string | undefined {
        this.keysRead.add(key);
        return this.config.get(key);
    }

    private required(key: string): string {
        const value = this.raw(key);
        if (value === undefined) {
            this.fail(key, value, "the key is required (its default is declared in Pulumi.yaml; set it in the stack file)");
        }
        return value;
    }

    /** A required string; an empty string is rejected. */
    string(key: string, pattern?: { regex: RegExp; allowed: string }): string {
        const value = this.required(key).trim();
        if (value === "") {
            this.fail(key, value, pattern ? pattern.allowed : "a non-empty string");
        }
        if (pattern && !pattern.regex.test(value)) {
            this.fail(key, value, pattern.allowed);
        }
        return value;
    }

    /** An optional string: unset and "" both mean "not given". */
    optionalString(key: string, pattern?: { regex: RegExp; allowed: string }): string | undefined {
        const value = this.raw(key)?.trim();
        if (value === undefined || value === "") {
            return undefined;
        }
        if (pattern && !pattern.regex.test(value)) {
            this.fail(key, value, pattern.allowed);
        }
        return value;
    }

    /** One of a fixed set of values. */
    oneOf<T extends string>(key: string, allowed: readonly T[]): T {
        const value = this.required(key);
        if (!(allowed as readonly string[]).includes(value)) {
            this.fail(key, value, `one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`);
        }
        return value as T;
    }

    boolean(key: string): boolean {
        const value = this.required(key);
        if (value !== "true" && value !== "false") {
            this.fail(key, value, "true or false");
        }
        return value === "true";
    }

    number(key: string, bounds: NumberBounds = {}): number {
        const value = this.required(key);
        return this.checkNumber(key, value, Number(value), bounds);
    }

    integer(key: string, bounds: NumberBounds = {}): number {
        const value = this.required(key);
        const n = Number(value);
        if (!Number.isInteger(n)) {
            this.fail(key, value, `a whole number${describeBounds(bounds)}`);
        }
        return this.checkNumber(key, value, n, bounds);
    }

    /**
     * A whole number from a fixed list: anything else (also "0.5" for a CPU value) fails with the list, so the message
     * says what to write instead of only "a whole number".
     */
    integerOneOf(key: string, allowed: readonly number[], what: string): number {
        const value = this.required(key);
        const n = Number(value);
        if (value.trim() === "" || !Number.isInteger(n) || !allowed.includes(n)) {
            this.fail(key, value, `${what}: one of ${allowed.join(", ")}`);
        }
        return n;
    }

    /** An optional whole number: unset or "" means "not given". */
    optionalInteger(key: string, bounds: NumberBounds = {}): number | undefined {
        const value = this.raw(key)?.trim();
        if (value === undefined || value === "") {
            return undefined;
        }
        const n = Number(value);
        if (!Number.isInteger(n)) {
            this.fail(key, value, `a whole number${describeBounds(bounds)}`);
        }
        return this.checkNumber(key, value, n, bounds);
    }

    private checkNumber(key: string, raw: string, n: number, bounds: NumberBounds): number {
        const bad =
            raw.trim() === "" ||
            !Number.isFinite(n) ||
            (bounds.min !== undefined && n < bounds.min) ||
            (bounds.max !== undefined && n > bounds.max) ||
            (bounds.step !== undefined && !isMultipleOf(n, bounds.step));
        if (bad) {
            this.fail(key, raw, `a number${describeBounds(bounds)}`);
        }
        return n;
    }

    /** A list of strings (a YAML list in the stack file). Unset means the declared default list. */
    stringList(key: string, opts: { nonEmpty?: boolean; item?: { regex: RegExp; allowed: string } } = {}): string[] {
        const value = this.required(key);
        let parsed: unknown;
        try {
            parsed = JSON.parse(value);
        } catch {
            this.fail(key, value, "a YAML list of strings");
        }
        if (!Array.isArray(parsed) || parsed.some((v) => typeof v !== "string")) {
            this.fail(key, parsed, "a YAML list of strings");
        }
        const list = (parsed as string[]).map((v) => v.trim());
        if (opts.nonEmpty && list.length === 0) {
            this.fail(key, list, "a non-empty list");
        }
        const item = opts.item;
        if (item) {
            for (const v of list) {
                if (!item.regex.test(v)) {
                    this.fail(key, v, `every item must be ${item.allowed}`);
                }
            }
        }
        const dup = list.find((v, i) => list.indexOf(v) !== i);
        if (dup !== undefined) {
            this.fail(key, dup, "each item at most once");
        }
        return list;
    }

    /** An optional secret set with `pulumi config set --secret`; it stays an Output and is never printed. */
    optionalSecret(key: string): pulumi.Output<string> | undefined {
        this.keysRead.add(key);
        if (this.config.get(key) === undefined) {
            return undefined;
        }
        return this.config.requireSecret(key);
    }
}

function isMultipleOf(n: number, step: number): boolean {
    const q = n / step;
    return Math.abs(q - Math.round(q)) < 1e-9;
}

function describeBounds(b: NumberBounds): string {
    const parts: string[] = [];
    if (b.min !== undefined && b.max !== undefined) {
        parts.push(`from ${b.min} to ${b.max}`);
    } else if (b.min !== undefined) {
        parts.push(`of at least ${b.min}`);
    } else if (b.max !== undefined) {
        parts.push(`of at most ${b.max}`);
    }
    if (b.step !== undefined) {
        parts.push(`in steps of ${b.step}`);
    }
    return parts.length ? ` ${parts.join(" ")}` : "";
}
