/**
 * DifyCluster: Dify on ECS Fargate. This file reads as the outline; each concern lives beside it:
 * - context.ts: the args, the scope every part is built with, role names;
 * - roles.ts: who calls whom, ports, health checks, grace and stop times, scaling targets;
 * - secrets.ts: the inner keys and the SMTP password;
 * - network.ts: one security group per role and every allowed path;
 * - iam.ts: the execution role and the task roles;
 * - images.ts: where images come from;
 * - tasks.ts: task definitions; services.ts: services and autoscaling.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DifyRole, EnvTarget, PROGRESSIVE_ROLES, SCALED_ROLES, ScaledRole, SINGLE_ROLES, SingleRole } from "../../config/roles";
import { awsContext } from "../awsContext";
import {
    AGENT_PROXY_PASSAGES,
    AGENT_SANDBOX_PATHS,
    agentBackendEnvironment,
    agentSandboxEnvironment,
    apiEnvironment,
    ContainerEnvironment,
    EnvironmentInputs,
    PLUGIN_WORKING_PATH,
    pluginDaemonEnvironment,
    sandboxEnvironment,
    ssrfProxyEnvironment,
    webEnvironment,
    withExtras,
} from "../difyEnvironment";
import { logGroup } from "../logGroup";
import {
    DEFAULT_MIGRATION_TIMEOUT_SECONDS,
    difyMigrationCommand,
    difyMigrationExitCodes,
    MigrationGate,
    migrationSessionCleanupCommand,
    migrationSessionsSql,
    PLUGIN_DAEMON_COMMANDS,
    PreMigrationSnapshot,
} from "../migrationGate";
import { squidConf, SQUID_COMMAND } from "../ssrfProxyConfig";
import { ClusterScope, DifyClusterArgs, KEBAB, mapDefined } from "./context";
import { executionRole, taskRole } from "./iam";
import { imagePlan } from "./images";
import { roleSecurityGroups, securityGroupGraph } from "./network";
import { ROLE_SPECS, serversOf, serviceCreationOrder, STARTS_WITHOUT_TASKS } from "./roles";
import { initPassword, innerKeys, smtpPassword } from "./secrets";
import { autoscaling, service, serviceTimeoutMinutes, singleTaskSchedule } from "./services";
import { secretValueFrom, TargetGroupRef } from "../contracts";
import { RolloutCheck } from "../rolloutCheck";
import { deploymentAlarmIds } from "../alarms/deployments";
import { loadBalancerInfrastructureRole } from "./progressive";
import { apiConcurrencySidecar } from "./apiConcurrency";
import { jobProtectionSidecar, protectionMinutes } from "./jobProtection";
import { queueMetricsSidecar } from "./queueMetrics";
import type { Sidecar } from "./sidecars";
import { isOneOff, ONE_OFF_RUNS_AS, ONE_OFF_TASKS, OneOffTask, SharedMount, taskDefinition } from "./tasks";

export type { DifyClusterArgs } from "./context";
export { UNSCOPED_ACTIONS } from "./iam";
export { imageReferences } from "./images";
export { SCALING } from "./roles";

/**
 * Dify on ECS Fargate: one cluster (Container Insights, ECS Exec with audit logs, FARGATE and FARGATE_SPOT), one
 * service per role reaching the others by Service Connect name, the inner keys in Secrets Manager, least-privilege
 * roles and security groups, autoscaling, and a migration gate the web, api, worker and beat services wait for.
 */
export class DifyCluster extends pulumi.ComponentResource {
    public readonly clusterName: pulumi.Output<string>;
    public readonly clusterArn: pulumi.Output<string>;
    /** ECS service name per running role (a role of a Dify feature that is off has none). */
    public readonly serviceNames: Partial<Record<DifyRole, pulumi.Output<string>>>;
    /** Log group name per running role, the migration task and the ECS Exec audit log. */
    public readonly logGroupNames: Partial<Record<DifyRole | "migration" | "execAudit", pulumi.Output<string>>>;
    /** Security group per running role (the migration task uses the api's). */
    public readonly securityGroupIds: Partial<Record<DifyRole, pulumi.Output<string>>>;
    public readonly taskRoleArns: Partial<Record<DifyRole, pulumi.Output<string>>>;
    public readonly executionRoleArn: pulumi.Output<string>;
    /** The Cloud Map namespace services find each other in. */
    public readonly serviceConnectNamespaceArn: pulumi.Output<string>;
    /** The Secrets Manager secret holding SECRET_KEY, PLUGIN_DAEMON_KEY, INNER_API_KEY_FOR_PLUGIN, CODE_EXECUTION_API_KEY. */
    public readonly innerKeysSecretArn: pulumi.Output<string>;
    /** The Secrets Manager secret holding INIT_PASSWORD, which Dify's `/install` asks for before the admin account exists. */
    public readonly initPasswordSecretArn: pulumi.Output<string>;
    public readonly migrationTaskDefinitionArn: pulumi.Output<string>;
    /** The ECS task of the last migration run (changes once per api image). */
    public readonly migrationTaskArn: pulumi.Output<string>;
    /** Shell command that opens a shell in a running api task (or says how to enable ECS Exec). */
    public readonly ecsExecCommand: pulumi.Output<string>;
    /** Image references per role as deployed. */
    public readonly images: Record<DifyRole, pulumi.Output<string>>;
    /** The roles that run. */
    public readonly roles: DifyRole[];

    constructor(name: string, args: DifyClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dify-aws:app:DifyCluster", name, {}, opts);
        const s = args.settings;
        const scope: ClusterScope = { name, parent: this, ctx: awsContext(this), args, roles: s.enabledRoles };
        const roles = scope.roles;
        this.roles = roles;
        if (roles.includes("agentSandbox") && !args.agentWorkspace) {
            throw new Error("DifyCluster: Agent v2 runs the agent sandbox, whose homes and workspaces need args.agentWorkspace");
        }
        const prefix = args.namePrefix;
        const parent = { parent: this };

        const images = imagePlan(scope);
        this.images = images.images;
        if (images.anonymous) {
            pulumi.log.warn(
                `${prefix}: images are pulled from Docker Hub anonymously. Docker Hub rate-limits anonymous pulls per IP and every task pulls through this stack's NAT IPs, so a rollout or a crash loop can stall on "toomanyrequests". Set dify-aws:dockerHubCredentialsSecretArn (a Docker Hub login), or dify-aws:dockerHubPullThroughCache with it (an ECR pull-through cache); see the runbook.`,
                this,
            );
        }

        // --- logs -----------------------------------------------------------------------------------------------
        const logGroups: Partial<Record<DifyRole | OneOffTask | "execAudit", aws.cloudwatch.LogGroup>> = {};
        for (const role of [...roles, ...ONE_OFF_TASKS] as (DifyRole | OneOffTask)[]) {
            const kebab = isOneOff(role) ? role : KEBAB[role];
            logGroups[role] = logGroup(`${name}-${kebab}`, `/ecs/${prefix}/${kebab}`, args.logs, parent);
        }
        const execAudit = logGroup(`${name}-exec-audit`, `/ecs/${prefix}/exec-audit`, args.logs, parent);
        logGroups.execAudit = execAudit;
        this.logGroupNames = mapDefined(logGroups, (lg) => lg.name);

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
                settings: [{ name: "containerInsights", value: s.containerInsights }],
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
        // Every secret ARN below (ManagedData's too) resolves only once the secret's value is stored, so whatever
        // starts a task that reads one (a service, the migration gate) is created after the value exists.
        const inner = innerKeys(scope);
        this.innerKeysSecretArn = inner.secretArn;
        const smtpPasswordRef = smtpPassword(scope);
        const init = initPassword(scope);
        this.initPasswordSecretArn = init.secretArn;

        // --- network ------------------------------------------------------------------------------------------------
        const sgs = roleSecurityGroups(scope);
        this.securityGroupIds = mapDefined(sgs, (sg) => sg.id);
        const networkRules = securityGroupGraph(scope, sgs, images.ecr !== undefined);

        // --- IAM ------------------------------------------------------------------------------------------------------
        const secretArns = pulumi
            .all([
                args.database.username.secretArn,
                args.database.password.secretArn,
                args.cache.authToken.secretArn,
                args.cache.celeryBrokerUrl.secretArn,
                ...(roles.includes("agentBackend") ? [args.cache.agentRedisUrl.secretArn] : []),
                inner.secretArn,
                init.secretArn,
                ...(smtpPasswordRef ? [smtpPasswordRef.secretArn] : []),
                ...(images.repositoryCredentialsSecretArn ? [images.repositoryCredentialsSecretArn] : []),
                ...Object.values(s.extraSecrets)
                    .flat()
                    .filter((x) => x!.kind === "secretsmanager")
                    .map((x) => x!.resourceArn),
            ])
            .apply((arns) => [...new Set(arns)].sort());
        const ssmParameterArns = [...new Set(Object.values(s.extraSecrets).flat().filter((x) => x!.kind === "ssm").map((x) => x!.resourceArn))].sort();
        const execution = executionRole(scope, images.ecr, secretArns, ssmParameterArns, Object.values(logGroups) as aws.cloudwatch.LogGroup[]);
        this.executionRoleArn = execution.role.arn;
        const taskRoles: Partial<Record<DifyRole, aws.iam.Role>> = {};
        const taskPolicies: pulumi.Resource[] = [];
        for (const role of roles) {
            const { role: r, policies } = taskRole(scope, role, execAudit);
            taskRoles[role] = r;
            taskPolicies.push(...policies);
        }
        this.taskRoleArns = mapDefined(taskRoles, (r) => r.arn);

        // --- task definitions ---------------------------------------------------------------------------------------
        const envInputs: EnvironmentInputs = {
            publicUrl: args.edge.publicUrl,
            region: scope.ctx.region,
            database: args.database,
            cache: args.cache,
            bucket: args.bucket,
            innerKeys: inner.refs,
            initPassword: init.ref,
            smtp: s.smtp && smtpPasswordRef ? { settings: s.smtp, password: smtpPasswordRef.valueFrom } : undefined,
            pipMirrorUrl: s.pipMirrorUrl,
            processes: s.processes,
            features: s.features,
            appMaxExecutionTimeSeconds: s.appMaxExecutionTimeSeconds,
            release: s.images.release,
        };
        const extras = (...targets: EnvTarget[]) => ({
            env: Object.assign({}, ...targets.map((t) => s.extraEnvironment[t] ?? {})) as Record<string, string>,
            secrets: targets.flatMap((t) => s.extraSecrets[t] ?? []),
        });
        const baseEnvironment: Record<DifyRole | "migration", () => ContainerEnvironment> = {
            web: () => webEnvironment(envInputs),
            api: () => apiEnvironment("api", envInputs),
            worker: () => apiEnvironment("worker", envInputs),
            beat: () => apiEnvironment("beat", envInputs),
            migration: () => apiEnvironment("migration", envInputs),
            apiWebsocket: () => apiEnvironment("websocket", envInputs),
            pluginDaemon: () => pluginDaemonEnvironment(envInputs),
            sandbox: () => sandboxEnvironment(envInputs),
            ssrfProxy: () => ssrfProxyEnvironment(squidConf(args.vpcCidr)),
            agentBackend: () => agentBackendEnvironment(envInputs),
            agentSandbox: () => agentSandboxEnvironment(envInputs),
            agentSsrfProxy: () => ssrfProxyEnvironment(squidConf(args.vpcCidr, AGENT_PROXY_PASSAGES)),
        };
        // The migration task runs the api application: it takes the api's extras, then its own.
        const envFor = (role: DifyRole | "migration"): ContainerEnvironment => {
            const x = role === "migration" ? extras("api", "migration") : extras(role);
            return withExtras(baseEnvironment[role](), x.env, x.secrets);
        };
        const mountsOf = (role: DifyRole): SharedMount[] => {
            if (role === "pluginDaemon" && args.pluginWorkspace) {
                return [{ fileSystem: args.pluginWorkspace, accessPoint: "workingPath", containerPath: PLUGIN_WORKING_PATH }];
            }
            if (role === "agentSandbox" && args.agentWorkspace) {
                return [
                    { fileSystem: args.agentWorkspace, accessPoint: "home", containerPath: AGENT_SANDBOX_PATHS.home },
                    { fileSystem: args.agentWorkspace, accessPoint: "workspace", containerPath: AGENT_SANDBOX_PATHS.workspace },
                ];
            }
            return [];
        };
        const sizeOf = (role: DifyRole) => ((SINGLE_ROLES as readonly DifyRole[]).includes(role) ? s.singles[role as SingleRole] : s.roles[role as ScaledRole]);

        // What each task runs instead of its image's own command: the squid proxies write their generated squid.conf
        // and run squid (ssrfProxyConfig.ts); Dify's migration is judged by what it prints; the plugin daemon serves
        // without migrating, and migrates once in its own one-off task (migrationGate/commands.ts).
        const commandOf = (role: DifyRole | OneOffTask): { entryPoint?: string[]; command?: string[] } => {
            if (role === "migration") {
                return difyMigrationCommand();
            }
            if (role === "plugin-daemon-migration") {
                return { command: [...PLUGIN_DAEMON_COMMANDS.migrate] };
            }
            if (role === "pluginDaemon") {
                return { command: [...PLUGIN_DAEMON_COMMANDS.serve] };
            }
            return ROLE_SPECS[role].image === "squid" ? { entryPoint: ["/bin/bash", "-c"], command: [SQUID_COMMAND] } : {};
        };
        // Sidecars: beat, the one task that always runs once, publishes the Celery queues (queueMetrics.ts); each api
        // task its connections in flight (apiConcurrency.ts); each worker task protects itself from scale-in while it
        // runs jobs (jobProtection.ts).
        const sidecarOf = (role: DifyRole): Sidecar | undefined =>
            role === "beat"
                ? queueMetricsSidecar(prefix, secretValueFrom(args.cache.celeryBrokerUrl))
                : role === "api"
                  ? apiConcurrencySidecar(ROLE_SPECS.api.port!, prefix)
                  : role === "worker"
                    ? jobProtectionSidecar(envFor("worker"), s.appMaxExecutionTimeSeconds)
                    : undefined;
        const taskDefs: Partial<Record<DifyRole | OneOffTask, aws.ecs.TaskDefinition>> = {};
        for (const role of [...roles, ...ONE_OFF_TASKS] as (DifyRole | OneOffTask)[]) {
            // A migration task runs with its application's image, size and identity (same code, same access).
            const as: DifyRole = isOneOff(role) ? ONE_OFF_RUNS_AS[role] : role;
            const size = sizeOf(as);
            taskDefs[role] = taskDefinition(scope, role, {
                image: this.images[as],
                cpuArchitecture: s.architectures[as],
                repositoryCredentialsSecretArn: images.repositoryCredentialsSecretArn,
                env: envFor(role === "plugin-daemon-migration" ? "pluginDaemon" : role),
                cpu: size.cpu,
                memory: size.memory,
                logGroup: logGroups[role]!,
                executionRoleArn: execution.role.arn,
                taskRoleArn: taskRoles[as]!.arn,
                mounts: isOneOff(role) ? [] : mountsOf(role),
                ...commandOf(role),
                sidecar: isOneOff(role) ? undefined : sidecarOf(role),
            });
        }
        this.migrationTaskDefinitionArn = taskDefs.migration!.arn;

        // --- migrations: a snapshot first, then Dify's schema, then the plugin daemon's -------------------------------
        const migrationDependencies = [capacityProviders, execution.policy, ...taskPolicies];
        const snapshot = s.migration.snapshot
            ? new PreMigrationSnapshot(
                  `${name}-pre-migration-snapshot`,
                  {
                      clusterIdentifier: args.database.clusterIdentifier,
                      // A new dify-api or plugin daemon tag is a new schema: snapshot before either migrates.
                      version: pulumi.interpolate`dify-${s.images.difyTag}-plugin-daemon-${s.images.pluginDaemonTag}`,
                      identifierPrefix: prefix,
                      keep: s.migration.snapshotsKept,
                      region: scope.ctx.region,
                  },
                  { parent: this, dependsOn: migrationDependencies },
              )
            : undefined;
        const gateNetwork = { clusterArn: cluster.arn, subnetIds: args.privateSubnetIds, region: scope.ctx.region, containerName: "migration" };
        const gate = new MigrationGate(
            `${name}-migration`,
            {
                ...gateNetwork,
                taskDefinitionArn: taskDefs.migration!.arn,
                securityGroupIds: [sgs.api.id],
                image: this.images.api,
                timeoutSeconds: DEFAULT_MIGRATION_TIMEOUT_SECONDS,
                exitCodes: difyMigrationExitCodes(prefix),
                cleanup: { command: migrationSessionCleanupCommand(), timeoutSeconds: 300 },
                manualCleanup: `connect to the database as the master user and run: ${migrationSessionsSql()}`,
            },
            {
                parent: this,
                dependsOn: [...migrationDependencies, ...(snapshot ? [snapshot] : []), ...(networkRules.dataPaths.api ?? []), ...(networkRules.internet.api ?? [])],
            },
        );
        this.migrationTaskArn = gate.taskArn;
        // The daemon migrates its own database (dify_plugin) with GORM AutoMigrate: once per daemon image, after Dify's
        // (both before any new task of either starts), so no two daemon versions ever migrate at once.
        const daemonGate = roles.includes("pluginDaemon")
            ? new MigrationGate(
                  `${name}-plugin-daemon-migration`,
                  {
                      ...gateNetwork,
                      taskDefinitionArn: taskDefs["plugin-daemon-migration"]!.arn,
                      securityGroupIds: [sgs.pluginDaemon!.id],
                      image: this.images.pluginDaemon,
                      timeoutSeconds: DEFAULT_MIGRATION_TIMEOUT_SECONDS,
                  },
                  {
                      parent: this,
                      dependsOn: [gate, ...migrationDependencies, ...(networkRules.dataPaths.pluginDaemon ?? []), ...(networkRules.internet.pluginDaemon ?? [])],
                  },
              )
            : undefined;

        // --- canaries: web and api where the edge gave them two target groups (progressive.ts) ----------------------------
        const canaryRoles = PROGRESSIVE_ROLES.filter((role) => roles.includes(role) && args.edge.targetGroups[role].progressive !== undefined);
        const infrastructureRole = canaryRoles.length > 0 ? loadBalancerInfrastructureRole(scope) : undefined;
        const canaries: Partial<Record<DifyRole, { infrastructureRoleArn: pulumi.Output<string>; alarmNames: pulumi.Output<string>[] }>> = {};
        for (const role of canaryRoles) {
            // The Alarms component declares them under these names (ECS reads them at each deployment).
            canaries[role] = { infrastructureRoleArn: infrastructureRole!.arn, alarmNames: deploymentAlarmIds(role).map((id) => pulumi.output(`${prefix}-${id}`)) };
        }

        const drainOf = (role: DifyRole) => (ROLE_SPECS[role].loadBalancer ? (args.edge.targetGroups as Partial<Record<DifyRole, TargetGroupRef>>)[role]?.deregistrationDelaySeconds ?? 0 : 0);
        // A deployment waits for a worker task's scale-in protection (jobProtection.ts) to end: up to a whole run.
        const waitsFor = (role: DifyRole) =>
            canaries[role] ? s.deployment.canaryBakeMinutes + s.deployment.bakeMinutes : role === "worker" ? protectionMinutes(s.appMaxExecutionTimeSeconds) : 0;
        const timeoutOf = (role: DifyRole) => serviceTimeoutMinutes(role, drainOf(role), waitsFor(role));

        // --- services, servers before their clients (roles.ts: STARTS_WITHOUT_TASKS) ----------------------------------
        const services: Partial<Record<DifyRole, aws.ecs.Service>> = {};
        const servers = (role: DifyRole) => serversOf(role, roles).map((server) => services[server]!);
        for (const role of serviceCreationOrder(roles)) {
            // No new task of the Dify version may start before its migration succeeded: api, worker, beat and the
            // websocket run the new schema's code, and web (same Dify tag) must not roll to a UI whose api stays on the
            // old version when the migration fails. The plugin daemon, sandboxes, proxies and agent backend are
            // versioned apart and never touch Dify's schema.
            const gated = ROLE_SPECS[role].gated;
            const startsWithoutTasks = STARTS_WITHOUT_TASKS.includes(role);
            services[role] = service(scope, role, {
                clusterArn: cluster.arn,
                namespaceArn: namespace.arn,
                taskDefinitionArn: taskDefs[role]!.arn,
                securityGroupId: sgs[role].id,
                startsWithoutTasks,
                canary: canaries[role],
                timeoutMinutes: timeoutOf(role),
                dependsOn: [capacityProviders, execution.policy, ...taskPolicies, ...networkRules.all, ...(gated ? [gate] : []), ...(role === "pluginDaemon" && daemonGate ? [daemonGate] : []), ...(startsWithoutTasks ? [] : servers(role))],
            });
        }
        this.serviceNames = mapDefined(services, (svc) => svc.name);

        for (const role of roles) {
            if ((SCALED_ROLES as readonly DifyRole[]).includes(role)) {
                // A role created without tasks gets its first ones when its target registers: after its servers exist.
                autoscaling(scope, role as ScaledRole, cluster.name, services[role]!, STARTS_WITHOUT_TASKS.includes(role) ? servers(role) : []);
            } else {
                singleTaskSchedule(scope, role as SingleRole, cluster.name, services[role]!);
            }
        }

        // --- the rollout: `up` fails unless every service runs what this update registered --------------------------
        new RolloutCheck(
            `${name}-rollout`,
            {
                clusterArn: cluster.arn,
                region: scope.ctx.region,
                services: Object.fromEntries(roles.map((role) => [role, { serviceName: services[role]!.name, taskDefinitionArn: taskDefs[role]!.arn }])),
                // As long as the slowest service may take.
                timeoutSeconds: 60 * Math.max(...roles.map(timeoutOf)),
            },
            { parent: this, dependsOn: Object.values(services) as aws.ecs.Service[] },
        );

        this.ecsExecCommand = s.ecsExecEnabled
            ? pulumi.interpolate`aws ecs execute-command --region ${scope.ctx.region} --cluster ${cluster.name} --container api --interactive --command /bin/bash --task "$(aws ecs list-tasks --region ${scope.ctx.region} --cluster ${cluster.name} --service-name ${services.api!.name} --desired-status RUNNING --query 'taskArns[0]' --output text)"`
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
            initPasswordSecretArn: this.initPasswordSecretArn,
            migrationTaskDefinitionArn: this.migrationTaskDefinitionArn,
            migrationTaskArn: this.migrationTaskArn,
            ecsExecCommand: this.ecsExecCommand,
        });
    }
}
