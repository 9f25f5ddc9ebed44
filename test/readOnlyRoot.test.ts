/**
 * Read-only root file systems (issue 18 item 7; Checkov CKV_AWS_336, Security Hub ECS.5), asserted on what the program
 * registers for dev and prd. What each image writes comes from config/upstream/writablePaths.ts, read from upstream's
 * Dockerfiles, entrypoints and code; what each container's own command writes is read from the command itself. Neither
 * is taken from the implementation's lists of volumes.
 */
import { expect } from "chai";
import { DIFY_RELEASES, releaseImages } from "../config/upstream/releases";
import { IMAGE_ROOT_FILESYSTEMS, ImageRootFilesystem, ReadOnlyImage, Source } from "../config/upstream/writablePaths";
import { ProgramRun, stackRun, Stack } from "./harness";
import type { RegisteredResource } from "./mocks";

const STACKS: Stack[] = ["dev", "prd"];

interface MountPoint {
    sourceVolume: string;
    containerPath: string;
    readOnly?: boolean;
}
interface Container {
    name: string;
    image: string;
    essential?: boolean;
    user?: string;
    readonlyRootFilesystem?: boolean;
    entryPoint?: string[];
    command?: string[];
    environment?: { name: string; value: string }[];
    mountPoints?: MountPoint[];
    dependsOn?: { containerName: string; condition: string }[];
}
interface Volume {
    name: string;
    efsVolumeConfiguration?: unknown;
    dockerVolumeConfiguration?: unknown;
    hostPath?: string;
    host?: unknown;
    fsxWindowsFileServerVolumeConfiguration?: unknown;
}
interface Task {
    family: string;
    /** The container named after the task (the role's own). */
    main: Container;
    containers: Container[];
    volumes: Volume[];
    /** The image repository (no registry, no tag) and tag of the role's own container. */
    repository: string;
    tag: string;
}

const inCluster = (r: RegisteredResource) => r.urn.includes("dify-aws:app:DifyCluster");

/** "langgenius/dify-sandbox" and "0.2.15" from any reference: Docker Hub, an ECR pull-through cache or a mirror. */
function repositoryOf(image: string): { repository: string; tag: string } {
    const [name, tag] = image.replace(/@.*$/, "").split(/:(?=[^/]*$)/);
    return { repository: name.split("/").slice(-2).join("/"), tag: tag ?? "" };
}

function tasks(run: ProgramRun): Task[] {
    return run
        .ofType("aws:ecs/taskDefinition:TaskDefinition")
        .filter(inCluster)
        .map((td) => {
            const family = (td.inputs.family as string).replace(`dify-${run.stack}-`, "");
            const containers = JSON.parse(td.inputs.containerDefinitions) as Container[];
            const main = containers.find((c) => c.name === family);
            expect(main, `${family}: a container named after it`).to.not.equal(undefined);
            return { family, main: main!, containers, volumes: (td.inputs.volumes ?? []) as Volume[], ...repositoryOf(main!.image) };
        });
}

const under = (path: string, dir: string) => path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
const volumeOf = (t: Task, m: MountPoint) => t.volumes.find((v) => v.name === m.sourceVolume);
/** A Fargate bind mount on the task's ephemeral storage: a task volume with a name and nothing else. */
const isTaskScratch = (v: Volume | undefined) => v !== undefined && Object.keys(v).every((k) => k === "name");
const writableMounts = (c: Container) => (c.mountPoints ?? []).filter((m) => m.readOnly !== true);

/**
 * The paths a container's shell command writes: redirections (`> f`, `>> f`, not to /dev/*), `tar -C dir`, and the
 * operands of mkdir, touch, ln, cp (the destination), rm, chown and chmod. Enough for the commands the program runs.
 */
function commandWrites(c: Container): string[] {
    const script = [...(c.entryPoint ?? []), ...(c.command ?? [])].join("\n");
    const writes: string[] = [];
    for (const m of script.matchAll(/(?:^|[^0-9&])>>?\s*("?)(\/[^\s"';&|]+)\1/gm)) {
        writes.push(m[2]);
    }
    for (const m of script.matchAll(/\btar\b[^\n]*?\s-C\s+("?)(\/[^\s"';&|]+)\1/g)) {
        writes.push(m[2]);
    }
    for (const line of script.split(/\n|&&|;/)) {
        const words = line.trim().split(/\s+/);
        const operands = words.slice(1).filter((w) => w.startsWith("/"));
        switch (words[0]) {
            case "mkdir":
            case "touch":
            case "rm":
                writes.push(...operands);
                break;
            case "chown":
            case "chmod":
                writes.push(...operands.filter((w) => !w.startsWith("--reference")));
                break;
            case "ln":
            case "cp":
                if (operands.length) writes.push(operands[operands.length - 1]);
                break;
        }
    }
    return writes.filter((w) => !w.startsWith("/dev/")).map((w) => w.replace(/\/\.?\/?$/, "") || "/");
}

const readOnlyImages = Object.entries(IMAGE_ROOT_FILESYSTEMS).filter((e): e is [string, ReadOnlyImage] => e[1].readOnlyRoot);
const dataOf = (t: Task): ImageRootFilesystem => {
    const row = IMAGE_ROOT_FILESYSTEMS[t.repository];
    expect(row, `${t.family}: config/upstream/writablePaths.ts has a row for ${t.repository}`).to.not.equal(undefined);
    return row;
};

describe("read-only root file systems: the data", () => {
    it("cites every fact: a repository file at a full commit, or a documentation page", () => {
        const all = Object.entries(IMAGE_ROOT_FILESYSTEMS).flatMap(([image, row]) =>
            row.readOnlyRoot ? row.writes.flatMap((w) => w.sources.map((s: Source) => ({ at: `${image} ${w.path}`, s }))) : row.sources.map((s) => ({ at: image, s })),
        );
        expect(all.length).to.be.greaterThan(0);
        for (const { at, s } of all) {
            if ("url" in s) {
                expect(s.url, at).to.match(/^https:\/\//);
            } else {
                expect(s.repo, at).to.match(/^[\w.-]+\/[\w.-]+$/);
                expect(s.commit, at).to.match(/^[0-9a-f]{40}$/);
                expect(s.path, at).to.not.match(/^\//);
            }
            expect(s.what.length, at).to.be.greaterThan(10);
        }
    });

    it("gives every read-only image's write a path, a handling and its reason, and every writable image its reason", () => {
        for (const [image, row] of Object.entries(IMAGE_ROOT_FILESYSTEMS)) {
            if (!row.readOnlyRoot) {
                expect(row.reason.length, image).to.be.greaterThan(40);
                expect(row.sources.length, image).to.be.greaterThan(0);
                continue;
            }
            expect(row.writes.length, image).to.be.greaterThan(0);
            const paths = row.writes.map((w) => w.path);
            expect(new Set(paths).size, `${image}: one row per path`).to.equal(paths.length);
            for (const w of row.writes) {
                expect(w.path, image).to.match(/^\/[^\s]*[^/]$/);
                expect(["volume", "seeded-volume", "replaced", "none"], `${image} ${w.path}`).to.include(w.handling);
                expect(w.why.length, `${image} ${w.path}`).to.be.greaterThan(20);
                expect(w.sources.length, `${image} ${w.path}`).to.be.greaterThan(0);
            }
        }
    });

    it("covers the sandbox tag every release pins (writes read at one tag are no evidence for another)", () => {
        const sandbox = IMAGE_ROOT_FILESYSTEMS["langgenius/dify-sandbox"] as ReadOnlyImage;
        for (const release of Object.values(DIFY_RELEASES)) {
            expect(sandbox.tags, `Dify ${release.version}`).to.include(releaseImages(release).sandbox);
        }
    });

    it("starts with the two that handle users' code and URLs: the sandbox and the squid proxies", () => {
        expect(readOnlyImages.map(([image]) => image)).to.include.members(["langgenius/dify-sandbox", "ubuntu/squid"]);
    });
});

for (const stack of STACKS) {
    describe(`read-only root file systems (${stack})`, () => {
        let run: ProgramRun;
        let all: Task[];
        before(async () => {
            run = await stackRun(stack);
            all = tasks(run);
        });

        it("records every image the program runs, and the tag it runs is one its writes were read at", () => {
            expect(all.length).to.be.greaterThan(10);
            for (const t of all) {
                const row = dataOf(t);
                if (row.readOnlyRoot && row.tags !== "any") {
                    expect(row.tags, `${t.family} runs ${t.repository}:${t.tag}`).to.include(t.tag);
                }
            }
        });

        it("makes the root read-only exactly where the data says the image allows it, and leaves it writable, with a reason, elsewhere", () => {
            const readOnly = all.filter((t) => t.main.readonlyRootFilesystem === true).map((t) => t.family);
            const expected = all.filter((t) => dataOf(t).readOnlyRoot).map((t) => t.family);
            expect(readOnly.sort()).to.deep.equal(expected.sort());
            // At least the sandbox and both squid proxies.
            expect(readOnly).to.include.members(["sandbox", "ssrf-proxy", "agent-ssrf-proxy"]);
            for (const t of all.filter((x) => !dataOf(x).readOnlyRoot)) {
                expect(t.main.readonlyRootFilesystem ?? false, t.family).to.equal(false);
                expect((dataOf(t) as { reason: string }).reason, t.family).to.be.a("string").and.not.equal("");
            }
        });

        it("mounts a writable task volume (ephemeral storage) at exactly every path the image writes", () => {
            for (const t of all.filter((x) => x.main.readonlyRootFilesystem)) {
                const row = dataOf(t) as ReadOnlyImage;
                for (const w of row.writes.filter((x) => x.handling === "volume" || x.handling === "seeded-volume")) {
                    const m = writableMounts(t.main).find((x) => x.containerPath === w.path);
                    expect(m, `${t.family}: a writable mount at ${w.path} (${w.what})`).to.not.equal(undefined);
                    expect(isTaskScratch(volumeOf(t, m!)), `${t.family}: ${w.path} is a task volume on ephemeral storage`).to.equal(true);
                }
            }
        });

        it("mounts nothing writable beyond those, the paths its own command writes, and its EFS volumes", () => {
            for (const t of all.filter((x) => x.main.readonlyRootFilesystem)) {
                const row = dataOf(t) as ReadOnlyImage;
                const dataPaths = row.writes.filter((w) => w.handling === "volume" || w.handling === "seeded-volume").map((w) => w.path);
                const own = commandWrites(t.main);
                for (const m of writableMounts(t.main)) {
                    const v = volumeOf(t, m);
                    expect(v, `${t.family}: volume ${m.sourceVolume}`).to.not.equal(undefined);
                    if (v!.efsVolumeConfiguration) {
                        continue;
                    }
                    expect(isTaskScratch(v), `${t.family}: ${m.containerPath} is a task volume`).to.equal(true);
                    const justified = dataPaths.includes(m.containerPath) || own.some((p) => under(p, m.containerPath));
                    expect(justified, `${t.family}: ${m.containerPath} is neither written by the image (data) nor by the container's command`).to.equal(true);
                }
                // Volumes no container mounts would be dead weight.
                const mounted = new Set(t.containers.flatMap((c) => (c.mountPoints ?? []).map((m) => m.sourceVolume)));
                expect(t.volumes.filter((v) => !mounted.has(v.name)).map((v) => v.name), t.family).to.deep.equal([]);
            }
        });

        it("writes every file of the container's own command (its generated configuration, the unpacked Node.js) inside a writable mount", () => {
            for (const t of all.filter((x) => x.main.readonlyRootFilesystem)) {
                const mounts = writableMounts(t.main).map((m) => m.containerPath);
                for (const path of commandWrites(t.main)) {
                    expect(
                        mounts.some((m) => under(path, m)),
                        `${t.family}: its command writes ${path}, outside its writable mounts (${mounts.join(", ")})`,
                    ).to.equal(true);
                }
            }
        });

        it("replaces the image's own start-up where it writes outside any volume, mounts nothing over those paths, and writes there only inside nested volumes", () => {
            for (const t of all.filter((x) => x.main.readonlyRootFilesystem)) {
                const row = dataOf(t) as ReadOnlyImage;
                if (row.writes.some((w) => w.handling === "replaced")) {
                    expect(t.main.entryPoint, `${t.family}: the image's entrypoint must not run`).to.not.equal(undefined);
                }
                const mounts = writableMounts(t.main).map((m) => m.containerPath);
                for (const w of row.writes.filter((x) => x.handling === "replaced" || x.handling === "none")) {
                    // A volume at the path (or above it) would hide what the image keeps there (the row's why).
                    expect(mounts.filter((m) => under(w.path, m)), `${t.family}: mounted over ${w.path} (${w.why})`).to.deep.equal([]);
                    for (const p of commandWrites(t.main).filter((x) => under(x, w.path))) {
                        expect(mounts.some((m) => m !== w.path && under(p, m)), `${t.family}: its command writes ${p} in ${w.path}`).to.equal(true);
                    }
                }
            }
        });

        it("fills each seeded volume from the image in a one-shot, non-essential, read-only container that must succeed first", () => {
            for (const t of all.filter((x) => x.main.readonlyRootFilesystem)) {
                const row = dataOf(t) as ReadOnlyImage;
                for (const w of row.writes.filter((x) => x.handling === "seeded-volume")) {
                    const m = writableMounts(t.main).find((x) => x.containerPath === w.path)!;
                    const seeders = t.containers.filter((c) => c !== t.main && (c.mountPoints ?? []).some((x) => x.sourceVolume === m.sourceVolume && x.readOnly !== true));
                    expect(seeders, `${t.family}: one container fills ${w.path}`).to.have.length(1);
                    const seed = seeders[0];
                    const at = seed.mountPoints!.find((x) => x.sourceVolume === m.sourceVolume)!.containerPath;
                    const script = (seed.command ?? []).join("\n");
                    // It copies what the image has at the path (content, owner, mode) into the volume, seen elsewhere.
                    expect(at, t.family).to.not.equal(w.path);
                    expect(script, t.family).to.include(`cp -a ${w.path}/. ${at}/`);
                    expect(script, t.family).to.include(`chown --reference=${w.path} ${at}`);
                    expect(seed.essential, `${t.family}: a SUCCESS dependency cannot be essential`).to.equal(false);
                    expect(seed.readonlyRootFilesystem, t.family).to.equal(true);
                    expect(seed.image, t.family).to.equal(t.main.image);
                    expect(t.main.dependsOn, t.family).to.deep.include({ containerName: seed.name, condition: "SUCCESS" });
                    // The copy is all it writes.
                    for (const p of commandWrites(seed)) {
                        expect(
                            (seed.mountPoints ?? []).some((x) => under(p, x.containerPath)),
                            `${t.family}: the seeding container writes ${p}`,
                        ).to.equal(true);
                    }
                }
            }
        });

        it("keeps every other container of a read-only task read-only too", () => {
            for (const t of all.filter((x) => x.main.readonlyRootFilesystem)) {
                for (const c of t.containers) {
                    expect(c.readonlyRootFilesystem, `${t.family}/${c.name}`).to.equal(true);
                }
            }
        });

        it("points every file squid writes (squid.conf) into a writable mount, reads the configuration the command writes, and hands squid's user its directories", () => {
            for (const t of all.filter((x) => x.repository === "ubuntu/squid")) {
                const conf = t.main.environment!.find((e) => e.name === "SQUID_CONF")!.value;
                const directives = new Map<string, string[]>();
                for (const raw of conf.split("\n")) {
                    const [word, ...rest] = raw.replace(/#.*$/, "").trim().split(/\s+/);
                    if (word) directives.set(word, [...(directives.get(word) ?? []), rest.join(" ")]);
                }
                const mounts = writableMounts(t.main).map((m) => m.containerPath);
                const written: string[] = [
                    ...(directives.get("cache_log") ?? []),
                    ...(directives.get("access_log") ?? []).map((v) => v.split(/\s+/)[0].replace(/^(daemon|stdio):/, "")),
                    ...(directives.get("coredump_dir") ?? []),
                    ...(directives.get("netdb_filename") ?? []).map((v) => v.replace(/^stdio:/, "")).filter((v) => v !== "none"),
                ];
                // Explicit, so no compile-time default of the image's build decides where squid writes.
                for (const d of ["cache_log", "access_log", "coredump_dir", "pid_filename"]) {
                    expect(directives.has(d), `${t.family}: squid.conf sets ${d}`).to.equal(true);
                }
                expect(directives.get("pid_filename"), t.family).to.deep.equal(["none"]);
                expect(directives.has("cache_dir"), `${t.family}: no disk cache`).to.equal(false);
                for (const p of written) {
                    expect(mounts.some((m) => under(p, m)), `${t.family}: squid writes ${p}, outside ${mounts.join(", ")}`).to.equal(true);
                }
                // The file the command writes is the one squid parses and runs.
                const script = t.main.command!.join("\n");
                const target = script.match(/printf "%s" "\$SQUID_CONF" > (\S+)/)![1];
                expect(mounts.some((m) => under(target, m)), `${t.family}: squid.conf at ${target}`).to.equal(true);
                expect(script).to.include(`squid -k parse -f ${target}`);
                expect(script).to.match(new RegExp(`exec squid -f ${target.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} -N`));
                // squid writes its logs and journal as cache_effective_user; a fresh volume belongs to root.
                const user = directives.get("cache_effective_user")![0];
                const chown = script.split("\n").find((l) => l.startsWith(`chown ${user}:`));
                expect(chown, `${t.family}: chown to ${user}`).to.not.equal(undefined);
                for (const dir of mounts.filter((m) => written.some((p) => under(p, m)))) {
                    expect(chown!.split(/\s+/), `${t.family}: ${dir} handed to ${user}`).to.include(dir);
                }
            }
        });

        it("unpacks the sandbox's Node.js into a writable mount and points the server there, not at /opt or /usr/local/bin", () => {
            const t = all.find((x) => x.family === "sandbox")!;
            const script = t.main.command!.join("\n");
            const dir = script.match(/tar -xf "\$NODE_TAR_XZ" -C (\S+)/)![1];
            expect(writableMounts(t.main).some((m) => under(dir, m.containerPath))).to.equal(true);
            expect(script).to.match(new RegExp(`export NODEJS_PATH="${dir}/`));
            expect(script.trim().split("\n").pop()).to.equal("exec /main");
        });

        it("runs no ECS Exec in a container whose root file system is read-only (AWS does not support it there)", () => {
            const exec = (family: string) => run.ofType("aws:ecs/service:Service").find((s) => s.inputs.name === `dify-${stack}-${family}`)?.inputs.enableExecuteCommand;
            const readOnly = all.filter((t) => t.main.readonlyRootFilesystem && run.ofType("aws:ecs/service:Service").some((s) => s.inputs.name === `dify-${stack}-${t.family}`));
            expect(readOnly.map((t) => t.family)).to.include.members(["sandbox", "ssrf-proxy", "agent-ssrf-proxy"]);
            for (const t of readOnly) {
                expect(exec(t.family), t.family).to.equal(false);
            }
            // The stack does run ECS Exec elsewhere, so this is not vacuous.
            expect(exec("api")).to.equal(true);
        });
    });
}

describe("read-only root file systems: the checks themselves", () => {
    const squid = (command: string, mounts: string[]): Task => ({
        family: "ssrf-proxy",
        repository: "ubuntu/squid",
        tag: "6.6-24.04_beta",
        main: { name: "ssrf-proxy", image: "ubuntu/squid:6.6-24.04_beta", entryPoint: ["/bin/bash", "-c"], command: [command], mountPoints: mounts.map((p, i) => ({ sourceVolume: `v${i}`, containerPath: p, readOnly: false })) },
        containers: [],
        volumes: mounts.map((_, i) => ({ name: `v${i}` })),
    });

    it("catch a container that writes its configuration outside its writable mounts (the squid command before this change)", () => {
        const before = squid('set -eu\nprintf "%s" "$SQUID_CONF" > /etc/squid/squid.conf\nsquid -k parse -f /etc/squid/squid.conf\nexec squid -f /etc/squid/squid.conf -NYC', ["/var/log/squid"]);
        const outside = commandWrites(before.main).filter((p) => !["/var/log/squid"].some((m) => under(p, m)));
        expect(outside).to.deep.equal(["/etc/squid/squid.conf"]);
    });

    it("read writes from redirections, tar -C, chown and cp, and not from reads or /dev", () => {
        const c: Container = {
            name: "x",
            image: "x",
            command: ['set -eu\nprintf "%s" "$A" > /a/b.conf\ntar -xf "$T" -C /opt/x\nchown u:u /l /s\ncp -a /src/. /seed/src/\ntail -F /var/log/a.log 2>/dev/null &\nexec /main -f /etc/c.conf'],
        };
        expect(commandWrites(c).sort()).to.deep.equal(["/a/b.conf", "/l", "/opt/x", "/s", "/seed/src"].sort());
    });
});
