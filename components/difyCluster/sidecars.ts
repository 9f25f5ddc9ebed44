/** Sidecars: a second, non-essential container of a role's own image in its task (tasks.ts declares it). */
import type { ContainerEnvironment } from "../difyEnvironment";

export interface Sidecar {
    /** The container's name, also its log stream prefix. */
    name: string;
    entryPoint: string[];
    command: string[];
    env: ContainerEnvironment;
}

/**
 * A sidecar that runs a Python script with the api image's interpreter (and its packages: redis, celery). The
 * image's entrypoint is skipped: it would start Dify.
 */
export function pythonSidecar(name: string, script: string, env: ContainerEnvironment): Sidecar {
    return { name, entryPoint: ["python", "-c"], command: [script], env };
}
