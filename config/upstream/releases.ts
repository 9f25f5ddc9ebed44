/**
 * The Dify releases this program deploys: one row per release, each with the parity table read from that release's
 * own compose files (dify-<version>.ts). The image tags that go together (dify-api/web, plugin daemon, sandbox, agent
 * backend and local sandbox) are taken from that table, so the compatibility table and the parity table cannot
 * disagree, and a combination upstream never shipped is refused before any resource is declared.
 */
import { DIFY_1_16_1 } from "./dify-1.16.1";
import { DIFY_1_17_1 } from "./dify-1.17.1";
import type { UpstreamRelease } from "./types";

/** The release a new stack gets: the newest stable Dify whose compose files (at the nearest commit) could be read. */
export const DEFAULT_DIFY_RELEASE = "1.17.1";

/** Every release with a parity table, by its dify-api tag. */
export const DIFY_RELEASES: Readonly<Record<string, UpstreamRelease>> = {
    "1.16.1": DIFY_1_16_1,
    "1.17.1": DIFY_1_17_1,
};

/** The image tags one release's compose file pins together. */
export interface ReleaseImages {
    /** langgenius/dify-api and langgenius/dify-web. */
    dify: string;
    /** langgenius/dify-plugin-daemon (always a `-local` variant in compose). */
    pluginDaemon: string;
    /** langgenius/dify-sandbox. */
    sandbox: string;
    /** langgenius/dify-agent-backend and langgenius/dify-agent-local-sandbox (released with Dify). */
    agent: string;
}

function tagOf(image: string): string {
    return image.slice(image.lastIndexOf(":") + 1);
}

/** The tags a release pins, from its parity table. */
export function releaseImages(release: UpstreamRelease): ReleaseImages {
    const s = release.services;
    return {
        dify: tagOf(s.api.image),
        pluginDaemon: tagOf(s.plugin_daemon.image),
        sandbox: tagOf(s.sandbox.image),
        agent: tagOf(s.agent_backend.image),
    };
}

/** How to add a release the table does not have yet, for the config error. */
export const HOW_TO_ADD_A_RELEASE =
    "add config/upstream/dify-<version>.ts, written from that release's docker/docker-compose.yaml and docker/.env.example (their services, images, ports and variables with defaults, citing the commit), list it in DIFY_RELEASES in config/upstream/releases.ts, and run npm test: the parity test then names every upstream service and variable the program does not set yet";
