/**
 * What the engine may create in parallel, it will: these tests walk the dependency graph the program registers (the
 * URNs each resource depends on, explicitly or through its inputs) and check the orders a first `up` needs on real
 * AWS. The pairs come from AWS's and Dify's behaviour (the issue, dify-on-ecs.md), not from the implementation.
 */
import { expect } from "chai";
import { ProgramRun, Stack, stackRun } from "./harness";
import { RegisteredResource } from "./mocks";

const STACKS: Stack[] = ["dev", "prd"];
const SERVICE = "aws:ecs/service:Service";
const TARGET = "aws:appautoscaling/target:Target";

/** Every URN `r` depends on, directly or through any chain of dependencies. */
function closure(run: ProgramRun, r: RegisteredResource): Set<string> {
    const byUrn = new Map(run.resources.map((x) => [x.urn, x]));
    const seen = new Set<string>();
    const stack = [...r.dependencies];
    while (stack.length > 0) {
        const urn = stack.pop()!;
        if (!seen.has(urn)) {
            seen.add(urn);
            stack.push(...(byUrn.get(urn)?.dependencies ?? []));
        }
    }
    return seen;
}

const service = (run: ProgramRun, role: string) => run.one(SERVICE, `dify-${role}`);
const targetOf = (run: ProgramRun, role: string) => run.ofType(TARGET).find((t) => String(t.inputs.resourceId).endsWith(`/dify-${run.stack}-${role}`));

/** The resource whose creation starts a role's first tasks: its service, or (created without tasks) its scalable target. */
function firstTasks(run: ProgramRun, role: string): RegisteredResource {
    const svc = service(run, role);
    if (svc.inputs.desiredCount > 0) {
        return svc;
    }
    const target = targetOf(run, role);
    expect(target, `${role} is created without tasks, so its scalable target must start them`).to.not.equal(undefined);
    expect(target!.inputs.minCapacity, role).to.be.at.least(1);
    return target!;
}

for (const stack of STACKS) {
    for (const preview of [false, true]) {
        describe(`creation order (${stack}, ${preview ? "first preview" : "up"})`, () => {
            let run: ProgramRun;
            before(async () => {
                run = await stackRun(stack, { preview });
            });

            describe("database, cache and secrets are ready before anything uses them", () => {
                // The cluster resource completes before any instance exists; a cluster without a writer refuses
                // connections. Every consumer of the database must wait for the writer instance, every consumer of the
                // cache for the replication group, every reader of a secret for its value (the secret version).
                const consumers = (r: ProgramRun) => [
                    { what: "migration gate", resource: r.resources.find((x) => x.type.endsWith(":MigrationGate"))! },
                    ...["api", "worker", "beat", "plugin-daemon"].map((role) => ({ what: `${role} service`, resource: service(r, role) })),
                ];

                it("every consumer of the database depends on the writer instance, not only on the cluster", () => {
                    const writer = run.one("aws:rds/clusterInstance:ClusterInstance", "data-db-1");
                    expect(writer.inputs.promotionTier, "instance 1 is the writer").to.equal(0);
                    for (const { what, resource } of consumers(run)) {
                        expect(closure(run, resource).has(writer.urn), what).to.equal(true);
                    }
                });

                it("every consumer of the cache depends on the replication group", () => {
                    const group = run.one("aws:elasticache/replicationGroup:ReplicationGroup");
                    for (const { what, resource } of consumers(run)) {
                        expect(closure(run, resource).has(group.urn), what).to.equal(true);
                    }
                });

                it("every service and the migration gate depend on the value (version) of every secret their tasks read", () => {
                    const versions = run.ofType("aws:secretsmanager/secretVersion:SecretVersion");
                    const secrets = run.ofType("aws:secretsmanager/secret:Secret");
                    // The task definitions' secrets reference secrets this program stores: api, worker, beat, daemon
                    // and the migration read the database, cache and inner-key secrets at least.
                    expect(versions.length).to.be.at.least(4);
                    const readers = [
                        ...["web", "api", "worker", "beat", "plugin-daemon", "sandbox", "ssrf-proxy"].map((role) => ({ what: `${role} service`, resource: service(run, role), family: role })),
                        { what: "migration gate", resource: run.resources.find((x) => x.type.endsWith(":MigrationGate"))!, family: "migration" },
                    ];
                    for (const { what, resource, family } of readers) {
                        const deps = closure(run, resource);
                        const taskDef = run.one("aws:ecs/taskDefinition:TaskDefinition", `dify-${family}`);
                        // Which secrets the task reads, by the dependencies of its task definition (also known in a preview).
                        const read = secrets.filter((sec) => closure(run, taskDef).has(sec.urn));
                        for (const sec of read) {
                            const version = versions.find((v) => v.dependencies.includes(sec.urn) && v.name === sec.name)!;
                            expect(version, `${sec.name} has a version`).to.not.equal(undefined);
                            expect(deps.has(version.urn), `${what} waits for ${sec.name}'s value`).to.equal(true);
                        }
                        if (family !== "web" && family !== "ssrf-proxy") {
                            expect(read.length, `${what} reads secrets`).to.be.greaterThan(0);
                        }
                    }
                });
            });

            it("the plugin daemon's first tasks wait for a mount target in every zone, the file system's policy and the NFS rule", () => {
                // ECS fails a task whose EFS volume has no available mount target in the task's zone
                // (ResourceInitializationError), and one the file system policy or security group refuses.
                const deps = closure(run, firstTasks(run, "plugin-daemon"));
                // By name: at preview the file system's id is not known yet.
                const mountTargets = run.ofType("aws:efs/mountTarget:MountTarget").filter((m) => m.name.startsWith("data-plugin-workspace-efs-"));
                expect(mountTargets).to.have.length(stack === "prd" ? 3 : 2);
                const policy = run.one("aws:efs/fileSystemPolicy:FileSystemPolicy", "data-plugin-workspace-efs");
                for (const r of [...mountTargets, policy, run.one("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "dify-plugin-daemon-to-plugin-workspace-in")]) {
                    expect(deps.has(r.urn), r.name).to.equal(true);
                }
            });

            it("the agent sandbox's first task waits for its workspace's mount targets, policy and NFS rule", () => {
                const deps = closure(run, firstTasks(run, "agent-sandbox"));
                // By name: at preview the file system's id is not known yet.
                const mountTargets = run.ofType("aws:efs/mountTarget:MountTarget").filter((m) => m.name.startsWith("data-agent-workspace-efs-"));
                expect(mountTargets).to.have.length(stack === "prd" ? 3 : 2);
                const policy = run.one("aws:efs/fileSystemPolicy:FileSystemPolicy", "data-agent-workspace-efs");
                for (const r of [...mountTargets, policy, run.one("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "dify-agent-sandbox-to-agent-workspace-in")]) {
                    expect(deps.has(r.urn), r.name).to.equal(true);
                }
            });

            describe("Service Connect: every server exists before its clients' first tasks start", () => {
                // AWS: a task resolves only the endpoints that existed when it started. Who calls whom (Dify's
                // environment): sandbox -> ssrf-proxy; api -> sandbox, ssrf-proxy, plugin-daemon, agent-backend;
                // plugin-daemon -> api; worker -> plugin-daemon, sandbox, ssrf-proxy, agent-backend; web -> api;
                // agent-backend -> plugin-daemon, api, agent-sandbox; agent-sandbox -> agent-ssrf-proxy;
                // agent-ssrf-proxy -> agent-backend, api (the agent stub and signed files).
                const PAIRS: [client: string, server: string][] = [
                    ["sandbox", "ssrf-proxy"],
                    ["api", "sandbox"],
                    ["api", "ssrf-proxy"],
                    ["api", "plugin-daemon"],
                    ["plugin-daemon", "api"],
                    ["worker", "plugin-daemon"],
                    ["worker", "sandbox"],
                    ["worker", "ssrf-proxy"],
                    ["web", "api"],
                    ["api", "agent-backend"],
                    ["worker", "agent-backend"],
                    ["agent-backend", "plugin-daemon"],
                    ["agent-backend", "api"],
                    ["agent-backend", "agent-sandbox"],
                    ["agent-sandbox", "agent-ssrf-proxy"],
                    ["agent-ssrf-proxy", "agent-backend"],
                    ["agent-ssrf-proxy", "api"],
                ];
                for (const [client, server] of PAIRS) {
                    it(`${client} -> ${server}`, () => {
                        const start = firstTasks(run, client);
                        expect(closure(run, start).has(service(run, server).urn), `${client}'s first tasks wait for the ${server} service`).to.equal(true);
                    });
                }

                it("the api/plugin-daemon cycle is broken without a cycle in the graph: the daemon's service exists first, its tasks start after api's", () => {
                    const daemon = service(run, "plugin-daemon");
                    const api = service(run, "api");
                    expect(closure(run, api).has(daemon.urn)).to.equal(true);
                    expect(closure(run, daemon).has(api.urn), "the daemon service itself does not wait for api").to.equal(false);
                    expect(daemon.ignoreChanges, "later ups never reset the count autoscaling set").to.include("desiredCount");
                });

                it("so is the api/agent-backend cycle: the backend's service exists before api's, its tasks start after api's", () => {
                    const agent = service(run, "agent-backend");
                    const api = service(run, "api");
                    expect(closure(run, api).has(agent.urn)).to.equal(true);
                    expect(closure(run, agent).has(api.urn), "the agent backend service itself does not wait for api").to.equal(false);
                    expect(agent.inputs.desiredCount).to.equal(0);
                });
            });
        });
    }
}
