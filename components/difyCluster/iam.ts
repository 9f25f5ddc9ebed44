/** The task execution role (pulls, logs, secrets) and one task role per Dify role, each scoped to ARNs. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { EFS_TASK_ACTIONS } from "../sharedWorkspace";
import type { DifyRole } from "../../config/roles";
import type { SharedFileSystem } from "../contracts";
import { ClusterScope, KEBAB } from "./context";
import type { EcrSource } from "./images";
import { ROLE_SPECS } from "./roles";

/**
 * Roles that never get ECS Exec:
 * - roles that run users' code (code nodes, agent shells): whatever the task role may do, that code can do too,
 *   through the task's credentials endpoint (169.254.170.2, which security groups cannot filter), so their task roles
 *   hold only what the role itself needs, and no SSM channels;
 * - roles whose root file system is read-only (roles.ts, rootFilesystem): ECS Exec does not support them (ECS
 *   developer guide, "Monitor Amazon ECS containers with ECS Exec", considerations), so a session would only fail.
 */
export const NO_EXEC_ROLES: readonly DifyRole[] = [
    ...new Set<DifyRole>(["sandbox", "agentSandbox", ...(Object.keys(ROLE_SPECS) as DifyRole[]).filter((role) => ROLE_SPECS[role].rootFilesystem.readOnly)]),
];

/** Whether ECS Exec is on for a role: the stack's setting, never for a role that runs users' code. */
export function execEnabled(scope: ClusterScope, role: DifyRole): boolean {
    return scope.args.settings.ecsExecEnabled && !NO_EXEC_ROLES.includes(role);
}

/** Actions AWS does not scope to resources; the only ones granted on `*`. */
export const UNSCOPED_ACTIONS = [
    "ecr:GetAuthorizationToken",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
];

interface Statement {
    Sid: string;
    Effect: "Allow";
    Action: string[];
    Resource: pulumi.Input<string> | pulumi.Input<string>[] | pulumi.Output<string[]>;
    Condition?: Record<string, Record<string, pulumi.Input<string> | pulumi.Input<string>[]>>;
}

function policyJson(statements: Statement[]): pulumi.Output<string> {
    return pulumi.jsonStringify({ Version: "2012-10-17", Statement: statements });
}

/** ECS tasks of this account only (confused-deputy guard). */
function ecsTasksTrust(scope: ClusterScope): pulumi.Output<string> {
    const { accountId, partition, region } = scope.ctx;
    return pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [
            {
                Effect: "Allow",
                Principal: { Service: "ecs-tasks.amazonaws.com" },
                Action: "sts:AssumeRole",
                Condition: {
                    StringEquals: { "aws:SourceAccount": accountId },
                    ArnLike: { "aws:SourceArn": pulumi.interpolate`arn:${partition}:ecs:${region}:${accountId}:*` },
                },
            },
        ],
    });
}

/** Pulls images, writes logs, and reads exactly this stack's secrets (and decrypts them with the stack key). */
export function executionRole(
    scope: ClusterScope,
    ecr: EcrSource | undefined,
    secretArns: pulumi.Output<string[]>,
    ssmParameterArns: string[],
    logGroups: aws.cloudwatch.LogGroup[],
): { role: aws.iam.Role; policy: aws.iam.RolePolicy } {
    const { args, name, parent } = scope;
    const { partition, region } = scope.ctx;
    const role = new aws.iam.Role(
        `${name}-execution`,
        { description: `ECS task execution role of ${args.namePrefix}'s Dify tasks`, assumeRolePolicy: ecsTasksTrust(scope) },
        { parent },
    );
    const statements: Statement[] = [];
    // ECR only when the images come from an ECR registry; from Docker Hub or another mirror the role needs none.
    if (ecr) {
        const repositoryArn = (repo: string) => pulumi.interpolate`arn:${partition}:ecr:${ecr.region}:${ecr.account}:repository/${repo}`;
        // Under a path (a pull-through cache's prefix), every repository below it; at the registry root, exactly
        // the repositories of the images (repository = image reference without registry, tag or digest).
        const repos = ecr.path ? [repositoryArn(`${ecr.path}/*`)] : ecr.repositories.map(repositoryArn);
        statements.push(
            // GetAuthorizationToken has no resource-level permissions.
            { Sid: "EcrAuthorization", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
            {
                Sid: "EcrPull",
                Effect: "Allow",
                Action: ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
                Resource: repos,
            },
        );
        if (ecr.path) {
            // An ECR pull-through cache creates the repository and imports the image on the first pull.
            statements.push({ Sid: "EcrPullThroughCacheImport", Effect: "Allow", Action: ["ecr:CreateRepository", "ecr:BatchImportUpstreamImage"], Resource: repos });
        }
    }
    statements.push(
        {
            Sid: "WriteTaskLogs",
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: logGroups.map((lg) => pulumi.interpolate`${lg.arn}:*`),
        },
        { Sid: "ReadThisStacksSecrets", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: secretArns },
    );
    if (ssmParameterArns.length > 0) {
        statements.push({ Sid: "ReadConfiguredParameters", Effect: "Allow", Action: ["ssm:GetParameters"], Resource: ssmParameterArns });
    }
    if (args.kmsKeyArn !== undefined) {
        statements.push({
            Sid: "DecryptSecretsWithStackKey",
            Effect: "Allow",
            Action: ["kms:Decrypt"],
            Resource: args.kmsKeyArn,
            Condition: { StringEquals: { "kms:ViaService": [pulumi.interpolate`secretsmanager.${region}.amazonaws.com`, pulumi.interpolate`ssm.${region}.amazonaws.com`] } },
        });
    }
    const policy = new aws.iam.RolePolicy(`${name}-execution`, { role: role.id, policy: policyJson(statements) }, { parent });
    return { role, policy };
}

/** Task role per role: S3 on the one bucket for api/worker/daemon, Bedrock for the daemon, ECS Exec when enabled. */
export function taskRole(scope: ClusterScope, role: DifyRole, execAudit: aws.cloudwatch.LogGroup): { role: aws.iam.Role; policies: pulumi.Resource[] } {
    const { args, name, parent } = scope;
    const s = args.settings;
    const { partition, region, accountId } = scope.ctx;
    const r = new aws.iam.Role(
        `${name}-${KEBAB[role]}-task`,
        { description: `Dify ${KEBAB[role]} task role (${args.namePrefix})`, assumeRolePolicy: ecsTasksTrust(scope) },
        { parent },
    );
    const statements: Statement[] = [];
    if (ROLE_SPECS[role].reaches.bucket) {
        // Dify HEADs the bucket at start (ListBucket) and reads, writes and deletes objects. Large uploads go up in
        // parts (boto3 and the daemon's AWS SDK switch to multipart above their threshold), and a failed one is
        // aborted, which needs its own permission; the bucket's lifecycle also cleans up what an abort missed.
        statements.push(
            { Sid: "ListFileBucket", Effect: "Allow", Action: ["s3:ListBucket"], Resource: args.bucket.arn },
            {
                Sid: "ReadWriteFileObjects",
                Effect: "Allow",
                Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                Resource: pulumi.interpolate`${args.bucket.arn}/*`,
            },
        );
        if (args.kmsKeyArn !== undefined) {
            statements.push({
                Sid: "UseStackKeyForBucketObjects",
                Effect: "Allow",
                Action: ["kms:Decrypt", "kms:GenerateDataKey"],
                Resource: args.kmsKeyArn,
                Condition: { StringEquals: { "kms:ViaService": pulumi.interpolate`s3.${region}.amazonaws.com` } },
            });
        }
    }
    // ECS mounts a shared file system with IAM authorization: the task role must be allowed the client actions, and
    // only through the role's own access points (the file system's own policy refuses any other way in).
    const mountStatement = (sid: string, fs: SharedFileSystem): Statement => ({
        Sid: sid,
        Effect: "Allow",
        Action: EFS_TASK_ACTIONS,
        Resource: fs.fileSystemArn,
        Condition: { StringEquals: { "elasticfilesystem:AccessPointArn": Object.values(fs.accessPoints).map((ap) => ap.arn) } },
    });
    if (role === "pluginDaemon" && args.pluginWorkspace) {
        statements.push(mountStatement("MountPluginWorkspace", args.pluginWorkspace));
    }
    if (role === "agentSandbox" && args.agentWorkspace) {
        statements.push(mountStatement("MountAgentWorkspace", args.agentWorkspace));
    }
    if (role === "pluginDaemon" && s.bedrockModelArns.length > 0) {
        // Model-provider plugins run inside the daemon, so the daemon's role is the one Bedrock sees.
        statements.push({
            Sid: "InvokeConfiguredBedrockModels",
            Effect: "Allow",
            Action: ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
            Resource: s.bedrockModelArns,
        });
    }
    if (role === "worker") {
        // The worker's scale-in protection sidecar (jobProtection.ts) sets its own task's protection through the ECS
        // agent, which acts with the task role: only tasks of this cluster.
        statements.push({
            Sid: "ProtectOwnTaskWhileJobsRun",
            Effect: "Allow",
            Action: ["ecs:GetTaskProtection", "ecs:UpdateTaskProtection"],
            Resource: pulumi.interpolate`arn:${partition}:ecs:${region}:${accountId}:task/${args.namePrefix}/*`,
        });
    }
    if (execEnabled(scope, role)) {
        statements.push(
            // The SSM message channels of ECS Exec have no resource-level permissions.
            {
                Sid: "EcsExecChannels",
                Effect: "Allow",
                Action: ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"],
                Resource: "*",
            },
            {
                Sid: "EcsExecFindAuditLogGroup",
                Effect: "Allow",
                Action: ["logs:DescribeLogGroups"],
                Resource: pulumi.interpolate`arn:${partition}:logs:${region}:${accountId}:log-group:*`,
            },
            {
                Sid: "EcsExecWriteAuditLog",
                Effect: "Allow",
                Action: ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                Resource: pulumi.interpolate`${execAudit.arn}:*`,
            },
        );
        if (args.kmsKeyArn !== undefined) {
            statements.push({ Sid: "EcsExecSessionKey", Effect: "Allow", Action: ["kms:Decrypt"], Resource: args.kmsKeyArn });
        }
    }
    const policies: pulumi.Resource[] = [];
    if (statements.length > 0) {
        policies.push(new aws.iam.RolePolicy(`${name}-${KEBAB[role]}-task`, { role: r.id, policy: policyJson(statements) }, { parent }));
    }
    return { role: r, policies };
}
