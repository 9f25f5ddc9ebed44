/** How an estimate is printed: one line per item, the assumptions, what could not be priced, the total last. */
import { ASSUMPTION_TEXT, Estimate, UsageAssumptions } from "./pricing";

const usd = (n: number) => `$${n.toFixed(2)}`;

export function assumptionLines(a: UsageAssumptions): string[] {
    return (Object.keys(ASSUMPTION_TEXT) as (keyof UsageAssumptions)[]).map((k) => `  --${k} ${a[k]}  (${ASSUMPTION_TEXT[k]})`);
}

/** The text report; its last line is `<label>: $<total>/month`. */
export function textReport(label: string, e: Estimate): string {
    const width = Math.max(...e.lines.map((l) => l.what.length), 10);
    const qty = Math.max(...e.lines.map((l) => l.quantity.length), 8);
    const lines = [
        `Estimated monthly cost of ${label} in ${e.region} (list prices of ${e.priceDate}, USD)${e.activeHoursPerMonth ? `, services running ${e.activeHoursPerMonth} h a month` : ""}`,
        "Assumptions (flags):",
        ...assumptionLines(e.assumptions),
        "",
        ...e.lines.map((l) => `${l.what.padEnd(width)}  ${l.quantity.padEnd(qty)}  ${usd(l.monthly).padStart(10)}/month`),
    ];
    if (e.unpriced.length > 0) {
        lines.push("", "Not priced (not included in the total):", ...e.unpriced.map((u) => `  ${u.type} ${u.name}: ${u.why}`));
    }
    lines.push("", `${label}: ${usd(e.total)}/month`);
    return lines.join("\n");
}

/** Markdown for a pull-request comment: the estimate and, given the current one, the difference. */
export function markdownReport(label: string, after: Estimate, before?: Estimate): string {
    const diff = before ? after.total - before.total : undefined;
    const sign = (n: number) => (n > 0 ? `+${usd(n)}` : n < 0 ? `-${usd(-n)}` : usd(0));
    const rows = after.lines.map((l) => `| ${l.what} | ${l.quantity} | ${usd(l.monthly)} |`);
    const parts = [
        `<!-- dify-aws-cost:${label} -->`,
        `### Estimated monthly cost: ${label}`,
        "",
        `**${usd(after.total)}/month**${diff !== undefined ? ` (${sign(diff)} against what is deployed from main, ${usd(before!.total)})` : ""}, list prices of ${after.priceDate} in ${after.region}, low-traffic assumptions (\`npm run cost -- --help\`).`,
        "",
        "<details><summary>Items</summary>",
        "",
        "| item | quantity | $/month |",
        "|---|---|---|",
        ...rows,
        "",
        "</details>",
    ];
    if (after.unpriced.length > 0) {
        parts.push("", "Not priced: " + after.unpriced.map((u) => `${u.type} ${u.name} (${u.why})`).join("; "));
    }
    return parts.join("\n");
}
