/**
 * The levers that make a stack cost what it should: CPU architecture per image, Fargate Spot, Container Insights,
 * and active hours (every service scaled to zero outside them, Aurora paused). Each is a config key whose value is
 * asserted where it lands; AWS facts come from the SDK's API reference and the AWS guides, cited beside each test.
 */
import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { configErrorFor, loadSettingsFor, ProgramRun, ROOT, runProgram, stackRun } from "./harness";

const FAMILIES = ["web", "api", "worker", "beat", "plugin-daemon", "sandbox", "ssrf-proxy", "migration"];
const architecture = (run: ProgramRun, family: string) => run.one("aws:ecs/taskDefinition:TaskDefinition", `dify-${family}`).inputs.runtimePlatform.cpuArchitecture;
const ACTIVE = { timezone: "Asia/Tokyo", weekdays: "MON-FRI", start: "08:00", stop: "20:00" };

describe("CPU architecture", () => {
    it("runs ARM64 (Graviton) where the upstream image is published for linux/arm64, and the squid proxy on X86_64", async () => {
        for (const stack of ["dev", "prd"] as const) {
            const run = await stackRun(stack);
            for (const family of FAMILIES) {
                expect(architecture(run, family), `${stack} ${family}`).to.equal(family === "ssrf-proxy" ? "X86_64" : "ARM64");
            }
        }
    });

    it("runs everything on X86_64 when cpuArchitecture says so", async () => {
        const run = await runProgram("dev", { cpuArchitecture: "X86_64" });
        for (const family of FAMILIES) {
            expect(architecture(run, family), family).to.equal("X86_64");
        }
        expect(configErrorFor("dev", { cpuArchitecture: "arm64" })).to.match(/dify-aws:cpuArchitecture = "arm64": one of "ARM64", "X86_64"/);
    });

    it("puts ARM64 tasks on Spot, as the ECS API reference says FARGATE_SPOT runs them on platform 1.4.0+ (the services use LATEST, 1.4.0)", async () => {
        // The API reference shipped with the AWS SDK (CapacityProviderStrategyItem). Older user-guide pages still say
        // ARM64 is not supported on Spot; they predate the September 2024 launch.
        const models = fs.readFileSync(path.join(ROOT, "node_modules/@aws-sdk/client-ecs/dist-types/models/models_0.d.ts"), "utf8");
        expect(models).to.include("<code>FARGATE_SPOT</code> supports Linux tasks with the ARM64 architecture on platform version 1.4.0 or later.");
        const dev = await stackRun("dev");
        const worker = dev.one("aws:ecs/service:Service", "dify-worker").inputs;
        expect(worker.platformVersion).to.equal("LATEST");
        expect(worker.capacityProviderStrategies.some((s: { capacityProvider: string; weight: number }) => s.capacityProvider === "FARGATE_SPOT" && s.weight > 0)).to.equal(true);
        expect(architecture(dev, "worker")).to.equal("ARM64");
    });
});

describe("Container Insights mode", () => {
    it("sets the cluster's containerInsights to the configured mode", async () => {
        const run = await runProgram("prd", { containerInsights: "enhanced" });
        expect(run.one("aws:ecs/cluster:Cluster").inputs.settings).to.deep.equal([{ name: "containerInsights", value: "enhanced" }]);
        // The running-task alarms read its metrics, so they exist.
        expect(run.ofType("aws:cloudwatch/metricAlarm:MetricAlarm").some((a) => String(a.inputs.name).endsWith("-tasks-below-desired"))).to.equal(true);
        expect(configErrorFor("prd", { containerInsights: "on" })).to.match(/"enhanced", "enabled", "disabled"/);
    });
});

describe("active hours", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runProgram("dev", { activeHours: JSON.stringify(ACTIVE), databaseMinCapacity: "0", databaseSecondsUntilAutoPause: 900 });
    });
    const actions = () => run.ofType("aws:appautoscaling/scheduledAction:ScheduledAction");
    const targetOf = (role: string) => run.ofType("aws:appautoscaling/target:Target").find((t) => String(t.inputs.resourceId).endsWith(`/dify-dev-${role}`))!;

    it("scales every service, the single-task ones included, to 0 at stop and back to its minimum at start, in the configured time zone", () => {
        const roles = ["web", "api", "worker", "beat", "plugin-daemon", "sandbox", "ssrf-proxy", "api-websocket", "agent-backend", "agent-sandbox", "agent-ssrf-proxy"];
        expect(actions()).to.have.length(roles.length * 2);
        for (const role of roles) {
            const target = targetOf(role);
            expect(target, role).to.not.equal(undefined);
            const mine = actions().filter((a) => a.inputs.resourceId === target.inputs.resourceId);
            const stop = mine.find((a) => a.inputs.scalableTargetAction.maxCapacity === 0)!;
            const start = mine.find((a) => a.inputs.scalableTargetAction.maxCapacity > 0)!;
            // Application Auto Scaling cron: minutes hours day-of-month month day-of-week year.
            expect(stop.inputs).to.deep.include({ schedule: "cron(0 20 ? * MON-FRI *)", timezone: "Asia/Tokyo", scalableTargetAction: { minCapacity: 0, maxCapacity: 0 } });
            expect(start.inputs).to.deep.include({ schedule: "cron(0 8 ? * MON-FRI *)", timezone: "Asia/Tokyo" });
            expect(start.inputs.scalableTargetAction, role).to.deep.equal({ minCapacity: target.inputs.minCapacity, maxCapacity: target.inputs.maxCapacity });
            expect(stop.inputs.name.length, "ScheduledActionName is at most 256 characters").to.be.at.most(256);
        }
        // The single-task roles: exactly one task while active, none outside.
        for (const single of ["beat", "api-websocket", "agent-sandbox"]) {
            expect([targetOf(single).inputs.minCapacity, targetOf(single).inputs.maxCapacity], single).to.deep.equal([1, 1]);
            expect(run.one("aws:ecs/service:Service", `dify-${single}`).ignoreChanges, `${single}: an up keeps the schedule's count`).to.include("desiredCount");
        }
    });

    it("lets Aurora pause when idle (0 ACU minimum, the configured seconds until pause)", () => {
        expect(run.one("aws:rds/cluster:Cluster").inputs.serverlessv2ScalingConfiguration).to.deep.equal({ minCapacity: 0, maxCapacity: 4, secondsUntilAutoPause: 900 });
    });

    it("keeps alarms quiet at night: no task and no healthy target outside active hours is not an outage", async () => {
        // With Container Insights (prd-like), a service without running tasks publishes no metric at all.
        const insights = await runProgram("dev", { activeHours: JSON.stringify(ACTIVE), containerInsights: "enabled" });
        const alarms = insights.ofType("aws:cloudwatch/metricAlarm:MetricAlarm");
        const tasks = alarms.filter((a) => /-tasks-below-desired$|-beat-not-running$/.test(a.inputs.name));
        expect(tasks.length).to.be.greaterThan(5);
        for (const a of tasks) {
            expect(a.inputs.treatMissingData, a.inputs.name).to.equal("notBreaching");
        }
        // A target group without targets alarms only while requests arrive and find none.
        const noHealthy = alarms.filter((a) => /-no-healthy-hosts$/.test(a.inputs.name));
        // web, api, plugin daemon and the collaboration websocket.
        expect(noHealthy).to.have.length(4);
        for (const a of noHealthy) {
            const expression = a.inputs.metricQueries.find((q: { expression?: string }) => q.expression).expression as string;
            expect(expression, a.inputs.name).to.match(/requests.*> 0 AND .*healthy.*< 1/);
        }
        // Always-on stacks keep an empty service and a target group without targets as outages.
        const prd = await stackRun("prd");
        for (const a of prd.ofType("aws:cloudwatch/metricAlarm:MetricAlarm").filter((x) => /-tasks-below-desired$|-beat-not-running$|-no-healthy-hosts$/.test(x.inputs.name))) {
            expect(a.inputs.treatMissingData, a.inputs.name).to.equal("breaching");
        }
    });

    it("still runs the migration gate as before: a one-off task the schedule does not touch", () => {
        const gate = run.resources.find((r) => r.type.endsWith(":MigrationGate"))!;
        expect(actions().some((a) => String(a.inputs.resourceId).includes("migration"))).to.equal(false);
        expect(gate.inputs.taskDefinitionArn).to.match(/task-definition\/dify-dev-migration:/);
    });

    describe("validation", () => {
        const error = (value: unknown, extra: Record<string, unknown> = {}) => configErrorFor("dev", { activeHours: typeof value === "string" ? value : JSON.stringify(value), ...extra });
        it("refuses an invalid time zone, weekday range or time, and a start that is not before the stop, naming the field", () => {
            expect(error({ ...ACTIVE, timezone: "Tokyo" })).to.match(/dify-aws:activeHours\.timezone = "Tokyo": an IANA time zone name/);
            expect(error({ ...ACTIVE, weekdays: "MON-FRY" })).to.match(/dify-aws:activeHours\.weekdays = "MON-FRY": days as SUN, MON/);
            expect(error({ ...ACTIVE, start: "8:00" })).to.match(/dify-aws:activeHours\.start = "8:00": a time of day "HH:MM"/);
            expect(error({ ...ACTIVE, stop: "24:00" })).to.match(/dify-aws:activeHours\.stop = "24:00"/);
            const reversed = error({ ...ACTIVE, start: "20:00", stop: "08:00" });
            expect(reversed).to.include('dify-aws:activeHours.start = "20:00"').and.to.include('dify-aws:activeHours.stop = "08:00"').and.to.match(/a start before the stop/);
            expect(error("MON-FRI 08-20")).to.match(/dify-aws:activeHours = "MON-FRI 08-20": a JSON object/);
            expect(error({ ...ACTIVE, days: "MON" })).to.match(/only the fields timezone, weekdays, start and stop/);
        });
        it("accepts lists and ranges of days, and UTC", () => {
            const hours = loadSettingsFor("dev", { activeHours: JSON.stringify({ timezone: "UTC", weekdays: "mon,wed-fri", start: "00:00", stop: "23:59" }) }).settings.common.activeHours;
            expect(hours).to.deep.equal({ timezone: "UTC", weekdays: "MON,WED-FRI", start: { hour: 0, minute: 0 }, stop: { hour: 23, minute: 59 } });
        });
        it("needs an acknowledgement on a stack that protects its data (production does not sleep by accident)", () => {
            const message = configErrorFor("prd", { activeHours: JSON.stringify(ACTIVE) });
            expect(message).to.include("dify-aws:deletionProtection = true").and.to.include("dify-aws:acknowledgeActiveHoursInProduction = false");
            expect(loadSettingsFor("prd", { activeHours: JSON.stringify(ACTIVE), acknowledgeActiveHoursInProduction: true }).settings.common.activeHours?.timezone).to.equal("Asia/Tokyo");
        });
    });
});
