/** The README's cost table: dev, dev with active hours and prd, from the estimator, with its assumptions. */
import type { ProgramRun } from "../offline/runner";
import { ASSUMPTION_TEXT, CostLine, DEFAULT_ASSUMPTIONS, Estimate, UsageAssumptions } from "./pricing";
import { DEV_ACTIVE_HOURS, estimateStack } from "./stack";

const usd = (n: number) => `$${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

/** What runs around the clock whatever the traffic: the ALB, the NAT gateways, the cache and the Aurora minimum. */
export function floor(e: Estimate): { alb: number; nat: number; cache: number; database: number } {
    const sum = (lines: CostLine[]) => Math.round(lines.reduce((s, l) => s + l.monthly, 0) * 100) / 100;
    const of = (re: RegExp) => sum(e.lines.filter((l) => re.test(l.what)));
    return {
        alb: of(/^(Application Load Balancer|ALB capacity units|ALB public IPv4)/),
        nat: of(/^NAT gateways(: public IPv4 addresses)?$/),
        cache: of(/^ElastiCache/),
        database: of(/^Aurora (Serverless v2|db\.)/),
    };
}

/** The three rows, each from a program run (runs may be given, e.g. the tests' shared ones). */
export async function costRows(runs: { dev?: ProgramRun; prd?: ProgramRun } = {}): Promise<{ label: string; estimate: Estimate }[]> {
    return [
        { label: "dev", estimate: (await estimateStack("dev", {}, DEFAULT_ASSUMPTIONS, runs.dev)).estimate },
        { label: "dev with active hours (weekdays 08:00-20:00 Asia/Tokyo, Aurora pausing)", estimate: (await estimateStack("dev", DEV_ACTIVE_HOURS)).estimate },
        { label: "prd", estimate: (await estimateStack("prd", {}, DEFAULT_ASSUMPTIONS, runs.prd)).estimate },
    ];
}

export async function costSection(runs: { dev?: ProgramRun; prd?: ProgramRun } = {}): Promise<string> {
    const rows = await costRows(runs);
    const first = rows[0].estimate;
    const lines = [
        `| stack | $/month | around the clock: ALB / NAT / cache / Aurora minimum |`,
        `|---|---|---|`,
        ...rows.map(({ label, estimate: e }) => {
            const f = floor(e);
            return `| ${label} | **${usd(e.total)}** | ${usd(f.alb)} / ${usd(f.nat)} / ${usd(f.cache)} / ${usd(f.database)}${e.activeHoursPerMonth ? ` (services run ${Math.round(e.activeHoursPerMonth)} h a month)` : ""} |`;
        }),
        "",
        `List prices of ${first.priceDate} in ${first.region} (\`tools/cost/prices.json\`, each figure with its source), every role running at its minimum task count, and these assumptions (each a flag of \`npm run cost\`):`,
        "",
        ...(Object.keys(ASSUMPTION_TEXT) as (keyof UsageAssumptions)[]).map((k) => `- ${ASSUMPTION_TEXT[k]}: ${DEFAULT_ASSUMPTIONS[k]}`),
    ];
    return lines.join("\n");
}
