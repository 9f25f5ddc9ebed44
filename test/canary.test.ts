/**
 * Progressive rollouts (issue 17): prd's web and api deploy as ECS canaries with alarm rollback, every zero-downtime
 * invariant kept; dev rolls; SSO and canaries are refused together.
 */
import { expect } from "chai";
import { DEPLOYMENT_ALARM, deploymentAlarmIds } from "../components/alarms/deployments";
import { rolloutBudgetMinutes } from "../components/difyCluster/services";
import { configErrorFor, ProgramRun, runProgram, stackRun } from "./harness";
import { evaluateMetricMath } from "./metricMath";

const SERVICE = "aws:ecs/service:Service";
const svc = (run: ProgramRun, role: string) => run.one(SERVICE, `dify-${role}`);

describe("canary deployments of web and api", () => {
    for (const preview of [false, true]) {
        describe(`prd${preview ? " (first preview: outputs unknown)" : ""}`, () => {
            let run: ProgramRun;
            before(async () => {
                run = await stackRun("prd", { preview });
            });

            it("deploys web and api as CANARY: 10 % for 5 minutes, then all, the old tasks kept 10 minutes", () => {
                for (const role of ["web", "api"]) {
                    const d = svc(run, role).inputs.deploymentConfiguration;
                    expect(d.strategy, role).to.equal("CANARY");
                    expect(d.canaryConfiguration, role).to.deep.equal({ canaryPercent: 10, canaryBakeTimeInMinutes: "5" });
                    expect(d.bakeTimeInMinutes, role).to.equal("10");
                    // The circuit breaker still stops tasks that never get healthy.
                    expect(svc(run, role).inputs.deploymentCircuitBreaker).to.deep.equal({ enable: true, rollback: true });
                }
            });

            it("keeps every other role on rolling updates: beat and the agent sandbox never twice, the websocket one process", () => {
                for (const r of run.ofType(SERVICE).filter((s) => !["dify-web", "dify-api"].includes(s.name))) {
                    expect(r.inputs.deploymentConfiguration, r.name).to.equal(undefined);
                    expect(r.inputs.alarms, r.name).to.equal(undefined);
                }
                for (const role of ["beat", "agent-sandbox"]) {
                    expect(svc(run, role).inputs.deploymentMaximumPercent, role).to.equal(100);
                }
            });

            it("rolls back on the deployment alarms the Alarms component declares under those names, which notify the topic", () => {
                const alarms = run.ofType("aws:cloudwatch/metricAlarm:MetricAlarm");
                for (const role of ["web", "api"] as const) {
                    const names = deploymentAlarmIds(role).map((id) => `dify-prd-${id}`);
                    expect(svc(run, role).inputs.alarms, role).to.deep.equal({ alarmNames: names, enable: true, rollback: true });
                    for (const name of names) {
                        const alarm = alarms.find((a) => a.inputs.name === name);
                        expect(alarm, name).to.not.equal(undefined);
                        expect(alarm!.inputs.alarmActions, name).to.have.length(1);
                    }
                }
                // The 5xx alarm reads both groups of its role (old and new tasks), each as its own rate.
                const errors = alarms.find((a) => a.inputs.name === "dify-prd-api-deployment-5xx")!.inputs;
                expect(errors.threshold).to.equal(DEPLOYMENT_ALARM.errorPercent);
                if (!preview) {
                    const groups = new Set(errors.metricQueries.filter((q: any) => q.metric).map((q: any) => q.metric.dimensions.TargetGroup));
                    const arns = [run.outputs.targetGroupArns, run.outputs.alternateTargetGroupArns].map((o: any) => o.api.split(":").pop());
                    expect([...groups].sort()).to.deep.equal(arns.sort());
                }
            });

            it("gives each role a second target group and one production rule forwarding to both (100/0), left to ECS afterwards", () => {
                for (const role of ["web", "api"]) {
                    const rule = run.one("aws:lb/listenerRule:ListenerRule", `edge-${role}`);
                    expect(rule.inputs.actions, role).to.have.length(1);
                    const forward = rule.inputs.actions[0];
                    expect(forward.type).to.equal("forward");
                    expect(forward.forward.targetGroups.map((g: { weight: number }) => g.weight)).to.deep.equal([100, 0]);
                    expect(rule.ignoreChanges, role).to.deep.equal(["actions"]);
                    const lb = svc(run, role).inputs.loadBalancers[0];
                    expect(svc(run, role).ignoreChanges, role).to.include("loadBalancers");
                    if (!preview) {
                        expect(forward.forward.targetGroups.map((g: { arn: string }) => g.arn)).to.deep.equal([lb.targetGroupArn, lb.advancedConfiguration.alternateTargetGroupArn]);
                        expect(lb.advancedConfiguration.productionListenerRule).to.equal(rule.state.arn);
                    }
                }
                // The other roles keep a plain forward to their one group.
                for (const rule of run.ofType("aws:lb/listenerRule:ListenerRule").filter((r) => !["edge-web", "edge-api"].includes(r.name))) {
                    expect(rule.inputs.actions[0].targetGroupArn, rule.name).to.be.a("string");
                    expect(rule.ignoreChanges, rule.name).to.deep.equal([]);
                }
            });

            it("lets ECS move the traffic with an infrastructure role only ECS of this account assumes, holding AWS's policy for it", () => {
                const role = run.one("aws:iam/role:Role", "dify-ecs-infrastructure");
                const trust = JSON.parse(role.inputs.assumeRolePolicy);
                expect(trust.Statement).to.have.length(1);
                expect(trust.Statement[0].Principal).to.deep.equal({ Service: "ecs.amazonaws.com" });
                expect(trust.Statement[0].Condition.StringEquals["aws:SourceAccount"]).to.match(/^\d{12}$/);
                const attached = run.ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment").filter((a) => a.name === "dify-ecs-infrastructure");
                expect(attached.map((a) => a.inputs.policyArn)).to.deep.equal(["arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"]);
                if (!preview) {
                    expect(svc(run, "api").inputs.loadBalancers[0].advancedConfiguration.roleArn).to.equal(role.state.arn);
                }
            });

            it("scales web and api on the busier group's requests per target (one group is empty between canaries)", () => {
                for (const role of ["web", "api"]) {
                    const policy = run.ofType("aws:appautoscaling/policy:Policy").find((p) => p.name === `dify-${role}-requestcountpertarget`)!;
                    const spec = policy.inputs.targetTrackingScalingPolicyConfiguration.customizedMetricSpecification;
                    expect(spec.metrics.map((m: { id: string }) => m.id)).to.deep.equal(["blue", "green", "busier"]);
                    expect(spec.metrics[2].expression).to.equal("MAX([FILL(blue,0), FILL(green,0)])");
                }
            });
        });
    }

    it("dev rolls web and api (no second group, no infrastructure role)", async () => {
        const run = await stackRun("dev");
        expect(svc(run, "api").inputs.deploymentConfiguration).to.equal(undefined);
        expect(run.ofType("aws:lb/targetGroup:TargetGroup")).to.have.length(4);
        expect(run.ofType("aws:iam/role:Role").filter((r) => r.name.endsWith("ecs-infrastructure"))).to.have.length(0);
    });

    it("`up` waits for a whole canary, its bakes and a rollback: each service's timeout is its own budget", async () => {
        const run = await stackRun("prd");
        const api = svc(run, "api");
        const drain = run.one("aws:lb/targetGroup:TargetGroup", "edge-api").inputs.deregistrationDelay;
        // api: start 10 + (grace 300 + drain + stop 120) / 60, twice, plus the bakes (5 + 10).
        const expected = Math.ceil(2 * (10 + (300 + drain + 120) / 60) + 15);
        expect(rolloutBudgetMinutes("api", drain, 15)).to.equal(expected);
        expect(api.customTimeouts?.update).to.equal(`${expected}m`);
        // Longer bakes, longer waits: the timeout follows the config.
        const longer = await runProgram("prd", { canaryBakeMinutes: 30, deploymentBakeMinutes: 60 });
        expect(svc(longer, "api").customTimeouts?.update).to.equal(`${expected + 75}m`);
        const check = longer.resources.find((r) => r.type.endsWith(":RolloutCheck"))!;
        expect(check.inputs.timeoutSeconds).to.equal(60 * (expected + 75));
    });

    it("refuses a canary with console SSO, naming both keys", () => {
        const oidc = "https://login.example.com";
        const message = configErrorFor("prd", {
            consoleAuth: "oidc",
            oidcIssuer: oidc,
            oidcAuthorizationEndpoint: `${oidc}/authorize`,
            oidcTokenEndpoint: `${oidc}/token`,
            oidcUserInfoEndpoint: `${oidc}/userinfo`,
            oidcClientId: "dify",
            oidcClientSecret: "an-oidc-client-secret",
        }, ["oidcClientSecret"]);
        expect(message).to.contain('dify-aws:deploymentStrategy = "canary"');
        expect(message).to.contain('dify-aws:consoleAuth = "oidc"');
    });
});

describe("canary: the 5xx deployment alarm sees a failing canary behind a healthy majority", () => {
    let expression: string;
    before(async () => {
        const alarms = (await stackRun("prd")).ofType("aws:cloudwatch/metricAlarm:MetricAlarm");
        expression = alarms.find((a) => a.inputs.name === "dify-prd-api-deployment-5xx")!.inputs.metricQueries.find((q: any) => q.returnData).expression;
    });
    it("a canary with 10 % of the traffic failing 40 % of it breaches the threshold (summed with the old group it would read 4 %)", () => {
        const canary = { e1: 0, r1: 900, e2: 40, r2: 100 };
        expect(evaluateMetricMath(expression, canary)).to.be.greaterThan(DEPLOYMENT_ALARM.errorPercent);
        expect((100 * (canary.e1 + canary.e2)) / (canary.r1 + canary.r2)).to.be.below(DEPLOYMENT_ALARM.errorPercent);
    });
    it("a healthy rollout, an idle minute, and a handful of requests do not", () => {
        expect(evaluateMetricMath(expression, { e1: 2, r1: 900, e2: 1, r2: 100 })).to.be.at.most(DEPLOYMENT_ALARM.errorPercent);
        expect(evaluateMetricMath(expression, {})).to.equal(0);
        expect(evaluateMetricMath(expression, { e1: 0, r1: 500, e2: 2, r2: 3 })).to.equal(0);
    });
});
