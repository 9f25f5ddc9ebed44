/** Estimates a stack of this repository by running the program offline, the way the tests run it. */
import "../offline/monitor";
import { ProgramRun, runProgram, stackConfig } from "../offline/runner";
import { DEFAULT_ASSUMPTIONS, Estimate, estimate, readPriceTable, UsageAssumptions } from "./pricing";
import { fromRegistered } from "./sources";

/** The config overrides of the README's "dev with active hours" row: weekdays 08:00-20:00 Tokyo, Aurora pausing. */
export const DEV_ACTIVE_HOURS = {
    activeHours: JSON.stringify({ timezone: "Asia/Tokyo", weekdays: "MON-FRI", start: "08:00", stop: "20:00" }),
    databaseMinCapacity: "0",
};

export interface StackEstimate {
    run: ProgramRun;
    estimate: Estimate;
}

/** Prices what the stack's program registers (with config overrides), in the stack's region. */
export async function estimateStack(stack: string, overrides: Record<string, unknown> = {}, assumptions: UsageAssumptions = DEFAULT_ASSUMPTIONS, run?: ProgramRun): Promise<StackEstimate> {
    const region = stackConfig(stack, overrides).config["aws:region"];
    if (!region) {
        throw new Error(`Pulumi.${stack}.yaml sets no aws:region`);
    }
    const programRun = run ?? (await runProgram(stack, overrides));
    return { run: programRun, estimate: estimate(fromRegistered(programRun.resources), region, readPriceTable(), assumptions) };
}
