/**
 * A program with only EdgeAlb, for the tests of what it hands DifyCluster (the attachment is not a stack output).
 * Run through runProgram(stack, overrides, entry) after clearing it from require.cache.
 */
import { PROGRESSIVE_ROLES } from "../config/roles";
import * as pulumi from "@pulumi/pulumi";
import { EdgeAlb } from "../components/edgeAlb";
import { loadSettings } from "../config";

const settings = loadSettings();
const edge = new EdgeAlb("edge", {
    vpcId: "vpc-0123456789abcdef0",
    subnetIds: ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
    edge: settings.edge,
    release: settings.cluster.images.release,
    collaboration: settings.cluster.features.collaboration,
    progressive: settings.cluster.deployment.strategy === "canary" ? PROGRESSIVE_ROLES : [],
    deletionProtection: settings.common.deletionProtection,
    logs: { retentionInDays: settings.common.logRetentionDays },
    namePrefix: settings.common.prefix,
});

export const attachment = pulumi.output(edge.attachment);
export const httpsListenerArn = edge.httpsListenerArn;
export const httpListenerArn = edge.httpListenerArn;
export const targetGroupArns = pulumi.output(edge.targetGroupArns);
export const publicUrl = edge.publicUrl;
export const dnsName = edge.dnsName;
