import * as pulumi from "@pulumi/pulumi";
import type { ClusterSettings } from "../../config/cluster";
import type { DifyRole } from "../../config/roles";
import type { ActiveHours } from "../../config/schedule";
import type { AwsContext } from "../awsContext";
import type { CacheConnection, DatabaseConnection, EdgeAttachment, FileBucket, SharedFileSystem } from "../contracts";
import { ROLE_SPECS } from "./roles";
import type { LogGroupSettings } from "../logGroup";

export interface DifyClusterArgs {
    /** Physical-name prefix (`dify-prd`): cluster, services, task families and log groups start with it. */
    namePrefix: string;
    vpcId: pulumi.Input<string>;
    /** IPv4 CIDR of the VPC; the SSRF proxy denies it as a destination and accepts clients only from it. */
    vpcCidr: pulumi.Input<string>;
    /** Private subnets (with NAT egress) the tasks run in, one per AZ; services spread over them. */
    privateSubnetIds: pulumi.Input<string[]>;
    /**
     * The interface endpoints the VPC has (service short names such as `ecr.api`). With images from ECR and the
     * endpoints a task needs to start (SANDBOX_PRIVATE_START_ENDPOINTS), the sandbox gets no internet egress.
     */
    vpcInterfaceEndpoints: string[];
    /** The stack's customer-managed KMS key: encrypts the inner-keys secret and ECS Exec sessions. Undefined: AWS-managed keys. */
    kmsKeyArn?: pulumi.Input<string>;
    /** Retention and key of every log group (one per role, the migration task and ECS Exec audit). */
    logs: LogGroupSettings;
    /** The ALB: target groups the web, api and plugin-daemon services register in, and its security group. */
    edge: EdgeAttachment;
    database: DatabaseConnection;
    cache: CacheConnection;
    bucket: FileBucket;
    /**
     * The plugin daemon's shared working path (ManagedData's EFS file system): mounted at PLUGIN_WORKING_PATH through
     * its access point with TLS and IAM. Undefined keeps the working path on each task's own storage.
     */
    pluginWorkspace?: SharedFileSystem;
    /**
     * The agent sandbox's homes and workspaces (ManagedData's EFS file system, access points `home` and
     * `workspace`), mounted at /home/dify and /workspace. Required when Agent v2 is on.
     */
    agentWorkspace?: SharedFileSystem;
    /** Images, sizes, task counts, Spot, ECS Exec, Bedrock, SMTP and extra env/secrets (config/cluster.ts). */
    settings: ClusterSettings;
    /** The stack protects its data: its generated credentials are Pulumi-protected too (components/credentials.ts). */
    protect: boolean;
    /** When the stack runs: outside it every service (beat too) is scaled to 0 tasks. Undefined: always on. */
    activeHours?: ActiveHours;
}

/** What every part of the cluster is built with: the component (parent of everything), its name and arguments. */
export interface ClusterScope {
    /** The component's logical name; children's names derive from it. */
    name: string;
    parent: pulumi.Resource;
    ctx: AwsContext;
    args: DifyClusterArgs;
    /** The roles that run (every role but those of a Dify feature that is off), in the table's order. */
    roles: DifyRole[];
}

/** Cloud Map / ECS names use hyphens (roles.ts). */
export const KEBAB = mapValues(ROLE_SPECS, (spec) => spec.kebab);

export function mapValues<K extends string, A, B>(rec: Record<K, A>, f: (a: A, k: K) => B): Record<K, B> {
    return Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, f(v as A, k as K)])) as Record<K, B>;
}

/** The same for a partial record: only the keys it has. */
export function mapDefined<K extends string, A, B>(rec: Partial<Record<K, A>>, f: (a: A, k: K) => B): Partial<Record<K, B>> {
    return Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, f(v as A, k as K)])) as Partial<Record<K, B>>;
}
