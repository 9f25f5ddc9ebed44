/**
 * What Aurora PostgreSQL offers and how many connections it takes (no resources, no Pulumi): the instance classes of
 * the provisioned mode and the documented max_connections of both modes, for config validation and the capacity
 * model (config/capacity.ts).
 */

/**
 * Provisioned instance classes Aurora PostgreSQL supports (Aurora user guide, "Supported DB engines for DB instance
 * classes", Aurora PostgreSQL column), with their memory in GiB. db.t3.micro/small and db.t4g.small are not offered;
 * the T classes are for development and test only (same guide). Families and sizes as AWS lists them.
 */
const SIZES_GIB: Record<string, number> = {
    large: 16, xlarge: 32, "2xlarge": 64, "4xlarge": 128, "8xlarge": 256, "12xlarge": 384, "16xlarge": 512, "24xlarge": 768, "32xlarge": 1024, "48xlarge": 1536,
};
const FAMILIES: Record<string, { sizes: string[]; gibPerLarge: number }> = {
    r5: { sizes: ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge"], gibPerLarge: 16 },
    r6g: { sizes: ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"], gibPerLarge: 16 },
    r6gd: { sizes: ["xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"], gibPerLarge: 16 },
    r6i: { sizes: ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "32xlarge"], gibPerLarge: 16 },
    r6id: { sizes: ["24xlarge", "32xlarge"], gibPerLarge: 16 },
    r7g: { sizes: ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"], gibPerLarge: 16 },
    r7i: { sizes: ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge"], gibPerLarge: 16 },
    r8g: { sizes: ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge"], gibPerLarge: 16 },
    // Memory-optimized x2g: 16 GiB per vCPU, so a large has 32 GiB.
    x2g: { sizes: ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"], gibPerLarge: 32 },
};
const BURSTABLE_GIB: Record<string, number> = { "db.t3.medium": 4, "db.t3.large": 8, "db.t4g.medium": 4, "db.t4g.large": 8 };

/** Every provisioned class Aurora PostgreSQL offers, with its memory in GiB. */
export const AURORA_POSTGRES_INSTANCE_CLASSES: Readonly<Record<string, number>> = {
    ...BURSTABLE_GIB,
    ...Object.fromEntries(
        Object.entries(FAMILIES).flatMap(([family, f]) => f.sizes.map((size) => [`db.${family}.${size}`, (SIZES_GIB[size] / 16) * f.gibPerLarge])),
    ),
};

/**
 * Default max_connections of a provisioned instance: LEAST({DBInstanceClassMemory/9531392}, 5000) (Aurora user guide,
 * "Maximum connections to an Aurora PostgreSQL DB instance"). DBInstanceClassMemory is the memory left after the OS
 * and RDS processes, so it cannot be computed from the class's memory; AWS's table lists these classes, and their
 * value is used as documented.
 */
const DOCUMENTED_MAX_CONNECTIONS: Record<string, number> = {
    "db.t3.medium": 420,
    "db.t4g.medium": 405,
    "db.t3.large": 844,
    "db.t4g.large": 844,
    "db.r5.large": 1600,
    "db.r5.xlarge": 3300,
    "db.r6g.large": 1722,
    "db.r6g.xlarge": 3479,
    "db.x2g.large": 3479,
};
/**
 * For a class the table does not list (r6i, r7g, r7i, r8g, ...): the lowest documented value of a class with as much
 * memory (405 at 4 GiB, 844 at 8 GiB, 1,600 at 16 GiB, 3,300 at 32 GiB; 5,000 from 64 GiB, where the LEAST caps it).
 */
const MAX_CONNECTIONS_BY_GIB: [gib: number, connections: number][] = [
    [4, 405],
    [8, 844],
    [16, 1600],
    [32, 3300],
    [64, 5000],
];
export function provisionedMaxConnections(instanceClass: string): number {
    const gib = AURORA_POSTGRES_INSTANCE_CLASSES[instanceClass];
    if (gib === undefined) {
        throw new Error(`${instanceClass} is not an Aurora PostgreSQL instance class`);
    }
    return DOCUMENTED_MAX_CONNECTIONS[instanceClass] ?? [...MAX_CONNECTIONS_BY_GIB].reverse().find(([size]) => gib >= size)![1];
}

/**
 * Default max_connections of an Aurora Serverless v2 instance, by its maximum ACU (Aurora user guide, "Maximum
 * connections for Aurora Serverless v2": max ACU 1 -> 189, 4 -> 823, 8 -> 1,669, 16 -> 3,360, 32 and more -> 5,000;
 * Aurora computes it from the memory of the maximum capacity, not the current one). Between the listed rows the lower
 * row's value stands, as the documented floor. With a minimum of 0 or 0.5 ACU it is capped at 2,000 ("when you
 * specify a minimum capacity of 0 or 0.5 ACUs on PostgreSQL-compatible DB instances, the maximum value of
 * max_connections is capped at 2,000").
 */
const SERVERLESS_MAX_CONNECTIONS: [maxAcu: number, connections: number][] = [
    [1, 189],
    [4, 823],
    [8, 1669],
    [16, 3360],
    [32, 5000],
];
export const SERVERLESS_LOW_MINIMUM_CAP = 2000;
export function serverlessMaxConnections(minAcu: number, maxAcu: number): number {
    const row = [...SERVERLESS_MAX_CONNECTIONS].reverse().find(([acu]) => maxAcu >= acu);
    const value = row ? row[1] : SERVERLESS_MAX_CONNECTIONS[0][1];
    return minAcu <= 0.5 ? Math.min(value, SERVERLESS_LOW_MINIMUM_CAP) : value;
}
