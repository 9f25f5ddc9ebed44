/**
 * The tests' view of the program's offline runner (tools/offline/runner.ts), plus what only tests need: runs expected
 * to fail, the shared dev/prd runs, and config validation without a program run.
 */
import { ConfigError } from "../config/reader";
import { loadSettingsFor } from "../tools/offline/settings";
import { mocks } from "../tools/offline/monitor";
import { ProgramRun, runProgram, Stack } from "../tools/offline/runner";

export * from "../tools/offline/runner";
export { loadSettingsFor } from "../tools/offline/settings";

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

/** The ConfigError message loadSettingsFor throws for these overrides; fails the test when it does not throw one. */
export function configErrorFor(stack: Stack, overrides: Record<string, unknown>, secretKeys: string[] = []): string {
    try {
        loadSettingsFor(stack, overrides, secretKeys);
    } catch (e) {
        if (e instanceof ConfigError) {
            return e.message;
        }
        throw e;
    }
    throw new Error(`expected a ConfigError for ${JSON.stringify(overrides)} on ${stack}`);
}

/** The fields of an ECS container definition the tests read. */
export interface ContainerDefinition {
    name: string;
    image: string;
    repositoryCredentials?: { credentialsParameter: string };
    environment: { name: string; value: string }[];
    secrets: { name: string; valueFrom: string }[];
    mountPoints?: { sourceVolume: string; containerPath: string; readOnly?: boolean }[];
    essential?: boolean;
    entryPoint?: string[];
    command?: string[];
    portMappings?: { containerPort: number }[];
}

/**
 * One container of DifyCluster's task definition for a role or the migration (logical name `dify-<family>`, e.g.
 * `plugin-daemon`): the role's own, named after it, or another by name (a sidecar).
 */
export function containerOf(run: ProgramRun, family: string, name: string = family): ContainerDefinition {
    const td = run.one("aws:ecs/taskDefinition:TaskDefinition", `dify-${family}`);
    const containers = JSON.parse(td.inputs.containerDefinitions) as ContainerDefinition[];
    const found = containers.filter((c) => c.name === name);
    if (found.length !== 1) {
        throw new Error(`task definition dify-${family} has no single container named ${name} (${containers.map((c) => c.name).join(", ")})`);
    }
    return found[0];
}

/**
 * The secret's ARN in an ECS `valueFrom` (`arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6>` followed,
 * optionally, by `:<json-key>:<version-stage>:<version-id>`).
 */
export function secretArnOf(valueFrom: string): string {
    return valueFrom.split(":").slice(0, 7).join(":");
}

/** The version id a `valueFrom` pins ("" when it pins none). */
export function versionIdOf(valueFrom: string): string {
    return valueFrom.split(":")[9] ?? "";
}

/** A container's plain environment as a record. */
export function environmentOf(c: ContainerDefinition): Record<string, string> {
    return Object.fromEntries(c.environment.map((e) => [e.name, e.value]));
}

/** One statement of an IAM policy document, as the program writes them. */
export interface PolicyStatement {
    Sid?: string;
    Effect: string;
    Action: string | string[];
    Resource: unknown;
    Condition?: Record<string, Record<string, unknown>>;
}

/** The statements of the inline role policy with this logical name (e.g. `dify-execution`); none when it is absent. */
export function rolePolicyStatements(run: ProgramRun, name: string): PolicyStatement[] {
    const policy = run.ofType("aws:iam/rolePolicy:RolePolicy").find((p) => p.name === name);
    return policy ? (JSON.parse(policy.inputs.policy).Statement as PolicyStatement[]) : [];
}
