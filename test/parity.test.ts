/**
 * Upstream parity: for every release of the compatibility table (config/upstream), every service upstream's compose
 * starts by default runs here with that release's image, ports, mode and command, and every variable upstream sets is
 * set by the program or listed as a deliberate difference with its reason (config/upstream/parity.ts).
 */
import { expect } from "chai";
import { DIFY_RELEASES, releaseImages } from "../config/upstream/releases";
import { DIFFERENCES, differenceFor, matchesName, ROLE_OF_SERVICE, serviceDifferenceFor, SERVICE_DIFFERENCES, TAKEN_FROM_UPSTREAM } from "../config/upstream/parity";
import type { UpstreamRelease } from "../config/upstream/types";
import { upstreamEnvironment } from "../config/upstream/types";
import { KEBAB } from "../components/difyCluster/context";
import { configErrorFor, ProgramRun, runProgram, Stack, stackRun } from "./harness";

interface Container {
    name: string;
    image: string;
    environment: { name: string; value: string }[];
    secrets?: { name: string; valueFrom: string }[];
    portMappings?: { containerPort: number }[];
    entryPoint?: string[];
    command?: string[];
    mountPoints?: { containerPath: string }[];
}

function containerFor(run: ProgramRun, family: string): Container {
    const td = run.one("aws:ecs/taskDefinition:TaskDefinition", `dify-${family}`);
    return (JSON.parse(td.inputs.containerDefinitions) as Container[])[0];
}

const namesOf = (c: Container) => new Set([...c.environment.map((e) => e.name), ...(c.secrets ?? []).map((s) => s.name)]);
const valueOf = (c: Container, name: string) => c.environment.find((e) => e.name === name)?.value;

/** The 1.16.1 images, which go together (the compatibility table). */
function overridesFor(release: UpstreamRelease): Record<string, unknown> {
    const images = releaseImages(release);
    return { difyImageTag: images.dify, pluginDaemonImageTag: images.pluginDaemon, agentImageTag: images.agent, sandboxImageTag: images.sandbox };
}

const runs = new Map<string, Promise<ProgramRun>>();
function releaseRun(stack: Stack, version: string): Promise<ProgramRun> {
    const key = `${stack}:${version}`;
    if (!runs.has(key)) {
        const release = DIFY_RELEASES[version];
        // The default release shares the suite's stack run.
        runs.set(key, releaseImages(release).dify === "1.17.1" ? stackRun(stack) : runProgram(stack, overridesFor(release)));
    }
    return runs.get(key)!;
}

/** Every (service, variable) upstream sets that the run neither sets nor lists as a difference. */
function gaps(run: ProgramRun, release: UpstreamRelease): string[] {
    const setAnywhere = new Set<string>();
    const setBy: Record<string, Set<string>> = {};
    for (const [service, role] of Object.entries(ROLE_OF_SERVICE)) {
        setBy[service] = namesOf(containerFor(run, KEBAB[role]));
        setBy[service].forEach((n) => setAnywhere.add(n));
    }
    const missing: string[] = [];
    for (const name of Object.keys(release.dotenv.vars)) {
        if (!setAnywhere.has(name) && !differenceFor(name, "dotenv")) {
            missing.push(`${release.dotenv.file}: ${name}`);
        }
    }
    for (const [service, s] of Object.entries(release.services)) {
        for (const name of Object.keys(s.environment)) {
            if (!setBy[service].has(name) && !differenceFor(name, service)) {
                missing.push(`${service}: ${name}`);
            }
        }
    }
    return missing;
}

describe("upstream parity: every service and variable of each release, or a deliberate difference", function () {
    for (const [version, release] of Object.entries(DIFY_RELEASES)) {
        describe(`Dify ${version} (langgenius/dify@${release.commit.slice(0, 8)})`, () => {
            for (const stack of ["dev", "prd"] as Stack[]) {
                it(`${stack}: every default compose service runs as its role, with the release's image, ports, mode and command`, async () => {
                    const run = await releaseRun(stack, version);
                    const upstreamServices = Object.keys(release.services);
                    expect([...upstreamServices].sort(), "a compose service without a role (ROLE_OF_SERVICE)").to.deep.equal(Object.keys(ROLE_OF_SERVICE).sort());
                    for (const [service, s] of Object.entries(release.services)) {
                        const c = containerFor(run, KEBAB[ROLE_OF_SERVICE[service]]);
                        const [repository, tag] = s.image.split(":");
                        expect(c.image, service).to.match(new RegExp(`(^|/)${repository.replace("/", "\\/")}:`));
                        if (!serviceDifferenceFor(service, "imageTag")) {
                            expect(c.image, service).to.match(new RegExp(`:${tag.replace(/\./g, "\\.")}$`));
                        }
                        const ours = (c.portMappings ?? []).map((p) => p.containerPort);
                        for (const port of s.ports) {
                            if (!serviceDifferenceFor(service, "port", port)) {
                                expect(ours, `${service} listens on ${port}`).to.include(port);
                            }
                        }
                        expect(ours.filter((p) => !s.ports.includes(p)), `${service}: ports upstream does not open`).to.deep.equal([]);
                        if (s.mode) {
                            expect(valueOf(c, "MODE"), `${service} MODE`).to.equal(s.mode);
                        }
                        const overridden = c.entryPoint !== undefined || c.command !== undefined;
                        if (!serviceDifferenceFor(service, "command")) {
                            expect(overridden, `${service} runs the image's own command, as compose does`).to.equal(s.command !== undefined);
                        }
                        for (const volume of s.volumes ?? []) {
                            const path = volume.slice(volume.lastIndexOf(":") + 1);
                            if (!serviceDifferenceFor(service, "volume", path)) {
                                expect((c.mountPoints ?? []).map((m) => m.containerPath), `${service} mounts ${path}`).to.include(path);
                            }
                        }
                    }
                    // The services this program replaces with AWS services are named, not silently missing.
                    expect(release.replacedServices).to.include.members(["nginx", "db_postgres", "redis", "weaviate"]);
                });

                it(`${stack}: every variable upstream sets is set, or is a difference with its reason`, async () => {
                    const run = await releaseRun(stack, version);
                    expect(gaps(run, release)).to.deep.equal([]);
                });
            }

            it("prd: the variables taken from upstream carry the release's values, read from its table", async () => {
                const run = await releaseRun("prd", version);
                const checked: string[] = [];
                for (const [role, names] of Object.entries(TAKEN_FROM_UPSTREAM)) {
                    const service = Object.entries(ROLE_OF_SERVICE).find(([, r]) => r === role)![0];
                    const upstream = upstreamEnvironment(release, service);
                    const c = containerFor(run, KEBAB[role as keyof typeof KEBAB]);
                    for (const name of names) {
                        const value = upstream[name];
                        if (value === undefined || value === null) {
                            continue;
                        }
                        checked.push(name);
                        // A few are overridden on purpose, and then the override is in the program, not here.
                        expect(valueOf(c, name), `${service} ${name}`).to.equal(value);
                    }
                }
                expect(checked.length).to.be.greaterThan(60);
            });
        });
    }

    it("the 1.16.1 run takes the variables only 1.16.1 has (WORKFLOW_GENERATION_TIMEOUT_MS), and 1.17.1's does not", async () => {
        const old = containerFor(await releaseRun("prd", "1.16.1"), "web");
        const current = containerFor(await releaseRun("prd", "1.17.1"), "web");
        expect(valueOf(old, "WORKFLOW_GENERATION_TIMEOUT_MS")).to.equal(DIFY_RELEASES["1.16.1"].dotenv.vars.WORKFLOW_GENERATION_TIMEOUT_MS);
        expect(valueOf(current, "WORKFLOW_GENERATION_TIMEOUT_MS")).to.equal(undefined);
    });

    it("finds the gap when the program stops setting a variable upstream sets (the test can fail)", async () => {
        const run = await releaseRun("prd", "1.17.1");
        const release = DIFY_RELEASES["1.17.1"];
        const trimmed: UpstreamRelease = {
            ...release,
            services: { ...release.services, api: { ...release.services.api, environment: { ...release.services.api.environment, A_NEW_UPSTREAM_SETTING: "1" } } },
        };
        expect(gaps(run, trimmed)).to.deep.equal(["api: A_NEW_UPSTREAM_SETTING"]);
    });

    it("lists no stale difference: each one names a variable some release sets that the program does not", async () => {
        const prd = await releaseRun("prd", "1.17.1");
        const prd16 = await releaseRun("prd", "1.16.1");
        const byRelease: [UpstreamRelease, ProgramRun][] = [
            [DIFY_RELEASES["1.17.1"], prd],
            [DIFY_RELEASES["1.16.1"], prd16],
        ];
        const stale: string[] = [];
        for (const d of DIFFERENCES) {
            for (const pattern of d.names) {
                const used = byRelease.some(([release, run]) => {
                    const wheres = d.where === "dotenv" ? ["dotenv"] : d.where;
                    return wheres.some((where) => {
                        const vars = where === "dotenv" ? release.dotenv.vars : (release.services[where]?.environment ?? {});
                        const setHere =
                            where === "dotenv"
                                ? new Set(Object.values(ROLE_OF_SERVICE).flatMap((r) => [...namesOf(containerFor(run, KEBAB[r]))]))
                                : namesOf(containerFor(run, KEBAB[ROLE_OF_SERVICE[where]]));
                        return Object.keys(vars).some((n) => matchesName(pattern, n) && !setHere.has(n));
                    });
                });
                if (!used) {
                    stale.push(`${pattern} (${d.where === "dotenv" ? "dotenv" : d.where.join(", ")})`);
                }
            }
            expect(d.reason.length, d.names.join()).to.be.greaterThan(20);
        }
        expect(stale).to.deep.equal([]);
        for (const d of SERVICE_DIFFERENCES) {
            expect(d.services.every((s) => s in ROLE_OF_SERVICE), d.services.join()).to.equal(true);
        }
    });

    it("refuses a difyImageTag without a table, and says how to add one", () => {
        const message = configErrorFor("dev", { difyImageTag: "1.99.0" });
        expect(message).to.include('dify-aws:difyImageTag = "1.99.0"');
        expect(message).to.include("config/upstream/dify-<version>.ts");
        expect(message).to.include("DIFY_RELEASES");
        for (const version of Object.keys(DIFY_RELEASES)) {
            expect(message).to.include(version);
        }
    });
});
