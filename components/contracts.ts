import * as pulumi from "@pulumi/pulumi";

/**
 * The shapes components hand each other. index.ts wires ManagedData's and EdgeAlb's outputs into DifyCluster (and the
 * alarms) through these, so each side can change its internals without the other noticing.
 */

/**
 * A secret ECS injects at task start: the container sees the value, the task definition only the reference.
 * ECS `valueFrom` is `<secretArn>` for a plain-string secret, or `<secretArn>:<jsonKey>::` for one key of a JSON secret.
 */
export interface SecretRef {
    secretArn: pulumi.Output<string>;
    /** The JSON key inside the secret; undefined when the secret is a plain string. */
    jsonKey?: string;
    /**
     * The version holding the value this program stored (SecretVersion.versionId). In `valueFrom` it makes a new value
     * a new task definition, so one `up` rolls every task that reads it; undefined (a secret the user owns) reads
     * AWSCURRENT when a task starts.
     */
    versionId?: pulumi.Output<string>;
}

/**
 * ECS `valueFrom` for a SecretRef: `<arn>:<json-key>:<version-stage>:<version-id>` (ECS developer guide, "Pass Secrets
 * Manager secrets through Amazon ECS environment variables"), trailing fields left off when not given.
 */
export function secretValueFrom(ref: SecretRef): pulumi.Output<string> {
    if (ref.versionId) {
        return pulumi.interpolate`${ref.secretArn}:${ref.jsonKey ?? ""}::${ref.versionId}`;
    }
    return ref.jsonKey === undefined ? ref.secretArn : pulumi.interpolate`${ref.secretArn}:${ref.jsonKey}::`;
}

/** What Dify needs to reach Aurora PostgreSQL (from ManagedData). */
export interface DatabaseConnection {
    /** Writer (cluster) endpoint host name. */
    host: pulumi.Output<string>;
    /** Reader endpoint host name. */
    readerHost: pulumi.Output<string>;
    port: pulumi.Output<number>;
    /** Dify's main database (also holds the pgvector tables). */
    databaseName: string;
    /** The plugin daemon's database (`dify_plugin`). */
    pluginDatabaseName: string;
    username: SecretRef;
    password: SecretRef;
    /** Security group of the cluster; the consumer adds one ingress rule per calling role. */
    securityGroupId: pulumi.Output<string>;
    /** The Aurora cluster identifier, resolved once its writer exists (what a snapshot is taken of). */
    clusterIdentifier: pulumi.Output<string>;
}

/** What Dify needs to reach ElastiCache (from ManagedData). TLS is always on. */
export interface CacheConnection {
    /** Primary endpoint host name. */
    host: pulumi.Output<string>;
    /** Reader endpoint host name. */
    readerHost: pulumi.Output<string>;
    port: pulumi.Output<number>;
    /** The AUTH token, for REDIS_PASSWORD. */
    authToken: SecretRef;
    /** `rediss://:<token>@<host>:<port>/1?ssl_cert_reqs=...`, for CELERY_BROKER_URL. */
    celeryBrokerUrl: SecretRef;
    /** `rediss://:<token>@<host>:<port>/2?ssl_cert_reqs=required`, for the agent backend's DIFY_AGENT_REDIS_URL. */
    agentRedisUrl: SecretRef;
    securityGroupId: pulumi.Output<string>;
}

/** The S3 bucket for Dify's files and the plugin daemon's packages (from ManagedData). */
export interface FileBucket {
    name: pulumi.Output<string>;
    arn: pulumi.Output<string>;
}

/** The load balancer side DifyCluster attaches to (from EdgeAlb). */
export interface EdgeAttachment {
    /** Public base URL without a trailing slash, e.g. `https://dify.example.com`. */
    publicUrl: pulumi.Output<string>;
    /** The ALB's security group; the consumer adds its ingress rules from it and egress rules to it. */
    securityGroupId: pulumi.Output<string>;
    /** ARN suffix of the ALB, for CloudWatch metrics and ALBRequestCountPerTarget. */
    loadBalancerArnSuffix: pulumi.Output<string>;
    /** The listener whose rules forward to the target groups (HTTPS, or HTTP on an opted-in HTTP-only stack); services depend on it. */
    listenerArn: pulumi.Output<string>;
    /** One group per role behind the ALB; apiWebsocket only when collaboration mode is on. */
    targetGroups: Record<"web" | "api" | "pluginDaemon", TargetGroupRef> & { apiWebsocket?: TargetGroupRef };
}

/** A target group a service registers its tasks in. */
export interface TargetGroupRef {
    arn: pulumi.Output<string>;
    arnSuffix: pulumi.Output<string>;
    /** Seconds a deregistered target keeps its requests (the group's deregistration delay): part of every rollout. */
    deregistrationDelaySeconds: number;
    /**
     * For a role deployed progressively (canary): the second (green) target group and the one production listener
     * rule whose forward weights ECS moves between the two.
     */
    progressive?: { alternateArn: pulumi.Output<string>; alternateArnSuffix: pulumi.Output<string>; productionListenerRuleArn: pulumi.Output<string> };
}

/** An EFS file system one role mounts through its access points, with TLS and IAM (from ManagedData). */
export interface SharedFileSystem {
    /** Resolves once a mount target exists in every zone the tasks run in. */
    fileSystemId: pulumi.Output<string>;
    fileSystemArn: pulumi.Output<string>;
    /** The access points the task mounts, by purpose; the file system refuses NFS clients that use none of them. */
    accessPoints: Record<string, { id: pulumi.Output<string>; arn: pulumi.Output<string> }>;
    /** Security group of the mount targets; the consumer adds the NFS ingress rule from the role that mounts it. */
    securityGroupId: pulumi.Output<string>;
}
