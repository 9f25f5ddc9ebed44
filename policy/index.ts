import { PolicyPack } from "@pulumi/policy";
import { PACK_DESCRIPTION, PACK_ENFORCEMENT, PACK_NAME, packPolicies } from "./policies";

// Serves the pack over gRPC to the Pulumi CLI (`--policy-pack policy`); the policies live in their modules.
new PolicyPack(PACK_NAME, {
    description: PACK_DESCRIPTION,
    enforcementLevel: PACK_ENFORCEMENT,
    policies: packPolicies,
});
