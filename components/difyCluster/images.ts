/** Where each role's image comes from: Docker Hub, or a registry prefix (an ECR pull-through cache or a mirror). */
import type { ClusterSettings, DifyRole } from "../../config/cluster";

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
export function ecrRepositoryName(image: string, host: string): string {
    return image.slice(host.length + 1).replace(/@.*$/, "").replace(/:[^/]*$/, "");
}
