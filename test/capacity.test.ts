/**
 * Capacity: Dify's processes sized to their tasks, and the database connections at maximum scale against Aurora's
 * documented max_connections.
 *
 * Upstream facts the expectations rest on:
 * - api/docker/entrypoint.sh: gunicorn `--workers ${SERVER_WORKER_AMOUNT:-1} --worker-class ${SERVER_WORKER_CLASS:-gevent}
 *   --worker-connections ${SERVER_WORKER_CONNECTIONS:-10}`, so without these variables an api task serves 10 requests
 *   at once; the worker runs `celery ... -P gevent -c ${CELERY_WORKER_AMOUNT:-1}` unless CELERY_AUTO_SCALE is true or
 *   CELERY_WORKER_CONCURRENCY is set.
 * - api/configs/middleware: SQLALCHEMY_POOL_SIZE 30 and SQLALCHEMY_MAX_OVERFLOW 10 by default, per process.
 * - dify-plugin-daemon internal/types/app/config.go: DB_MAX_OPEN_CONNS 30, DB_MAX_IDLE_CONNS 10 by default.
 * - Aurora user guide: Serverless v2 max_connections by maximum ACU (4 -> 823, 16 -> 3,360, 32 -> 5,000), capped at
 *   2,000 with a minimum of 0 or 0.5 ACU; provisioned LEAST(DBInstanceClassMemory/9531392, 5000), tabled per class.
 * - SQLAlchemy QueuePool: connections beyond pool_size (up to max_overflow) are closed when they are returned.
 */
import { expect } from "chai";
import { apiMemoryNeeded, CACHE_CONNECTIONS, deriveApiProcesses, MEMORY_BUDGET_MIB } from "../config/capacity";
import { WEBSOCKET_WORKER } from "../components/difyEnvironment/api";
import { FARGATE_CPU_UNITS, isFargateSize } from "../config/roles";
import { stackCapacity } from "../tools/docs/capacity";
import { configErrorFor, containerOf, environmentOf, loadSettingsFor, ProgramRun, runProgram, runProgramExpectingError, stackRun } from "./harness";

const API_IMAGE_FAMILIES = ["api", "worker", "beat", "migration"];

function expectKeys(message: string, keys: string[]): void {
    for (const key of keys) {
        expect(message, key).to.include(`dify-aws:${key} = `);
    }
}

describe("capacity", () => {
    describe("the settings reach the containers", () => {
        for (const stack of ["dev", "prd"] as const) {
            it(`${stack}: gunicorn 1 gevent worker of 100 connections per api task, Celery 5 jobs, pools 20 + 10 (api 20 + 80) + 5, daemon 20/10`, async () => {
                const run = await stackRun(stack);
                // dev's api has 512 CPU units and prd's 1024: one worker either way (a gevent worker uses one vCPU);
                // 2048 MiB leaves 2048 - 128 - 640 = 1280 MiB, 160 connections of 8 MiB, capped at 100.
                expect(environmentOf(containerOf(run, "api"))).to.include({ SERVER_WORKER_CLASS: "gevent", SERVER_WORKER_AMOUNT: "1", SERVER_WORKER_CONNECTIONS: "100", GUNICORN_TIMEOUT: "360" });
                // 2048 MiB workers: (2048 - 768) / 256 = 5 jobs, within the 30 connections of the pool.
                expect(environmentOf(containerOf(run, "worker"))).to.include({ CELERY_WORKER_AMOUNT: "5", CELERY_AUTO_SCALE: "false" });
                for (const family of API_IMAGE_FAMILIES) {
                    // An api worker's pool covers its 100 requests: 20 kept, 80 overflow closed on return.
                    const overflow = family === "api" ? "80" : "10";
                    expect(environmentOf(containerOf(run, family)), family).to.include({ SQLALCHEMY_POOL_SIZE: "20", SQLALCHEMY_MAX_OVERFLOW: overflow, PGVECTOR_MAX_CONNECTION: "5" });
                }
                for (const family of ["worker", "beat", "migration"]) {
                    expect(environmentOf(containerOf(run, family)), family).to.not.have.any.keys("SERVER_WORKER_AMOUNT", "SERVER_WORKER_CONNECTIONS");
                }
                expect(environmentOf(containerOf(run, "api"))).to.not.have.property("CELERY_WORKER_AMOUNT");
                expect(environmentOf(containerOf(run, "plugin-daemon"))).to.include({ DB_MAX_OPEN_CONNS: "20", DB_MAX_IDLE_CONNS: "10" });
            });
        }

        it("non-default keys and task sizes land in the containers", async () => {
            const run: ProgramRun = await runProgram("dev", {
                apiCpu: 2048,
                apiMemory: 4096,
                workerMemory: 4096,
                databasePoolSize: 15,
                databasePoolMaxOverflow: 5,
                pgvectorMaxConnections: 3,
                pluginDaemonDbMaxOpenConns: 6,
            });
            // Two vCPUs: two workers; (4096 - 128 - 2 x 640) / (2 x 8) = 168 connections each, capped at 100.
            expect(environmentOf(containerOf(run, "api"))).to.include({ SERVER_WORKER_AMOUNT: "2", SERVER_WORKER_CONNECTIONS: "100" });
            // (4096 - 768) / 256 = 13 jobs, but the pool holds 15 + 5 = 20: 13.
            expect(environmentOf(containerOf(run, "worker"))).to.include({ CELERY_WORKER_AMOUNT: "13" });
            for (const family of API_IMAGE_FAMILIES) {
                // api: 100 connections per worker need 100 - 15 = 85 beyond the pool.
                const overflow = family === "api" ? "85" : "5";
                expect(environmentOf(containerOf(run, family)), family).to.include({ SQLALCHEMY_POOL_SIZE: "15", SQLALCHEMY_MAX_OVERFLOW: overflow, PGVECTOR_MAX_CONNECTION: "3" });
            }
            // Fewer open connections than the daemon's 10 idle ones: idle follows open.
            expect(environmentOf(containerOf(run, "plugin-daemon"))).to.include({ DB_MAX_OPEN_CONNS: "6", DB_MAX_IDLE_CONNS: "6" });

            const set = await runProgram("dev", { apiServerWorkers: 1, apiWorkerConnections: 40, workerConcurrency: 3 });
            expect(environmentOf(containerOf(set, "api"))).to.include({ SERVER_WORKER_AMOUNT: "1", SERVER_WORKER_CONNECTIONS: "40" });
            expect(environmentOf(containerOf(set, "worker"))).to.include({ CELERY_WORKER_AMOUNT: "3" });
        });

        it("a worker pool smaller than the memory would allow caps the derived Celery concurrency", () => {
            // 2048 MiB would allow 5 jobs; a pool of 2 + 1 holds 3.
            const s = loadSettingsFor("dev", { databasePoolSize: 2, databasePoolMaxOverflow: 1 }).settings;
            expect(s.cluster.processes.worker.concurrency).to.equal(3);
        });

        it("derived gunicorn settings fit their task's memory for every Fargate size of 1 GiB and more", () => {
            for (const cpu of FARGATE_CPU_UNITS) {
                for (let memory = 1024; memory <= 122880; memory += 512) {
                    if (!isFargateSize(cpu, memory)) {
                        continue;
                    }
                    const d = deriveApiProcesses({ cpu, memory });
                    expect(d.workers, `${cpu}/${memory}`).to.be.within(1, Math.max(1, cpu / 1024));
                    expect(apiMemoryNeeded(d.workers, d.connectionsPerWorker), `${cpu}/${memory}`).to.be.at.most(memory);
                    expect(d.connectionsPerWorker).to.be.within(10, 100);
                }
            }
            // The budget's arithmetic, by hand: 128 + 640 + 100 x 8 = 1568 MiB for one worker of 100 connections.
            expect(apiMemoryNeeded(1, 100)).to.equal(MEMORY_BUDGET_MIB.apiMaster + MEMORY_BUDGET_MIB.apiWorker + 100 * MEMORY_BUDGET_MIB.apiConnection).and.to.equal(1568);
        });
    });

    describe("the model's numbers", () => {
        it("dev: 200 concurrent api requests, 10 Celery jobs, 425 connections of Serverless v2 0.5-4 ACU's 823", () => {
            const m = stackCapacity(loadSettingsFor("dev").settings);
            // api 2 tasks x 1 worker x 100; worker 2 tasks x 5.
            expect([m.concurrentApiRequests, m.celeryConcurrency]).to.deep.equal([200, 10]);
            // An api worker 20 + 80 + 5 = 105; every other api-image process 20 + 10 + 5 = 35; a daemon task 20.
            // api 2 x 105, worker 2 x 35, daemon 2 x 20, beat 35, the api websocket (collaboration, the same Flask app
            // and pool) 35, migration 35. The agent backend opens none: it keeps its runs in Redis.
            expect(m.connections).to.equal(210 + 70 + 40 + 35 + 35 + 35);
            expect([m.maxConnections, m.limit]).to.deep.equal([823, 658]);
            expect(m.rolloutConnections).to.equal(2 * (210 + 70 + 40) + 35 + 35 + 35);
        });

        it("counts the cache connections of every process, the new ones included, under the cacheConnections alarm on both stacks", () => {
            const m = stackCapacity(loadSettingsFor("prd").settings);
            // api 12 x (100 greenlets + Celery's broker pool of 10), worker 10 x (5 jobs + 10), beat 1 + 10, the
            // websocket's 1,000 sockets, the daemon 4 tasks x go-redis's 10 per CPU (1 vCPU), the agent backend 4 x 100.
            expect(m.cacheConnections).to.equal(1320 + 150 + 11 + 1000 + 40 + 400);
            expect(m.cacheLines.map((l) => l.what.split(":")[0])).to.deep.equal(["api", "worker", "beat", "api websocket", "plugin daemon", "agent backend"]);
            for (const stack of ["dev", "prd"] as const) {
                const { settings } = loadSettingsFor(stack);
                expect(stackCapacity(settings).cacheConnections, stack).to.be.below(settings.ops.thresholds.cacheConnections);
            }
            // Without Agent v2 and collaboration, their lines go.
            const off = stackCapacity(loadSettingsFor("prd", { agentV2Enabled: false, collaborationEnabled: false }).settings);
            expect(off.cacheConnections).to.equal(1320 + 150 + 11 + 40);
        });

        it("the websocket's sockets are the worker the program deploys", () => {
            expect(CACHE_CONNECTIONS.websocketConnections).to.equal(WEBSOCKET_WORKER.connections);
        });

        it("prd: at least 1,000 concurrent api requests, and its connections within 80 % of Serverless v2 1-32 ACU's 5,000, rollouts within the limit itself", () => {
            const m = stackCapacity(loadSettingsFor("prd").settings);
            expect(m.concurrentApiRequests).to.equal(12 * 1 * 100).and.to.be.at.least(1000);
            expect(m.celeryConcurrency).to.equal(10 * 5);
            // api 12 x 105, worker 10 x 35, daemon 4 x 20, beat 35, api websocket 35, migration 35.
            expect(m.connections).to.equal(1260 + 350 + 80 + 35 + 35 + 35);
            expect([m.maxConnections, m.limit]).to.deep.equal([5000, 4000]);
            expect(m.connections).to.be.at.most(m.limit);
            expect(m.rolloutConnections).to.equal(2 * (1260 + 350 + 80) + 105).and.to.be.at.most(m.maxConnections);
        });

        it("follows the configured Aurora capacity: the 2,000 cap at a 0.5 ACU minimum, and provisioned classes as AWS documents them", () => {
            expect(stackCapacity(loadSettingsFor("dev", { databaseMinCapacity: "0.5", databaseMaxCapacity: "32" }).settings).maxConnections).to.equal(2000);
            expect(stackCapacity(loadSettingsFor("prd", { databaseMaxCapacity: "16" }).settings).maxConnections).to.equal(3360);
            // AWS's table: db.r6g.xlarge 3,479; db.r7g.xlarge is not listed, so the lowest value of a 32 GiB class (3,300).
            expect(stackCapacity(loadSettingsFor("prd", { databaseCapacityMode: "provisioned", databaseInstanceClass: "db.r6g.xlarge" }).settings).maxConnections).to.equal(3479);
            expect(stackCapacity(loadSettingsFor("prd", { databaseCapacityMode: "provisioned", databaseInstanceClass: "db.r7g.xlarge" }).settings).maxConnections).to.equal(3300);
        });
    });

    describe("the connection check", () => {
        const MODEL_KEYS = ["apiMaxTasks", "apiServerWorkers", "workerMaxTasks", "pluginDaemonMaxTasks", "databasePoolSize", "databasePoolMaxOverflow", "pgvectorMaxConnections", "pluginDaemonDbMaxOpenConns"];

        /** Every change the message proposes, as config overrides. */
        function hintsOf(message: string): Record<string, unknown>[] {
            const hints: Record<string, unknown>[] = [];
            for (const m of message.matchAll(/databaseMinCapacity "1" with databaseMaxCapacity "([\d.]+)"/g)) {
                hints.push({ databaseMinCapacity: "1", databaseMaxCapacity: m[1] });
            }
            for (const m of message.matchAll(/(?<!with )databaseMaxCapacity "([\d.]+)"(?! \()/g)) {
                hints.push({ databaseMaxCapacity: m[1] });
            }
            for (const m of message.matchAll(/databaseInstanceClass "([a-z0-9.]+)"(?!:)/g)) {
                hints.push({ databaseInstanceClass: m[1] });
            }
            for (const m of message.matchAll(/(apiMaxTasks|workerMaxTasks|databasePoolSize) (\d+)/g)) {
                hints.push({ [m[1]]: Number(m[2]) });
            }
            return hints;
        }

        it("refuses dev on a 1 ACU maximum (189 connections), naming every key and the capacity that fits, before any resource", async () => {
            const message = configErrorFor("dev", { databaseMaxCapacity: "1" });
            expectKeys(message, [...MODEL_KEYS, "databaseMinCapacity", "databaseMaxCapacity"]);
            expect(message).to.match(/within 80 % of Aurora's max_connections \(189 for Serverless v2 0\.5-1 ACU, so 151\): this config opens up to 425/);
            // 2 ACU is still the 1 ACU row (189); 4 ACU gives 823, 80 % of which is 658.
            expect(message).to.include('databaseMaxCapacity "4"');
            expect(message).to.match(/only after its instances reboot/);
            const { error, registered } = await runProgramExpectingError("dev", { databaseMaxCapacity: "1" });
            expect(error.name).to.equal("ConfigError");
            expect(registered).to.equal(0);
        });

        it("refuses prd scaled to 22 api tasks on a 16 ACU maximum, naming a capacity, task maxima and a pool size that each fit", () => {
            // 22 x 105 + 350 + 80 + 105 = 2,845 > 2,688 (80 % of 3,360).
            const overrides = { databaseMaxCapacity: "16", apiMaxTasks: 22 };
            const message = configErrorFor("prd", overrides);
            expectKeys(message, MODEL_KEYS);
            expect(message).to.include("opens up to 2845").and.to.include("api: 22 tasks x 1 gunicorn worker(s) x 105 = 2310");
            // 32 ACU: 5,000, limit 4,000. (2,688 - 535) / 105 = 20.5 api tasks. (2,688 - 2,310 - 185) / 35 = 5.5 worker
            // tasks. A pool of n: 2,310 + 80 + 13 x (n + 15) <= 2,688 gives n <= 7 (an api worker's overflow still covers
            // its 100 requests, and 7 + 10 holds the worker's 5 jobs).
            expect(message).to.include('databaseMaxCapacity "32"').and.to.include("apiMaxTasks 20").and.to.include("workerMaxTasks 5").and.to.include("databasePoolSize 7");
            const hints = hintsOf(message);
            expect(hints).to.have.length(4);
            for (const hint of hints) {
                expect(() => loadSettingsFor("prd", { ...overrides, ...hint }), JSON.stringify(hint)).to.not.throw();
            }
        });

        it("explains the 2,000 cap of a 0.5 ACU minimum when no maximum fits under it", () => {
            // 30 x 105 + 535 = 3,685 > 1,600 (80 % of the capped 2,000) at any maximum; with 1 ACU, 32 gives 4,000.
            const overrides = { apiMaxTasks: 30, databaseMinCapacity: "0.5" };
            const message = configErrorFor("prd", overrides);
            expect(message).to.match(/databaseMinCapacity "1" with databaseMaxCapacity "32" \(a minimum of 0 or 0\.5 ACU caps max_connections at 2,000\)/);
            for (const hint of hintsOf(message)) {
                expect(() => loadSettingsFor("prd", { ...overrides, ...hint }), JSON.stringify(hint)).to.not.throw();
            }
        });

        it("names a bigger instance class of the same family for a provisioned database", () => {
            const message = configErrorFor("prd", { databaseCapacityMode: "provisioned", databaseInstanceClass: "db.t4g.medium" });
            expectKeys(message, [...MODEL_KEYS, "databaseCapacityMode", "databaseInstanceClass"]);
            // 1,795 connections: a t4g.medium has 405, a t4g.large 844 (limit 675); none of the family fits.
            expect(message).to.match(/405 for db\.t4g\.medium, so 324/);
            const overrides = { databaseCapacityMode: "provisioned", databaseInstanceClass: "db.r7g.large" };
            const r7g = configErrorFor("prd", overrides);
            // 1,760 > 1,280 (80 % of a 16 GiB class's 1,600); a 32 GiB xlarge's 3,300 gives 2,640.
            expect(r7g).to.include('databaseInstanceClass "db.r7g.xlarge"');
            for (const hint of hintsOf(r7g)) {
                expect(() => loadSettingsFor("prd", { ...overrides, ...hint }), JSON.stringify(hint)).to.not.throw();
            }
        });
    });

    describe("process settings are refused where they cannot work", () => {
        it("more gunicorn workers than vCPUs", () => {
            const message = configErrorFor("prd", { apiServerWorkers: 2 });
            expectKeys(message, ["apiServerWorkers", "apiCpu"]);
            expect(message).to.match(/at most 1 gunicorn worker\(s\) for apiCpu 1024/);
        });

        it("connections the api task's memory cannot hold", () => {
            // 128 + 640 + 500 x 8 = 4768 MiB > 2048.
            const message = configErrorFor("prd", { apiWorkerConnections: 500 });
            expectKeys(message, ["apiMemory", "apiServerWorkers", "apiWorkerConnections"]);
            expect(message).to.include("at least 4768 MiB");
        });

        it("a Celery concurrency above the worker's pool, or above its memory", () => {
            const pool = configErrorFor("prd", { workerConcurrency: 31 });
            expectKeys(pool, ["workerConcurrency", "databasePoolSize", "databasePoolMaxOverflow"]);
            expect(pool).to.match(/at most databasePoolSize \+ databasePoolMaxOverflow \(30\)/);
            // 768 + 20 x 256 = 5888 MiB > 2048.
            const memory = configErrorFor("prd", { workerConcurrency: 20 });
            expectKeys(memory, ["workerMemory", "workerConcurrency"]);
            expect(memory).to.include("at least 5888 MiB");
        });

        it("a worker of more than one vCPU (one gevent process)", () => {
            expectKeys(configErrorFor("prd", { workerCpu: 2048, workerMemory: 4096 }), ["workerCpu"]);
        });

        it("a plugin daemon below 2 GiB", () => {
            expect(configErrorFor("dev", { pluginDaemonMemory: 1024 })).to.match(/pluginDaemonMemory = 1024: at least 2048 MiB/);
        });

        it("the process and pool variables through extraEnvironment (the check counts the keys, not overrides)", () => {
            for (const item of ["api:SERVER_WORKER_AMOUNT=4", "worker:CELERY_WORKER_CONCURRENCY=50", "worker:CELERY_AUTO_SCALE=true", "pluginDaemon:DB_MAX_OPEN_CONNS=100", "api:SQLALCHEMY_POOL_SIZE=50"]) {
                expect(configErrorFor("dev", { extraEnvironment: [item] }), item).to.match(/are reserved/);
            }
        });
    });

    describe("the database connections alarm", () => {
        it("fires at alarmDbConnectionsPercent of the documented max_connections of every instance", async () => {
            const thresholds = (run: ProgramRun) =>
                run
                    .ofType("aws:cloudwatch/metricAlarm:MetricAlarm")
                    .filter((a) => a.inputs.metricName === "DatabaseConnections")
                    .map((a) => a.inputs.threshold as number);
            // dev: one instance, 80 % of 823; prd: writer and reader, 80 % of 5,000.
            expect(thresholds(await stackRun("dev"))).to.deep.equal([658]);
            expect(thresholds(await stackRun("prd"))).to.deep.equal([4000, 4000]);
            expect(thresholds(await runProgram("prd", { alarmDbConnectionsPercent: 50 }))).to.deep.equal([2500, 2500]);
        });
    });
});
