/** ECS workloads: deployments that never drop capacity, and secrets kept out of task environments. */
import * as aws from "@pulumi/aws";
import { validateResourceOfType } from "@pulumi/policy";
import { isSecretLookingName, isUrlWithPassword } from "../config/secretNames";
import { PackPolicy } from "./resources";

export const ecsZeroDowntimeDeploys: PackPolicy = {
    name: "ecs-zero-downtime-deploys",
    description:
        "ECS services deploy without losing capacity and report what happened: every ECS-controlled service has waitForSteadyState (else `pulumi up` reports success for a deployment the circuit breaker later rolls back, or that never becomes healthy); a service behind a load balancer also has the deployment circuit breaker on with rollback, and a rolling deployment that keeps at least 100 % of the desired tasks healthy (the ECS default when unset).",
    remediationSteps:
        "Set waitForSteadyState: true on every service; behind a load balancer also deploymentCircuitBreaker: { enable: true, rollback: true } and deploymentMinimumHealthyPercent: 100 (with deploymentMaximumPercent: 200 so new tasks start beside the old ones).",
    validateResource: validateResourceOfType(aws.ecs.Service, (service, _args, reportViolation) => {
        const controller = service.deploymentController?.type ?? "ECS";
        if (controller !== "ECS") {
            return; // CODE_DEPLOY and EXTERNAL deployments are driven, and rolled back, outside ECS.
        }
        if (service.waitForSteadyState !== true) {
            reportViolation(
                `waitForSteadyState is ${service.waitForSteadyState ?? "unset (default false)"}: \`pulumi up\` returns once the deployment starts, so a deployment that never becomes healthy, or that the circuit breaker rolls back, is reported as a success.`,
            );
        }
        if ((service.loadBalancers ?? []).length === 0) {
            return;
        }
        const breaker = service.deploymentCircuitBreaker;
        if (breaker?.enable !== true || breaker.rollback !== true) {
            reportViolation(
                `The deployment circuit breaker is ${breaker?.enable === true ? "on without rollback" : "off"}: a failing deployment keeps replacing tasks instead of rolling back to the last working revision.`,
            );
        }
        const strategy = service.deploymentConfiguration?.strategy ?? "ROLLING";
        const minHealthy = service.deploymentMinimumHealthyPercent ?? 100;
        if (strategy === "ROLLING" && minHealthy < 100) {
            reportViolation(`deploymentMinimumHealthyPercent is ${minHealthy}: a rolling deployment stops old tasks before new ones are healthy.`);
        }
    }),
};

/** Why an environment variable looks like it holds a secret, or undefined. */
export function secretLooking(name: string, value: unknown): string | undefined {
    if (isSecretLookingName(name)) {
        return "its name marks it as a secret";
    }
    if (isUrlWithPassword(value)) {
        return "its value is a URL with a password";
    }
    return undefined;
}

interface ContainerDefinition {
    name?: string;
    environment?: { name?: string; value?: unknown }[];
}

export const noSecretsInEnvironment: PackPolicy = {
    name: "no-secrets-in-task-environment",
    description:
        "No ECS task definition puts a secret in a container's plain environment: no variable named like a secret (PASSWORD, SECRET, TOKEN, KEY, CREDENTIALS, DSN, ...; config/secretNames.ts) and no URL with a password. The environment is readable by anyone who can describe the task definition.",
    remediationSteps:
        "Store the value in Secrets Manager and inject it through the container definition's secrets (valueFrom: the secret ARN, or <arn>:<json-key>::), with secretsmanager:GetSecretValue on the task execution role.",
    validateResource: validateResourceOfType(aws.ecs.TaskDefinition, (task, _args, reportViolation) => {
        // Read outside the try: during a preview the whole string is unknown whenever it embeds a computed value (a
        // secret's ARN, a log group's name), and the read then throws the framework's UnknownValueError, which
        // @pulumi/policy reports as an advisory "can't run during preview". Caught here, it would turn every first
        // preview into a mandatory "not valid JSON" violation.
        const text = task.containerDefinitions;
        let containers: ContainerDefinition[];
        try {
            containers = JSON.parse(text) as ContainerDefinition[];
        } catch {
            reportViolation("containerDefinitions is not valid JSON, so its environment cannot be checked.");
            return;
        }
        for (const container of Array.isArray(containers) ? containers : []) {
            for (const variable of container.environment ?? []) {
                const why = secretLooking(variable.name ?? "", variable.value);
                if (why) {
                    reportViolation(`Container ${container.name ?? "(unnamed)"} has ${variable.name} in its environment, and ${why}; inject it through secrets.`);
                }
            }
        }
    }),
};

export const workloadPolicies: PackPolicy[] = [ecsZeroDowntimeDeploys, noSecretsInEnvironment];
