import * as pulumi from "@pulumi/pulumi";
import { EncryptionKey } from "./components/encryptionKey";
import { VpcWithEndpoints } from "./components/vpcWithEndpoints";
import { loadSettings } from "./config";

// Validate everything first: a config mistake fails here, before any resource is declared.
const settings = loadSettings();
const { common } = settings;

const key = common.customerManagedKey
    ? new EncryptionKey("key", {
          description: `Dify ${common.stack}: database, cache, bucket, secrets, logs and alarm topic`,
          alias: common.prefix,
          protect: common.deletionProtection,
      })
    : undefined;
const logs = { retentionInDays: common.logRetentionDays, kmsKeyArn: key?.keyArn };

const network = new VpcWithEndpoints("network", {
    vpc: settings.network.vpc,
    interfaceEndpoints: settings.network.interfaceEndpoints,
    flowLogTrafficType: settings.network.flowLogTrafficType,
    logs,
    namePrefix: common.prefix,
});

export const vpcId = network.vpcId;
export const vpcCidr = network.vpcCidr;
export const availabilityZones = network.availabilityZones;
export const publicSubnetIds = network.publicSubnetIds;
export const privateSubnetIds = network.privateSubnetIds;
export const dataSubnetIds = network.dataSubnetIds;
export const endpointSecurityGroupId = network.endpointSecurityGroupId;
export const kmsKeyArn: pulumi.Output<string> | undefined = key?.keyArn;
