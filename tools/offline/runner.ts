/**
 * The program's offline runner: runs the whole program (`index.ts`) under the mocks for a stack, the way `pulumi up`
 * (or the `pulumi preview` of a new stack) would: `Pulumi.yaml` defaults, then `Pulumi.<stack>.yaml`, then overrides,
 * imported fresh, all registrations awaited. The tests and the tools (tools/cost) both run the program through it.
 */
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { PROJECT } from "../../config/reader";
import { RegisteredResource, unwrapSecrets } from "./mocks";
import { listenForUnhandled, mocks, unhandled } from "./monitor";

export const ROOT = path.resolve(__dirname, "..", "..");
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

export interface RunOptions {
    /** The entry module; index.ts unless a test runs a fixture program. */
    entry?: string;
    /**
     * Run as the `pulumi preview` of a new stack: every computed output is unknown (see RecordingMocks). Default false:
     * as the end of a `pulumi up`, with every output answered.
     */
    preview?: boolean;
    /** Override keys delivered as secrets, as `pulumi config set --secret` leaves them (e.g. `smtpPassword`). */
    secretKeys?: string[];
}

export interface ProgramRun {
    stack: string;
    /** Whether this was a preview run (computed outputs unknown). */
    preview: boolean;
    resources: RegisteredResource[];
    /** Stack outputs, unwrapped. */
    outputs: Record<string, unknown>;
    /** Names of the stack outputs that are Pulumi secrets. */
    secretOutputs: string[];
    /** What the program logged with `pulumi.log.warn` (what `pulumi preview` prints as warnings). */
    warnings: string[];
    invokes: { token: string; inputs: Record<string, any> }[];
    /** Every resource of a type token, e.g. `aws:rds/cluster:Cluster`. */
    ofType(type: string): RegisteredResource[];
    /** The one resource of a type whose logical name matches; fails the test when there is not exactly one. */
    one(type: string, name?: string | RegExp): RegisteredResource;
}

type CompilingModule = NodeJS.Module & { _compile(code: string, filename: string): unknown };
const transpiled = new Map<string, { version: string; code: string }>();

/**
 * Every run imports the program afresh, and ts-node would transpile each of its files again each time: keep what it
 * produced per file (until the file's modification time or size changes) and hand that to Node on the next import.
 */
function reuseTranspiledModules(): void {
    const extensions = require.extensions as unknown as Record<string, ((m: CompilingModule, filename: string) => void) & { reusing?: boolean }>;
    const transpile = extensions[".ts"];
    if (!transpile || transpile.reusing) {
        return;
    }
    const reuse = Object.assign(
        (m: CompilingModule, filename: string) => {
            const stat = fs.statSync(filename);
            const version = `${stat.mtimeMs}:${stat.size}`;
            const hit = transpiled.get(filename);
            if (hit && hit.version === version) {
                m._compile(hit.code, filename);
                return;
            }
            // ts-node wraps the module's _compile with its transpiler and passes the JavaScript on to this one.
            const compile = m._compile;
            m._compile = function (this: CompilingModule, code: string, file: string) {
                transpiled.set(file, { version, code });
                return compile.call(this, code, file);
            };
            transpile(m, filename);
        },
        { reusing: true },
    );
    extensions[".ts"] = reuse;
}

/**
 * Modules that stay loaded across runs: the dynamic providers. Pulumi serializes a provider once per provider object
 * (a WeakMap in @pulumi/pulumi/dynamic), parsing its closure with TypeScript, which costs more than the rest of a run's
 * resources; keeping their modules keeps the objects. They hold no per-run state.
 */
const KEPT_ACROSS_RUNS = ["components/migrationGate/", "components/rolloutCheck.ts", "components/dataGuard.ts"].map((p) => path.join(ROOT, p));

function forgetProgramModules(): void {
    for (const id of Object.keys(require.cache)) {
        // The program's modules only: the tests and this runner (with the mocks' state) stay loaded.
        const own = [path.join(ROOT, "test"), path.join(ROOT, "tools")];
        if (KEPT_ACROSS_RUNS.some((kept) => id.startsWith(kept))) {
            continue;
        }
        if (id.startsWith(ROOT) && !id.includes(`${path.sep}node_modules${path.sep}`) && !own.some((dir) => id.startsWith(dir + path.sep))) {
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
export async function runProgram(stack: Stack | string, overrides: Record<string, unknown> = {}, options: RunOptions = {}): Promise<ProgramRun> {
    const entry = options.entry ?? path.join(ROOT, "index.ts");
    const preview = options.preview ?? false;
    const { config, secretKeys } = stackConfig(stack === "dev" || stack === "prd" ? stack : "dev", overrides);
    const secretOverrides = (options.secretKeys ?? []).map((k) => (k.includes(":") ? k : `${PROJECT}:${k}`));
    pulumi.runtime.setAllConfig(config, [...secretKeys, ...secretOverrides]);
    mocks.reset(preview);
    unhandled.length = 0;
    listenForUnhandled();
    pulumi.runtime.setMocks(mocks, PROJECT, stack, preview);
    forgetProgramModules();

    // Pulumi stamps every internal promise with `new Error().stack`, and ts-node source-maps each of those stacks:
    // with full stacks a run of this program spends most of its time there. Short stacks while the program runs cut
    // a run from seconds to about one; errors keep their messages.
    // Pulumi also takes a stack for every promise it makes (runtime/debuggable.js); V8's own formatting of it is cheap,
    // ts-node's source-mapped one is not.
    const stackTraceLimit = Error.stackTraceLimit;
    const prepareStackTrace = Error.prepareStackTrace;
    Error.stackTraceLimit = 1;
    delete (Error as { prepareStackTrace?: unknown }).prepareStackTrace;
    reuseTranspiledModules();
    const warnings: string[] = [];
    const log = pulumi.log as unknown as { warn: (msg: string, ...rest: unknown[]) => Promise<void> };
    const warn = log.warn;
    log.warn = (msg: string, ...rest: unknown[]) => {
        warnings.push(msg);
        return warn(msg, ...rest);
    };
    let exported: Record<string, unknown>;
    try {
        exported = require(entry);
    } finally {
        await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
        Error.stackTraceLimit = stackTraceLimit;
        Error.prepareStackTrace = prepareStackTrace;
        log.warn = warn;
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
        preview,
        resources,
        outputs,
        secretOutputs,
        warnings,
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

