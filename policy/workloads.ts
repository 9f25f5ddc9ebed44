/** ECS workloads: deployments that never drop capacity, and secrets kept out of task environments. */
import * as aws from "@pulumi/aws";
import { validateResourceOfType } from "@pulumi/policy";
import { isSecretLookingName, isUrlWithPassword } from "../config/secretNames";
import { PackPolicy } from "./resources";

export const ecsZeroDowntimeDeploys: PackPolicy = {
    name: "ecs-zero-downtime-deploys",
    description:
        "ECS services behind a load balancer deploy without losing capacity: the deployment circuit breaker is on with rollback, and a rolling deployment keeps at least 100 % of the desired tasks healthy (the ECS default when unset).",
    remediationSteps:
        "Set deploymentCircuitBreaker: { enable: true, rollback: true } and deploymentMinimumHealthyPercent: 100 (with deploymentMaximumPercent: 200 so new tasks start beside the old ones).",
    validateResource: validateResourceOfType(aws.ecs.Service, (service, _args, reportViolation) => {
        if ((service.loadBalancers ?? []).length === 0) {
            return;
        }
        const controller = service.deploymentController?.type ?? "ECS";
        if (controller !== "ECS") {
            return; // CODE_DEPLOY and EXTERNAL deployments are driven, and rolled back, outside ECS.
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
        let containers: ContainerDefinition[];
        try {
            containers = JSON.parse(task.containerDefinitions) as ContainerDefinition[];
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
