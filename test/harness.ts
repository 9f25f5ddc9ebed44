/**
 * Runs the whole program (`index.ts`) under the mocks for a stack, the way `pulumi up` would: `Pulumi.yaml` defaults,
 * then `Pulumi.<stack>.yaml`, then per-test overrides, imported fresh, all registrations awaited.
 */
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { loadSettings, StackSettings } from "../config";
import { ConfigError, ConfigReader, PROJECT } from "../config/reader";
import { RegisteredResource, unwrapSecrets } from "./mocks";
import { mocks, unhandled } from "./setup";

export const ROOT = path.resolve(__dirname, "..");
export type Stack = "dev" | "prd";

interface DeclaredKey {
    type: "string" | "integer" | "boolean" | "array";
    description?: string;
    default?: unknown;
    secret?: boolean;
}

export interface ProjectFile {
    name: string;
    config: Record<string, DeclaredKey>;
}

export function readProjectFile(): ProjectFile {
    return yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as ProjectFile;
}

export function readStackFile(stack: string): { config: Record<string, unknown> } {
    return yaml.load(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
}

/** Config values as the engine hands them to the program: strings, with lists and objects as JSON. */
function configString(value: unknown): string {
    return typeof value === "string" ? value : JSON.stringify(value);
}

/** Stand-in plaintext for a `secure:` stack value (the harness has no stack encryption key). */
export const SECRET_PLACEHOLDER = "harness-secret-value-Zq7";

/** Builds the engine's config map for a stack: declared defaults, the stack file, then overrides (undefined unsets). */
export function stackConfig(stack: string, overrides: Record<string, unknown> = {}): { config: Record<string, string>; secretKeys: string[] } {
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [key, decl] of Object.entries(readProjectFile().config ?? {})) {
        const full = key.includes(":") ? key : `${PROJECT}:${key}`;
        if (decl.default !== undefined) {
            config[full] = configString(decl.default);
        }
    }
    for (const [key, value] of Object.entries(readStackFile(stack).config ?? {})) {
        if (value && typeof value === "object" && "secure" in (value as object)) {
            config[key] = SECRET_PLACEHOLDER;
            secretKeys.push(key);
        } else {
            config[key] = configString(value);
        }
    }
    for (const [key, value] of Object.entries(overrides)) {
        const full = key.includes(":") ? key : `${PROJECT}:${key}`;
        if (value === undefined) {
            delete config[full];
        } else {
            config[full] = configString(value);
        }
    }
    return { config, secretKeys };
}

export interface ProgramRun {
    stack: string;
    resources: RegisteredResource[];
    /** Stack outputs, unwrapped. */
    outputs: Record<string, unknown>;
    /** Names of the stack outputs that are Pulumi secrets. */
    secretOutputs: string[];
    invokes: { token: string; inputs: Record<string, any> }[];
    /** Every resource of a type token, e.g. `aws:rds/cluster:Cluster`. */
    ofType(type: string): RegisteredResource[];
    /** The one resource of a type whose logical name matches; fails the test when there is not exactly one. */
    one(type: string, name?: string | RegExp): RegisteredResource;
}

function forgetProgramModules(): void {
    for (const id of Object.keys(require.cache)) {
        if (id.startsWith(ROOT) && !id.includes(`${path.sep}node_modules${path.sep}`) && !id.startsWith(path.join(ROOT, "test"))) {
            delete require.cache[id];
        }
    }
}

async function unwrapOutput(value: unknown): Promise<{ value: unknown; secret: boolean }> {
    if (pulumi.Output.isInstance(value)) {
        const o = value as pulumi.Output<unknown> & { promise(): Promise<unknown>; isSecret: Promise<boolean> };
        const secretPaths: string[] = [];
        return { value: unwrapSecrets(await o.promise(), "", secretPaths), secret: (await o.isSecret) || secretPaths.length > 0 };
    }
    return { value, secret: false };
}

/**
 * Runs index.ts (or another entry module, for the harness's own tests) for a stack; rejects with the program's own
 * error (e.g. a ConfigError) if it throws, and with an error if anything rejected unhandled (a throw inside `apply`).
 */
export async function runProgram(stack: Stack | string, overrides: Record<string, unknown> = {}, entry = path.join(ROOT, "index.ts")): Promise<ProgramRun> {
    const { config, secretKeys } = stackConfig(stack === "dev" || stack === "prd" ? stack : "dev", overrides);
    pulumi.runtime.setAllConfig(config, secretKeys);
    mocks.reset();
    unhandled.length = 0;
    pulumi.runtime.setMocks(mocks, PROJECT, stack, false);
    forgetProgramModules();

    // Pulumi stamps every internal promise with `new Error().stack`, and ts-node source-maps each of those stacks:
    // with full stacks a run of this program spends most of its time there. Short stacks while the program runs cut
    // a run from seconds to about one; errors keep their messages.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 1;
    let exported: Record<string, unknown>;
    try {
        exported = require(entry);
    } finally {
        await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
        Error.stackTraceLimit = stackTraceLimit;
    }
    // Node reports unhandled rejections only after the microtask queue drains: give it a turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    if (unhandled.length > 0) {
        throw new Error(`the program left ${unhandled.length} unhandled rejection(s); first: ${String(unhandled[0])}`);
    }

    const outputs: Record<string, unknown> = {};
    const secretOutputs: string[] = [];
    for (const [name, value] of Object.entries(exported)) {
        const unwrapped = await unwrapOutput(value);
        outputs[name] = unwrapped.value;
        if (unwrapped.secret) {
            secretOutputs.push(name);
        }
    }
    await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();

    const resources = [...mocks.resources];
    const ofType = (type: string) => resources.filter((r) => r.type === type);
    return {
        stack,
        resources,
        outputs,
        secretOutputs,
        invokes: [...mocks.invokes],
        ofType,
        one(type: string, name?: string | RegExp) {
            const matches = ofType(type).filter((r) => name === undefined || (typeof name === "string" ? r.name === name : name.test(r.name)));
            if (matches.length !== 1) {
                throw new Error(`expected exactly one ${type}${name ? ` named ${name}` : ""}, found ${matches.length}: ${matches.map((m) => m.name).join(", ")}`);
            }
            return matches[0];
        },
    };
}

/** Runs the program expecting it to fail; returns the error and how many resources were registered before it. */
export async function runProgramExpectingError(stack: Stack | string, overrides: Record<string, unknown>): Promise<{ error: Error; registered: number }> {
    try {
        await runProgram(stack, overrides);
    } catch (error) {
        return { error: error as Error, registered: mocks.resources.length };
    }
    throw new Error(`expected the ${stack} program to fail with overrides ${JSON.stringify(overrides)}, but it ran`);
}

const runs = new Map<string, Promise<ProgramRun>>();
/** The unmodified dev or prd program, run once per test process and shared by the specs that only read it. */
export function stackRun(stack: Stack): Promise<ProgramRun> {
    if (!runs.has(stack)) {
        runs.set(stack, runProgram(stack));
    }
    return runs.get(stack)!;
}

/**
 * Loads only the settings (no program run) for a stack with overrides: the fast way to test config validation.
 * Returns the settings and the keys the loader read.
 */
export function loadSettingsFor(stack: Stack, overrides: Record<string, unknown> = {}): { settings: StackSettings; keysRead: Set<string> } {
    const { config, secretKeys } = stackConfig(stack, overrides);
    pulumi.runtime.setAllConfig(config, secretKeys);
    const reader = new ConfigReader();
    return { settings: loadSettings(reader, stack), keysRead: reader.keysRead };
}

/** The ConfigError message loadSettingsFor throws for these overrides; fails the test when it does not throw one. */
export function configErrorFor(stack: Stack, overrides: Record<string, unknown>): string {
    try {
        loadSettingsFor(stack, overrides);
    } catch (e) {
        if (e instanceof ConfigError) {
            return e.message;
        }
        throw e;
    }
    throw new Error(`expected a ConfigError for ${JSON.stringify(overrides)} on ${stack}`);
}
