/** Every policy of the pack, by concern, and the pack's defaults. index.ts serves these; the tests check these. */
import type { EnforcementLevel } from "@pulumi/policy";
import { deletionPolicies } from "./deletion";
import { encryptionPolicies } from "./encryption";
import { networkPolicies } from "./network";
import { PackPolicy } from "./resources";
import { ssoPolicies } from "./sso";
import { stackPolicies } from "./stack";
import { workloadPolicies } from "./workloads";

export const PACK_NAME = "dify-aws";
export const PACK_DESCRIPTION =
    "Dify on AWS: encryption at rest and in transit, deletion protection on data and load balancers, network exposure, single sign-on kept to the browser paths, zero-downtime ECS deployments and secrets kept out of task environments.";
/** Every policy is mandatory unless the policy-pack config lowers it (config/dev.json makes alb-https-listeners advisory). */
export const PACK_ENFORCEMENT: EnforcementLevel = "mandatory";

export const packPolicies: PackPolicy[] = [...encryptionPolicies, ...deletionPolicies, ...networkPolicies, ...workloadPolicies, ...stackPolicies, ...ssoPolicies];
