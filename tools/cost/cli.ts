/**
 * `npm run cost -- --stack dev`: the monthly cost of a stack at list prices, one line per item, the total last.
 *
 *   --stack <dev|prd>                  run this repository's program offline for the stack and price what it registers
 *   --set <key>=<value>                a config override for that run (repeatable), e.g. --set cacheNodeType=cache.t4g.small
 *   --preview-json <file>              price a real `pulumi preview --json` instead ...
 *   --state-json <file>                ... applied on top of `pulumi stack export` (what is deployed), which is also
 *                                      priced as the "before" of the difference
 *   --region <region>                  the price table's region (default: the stack's aws:region)
 *   --label <name>                     the name on the total line (default: the stack)
 *   --markdown                         a pull-request comment instead of text
 *   --<assumption> <number>            a usage assumption (the defaults are printed with every estimate)
 */
import * as fs from "fs";
import { DEFAULT_ASSUMPTIONS, estimate, readPriceTable, UsageAssumptions } from "./pricing";
import { markdownReport, textReport } from "./report";
import { fromPreview, fromStateExport, previewRegion } from "./sources";

interface Options {
    stack?: string;
    overrides: Record<string, string>;
    previewJson?: string;
    stateJson?: string;
    region?: string;
    label?: string;
    markdown: boolean;
    assumptions: UsageAssumptions;
}

export function parseArgs(argv: string[]): Options {
    const o: Options = { overrides: {}, markdown: false, assumptions: { ...DEFAULT_ASSUMPTIONS } };
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        const value = () => {
            const v = argv[++i];
            if (v === undefined) {
                throw new Error(`${flag} needs a value`);
            }
            return v;
        };
        if (flag === "--stack") o.stack = value();
        else if (flag === "--set") {
            const [k, ...rest] = value().split("=");
            o.overrides[k] = rest.join("=");
        } else if (flag === "--preview-json") o.previewJson = value();
        else if (flag === "--state-json") o.stateJson = value();
        else if (flag === "--region") o.region = value();
        else if (flag === "--label") o.label = value();
        else if (flag === "--markdown") o.markdown = true;
        else if (flag.startsWith("--") && flag.slice(2) in DEFAULT_ASSUMPTIONS) {
            const n = Number(value());
            if (!Number.isFinite(n) || n < 0) {
                throw new Error(`${flag} needs a number of at least 0`);
            }
            o.assumptions[flag.slice(2) as keyof UsageAssumptions] = n;
        } else {
            throw new Error(`unknown flag ${flag} (see the comment at the top of tools/cost/cli.ts)`);
        }
    }
    if (!o.stack && !o.previewJson) {
        throw new Error("give --stack <dev|prd> or --preview-json <file>");
    }
    return o;
}

const readJson = (file: string): unknown => JSON.parse(fs.readFileSync(file, "utf8"));

export async function main(argv: string[]): Promise<string> {
    const o = parseArgs(argv);
    if (o.previewJson) {
        const preview = readJson(o.previewJson);
        const state = o.stateJson ? readJson(o.stateJson) : undefined;
        const region = o.region ?? previewRegion(preview);
        if (!region) {
            throw new Error("the preview names no aws:region: give --region");
        }
        const table = readPriceTable();
        const after = estimate(fromPreview(preview, state), region, table, o.assumptions);
        const before = state ? estimate(fromStateExport(state), region, table, o.assumptions) : undefined;
        const label = o.label ?? "stack";
        return o.markdown ? markdownReport(label, after, before) : textReport(label, after);
    }
    // Loaded only here: it installs the offline runner's mocks.
    const { estimateStack } = await import("./stack");
    const { estimate: e } = await estimateStack(o.stack!, o.overrides, o.assumptions);
    const label = o.label ?? o.stack!;
    return o.markdown ? markdownReport(label, e) : textReport(label, e);
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (out) => {
            console.log(out);
            // The offline runner leaves Pulumi's runtime with nothing to wait for; end at once.
            process.exit(0);
        },
        (e: Error) => {
            console.error(`cost: ${e.message}`);
            process.exit(2);
        },
    );
}
