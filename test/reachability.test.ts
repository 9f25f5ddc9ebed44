/**
 * The reachability table (config/flows.ts), proved against what the program registers on dev, prd and the variants:
 * mail on, split exposure, a closed network without NAT, and a model server on another port.
 */
import { expect } from "chai";
import { FLOWS, Flow, Variant, VARIANTS } from "../config/flows";
import { FlowEvaluator } from "../tools/reachability/flows";
import { squidDecision } from "../tools/reachability/squid";
import { SecurityGroupRules } from "../tools/reachability/securityGroups";
import { configErrorFor, loadSettingsFor, ProgramRun, runProgram, Stack, stackRun } from "./harness";

const SMTP_SECRET = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:ses-smtp-AbCdEf";
const MAIL = { smtpServer: "smtp.example.com", smtpPort: 587, smtpUsername: "AKIAEXAMPLE", mailDefaultSendFrom: "dify@example.com", smtpPasswordSecretArn: SMTP_SECRET, smtpOpportunisticTls: true };
const ENDPOINTS = ["ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm", "ssmmessages", "email-smtp"];

/** Each variant: the stack and the overrides that make it. */
const VARIANT_CONFIG: Record<Variant, { stack: Stack; overrides: Record<string, unknown> }> = {
    dev: { stack: "dev", overrides: {} },
    prd: { stack: "prd", overrides: {} },
    mail: { stack: "prd", overrides: MAIL },
    splitExposure: { stack: "prd", overrides: { albMachinePathCidrs: ["192.0.2.0/24"] } },
    closedNetwork: {
        stack: "dev",
        overrides: {
            natGateways: "none",
            acknowledgeNoInternetEgress: true,
            interfaceEndpoints: ENDPOINTS,
            pipMirrorUrl: "https://pypi.internal.example.com/simple/",
            dockerHubPullThroughCache: true,
            dockerHubCredentialsSecretArn: "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf",
            ...MAIL,
            smtpServer: "email-smtp.ap-northeast-1.amazonaws.com",
        },
    },
    modelServer: { stack: "prd", overrides: { modelEndpointEgress: ["11434@10.20.0.0/16"] } },
};

const appliesTo = (flow: Flow, variant: Variant) => flow.in === undefined || flow.in.includes(variant);

describe("reachability: every flow Dify needs, and none it must not have", () => {
    for (const variant of VARIANTS) {
        describe(variant, () => {
            let run: ProgramRun;
            let evaluator: FlowEvaluator;
            before(async () => {
                const { stack, overrides } = VARIANT_CONFIG[variant];
                run = Object.keys(overrides).length === 0 ? await stackRun(stack) : await runProgram(stack, overrides);
                evaluator = new FlowEvaluator(run, loadSettingsFor(stack, overrides).settings);
            });

            it("every row of the table holds", () => {
                const wrong: string[] = [];
                let proved = 0;
                for (const flow of FLOWS.filter((f) => appliesTo(f, variant))) {
                    if (!evaluator.applies(flow)) {
                        continue;
                    }
                    const verdict = evaluator.evaluate(flow);
                    let expected = flow.how === "alb" ? flow.to !== "refused" : flow.expect === "allow";
                    if (flow.how !== "alb" && flow.except && evaluator.imagesFromDockerHub()) {
                        // The documented carve-out: this stack pulls images through the task's own interface.
                        expected = !expected;
                    }
                    proved += 1;
                    if (verdict.allowed !== expected) {
                        wrong.push(`${flow.id}: expected ${expected ? "allowed" : "refused"}, got ${verdict.allowed ? "allowed" : "refused"} at ${verdict.step}`);
                    }
                }
                expect(wrong).to.deep.equal([]);
                expect(proved).to.be.greaterThan(30);
            });

            it("nothing on the internet reaches the data tier: its groups admit other groups only", () => {
                const sg = new SecurityGroupRules(run.resources);
                for (const group of [run.outputs.databaseSecurityGroupId, run.outputs.cacheSecurityGroupId] as string[]) {
                    expect(sg.addressIngress(group)).to.deep.equal([]);
                }
            });
        });
    }

    it("every flow row is proved on at least one variant, and every role appears in the table", () => {
        const roles = new Set(FLOWS.flatMap((f) => (f.how === "alb" ? (f.to === "refused" ? [] : [f.to]) : [f.from, ...("role" in f.to ? [f.to.role] : [])])));
        expect([...roles].sort()).to.deep.equal(["agentBackend", "agentSandbox", "api", "apiWebsocket", "beat", "pluginDaemon", "sandbox", "web", "worker"].sort());
        for (const flow of FLOWS) {
            expect(VARIANTS.some((v) => appliesTo(flow, v)), flow.id).to.equal(true);
        }
        expect(new Set(FLOWS.map((f) => f.id)).size).to.equal(FLOWS.length);
    });

    it("the evaluators can fail: a table row that contradicts the program is caught", async () => {
        const run = await stackRun("prd");
        const evaluator = new FlowEvaluator(run, loadSettingsFor("prd").settings);
        expect(evaluator.evaluate({ id: "x", how: "direct", from: "sandbox", to: { service: "database" }, port: 5432, expect: "allow", why: "" }).allowed).to.equal(false);
        expect(evaluator.evaluate({ id: "x", how: "alb", from: "stranger", path: "/apps", to: "web", why: "" }).allowed).to.equal(false);
        expect(evaluator.evaluate({ id: "x", how: "direct", from: "worker", to: { internet: { ip: "198.18.0.40" } }, port: 587, expect: "allow", why: "" }).allowed).to.equal(false);
    });

    it("the squid evaluator reads squid's rules as squid does: first matching line, the last line's opposite otherwise", () => {
        const conf = ["acl clients src 10.0.0.0/16", "acl to_private dst 10.0.0.0/8", "acl web port 80 443", "http_access deny to_private", "http_access allow clients web"].join("\n");
        const req = { clientIp: "10.0.0.5", method: "GET", host: "example.com", ip: "198.18.0.1", port: 80 };
        expect(squidDecision(conf, req).action).to.equal("allow");
        expect(squidDecision(conf, { ...req, ip: "10.1.2.3" }).action).to.equal("deny");
        // No line matches: the opposite of the last line (allow) -> deny.
        expect(squidDecision(conf, { ...req, port: 8080 }).action).to.equal("deny");
    });
});

describe("reachability: what a closed network and mail need, refused before any resource", () => {
    const closed = { natGateways: "none", acknowledgeNoInternetEgress: true, interfaceEndpoints: ENDPOINTS, pipMirrorUrl: "https://pypi.internal.example.com/simple/" };

    it("a closed network without an ECR pull-through cache or a registry mirror cannot pull its images", () => {
        const message = configErrorFor("dev", closed);
        expect(message).to.contain('dify-aws:natGateways = "none"');
        expect(message).to.contain("dify-aws:dockerHubPullThroughCache = false");
    });

    it("a closed network sends mail only through SES's SMTP endpoint", () => {
        const ptc = { dockerHubPullThroughCache: true, dockerHubCredentialsSecretArn: "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf" };
        const message = configErrorFor("dev", { ...closed, ...ptc, ...MAIL });
        expect(message).to.contain('dify-aws:smtpServer = "smtp.example.com"');
        expect(message).to.contain("email-smtp.ap-northeast-1.amazonaws.com");
        // Through the endpoint, on a port SES serves: accepted, and the endpoint admits that port from the VPC.
        expect(() => loadSettingsFor("dev", { ...closed, ...ptc, ...MAIL, smtpServer: "email-smtp.ap-northeast-1.amazonaws.com" })).to.not.throw();
    });

    it("model server destinations are validated item by item, echoing each as written", () => {
        for (const [item, fragment] of [
            ["11434", "<port>@<CIDR or prefix list id>"],
            ["0@10.0.0.0/8", "ports 1-65535"],
            ["9000-8000@10.0.0.0/8", "ports 1-65535"],
            ["11434@10.0.0.1/8", "a CIDR without host bits"],
            ["11434@pl-123", "pl- and 8 or 17"],
        ]) {
            const message = configErrorFor("prd", { modelEndpointEgress: ["8000@10.1.0.0/16", item] });
            expect(message, item).to.contain(`dify-aws:modelEndpointEgress[1] = ${JSON.stringify(item)}`);
            expect(message, item).to.contain(fragment);
        }
        expect(configErrorFor("prd", { modelEndpointEgress: ["8000@10.1.0.0/16", "8000-8000@10.1.0.0/16"] })).to.contain("not already listed");
    });
});
