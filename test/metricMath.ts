/** A small evaluator of the CloudWatch metric math this program writes, so tests check what an expression computes. */

/** Evaluates the CloudWatch metric math this program writes (FILL, IF, MAX over a list, arithmetic) for given values. */
export function evaluateMetricMath(expression: string, values: Record<string, number | undefined>): number {
    const js = expression
        .replace(/FILL\((\w+),\s*([\d.]+)\)/g, (_, id, d) => `(v.${id} ?? ${d})`)
        .replace(/MAX\(\[/g, "Math.max(...[")
        .replace(/IF\(/g, "iff(");
    // Only FILL(id, n), IF(c, a, b), MAX([...]) and arithmetic on metric ids appear in this program's expressions.
    return new Function("v", "iff", `return ${js};`)(values, (c: boolean, a: number, b: number) => (c ? a : b));
}

