/**
 * Where each role's image comes from: Docker Hub (anonymously, or logged in with repositoryCredentials), an ECR
 * pull-through cache for Docker Hub that this program creates, or a registry prefix the user runs (a mirror, or a
 * cache of their own).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ClusterSettings, ecrRegistry } from "../../config/cluster";
import { DifyRole } from "../../config/roles";
import { after } from "../ordering";
import { ClusterScope, mapValues } from "./context";
import { ImageKind, ROLE_SPECS } from "./roles";

/** Docker Hub's registry endpoint, as ECR names the upstream of a pull-through cache rule. */
export const DOCKER_HUB_REGISTRY = "registry-1.docker.io";

/** The ECR registry the images are pulled from, for the execution role's permissions and the sandbox's egress. */
export interface EcrSource {
    account: pulumi.Input<string>;
    region: pulumi.Input<string>;
    /** The repository path the images live under (a pull-through cache's prefix); undefined at the registry root. */
    path?: string;
    /** At the registry root: the repositories of the images (reference without registry, tag and digest). */
    repositories: string[];
}

export interface ImagePlan {
    /** The image reference per role; with a pull-through cache it resolves once the rule exists. */
    images: Record<DifyRole, pulumi.Output<string>>;
    /** Set when images come from ECR (a pull-through cache, or an ECR registry prefix). */
    ecr?: EcrSource;
    /** A Docker Hub login for ECS repositoryCredentials (pulls from Docker Hub itself). */
    repositoryCredentialsSecretArn?: string;
    /** Pulled from Docker Hub without logging in: subject to its anonymous rate limit per NAT IP. */
    anonymous: boolean;
}

/** Image names per role, without a registry: each role's kind of image (roles.ts) at the release's tags. */
function imageNames(s: ClusterSettings): Record<DifyRole, string> {
    const byKind: Record<ImageKind, string> = {
        api: `langgenius/dify-api:${s.images.difyTag}`,
        web: `langgenius/dify-web:${s.images.difyTag}`,
        pluginDaemon: `langgenius/dify-plugin-daemon:${s.images.pluginDaemonTag}`,
        sandbox: `langgenius/dify-sandbox:${s.images.sandboxTag}`,
        squid: s.images.ssrfProxyImage,
        agentBackend: `langgenius/dify-agent-backend:${s.images.agentTag}`,
        agentSandbox: `langgenius/dify-agent-local-sandbox:${s.images.agentTag}`,
    };
    return mapValues(ROLE_SPECS, (spec) => byKind[spec.image]);
}

/** Image references, with the optional registry prefix (pull-through cache or mirror). */
export function imageReferences(s: ClusterSettings): Record<DifyRole, string> {
    const prefix = s.images.registryPrefix;
    return mapValues(imageNames(s), (image) => (prefix ? `${prefix}/${image}` : image));
}

/** The ECR repository an image reference on `host` names: without the registry, the tag and the digest. */
export function ecrRepositoryName(image: string, host: string): string {
    return image.slice(host.length + 1).replace(/@.*$/, "").replace(/:[^/]*$/, "");
}

/**
 * Decides where images come from and, for a pull-through cache, creates the rule. ECR creates each cached
 * repository on its first pull (the execution role may: iam.ts), checks upstream for a newer image of the tag at
 * most once a day, and serves the layers from S3 (the gateway endpoint). Docker Hub's own images would need the
 * `library/` path; Dify's images are all under an organisation (langgenius/, ubuntu/).
 */
export function imagePlan(scope: ClusterScope): ImagePlan {
    const { name, parent, args, ctx } = scope;
    const s = args.settings;
    const names = imageNames(s);
    if (s.images.dockerHub.pullThroughCache) {
        // 2-30 characters of [a-z0-9._/-]; the stack prefix is at most 17.
        const repositoryPrefix = `${args.namePrefix}-docker-hub`;
        const rule = new aws.ecr.PullThroughCacheRule(
            `${name}-docker-hub`,
            { ecrRepositoryPrefix: repositoryPrefix, upstreamRegistryUrl: DOCKER_HUB_REGISTRY, credentialArn: s.images.dockerHub.credentialsSecretArn },
            { parent },
        );
        const registry = pulumi.interpolate`${ctx.accountId}.dkr.ecr.${ctx.region}.amazonaws.com/${repositoryPrefix}`;
        return {
            images: mapValues(names, (image) => after(pulumi.interpolate`${registry}/${image}`, rule)),
            ecr: { account: ctx.accountId, region: ctx.region, path: repositoryPrefix, repositories: [] },
            anonymous: false,
        };
    }
    const refs = imageReferences(s);
    const ecr = ecrRegistry(s.images.registryPrefix);
    return {
        images: mapValues(refs, (image) => pulumi.output(image)),
        ecr: ecr && {
            account: ecr.account,
            region: ecr.region,
            path: ecr.path,
            repositories: [...new Set(Object.values(refs).map((image) => ecrRepositoryName(image, ecr.host)))].sort(),
        },
        repositoryCredentialsSecretArn: s.images.registryPrefix === undefined ? s.images.dockerHub.credentialsSecretArn : undefined,
        anonymous: s.images.registryPrefix === undefined && s.images.dockerHub.credentialsSecretArn === undefined,
    };
}
