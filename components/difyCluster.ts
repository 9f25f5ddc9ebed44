import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ClusterSettings, DifyRole, ecrRegistry, EnvTarget, ScaledRole, SCALED_ROLES } from "../config/cluster";
import { awsContext, AwsContext } from "./awsContext";
import { CacheConnection, DatabaseConnection, EdgeAttachment, FileBucket, SecretRef } from "./contracts";
import {
    apiEnvironment,
    ContainerEnvironment,
    EnvironmentInputs,
    INNER_KEY_NAMES,
    InnerKeyName,
    INTERNAL,
    pluginDaemonEnvironment,
    sandboxEnvironment,
    ssrfProxyEnvironment,
    toEcs,
    webEnvironment,
    withExtras,
} from "./difyEnvironment";
import { logGroup, LogGroupSettings } from "./logGroup";
import { DEFAULT_MIGRATION_TIMEOUT_SECONDS, MigrationGate } from "./migrationGate";
import { SQUID_COMMAND, squidConf } from "./ssrfProxyConfig";

export interface DifyClusterArgs {
    /** Physical-name prefix (`dify-prd`): cluster, services, task families and log groups start with it. */
    namePrefix: string;
    vpcId: pulumi.Input<string>;
    /** IPv4 CIDR of the VPC; the SSRF proxy denies it as a destination and accepts clients only from it. */
    vpcCidr: pulumi.Input<string>;
    /** Private subnets (with NAT egress) the tasks run in, one per AZ; services spread over them. */
    privateSubnetIds: pulumi.Input<string[]>;
    /** The stack's customer-managed KMS key: encrypts the inner-keys secret and ECS Exec sessions. Undefined: AWS-managed keys. */
    kmsKeyArn?: pulumi.Input<string>;
    /** Retention and key of every log group (one per role, the migration task and ECS Exec audit). */
    logs: LogGroupSettings;
    /** The ALB: target groups the web, api and plugin-daemon services register in, and its security group. */
    edge: EdgeAttachment;
    database: DatabaseConnection;
    cache: CacheConnection;
    bucket: FileBucket;
    /** Images, sizes, task counts, Spot, ECS Exec, Bedrock, SMTP and extra env/secrets (config/cluster.ts). */
    settings: ClusterSettings;
}

/** Cloud Map / ECS names use hyphens. */
const KEBAB: Record<DifyRole, string> = {
    web: "web",
    api: "api",
    worker: "worker",
    beat: "beat",
    pluginDaemon: "plugin-daemon",
    sandbox: "sandbox",
    ssrfProxy: "ssrf-proxy",
};

/** The roles on the ALB, their container port and target group. */
const LB_ROLES = { web: INTERNAL.web.port, api: INTERNAL.api.port, pluginDaemon: INTERNAL.pluginDaemon.port } as const;
type LbRole = keyof typeof LB_ROLES;

/** Roles other roles call through Service Connect (they publish a name); the rest are clients only. */
const SERVER_ROLES = { api: INTERNAL.api, pluginDaemon: INTERNAL.pluginDaemon, sandbox: INTERNAL.sandbox, ssrfProxy: INTERNAL.ssrfProxy } as const;

/** Roles that talk to Aurora and ElastiCache (beat reads schedules from the database and enqueues to Redis). */
const DATA_ROLES: DifyRole[] = ["api", "worker", "beat", "pluginDaemon"];
/** Roles whose new tasks wait for the migration of their Dify image (web ships with the same tag as the api). */
const GATED_ROLES: DifyRole[] = ["web", "api", "worker", "beat"];
/** Roles whose task role may use the bucket. */
const S3_ROLES: DifyRole[] = ["api", "worker", "pluginDaemon"];

/**
 * Seconds the ALB health checks are ignored after a task starts, sized to the real start-up: the api imports and
 * initializes every extension (~1-2 min); the plugin daemon re-creates each installed plugin's Python environment on a
 * fresh task (PYTHON_ENV_INIT_TIMEOUT is 120 s per plugin).
 */
const LB_GRACE_SECONDS: Record<LbRole, number> = { web: 120, api: 300, pluginDaemon: 600 };

/**
 * Seconds ECS waits after SIGTERM before SIGKILL (Fargate allows at most 120). The worker needs Celery's warm shutdown
 * to finish running jobs; the api lets SSE answers drain after the ALB deregistration delay.
 */
const STOP_TIMEOUT: Record<DifyRole, number> = { web: 30, api: 120, worker: 120, beat: 30, pluginDaemon: 60, sandbox: 30, ssrfProxy: 30 };

/** An ECS container health check (container-definition JSON; seconds). */
interface HealthCheck {
    command: string[];
    interval: number;
    timeout: number;
    retries: number;
    startPeriod: number;
}
const hc = (command: string, startPeriod: number, interval = 30, retries = 3): HealthCheck => ({
    command: ["CMD-SHELL", command],
    interval,
    timeout: 5,
    retries,
    // ECS caps startPeriod at 300 s; the ALB grace period covers longer starts.
    startPeriod: Math.min(startPeriod, 300),
});

/**
 * Container health checks on each image's real endpoint (dify-on-ecs.md §5). worker and beat have none: their only
 * probe is `celery inspect ping`, which Dify ships disabled because it is expensive and broadcasts to every worker,
 * so it cannot tell whether this task is alive; ECS replaces them when the Celery process exits.
 */
const HEALTH_CHECKS: Partial<Record<DifyRole, HealthCheck>> = {
    // dify-web has no health route and `/` answers 307 to the app; node is the one tool the image surely has.
    web: hc(
        `node -e "require('http').get('http://127.0.0.1:${INTERNAL.web.port}/',r=>process.exit(r.statusCode<400?0:1)).on('error',()=>process.exit(1))"`,
        60,
    ),
    api: hc(`curl -fsS http://127.0.0.1:${INTERNAL.api.port}/health || exit 1`, 180, 15, 5),
    pluginDaemon: hc(`curl -fsS http://127.0.0.1:${INTERNAL.pluginDaemon.port}/health/check || exit 1`, 300, 30, 5),
    sandbox: hc(`curl -fsS http://127.0.0.1:${INTERNAL.sandbox.port}/health || exit 1`, 60),
    // squid has no HTTP health endpoint: check that it accepts connections (bash's /dev/tcp; the image is Ubuntu).
    ssrfProxy: hc(`bash -c '</dev/tcp/127.0.0.1/${INTERNAL.ssrfProxy.port}' || exit 1`, 30),
};

/** Target tracking thresholds and cooldowns (seed 003): scale out fast, scale in slowly. */
export const SCALING = { cpuPercent: 70, memoryPercent: 80, scaleOutCooldown: 60, scaleInCooldown: 300 } as const;

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

interface SgRef {
    key: string;
    label: string;
    id: pulumi.Input<string>;
}

/**
 * Dify on ECS Fargate: one cluster (Container Insights, ECS Exec with audit logs, FARGATE and FARGATE_SPOT), one
 * service per role reaching the others by Service Connect name, the inner keys in Secrets Manager, least-privilege
 * roles and security groups, autoscaling, and a migration gate the web, api, worker and beat services wait for.
 */
export class DifyCluster extends pulumi.ComponentResource {
    public readonly clusterName: pulumi.Output<string>;
    public readonly clusterArn: pulumi.Output<string>;
    /** ECS service name per role. */
    public readonly serviceNames: Record<DifyRole, pulumi.Output<string>>;
    /** Log group name per role, the migration task and the ECS Exec audit log. */
    public readonly logGroupNames: Record<DifyRole | "migration" | "execAudit", pulumi.Output<string>>;
    /** Security group per role (the migration task uses the api's). */
    public readonly securityGroupIds: Record<DifyRole, pulumi.Output<string>>;
    public readonly taskRoleArns: Record<DifyRole, pulumi.Output<string>>;
    public readonly executionRoleArn: pulumi.Output<string>;
    /** The Cloud Map namespace services find each other in. */
    public readonly serviceConnectNamespaceArn: pulumi.Output<string>;
    /** The Secrets Manager secret holding SECRET_KEY, PLUGIN_DAEMON_KEY, INNER_API_KEY_FOR_PLUGIN, CODE_EXECUTION_API_KEY. */
    public readonly innerKeysSecretArn: pulumi.Output<string>;
    public readonly migrationTaskDefinitionArn: pulumi.Output<string>;
    /** The ECS task of the last migration run (changes once per api image). */
    public readonly migrationTaskArn: pulumi.Output<string>;
    /** Shell command that opens a shell in a running api task (or says how to enable ECS Exec). */
    public readonly ecsExecCommand: pulumi.Output<string>;
    /** Image references per role as deployed. */
    public readonly images: Record<DifyRole, string>;

    private readonly ctx: AwsContext;
    private readonly name: string;

    constructor(name: string, args: DifyClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dify-aws:app:DifyCluster", name, {}, opts);
        this.name = name;
        this.ctx = awsContext(this);
        const s = args.settings;
        const prefix = args.namePrefix;
        const parent = { parent: this };

        this.images = imageReferences(s);

        // --- logs -----------------------------------------------------------------------------------------------
        const logGroups = {} as Record<DifyRole | "migration" | "execAudit", aws.cloudwatch.LogGroup>;
        for (const role of [...Object.keys(KEBAB), "migration"] as (DifyRole | "migration")[]) {
            const kebab = role === "migration" ? "migration" : KEBAB[role];
            logGroups[role] = logGroup(`${name}-${kebab}`, `/ecs/${prefix}/${kebab}`, args.logs, parent);
        }
        logGroups.execAudit = logGroup(`${name}-exec-audit`, `/ecs/${prefix}/exec-audit`, args.logs, parent);
        this.logGroupNames = mapValues(logGroups, (lg) => lg.name);

        // --- cluster ------------------------------------------------------------------------------------------------
        const namespace = new aws.servicediscovery.HttpNamespace(
            `${name}-namespace`,
            { name: `${prefix}.internal`, description: `Service Connect names of ${prefix}'s Dify roles` },
            parent,
        );
        this.serviceConnectNamespaceArn = namespace.arn;
        const cluster = new aws.ecs.Cluster(
            `${name}-cluster`,
            {
                name: prefix,
                settings: [{ name: "containerInsights", value: "enabled" }],
                serviceConnectDefaults: { namespace: namespace.arn },
                configuration: {
                    executeCommandConfiguration: {
                        kmsKeyId: args.kmsKeyArn,
                        // Every ECS Exec session is recorded in CloudWatch, encrypted when the stack has its own key.
                        logging: "OVERRIDE",
                        logConfiguration: {
                            cloudWatchLogGroupName: logGroups.execAudit.name,
                            cloudWatchEncryptionEnabled: args.kmsKeyArn !== undefined,
                        },
                    },
                },
            },
            parent,
        );
        const capacityProviders = new aws.ecs.ClusterCapacityProviders(
            `${name}-capacity`,
            {
                clusterName: cluster.name,
                capacityProviders: ["FARGATE", "FARGATE_SPOT"],
                defaultCapacityProviderStrategies: [{ capacityProvider: "FARGATE", weight: 1, base: 0 }],
            },
            parent,
        );
        this.clusterName = cluster.name;
        this.clusterArn = cluster.arn;

        // --- secrets ------------------------------------------------------------------------------------------------
        const inner = this.innerKeys(prefix, args.kmsKeyArn);
        this.innerKeysSecretArn = inner.secret.arn;
        const smtpPasswordRef = this.smtpPassword(prefix, s, args.kmsKeyArn);
        const secretVersions: pulumi.Resource[] = [inner.version, ...(smtpPasswordRef?.version ? [smtpPasswordRef.version] : [])];

        // --- network ------------------------------------------------------------------------------------------------
        const sgs = {} as Record<DifyRole, aws.ec2.SecurityGroup>;
        for (const role of Object.keys(KEBAB) as DifyRole[]) {
            sgs[role] = new aws.ec2.SecurityGroup(
                `${name}-${KEBAB[role]}`,
                {
                    vpcId: args.vpcId,
                    description: `Dify ${KEBAB[role]} tasks: only the callers of this role may connect`,
                    tags: { Name: `${prefix}-${KEBAB[role]}` },
                },
                parent,
            );
        }
        this.securityGroupIds = mapValues(sgs, (sg) => sg.id);
        const networkRules = this.securityGroupGraph(args, sgs);

        // --- IAM ------------------------------------------------------------------------------------------------------
        const secretArns = pulumi
            .all([
                args.database.username.secretArn,
                args.database.password.secretArn,
                args.cache.authToken.secretArn,
                args.cache.celeryBrokerUrl.secretArn,
                inner.secret.arn,
                ...(smtpPasswordRef ? [smtpPasswordRef.secretArn] : []),
                ...Object.values(s.extraSecrets)
                    .flat()
                    .filter((x) => x!.kind === "secretsmanager")
                    .map((x) => x!.resourceArn),
            ])
            .apply((arns) => [...new Set(arns)].sort());
        const ssmParameterArns = [...new Set(Object.values(s.extraSecrets).flat().filter((x) => x!.kind === "ssm").map((x) => x!.resourceArn))].sort();
        const executionRole = this.executionRole(prefix, args, secretArns, ssmParameterArns, Object.values(logGroups));
        this.executionRoleArn = executionRole.role.arn;
        const taskRoles = {} as Record<DifyRole, aws.iam.Role>;
        const taskPolicies: pulumi.Resource[] = [];
        for (const role of Object.keys(KEBAB) as DifyRole[]) {
            const { role: r, policies } = this.taskRole(role, args, logGroups.execAudit);
            taskRoles[role] = r;
            taskPolicies.push(...policies);
        }
        this.taskRoleArns = mapValues(taskRoles, (r) => r.arn);

        // --- task definitions ---------------------------------------------------------------------------------------
        const envInputs: EnvironmentInputs = {
            publicUrl: args.edge.publicUrl,
            region: this.ctx.region,
            database: args.database,
            cache: args.cache,
            bucket: args.bucket,
            innerKeys: inner.refs,
            smtp: s.smtp && smtpPasswordRef ? { settings: s.smtp, password: smtpPasswordRef.valueFrom } : undefined,
        };
        const extras = (...targets: EnvTarget[]) => ({
            env: Object.assign({}, ...targets.map((t) => s.extraEnvironment[t] ?? {})) as Record<string, string>,
            secrets: targets.flatMap((t) => s.extraSecrets[t] ?? []),
        });
        const envFor = (role: DifyRole | "migration"): ContainerEnvironment => {
            const base = (() => {
                switch (role) {
                    case "web":
                        return webEnvironment(envInputs);
                    case "api":
                    case "worker":
                    case "beat":
                    case "migration":
                        return apiEnvironment(role, envInputs);
                    case "pluginDaemon":
                        return pluginDaemonEnvironment(envInputs);
                    case "sandbox":
                        return sandboxEnvironment(envInputs);
                    case "ssrfProxy":
                        return ssrfProxyEnvironment(squidConf(args.vpcCidr));
                }
            })();
            // The migration task runs the api application: it takes the api's extras, then its own.
            const x = role === "migration" ? extras("api", "migration") : extras(role);
            return withExtras(base, x.env, x.secrets);
        };

        const taskDefs = {} as Record<DifyRole | "migration", aws.ecs.TaskDefinition>;
        for (const role of [...Object.keys(KEBAB), "migration"] as (DifyRole | "migration")[]) {
            const sizeRole: DifyRole = role === "migration" ? "api" : role;
            const size = sizeRole === "beat" ? s.beat : s.roles[sizeRole as ScaledRole];
            taskDefs[role] = this.taskDefinition(role, {
                prefix,
                image: this.images[sizeRole],
                env: envFor(role),
                cpu: size.cpu,
                memory: size.memory,
                logGroup: logGroups[role],
                executionRoleArn: executionRole.role.arn,
                // The migration task runs with the api's identity (same application, same bucket access).
                taskRoleArn: taskRoles[sizeRole].arn,
            });
        }
        this.migrationTaskDefinitionArn = taskDefs.migration.arn;

        // --- migration gate ---------------------------------------------------------------------------------------
        const apiDataRules = networkRules.dataPaths.api;
        const gate = new MigrationGate(
            `${name}-migration`,
            {
                clusterArn: cluster.arn,
                taskDefinitionArn: taskDefs.migration.arn,
                containerName: "migration",
                subnetIds: args.privateSubnetIds,
                securityGroupIds: [sgs.api.id],
                image: this.images.api,
                region: this.ctx.region,
                timeoutSeconds: DEFAULT_MIGRATION_TIMEOUT_SECONDS,
            },
            { parent: this, dependsOn: [capacityProviders, executionRole.policy, ...taskPolicies, ...secretVersions, ...apiDataRules, ...networkRules.internet.api] },
        );
        this.migrationTaskArn = gate.taskArn;

        // --- services ---------------------------------------------------------------------------------------------
        const services = {} as Record<DifyRole, aws.ecs.Service>;
        for (const role of Object.keys(KEBAB) as DifyRole[]) {
            // No new task of the Dify version may start before its migration succeeded: api, worker and beat run the
            // new schema's code, and web (same Dify tag) must not roll to a UI whose api stays on the old version when
            // the migration fails. The plugin daemon, sandbox and proxy are versioned apart and never touch the schema.
            const gated = GATED_ROLES.includes(role);
            services[role] = this.service(role, {
                prefix,
                args,
                clusterArn: cluster.arn,
                namespaceArn: namespace.arn,
                taskDefinitionArn: taskDefs[role].arn,
                securityGroupId: sgs[role].id,
                dependsOn: [capacityProviders, executionRole.policy, ...taskPolicies, ...secretVersions, ...networkRules.all, ...(gated ? [gate] : [])],
            });
        }
        this.serviceNames = mapValues(services, (svc) => svc.name);

        for (const role of SCALED_ROLES) {
            this.autoscaling(role, s, cluster.name, services[role], args.edge);
        }

        this.ecsExecCommand = s.ecsExecEnabled
            ? pulumi.interpolate`aws ecs execute-command --region ${this.ctx.region} --cluster ${cluster.name} --container api --interactive --command /bin/bash --task "$(aws ecs list-tasks --region ${this.ctx.region} --cluster ${cluster.name} --service-name ${services.api.name} --desired-status RUNNING --query 'taskArns[0]' --output text)"`
            : pulumi.output("ECS Exec is disabled on this stack (set dify-aws:ecsExecEnabled=true)");

        this.registerOutputs({
            clusterName: this.clusterName,
            clusterArn: this.clusterArn,
            serviceNames: this.serviceNames,
            logGroupNames: this.logGroupNames,
            securityGroupIds: this.securityGroupIds,
            taskRoleArns: this.taskRoleArns,
            executionRoleArn: this.executionRoleArn,
            serviceConnectNamespaceArn: this.serviceConnectNamespaceArn,
            innerKeysSecretArn: this.innerKeysSecretArn,
            migrationTaskDefinitionArn: this.migrationTaskDefinitionArn,
            migrationTaskArn: this.migrationTaskArn,
            ecsExecCommand: this.ecsExecCommand,
        });
    }

    /**
     * Dify's inner keys, generated once per stack and kept in one Secrets Manager secret (a JSON key each). 64
     * alphanumerics are ~381 bits, more than `openssl rand -base64 42` (336 bits) that Dify documents for SECRET_KEY,
     * and need no escaping anywhere. Four generators, so no two keys are equal.
     */
    private innerKeys(prefix: string, kmsKeyArn: pulumi.Input<string> | undefined) {
        const values = {} as Record<InnerKeyName, pulumi.Output<string>>;
        for (const key of INNER_KEY_NAMES) {
            values[key] = new random.RandomPassword(`${this.name}-${key.toLowerCase().replace(/_/g, "-")}`, { length: 64, special: false }, { parent: this }).result;
        }
        const secret = new aws.secretsmanager.Secret(
            `${this.name}-inner-keys`,
            {
                namePrefix: `${prefix}/dify-inner-keys-`,
                description: "Dify SECRET_KEY, PLUGIN_DAEMON_KEY (= daemon SERVER_KEY), INNER_API_KEY_FOR_PLUGIN (= daemon DIFY_INNER_API_KEY), CODE_EXECUTION_API_KEY (= sandbox API_KEY)",
                kmsKeyId: kmsKeyArn,
            },
            { parent: this },
        );
        const version = new aws.secretsmanager.SecretVersion(
            `${this.name}-inner-keys`,
            { secretId: secret.id, secretString: pulumi.secret(pulumi.jsonStringify(values)) },
            { parent: this },
        );
        const refs = Object.fromEntries(INNER_KEY_NAMES.map((k) => [k, { secretArn: secret.arn, jsonKey: k }])) as Record<InnerKeyName, SecretRef>;
        return { secret, version, refs };
    }

    /** The SMTP password reference: the user's secret ARN, or a secret this component stores from the stack secret. */
    private smtpPassword(prefix: string, s: ClusterSettings, kmsKeyArn: pulumi.Input<string> | undefined) {
        if (!s.smtp) {
            return undefined;
        }
        const pw = s.smtp.password;
        if ("secretArn" in pw) {
            const base = pw.secretArn.replace(/:[^:]+::$/, "");
            return { secretArn: pulumi.output(base), valueFrom: pulumi.output(pw.secretArn), version: undefined };
        }
        const secret = new aws.secretsmanager.Secret(
            `${this.name}-smtp-password`,
            { namePrefix: `${prefix}/dify-smtp-password-`, description: "SMTP password for Dify mail (SMTP_PASSWORD)", kmsKeyId: kmsKeyArn },
            { parent: this },
        );
        const version = new aws.secretsmanager.SecretVersion(`${this.name}-smtp-password`, { secretId: secret.id, secretString: pw.value }, { parent: this });
        return { secretArn: secret.arn, valueFrom: secret.arn, version };
    }

    /**
     * Every allowed path is a pair of rules: ingress on the callee from the caller's group and egress on the caller to
     * the callee's group, each its own resource with a description.
     */
    private securityGroupGraph(args: DifyClusterArgs, sgs: Record<DifyRole, aws.ec2.SecurityGroup>) {
        const all: pulumi.Resource[] = [];
        const ref = (role: DifyRole): SgRef => ({ key: KEBAB[role], label: `Dify ${KEBAB[role]}`, id: sgs[role].id });
        const alb: SgRef = { key: "alb", label: "the ALB", id: args.edge.securityGroupId };
        const db: SgRef = { key: "db", label: "Aurora PostgreSQL", id: args.database.securityGroupId };
        const redis: SgRef = { key: "redis", label: "ElastiCache", id: args.cache.securityGroupId };
        const allow = (from: SgRef, to: SgRef, port: pulumi.Input<number>, why: string, manageEgress = true): pulumi.Resource[] => {
            const base = `${this.name}-${from.key}-to-${to.key}`;
            const description = `${from.label} to ${to.label}: ${why}`;
            const rules: pulumi.Resource[] = [
                new aws.vpc.SecurityGroupIngressRule(
                    `${base}-in`,
                    { securityGroupId: to.id, referencedSecurityGroupId: from.id, ipProtocol: "tcp", fromPort: port, toPort: port, description },
                    { parent: this },
                ),
            ];
            if (manageEgress) {
                rules.push(
                    new aws.vpc.SecurityGroupEgressRule(
                        `${base}-out`,
                        { securityGroupId: from.id, referencedSecurityGroupId: to.id, ipProtocol: "tcp", fromPort: port, toPort: port, description },
                        { parent: this },
                    ),
                );
            }
            all.push(...rules);
            return rules;
        };

        allow(alb, ref("web"), INTERNAL.web.port, "HTTP (everything but the api and /e/ paths)");
        allow(alb, ref("api"), INTERNAL.api.port, "HTTP (console, service and web-app APIs, files, triggers)");
        allow(alb, ref("pluginDaemon"), INTERNAL.pluginDaemon.port, "HTTP (plugin endpoints under /e/)");
        allow(ref("web"), ref("api"), INTERNAL.api.port, "server-side rendering (SERVER_CONSOLE_API_URL)");
        for (const caller of ["api", "worker"] as DifyRole[]) {
            allow(ref(caller), ref("pluginDaemon"), INTERNAL.pluginDaemon.port, "plugin invocations (PLUGIN_DAEMON_URL)");
            allow(ref(caller), ref("sandbox"), INTERNAL.sandbox.port, "code execution (CODE_EXECUTION_ENDPOINT)");
        }
        allow(ref("pluginDaemon"), ref("api"), INTERNAL.api.port, "inner API callbacks and file fetches (DIFY_INNER_API_URL)");
        for (const caller of ["api", "worker", "sandbox"] as DifyRole[]) {
            allow(ref(caller), ref("ssrfProxy"), INTERNAL.ssrfProxy.port, "user-driven HTTP through the SSRF proxy");
        }
        const dataPaths = {} as Record<DifyRole, pulumi.Resource[]>;
        for (const caller of DATA_ROLES) {
            dataPaths[caller] = [
                ...allow(ref(caller), db, args.database.port, "PostgreSQL (TLS)"),
                ...allow(ref(caller), redis, args.cache.port, "Redis (TLS)"),
            ];
        }

        // Outbound to the internet: image pulls, Secrets Manager and CloudWatch (through the endpoints or NAT), model
        // providers and the plugin marketplace (daemon), and for the proxy whatever users' workflows call on 80/443.
        const internet = {} as Record<DifyRole, pulumi.Resource[]>;
        const ecr = ecrRegistry(args.settings.images.registryPrefix);
        for (const role of Object.keys(KEBAB) as DifyRole[]) {
            if (role === "sandbox" && ecr) {
                internet[role] = this.sandboxEndpointEgress(args.vpcCidr, sgs[role].id);
                all.push(...internet[role]);
                continue;
            }
            // The sandbox runs users' code. Its HTTP clients go through the SSRF proxy, but code can open a socket
            // itself, and this rule (needed because Fargate pulls Docker Hub images through the task's ENI) lets it
            // reach any address on 443, the VPC and peered networks included. Pulling from an ECR registry in the
            // stack's region (imageRegistryPrefix: a pull-through cache) removes this rule; see sandboxEndpointEgress.
            const ports = role === "ssrfProxy" ? [80, 443] : [443];
            internet[role] = ports.map(
                (port) =>
                    new aws.vpc.SecurityGroupEgressRule(
                        `${this.name}-${KEBAB[role]}-to-internet-${port}`,
                        {
                            securityGroupId: sgs[role].id,
                            cidrIpv4: "0.0.0.0/0",
                            ipProtocol: "tcp",
                            fromPort: port,
                            toPort: port,
                            description:
                                role === "ssrfProxy"
                                    ? `Dify ssrf-proxy to the internet on ${port}: requests from workflows, tools and code (private ranges denied by squid)`
                                    : `Dify ${KEBAB[role]} to HTTPS: image pulls, AWS APIs${role === "pluginDaemon" ? ", model providers, marketplace, PyPI" : ""}`,
                        },
                        { parent: this },
                    ),
            );
            all.push(...internet[role]);
        }
        return { all, dataPaths, internet };
    }

    /**
     * The sandbox's only egress besides the SSRF proxy when images come from ECR: 443 to the VPC (the interface
     * endpoints: ecr.api and ecr.dkr for the pull, secretsmanager for its API key, logs) and to the S3 gateway
     * endpoint's prefix list, where ECR serves image layers from. User code cannot reach the internet on 443 directly;
     * it can reach in-VPC listeners on 443, which is why every endpoint and load balancer must keep its own policy.
     */
    private sandboxEndpointEgress(vpcCidr: pulumi.Input<string>, securityGroupId: pulumi.Input<string>): pulumi.Resource[] {
        const s3 = aws.ec2.getPrefixListOutput({ name: pulumi.interpolate`com.amazonaws.${this.ctx.region}.s3` }, { parent: this });
        const rule = (key: string, target: { cidrIpv4: pulumi.Input<string> } | { prefixListId: pulumi.Input<string> }, description: string) =>
            new aws.vpc.SecurityGroupEgressRule(
                `${this.name}-sandbox-to-${key}-443`,
                { securityGroupId, ipProtocol: "tcp", fromPort: 443, toPort: 443, description, ...target },
                { parent: this },
            );
        return [
            rule("vpc-endpoints", { cidrIpv4: vpcCidr }, "Dify sandbox to the VPC interface endpoints on 443: ECR, Secrets Manager, CloudWatch Logs"),
            rule("s3-endpoint", { prefixListId: s3.id }, "Dify sandbox to S3 through the gateway endpoint on 443: ECR image layers"),
        ];
    }

    /** Pulls images, writes logs, and reads exactly this stack's secrets (and decrypts them with the stack key). */
    private executionRole(
        prefix: string,
        args: DifyClusterArgs,
        secretArns: pulumi.Output<string[]>,
        ssmParameterArns: string[],
        logGroups: aws.cloudwatch.LogGroup[],
    ): { role: aws.iam.Role; policy: aws.iam.RolePolicy } {
        const { partition, region } = this.ctx;
        const role = new aws.iam.Role(
            `${this.name}-execution`,
            { description: `ECS task execution role of ${prefix}'s Dify tasks`, assumeRolePolicy: this.ecsTasksTrust() },
            { parent: this },
        );
        const statements: Statement[] = [];
        // ECR only when the images come from an ECR registry; from Docker Hub or another mirror the role needs none.
        const ecr = ecrRegistry(args.settings.images.registryPrefix);
        if (ecr) {
            const repositoryArn = (repo: string) => pulumi.interpolate`arn:${partition}:ecr:${ecr.region}:${ecr.account}:repository/${repo}`;
            // Under a path (a pull-through cache's prefix), every repository below it; at the registry root, exactly
            // the repositories of the images (repository = image reference without registry, tag or digest).
            const repos = ecr.path
                ? [repositoryArn(`${ecr.path}/*`)]
                : [...new Set(Object.values(this.images).map((image) => ecrRepositoryName(image, ecr.host)))].sort().map(repositoryArn);
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
        const policy = new aws.iam.RolePolicy(`${this.name}-execution`, { role: role.id, policy: policyJson(statements) }, { parent: this });
        return { role, policy };
    }

    /** Task role per role: S3 on the one bucket for api/worker/daemon, Bedrock for the daemon, ECS Exec when enabled. */
    private taskRole(role: DifyRole, args: DifyClusterArgs, execAudit: aws.cloudwatch.LogGroup): { role: aws.iam.Role; policies: pulumi.Resource[] } {
        const s = args.settings;
        const { partition, region, accountId } = this.ctx;
        const r = new aws.iam.Role(
            `${this.name}-${KEBAB[role]}-task`,
            { description: `Dify ${KEBAB[role]} task role (${args.namePrefix})`, assumeRolePolicy: this.ecsTasksTrust() },
            { parent: this },
        );
        const statements: Statement[] = [];
        if (S3_ROLES.includes(role)) {
            // Dify HEADs the bucket at start (ListBucket) and reads, writes and deletes objects; nothing else.
            statements.push(
                { Sid: "ListFileBucket", Effect: "Allow", Action: ["s3:ListBucket"], Resource: args.bucket.arn },
                {
                    Sid: "ReadWriteFileObjects",
                    Effect: "Allow",
                    Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
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
        if (role === "pluginDaemon" && s.bedrockModelArns.length > 0) {
            // Model-provider plugins run inside the daemon, so the daemon's role is the one Bedrock sees.
            statements.push({
                Sid: "InvokeConfiguredBedrockModels",
                Effect: "Allow",
                Action: ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                Resource: s.bedrockModelArns,
            });
        }
        if (s.ecsExecEnabled) {
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
            policies.push(new aws.iam.RolePolicy(`${this.name}-${KEBAB[role]}-task`, { role: r.id, policy: policyJson(statements) }, { parent: this }));
        }
        return { role: r, policies };
    }

    /** ECS tasks of this account only (confused-deputy guard). */
    private ecsTasksTrust(): pulumi.Output<string> {
        return pulumi.jsonStringify({
            Version: "2012-10-17",
            Statement: [
                {
                    Effect: "Allow",
                    Principal: { Service: "ecs-tasks.amazonaws.com" },
                    Action: "sts:AssumeRole",
                    Condition: {
                        StringEquals: { "aws:SourceAccount": this.ctx.accountId },
                        ArnLike: { "aws:SourceArn": pulumi.interpolate`arn:${this.ctx.partition}:ecs:${this.ctx.region}:${this.ctx.accountId}:*` },
                    },
                },
            ],
        });
    }

    private taskDefinition(
        role: DifyRole | "migration",
        t: {
            prefix: string;
            image: string;
            env: ContainerEnvironment;
            cpu: number;
            memory: number;
            logGroup: aws.cloudwatch.LogGroup;
            executionRoleArn: pulumi.Output<string>;
            taskRoleArn: pulumi.Output<string>;
        },
    ): aws.ecs.TaskDefinition {
        const kebab = role === "migration" ? "migration" : KEBAB[role];
        const { environment, secrets } = toEcs(t.env);
        const port = role === "migration" || role === "worker" || role === "beat" ? undefined : role === "web" ? INTERNAL.web.port : SERVER_ROLES[role as keyof typeof SERVER_ROLES].port;
        const healthCheck: HealthCheck | undefined = role === "migration" ? undefined : HEALTH_CHECKS[role];
        const container = pulumi.all([environment, secrets, t.logGroup.name, this.ctx.region]).apply(([env, sec, group, region]) => ({
            name: kebab,
            image: t.image,
            essential: true,
            environment: env,
            secrets: sec,
            ...(port !== undefined ? { portMappings: [{ name: kebab, containerPort: port, protocol: "tcp" }] } : {}),
            ...(healthCheck ? { healthCheck } : {}),
            ...(role === "ssrfProxy" ? { entryPoint: ["/bin/bash", "-c"], command: [SQUID_COMMAND] } : {}),
            stopTimeout: role === "migration" ? 30 : STOP_TIMEOUT[role],
            // An init process reaps the plugin daemon's and sandbox's children and is what ECS Exec attaches beside.
            linuxParameters: { initProcessEnabled: true },
            logConfiguration: {
                logDriver: "awslogs",
                options: { "awslogs-group": group, "awslogs-region": region, "awslogs-stream-prefix": kebab },
            },
        }));
        return new aws.ecs.TaskDefinition(
            `${this.name}-${kebab}`,
            {
                family: `${t.prefix}-${kebab}`,
                requiresCompatibilities: ["FARGATE"],
                networkMode: "awsvpc",
                cpu: String(t.cpu),
                memory: String(t.memory),
                runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
                executionRoleArn: t.executionRoleArn,
                taskRoleArn: t.taskRoleArn,
                containerDefinitions: pulumi.jsonStringify([container]),
            },
            { parent: this },
        );
    }

    private service(
        role: DifyRole,
        o: {
            prefix: string;
            args: DifyClusterArgs;
            clusterArn: pulumi.Output<string>;
            namespaceArn: pulumi.Output<string>;
            taskDefinitionArn: pulumi.Output<string>;
            securityGroupId: pulumi.Output<string>;
            dependsOn: pulumi.Resource[];
        },
    ): aws.ecs.Service {
        const s = o.args.settings;
        const kebab = KEBAB[role];
        const lbPort = (LB_ROLES as Record<string, number>)[role];
        const lbRole = lbPort !== undefined ? (role as LbRole) : undefined;
        const server = (SERVER_ROLES as Record<string, { dns: string; port: number }>)[role];
        const isBeat = role === "beat";
        const spot = s.spotRoles.includes(role);
        // web and api keep one on-demand task even when Spot is allowed, so an interruption never empties them.
        const onDemandBase = role === "web" || role === "api" ? 1 : 0;
        const capacityProviderStrategies = spot
            ? [
                  { capacityProvider: "FARGATE", base: onDemandBase, weight: 0 },
                  { capacityProvider: "FARGATE_SPOT", base: 0, weight: 1 },
              ]
            : [{ capacityProvider: "FARGATE", base: 0, weight: 1 }];
        const desiredCount = isBeat ? 1 : s.roles[role as ScaledRole].minTasks;
        return new aws.ecs.Service(
            `${this.name}-${kebab}`,
            {
                name: `${o.prefix}-${kebab}`,
                cluster: o.clusterArn,
                taskDefinition: o.taskDefinitionArn,
                desiredCount,
                capacityProviderStrategies,
                // The provider replaces a service whose capacity provider strategy changes unless this is true, and a
                // replacement of a service with a fixed name fails as a duplicate (or deletes the running service
                // first). With it, changing fargateSpotRoles is an in-place rolling deployment. It forces a new
                // deployment only when `pulumi up` updates the service anyway, never on an unchanged one.
                forceNewDeployment: true,
                platformVersion: "LATEST",
                networkConfiguration: { subnets: o.args.privateSubnetIds, securityGroups: [o.securityGroupId], assignPublicIp: false },
                // beat: stop the old task before the new one starts, so two beats never dispatch the same schedule.
                // Everything else: never drop below the running capacity, start the new tasks beside the old ones.
                deploymentMinimumHealthyPercent: isBeat ? 0 : 100,
                deploymentMaximumPercent: isBeat ? 100 : 200,
                deploymentCircuitBreaker: { enable: true, rollback: true },
                // Keeps tasks spread over the AZs after scaling or an AZ outage.
                availabilityZoneRebalancing: isBeat ? "DISABLED" : "ENABLED",
                // `pulumi up` fails (after the circuit breaker rolled back) instead of reporting a deployment that never became healthy.
                waitForSteadyState: true,
                enableExecuteCommand: s.ecsExecEnabled,
                propagateTags: "SERVICE",
                enableEcsManagedTags: true,
                ...(lbRole
                    ? {
                          healthCheckGracePeriodSeconds: LB_GRACE_SECONDS[lbRole],
                          loadBalancers: [
                              {
                                  // Carries the listener's dependency: tasks register only once its rules forward to the group.
                                  targetGroupArn: pulumi.all([o.args.edge.targetGroups[lbRole].arn, o.args.edge.listenerArn]).apply(([tg]) => tg),
                                  containerName: kebab,
                                  containerPort: lbPort,
                              },
                          ],
                      }
                    : {}),
                serviceConnectConfiguration: {
                    enabled: true,
                    namespace: o.namespaceArn,
                    services: server
                        ? [
                              {
                                  portName: kebab,
                                  discoveryName: server.dns,
                                  clientAlias: [{ port: server.port, dnsName: server.dns }],
                                  // TCP mode (no appProtocol): no 15 s per-request timeout on streamed plugin/LLM calls;
                                  // an idle connection lives an hour, like nginx's proxy_read_timeout in compose.
                                  timeout: { idleTimeoutSeconds: 3600 },
                              },
                          ]
                        : undefined,
                },
                tags: { "dify-aws:role": kebab },
            },
            // Autoscaling owns the desired count once the service exists.
            { parent: this, dependsOn: o.dependsOn, ignoreChanges: isBeat ? [] : ["desiredCount"] },
        );
    }

    /** Target tracking on CPU and memory for every scaled role, and on ALB requests per target for web and api. */
    private autoscaling(role: ScaledRole, s: ClusterSettings, clusterName: pulumi.Output<string>, service: aws.ecs.Service, edge: EdgeAttachment): void {
        const kebab = KEBAB[role];
        const target = new aws.appautoscaling.Target(
            `${this.name}-${kebab}`,
            {
                serviceNamespace: "ecs",
                scalableDimension: "ecs:service:DesiredCount",
                resourceId: pulumi.interpolate`service/${clusterName}/${service.name}`,
                minCapacity: s.roles[role].minTasks,
                maxCapacity: s.roles[role].maxTasks,
            },
            { parent: this },
        );
        const policy = (metric: string, value: number, resourceLabel?: pulumi.Input<string>) =>
            new aws.appautoscaling.Policy(
                `${this.name}-${kebab}-${metric.replace(/^(ECSServiceAverage|ALB)/, "").toLowerCase()}`,
                {
                    policyType: "TargetTrackingScaling",
                    serviceNamespace: target.serviceNamespace,
                    scalableDimension: target.scalableDimension,
                    resourceId: target.resourceId,
                    targetTrackingScalingPolicyConfiguration: {
                        predefinedMetricSpecification: { predefinedMetricType: metric, resourceLabel },
                        targetValue: value,
                        scaleOutCooldown: SCALING.scaleOutCooldown,
                        scaleInCooldown: SCALING.scaleInCooldown,
                    },
                },
                { parent: this },
            );
        policy("ECSServiceAverageCPUUtilization", SCALING.cpuPercent);
        policy("ECSServiceAverageMemoryUtilization", SCALING.memoryPercent);
        if (role === "web" || role === "api") {
            const tg = edge.targetGroups[role];
            policy("ALBRequestCountPerTarget", s.albRequestsPerTarget, pulumi.interpolate`${edge.loadBalancerArnSuffix}/${tg.arnSuffix}`);
        }
    }
}

/** Image references, with the optional registry prefix (pull-through cache or mirror). */
export function imageReferences(s: ClusterSettings): Record<DifyRole, string> {
    const ref = (image: string) => (s.images.registryPrefix ? `${s.images.registryPrefix}/${image}` : image);
    const api = ref(`langgenius/dify-api:${s.images.difyTag}`);
    return {
        web: ref(`langgenius/dify-web:${s.images.difyTag}`),
        api,
        worker: api,
        beat: api,
        pluginDaemon: ref(`langgenius/dify-plugin-daemon:${s.images.pluginDaemonTag}`),
        sandbox: ref(`langgenius/dify-sandbox:${s.images.sandboxTag}`),
        ssrfProxy: ref(s.images.ssrfProxyImage),
    };
}

/** The ECR repository an image reference on `host` names: without the registry, the tag and the digest. */
function ecrRepositoryName(image: string, host: string): string {
    return image.slice(host.length + 1).replace(/@.*$/, "").replace(/:[^/]*$/, "");
}

function policyJson(statements: Statement[]): pulumi.Output<string> {
    return pulumi.jsonStringify({ Version: "2012-10-17", Statement: statements });
}

function mapValues<K extends string, A, B>(rec: Record<K, A>, f: (a: A) => B): Record<K, B> {
    return Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, f(v as A)])) as Record<K, B>;
}
