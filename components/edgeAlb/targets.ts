/** The target groups of the roles behind the ALB: ports, health checks and draining, chosen for rolling deploys. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { LbTarget } from "./routes";

/** One Dify role behind the ALB. */
export interface TargetSpec {
    /** Short role name used in physical names. */
    short: string;
    port: number;
    healthPath: string;
    matcher: string;
    /** Seconds; undefined takes `edge.apiDeregistrationDelaySeconds` (the api's SSE answers). */
    deregistrationDelay?: number;
    algorithm: "round_robin" | "least_outstanding_requests";
    /** Seconds the ALB keeps a client on the same target (lb_cookie stickiness); undefined: none. */
    stickySeconds?: number;
}

/**
 * Socket.IO opens a session with HTTP long-polling requests before it upgrades to a websocket, and keeps the session
 * in the process that opened it (Dify passes Socket.IO no client manager): every request of a session must reach the
 * same task (Socket.IO docs, "Using multiple nodes": sticky sessions). The websocket runs one task, but two for the
 * moments a deployment overlaps them. A day covers any editing session; a reconnect opens a new session anyway.
 */
export const WEBSOCKET_STICKY_SECONDS = 86_400;

/** AWS caps ALB and target-group names at 32 characters. */
export const MAX_LB_NAME_LENGTH = 32;
/** Length of the random suffix that makes target-group names replaceable. */
const NAME_SUFFIX_LENGTH = 6;
/** web, the plugin daemon and the websocket serve short requests (pages, webhook calls) or reconnect by themselves. */
const SHORT_REQUEST_DRAIN_SECONDS = 30;

/**
 * Health checks and draining, chosen for rolling deploys (ECS starts new tasks, waits for them to be healthy in the
 * target group, then deregisters the old ones):
 * - a new task takes traffic after HEALTHY_THRESHOLD x INTERVAL = 2 x 10 s = 20 s of passing checks (seed 000:
 *   2 x 30 s = 60 s); a task that stops answering is taken out after 3 x 10 s = 30 s;
 * - the timeout (5 s) stays below the interval, as AWS requires;
 * - a deregistered task keeps its in-flight requests for the deregistration delay, then the ALB closes them. web and
 *   the plugin daemon serve short requests (pages, webhook calls): 30 s; the websocket's clients reconnect by
 *   themselves. api carries Dify's SSE answers, which run for minutes: its delay is configurable (default 120 s,
 *   0-3600). A stream still open when it ends is cut.
 */
export const HEALTH_CHECK = { interval: 10, timeout: 5, healthyThreshold: 2, unhealthyThreshold: 3 };

/**
 * The roles' target groups. web's health check asks for a static file: `/` renders on the server and waits for the
 * api's system features, so a check on it fails (and ECS replaces web tasks) whenever the api is slow or rolling.
 */
export const TARGETS: Readonly<Record<LbTarget, TargetSpec>> = {
    web: { short: "web", port: 3000, healthPath: "/favicon.ico", matcher: "200", deregistrationDelay: SHORT_REQUEST_DRAIN_SECONDS, algorithm: "round_robin" },
    // Streams make request durations uneven: send new requests to the task with the fewest outstanding ones.
    api: { short: "api", port: 5001, healthPath: "/health", matcher: "200", algorithm: "least_outstanding_requests" },
    pluginDaemon: { short: "plugin", port: 5002, healthPath: "/health/check", matcher: "200", deregistrationDelay: SHORT_REQUEST_DRAIN_SECONDS, algorithm: "round_robin" },
    apiWebsocket: { short: "ws", port: 5001, healthPath: "/health", matcher: "200", deregistrationDelay: SHORT_REQUEST_DRAIN_SECONDS, algorithm: "round_robin", stickySeconds: WEBSOCKET_STICKY_SECONDS },
};

/**
 * A target group named `<prefix>-<role>-<random>`: at most 17 + 1 + 6 + 1 + 6 = 31 characters. The suffix changes
 * whenever a property that forces replacement changes, so the new group is created (under a new name) before the
 * old one, still referenced by listeners and services, is deleted.
 */
export function targetGroup(
    name: string,
    parent: pulumi.Resource,
    args: { namePrefix: string; vpcId: pulumi.Input<string>; apiDeregistrationDelaySeconds: number },
    spec: TargetSpec,
): aws.lb.TargetGroup {
    const replaceOn = { port: String(spec.port), protocol: "HTTP", protocolVersion: "HTTP1", targetType: "ip", vpcId: args.vpcId };
    // RandomId, not RandomString: its hex is not a secret, so the name stays readable in previews and the console.
    const suffix = new random.RandomId(`${name}-${spec.short}-tg-suffix`, { byteLength: NAME_SUFFIX_LENGTH / 2, keepers: replaceOn }, { parent });
    return new aws.lb.TargetGroup(
        `${name}-${spec.short}`,
        {
            name: pulumi.interpolate`${args.namePrefix}-${spec.short}-${suffix.hex}`,
            vpcId: args.vpcId,
            port: spec.port,
            protocol: replaceOn.protocol,
            protocolVersion: replaceOn.protocolVersion,
            targetType: replaceOn.targetType,
            deregistrationDelay: spec.deregistrationDelay ?? args.apiDeregistrationDelaySeconds,
            loadBalancingAlgorithmType: spec.algorithm,
            stickiness: spec.stickySeconds ? { type: "lb_cookie", enabled: true, cookieDuration: spec.stickySeconds } : undefined,
            healthCheck: {
                enabled: true,
                protocol: "HTTP",
                port: "traffic-port",
                path: spec.healthPath,
                matcher: spec.matcher,
                ...HEALTH_CHECK,
            },
            tags: { Name: `${args.namePrefix}-${spec.short}` },
        },
        { parent },
    );
}
