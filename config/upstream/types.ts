/**
 * The shape of an upstream Dify release as its own docker compose deployment runs it: every service that starts by
 * default (no compose profile, or one that `.env.example`'s COMPOSE_PROFILES turns on), its image, ports, mode and
 * health check, and every environment variable it is given with upstream's default. Facts read from upstream's files
 * at a named commit, never a copy of them; the parity test (test/parity.test.ts) holds the program to them.
 */

/** A variable's upstream default; null when the default is a public development secret, which is not recorded here. */
export type UpstreamValue = string | null;

export interface UpstreamService {
    /** The image and tag the release's compose file pins. */
    image: string;
    /** Ports the container listens on. */
    ports: number[];
    /** The compose profile that starts it, when it has one (turned on by `.env.example`'s COMPOSE_PROFILES). */
    profile?: string;
    /** What compose runs instead of the image's own entrypoint and command, in words; absent: the image's own. */
    command?: string;
    /** The dify-api MODE it runs (api, worker, beat). */
    mode?: string;
    /** The compose health check command. */
    healthcheck?: string;
    /** Compose volumes (host path: container path). */
    volumes?: string[];
    /** Whether the container gets every variable of `.env` (compose `env_file: ./.env`, the default setup). */
    loadsDotenv: boolean;
    /** The service's own `environment:` block in docker/docker-compose.yaml; wins over `.env`. */
    environment: Record<string, UpstreamValue>;
}

export interface UpstreamRelease {
    /** The Dify release (the dify-api / dify-web tag). */
    version: string;
    /** The langgenius/dify commit every file below was read at. */
    commit: string;
    /** How that commit relates to the release (the tag itself, or the nearest readable commit and what may differ). */
    read: string;
    /** `docker/.env.example` at that commit: what a default setup (`cp .env.example .env`) hands every service that loads it. */
    dotenv: { file: string; vars: Record<string, UpstreamValue> };
    /** Each service docker/docker-compose.yaml starts by default, by its compose name. */
    services: Record<string, UpstreamService>;
    /**
     * The nginx locations of docker/nginx/conf.d/default.conf.template, in file order: nginx prefix locations, each
     * proxied to a compose service (with the request headers it adds, where it adds any).
     */
    routes: { file: string; locations: { location: string; service: string; header?: string }[] };
    /** Default services this program replaces with a managed AWS service (kept apart from the parity of variables). */
    replacedServices: string[];
}

/** The file every service row comes from. */
export const COMPOSE_FILE = "docker/docker-compose.yaml";
/** The upstream repository. */
export const DIFY_REPOSITORY = "langgenius/dify";

/** What one service of a release is given: `.env` (when it loads it) overlaid by its own `environment:`. */
export function upstreamEnvironment(release: UpstreamRelease, service: string): Record<string, UpstreamValue> {
    const s = release.services[service];
    return { ...(s.loadsDotenv ? release.dotenv.vars : {}), ...s.environment };
}
