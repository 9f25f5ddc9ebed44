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
}

/** ECS `valueFrom` for a SecretRef. */
export function secretValueFrom(ref: SecretRef): pulumi.Output<string> {
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
    targetGroups: Record<"web" | "api" | "pluginDaemon", { arn: pulumi.Output<string>; arnSuffix: pulumi.Output<string> }>;
}

/** An EFS file system one role mounts through an access point, with TLS and IAM (from ManagedData). */
export interface SharedFileSystem {
    /** Resolves once a mount target exists in every zone the tasks run in. */
    fileSystemId: pulumi.Output<string>;
    fileSystemArn: pulumi.Output<string>;
    /** The access point the task mounts; the file system refuses NFS clients that do not use it. */
    accessPointId: pulumi.Output<string>;
    accessPointArn: pulumi.Output<string>;
    /** Security group of the mount targets; the consumer adds the NFS ingress rule from the role that mounts it. */
    securityGroupId: pulumi.Output<string>;
}
