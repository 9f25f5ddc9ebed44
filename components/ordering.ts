import * as pulumi from "@pulumi/pulumi";

/**
 * `value`, resolving only once every resource in `resources` exists. Whoever takes the result as an input depends on
 * those resources too (Pulumi tracks the resources behind an Output), so the engine, which creates in parallel
 * whatever has no dependency, creates them first. Contracts use it so no consumer can forget an ordering: a database
 * host that resolves only once the writer instance exists, a secret ARN only once its value is stored.
 */
export function after<T>(value: pulumi.Output<T>, ...resources: pulumi.Resource[]): pulumi.Output<T> {
    const urns: pulumi.Output<string>[] = resources.map((r) => r.urn);
    return pulumi.all([value as pulumi.Output<unknown>, ...urns]).apply((all) => all[0] as T);
}
