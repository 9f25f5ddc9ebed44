/** ECS workloads: deployments that never drop capacity, and secrets kept out of task environments. */
import * as aws from "@pulumi/aws";
import { validateResourceOfType } from "@pulumi/policy";
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

/** Words that make an environment variable name a secret (compared with the name's `_`-separated words). */
const SECRET_WORDS = new Set(["PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "KEY", "APIKEY", "CREDENTIAL", "CREDENTIALS"]);
/**
 * A trailing word that makes the name a setting about a secret rather than the secret itself: Dify's
 * ACCESS_TOKEN_EXPIRE_MINUTES, REDIS_KEY_PREFIX, NGINX_SSL_CERT_KEY_FILENAME, WEAVIATE_AUTHENTICATION_APIKEY_ENABLED.
 */
const SETTING_SUFFIXES = new Set(["MINUTES", "HOURS", "DAYS", "SECONDS", "EXPIRY", "EXPIRE", "ENABLED", "ENABLE", "LENGTH", "PREFIX", "FILENAME", "FILE", "PATH", "METHOD", "PROVIDER", "VERSION", "TYPE", "ID", "ARN", "NAME"]);
/** A URL with a password in its user info, e.g. `redis://:pass@host` or `postgresql://user:pass@host`. */
const URL_WITH_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]+@/i;

/** Why an environment variable looks like it holds a secret, or undefined. */
export function secretLooking(name: string, value: unknown): string | undefined {
    const words = name.toUpperCase().split(/[^A-Z0-9]+/).filter(Boolean);
    if (words.some((w) => SECRET_WORDS.has(w)) && !SETTING_SUFFIXES.has(words[words.length - 1])) {
        return "its name marks it as a secret";
    }
    if (typeof value === "string" && URL_WITH_PASSWORD.test(value)) {
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
        "No ECS task definition puts a secret in a container's plain environment: no variable named like a secret (PASSWORD, SECRET, TOKEN, KEY, CREDENTIALS, ...) and no URL with a password. The environment is readable by anyone who can describe the task definition.",
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
