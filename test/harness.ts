/**
 * The tests' view of the program's offline runner (tools/offline/runner.ts), plus what only tests need: runs expected
 * to fail, the shared dev/prd runs, and config validation without a program run.
 */
import * as pulumi from "@pulumi/pulumi";
import { loadSettings, StackSettings } from "../config";
import { ConfigError, ConfigReader } from "../config/reader";
import { mocks } from "../tools/offline/monitor";
import { ProgramRun, runProgram, Stack, stackConfig } from "../tools/offline/runner";

export * from "../tools/offline/runner";

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
/**
 * The unmodified dev or prd program, run once per test process and shared by the specs that only read it: as the end
 * of a `pulumi up` (every output answered), or with `preview` as the first `pulumi preview` of the stack.
 */
export function stackRun(stack: Stack, options: { preview?: boolean } = {}): Promise<ProgramRun> {
    const key = `${stack}${options.preview ? ":preview" : ""}`;
    if (!runs.has(key)) {
        runs.set(key, runProgram(stack, {}, { preview: options.preview }));
    }
    return runs.get(key)!;
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
