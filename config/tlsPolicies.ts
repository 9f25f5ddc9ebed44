/**
 * The ALB security policies that offer TLS 1.3 (names starting ELBSecurityPolicy-TLS13-), with the oldest protocol
 * each still accepts. From the Elastic Load Balancing user guide, "Security policies for your Application Load
 * Balancer": the 2021-06 policies, the FIPS 2023-04 policies, the RFC 9151 FIPS policies (2023-07) and the hybrid
 * post-quantum (PQ) policies of 2025-09, AWS's current recommendation being ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09.
 * A name outside this table is a typo that ELB would only reject at deploy time, or a policy without TLS 1.3.
 */
export const ALB_TLS13_POLICIES: Readonly<Record<string, "1.0" | "1.1" | "1.2" | "1.3">> = {
    "ELBSecurityPolicy-TLS13-1-0-2021-06": "1.0",
    "ELBSecurityPolicy-TLS13-1-1-2021-06": "1.1",
    "ELBSecurityPolicy-TLS13-1-2-2021-06": "1.2",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06": "1.2",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06": "1.2",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06": "1.2",
    "ELBSecurityPolicy-TLS13-1-3-2021-06": "1.3",
    "ELBSecurityPolicy-TLS13-1-0-FIPS-2023-04": "1.0",
    "ELBSecurityPolicy-TLS13-1-1-FIPS-2023-04": "1.1",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04": "1.2",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04": "1.2",
    "ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-2023-04": "1.2",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-2023-04": "1.2",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-2023-04": "1.2",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04": "1.3",
    "ELBSecurityPolicy-TLS13-1-2-RFC9151-FIPS-2023-07": "1.2",
    "ELBSecurityPolicy-TLS13-1-2-Ext0-RFC9151-FIPS-2023-07": "1.2",
    "ELBSecurityPolicy-TLS13-1-3-RFC9151-FIPS-2023-07": "1.3",
    "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09": "1.2",
    "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09": "1.2",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-PQ-2025-09": "1.2",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-PQ-2025-09": "1.2",
    "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09": "1.3",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-PQ-2025-09": "1.2",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09": "1.2",
    "ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-PQ-2025-09": "1.2",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-PQ-2025-09": "1.2",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-PQ-2025-09": "1.2",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-PQ-2025-09": "1.3",
};

/** The TLS 1.3 policies that accept nothing older than TLS 1.2: what the HTTPS listener may use. */
export const ACCEPTED_TLS_POLICIES = Object.keys(ALB_TLS13_POLICIES).filter((p) => ALB_TLS13_POLICIES[p] === "1.2" || ALB_TLS13_POLICIES[p] === "1.3");
