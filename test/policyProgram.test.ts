/**
 * The whole program through the policy pack: everything the dev and prd programs register under mocks is fed to
 * every policy with that stack's `--policy-pack-config` file, as `pulumi up --policy-pack policy` would.
 */
import { expect } from "chai";
import { ProgramRun, runProgram, stackRun } from "./harness";
import { PREVIEW_UNKNOWN, RegisteredResource } from "./mocks";
import { formatReport, PackReport, readPackConfigFile, resolvePackConfig, runPack } from "./policyHarness";

const STACKS = ["dev", "prd"] as const;

describe("policy pack over the whole program", () => {
    const runs: Partial<Record<(typeof STACKS)[number], ProgramRun>> = {};
    before(async () => {
        for (const stack of STACKS) {
            runs[stack] = await stackRun(stack);
        }
    });

    for (const stack of STACKS) {
        it(`${stack}: zero mandatory violations with policy/config/${stack}.json`, async () => {
            const run = runs[stack]!;
            // The check means nothing unless the program registered its resources.
            expect(run.resources.filter((r) => r.custom).length).to.be.greaterThan(10);
            const report = await runPack(run.resources, resolvePackConfig(readPackConfigFile(stack)));
            console.log(formatReport(stack, report));
            const mandatory = report.violations.filter((v) => v.level === "mandatory");
            expect(mandatory.map((v) => `${v.policy}: ${v.resource}: ${v.message}`)).to.deep.equal([]);
            // After an up every value is known: no policy may have stopped on an unknown one.
            expect(report.cannotRun).to.deep.equal([]);
        });
    }

    // The first `pulumi preview` of a stack (and the preview `up` runs first) hands the pack unknown values for
    // everything computed: ids, ARNs, endpoints, generated secrets, and every input built from them (a task
    // definition's whole containerDefinitions string). @pulumi/policy turns a read of one into an advisory "can't
    // run during preview"; a policy that caught it and reported a violation would fail every first preview.
    describe("the first preview of each stack", () => {
        for (const stack of STACKS) {
            it(`${stack}: registers the same resources as up (nothing is created inside an apply)`, async () => {
                const preview = await stackRun(stack, { preview: true });
                const names = (r: ProgramRun) => r.resources.map((x) => `${x.type}::${x.name}`).sort();
                expect(preview.resources.length).to.be.greaterThan(100);
                expect(names(preview)).to.deep.equal(names(runs[stack]!));
            });

            it(`${stack}: really is a preview: ids, ARNs, endpoints and secrets are unknown`, async () => {
                const preview = await stackRun(stack, { preview: true });
                // A task definition whose containers name secrets (ARNs computed by AWS) is one unknown string.
                for (const role of ["api", "worker", "beat", "migration", "plugin-daemon", "sandbox"]) {
                    expect(preview.one("aws:ecs/taskDefinition:TaskDefinition", `dify-${role}`).inputs.containerDefinitions, role).to.equal(PREVIEW_UNKNOWN);
                }
                expect(preview.one("aws:rds/cluster:Cluster").state.endpoint).to.equal(PREVIEW_UNKNOWN);
                expect(preview.one("aws:ecs/cluster:Cluster").id).to.equal(undefined);
            });

            it(`${stack}: zero mandatory violations with policy/config/${stack}.json; what is unknown is left to the framework`, async () => {
                const preview = await stackRun(stack, { preview: true });
                const report = await runPack(preview.resources, resolvePackConfig(readPackConfigFile(stack)));
                console.log(formatReport(`${stack} (preview)`, report));
                const mandatory = report.violations.filter((v) => v.level === "mandatory");
                expect(mandatory.map((v) => `${v.policy}: ${v.resource}: ${v.message}`)).to.deep.equal([]);
                // Stack policies check what is known and skip what is not: none of them may give up as a whole.
                expect(report.cannotRun.filter((c) => c.urn === "")).to.deep.equal([]);
            });
        }
    });

    it("is not vacuous: dev's resources under prd's policy config are rejected where dev relaxes the rules", async () => {
        const report: PackReport = await runPack(runs.dev!.resources, resolvePackConfig(readPackConfigFile("prd")));
        const failing = new Set(report.violations.filter((v) => v.level === "mandatory").map((v) => v.policy));
        // dev: AWS-managed keys, no deletion protection, plain HTTP, no WAF (Pulumi.dev.yaml).
        expect([...failing]).to.include.members(["customer-managed-keys", "deletion-protection", "alb-https-listeners", "alb-waf"]);
    });

    describe("catches a misconfiguration slipped into the real prd program (the joins work on its real shapes)", () => {
        const mandatory = async (resources: RegisteredResource[]) => {
            const report = await runPack(resources, resolvePackConfig(readPackConfigFile("prd")));
            return report.violations.filter((v) => v.level === "mandatory");
        };
        const ingressRule = (name: string, inputs: Record<string, unknown>): RegisteredResource => ({
            ...runs.prd!.one("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", /^network-endpoints-https-from-vpc$/),
            name,
            urn: `urn:pulumi:prd::dify-aws::aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::${name}`,
            inputs,
            state: inputs,
            id: `sgr-${name}`,
            dependencies: [],
            // Hand-made: its inputs are literal ids, so the pack joins it by value (as for a rule of another program).
            propertyDependencies: {},
        });
        const baseline = async () => new Set((await mandatory(runs.prd!.resources)).map((v) => `${v.policy} ${v.urn}`));
        const added = async (resources: RegisteredResource[]) => {
            const before = await baseline();
            return (await mandatory(resources)).filter((v) => !before.has(`${v.policy} ${v.urn}`)).map((v) => v.policy);
        };

        it("443 from a CIDR outside the allow-list on the ALB's security group", async () => {
            const albGroup = runs.prd!.one("aws:lb/loadBalancer:LoadBalancer").inputs.securityGroups[0] as string;
            const rule = ingressRule("intruder", { securityGroupId: albGroup, ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "192.0.2.0/24" });
            expect(await added([...runs.prd!.resources, rule])).to.deep.equal(["alb-ingress-allow-list"]);
        });

        it("a CIDR on the database's and the cache's security groups", async () => {
            const dbGroup = runs.prd!.one("aws:rds/cluster:Cluster").inputs.vpcSecurityGroupIds[0] as string;
            const cacheGroup = runs.prd!.one("aws:elasticache/replicationGroup:ReplicationGroup").inputs.securityGroupIds[0] as string;
            const rules = [
                ingressRule("db-from-vpc", { securityGroupId: dbGroup, ipProtocol: "tcp", fromPort: 5432, toPort: 5432, cidrIpv4: "10.40.0.0/16" }),
                ingressRule("cache-from-vpc", { securityGroupId: cacheGroup, ipProtocol: "tcp", fromPort: 6379, toPort: 6379, cidrIpv4: "10.40.0.0/16" }),
            ];
            expect(await added([...runs.prd!.resources, ...rules])).to.deep.equal(["data-sg-no-cidr-ingress", "data-sg-no-cidr-ingress"]);
        });

        it("a forwarding rule on the HTTP listener that redirects to HTTPS", async () => {
            const http = runs.prd!.ofType("aws:lb/listener:Listener").find((l) => l.inputs.protocol === "HTTP")!;
            const rule = runs.prd!.ofType("aws:lb/listenerRule:ListenerRule")[0];
            const onHttp = {
                ...rule,
                name: "on-http",
                urn: `${rule.urn}-on-http`,
                inputs: { ...rule.inputs, listenerArn: http.state.arn },
                state: { ...rule.state, listenerArn: http.state.arn },
                propertyDependencies: { ...rule.propertyDependencies, listenerArn: [http.urn] },
            };
            expect(await added([...runs.prd!.resources, onHttp])).to.deep.equal(["alb-http-listener-rules"]);
        });

        it("the WAF association, a bucket's public access block and its encryption removed", async () => {
            const dropped = new Set(["aws:wafv2/webAclAssociation:WebAclAssociation", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"]);
            const buckets = runs.prd!.ofType("aws:s3/bucket:Bucket").length;
            const policies = await added(runs.prd!.resources.filter((r) => !dropped.has(r.type)));
            expect(policies.sort()).to.deep.equal(["alb-waf", ...Array(buckets).fill("s3-bucket-encryption"), ...Array(buckets).fill("s3-public-access-block")].sort());
        });
    });

    // Console SSO (issue 19) on prd: the program's own listener rules pass the SSO policies, up and first preview, and
    // the policies catch an authenticate action moved onto the wrong rule of that real program.
    describe("prd with console SSO (consoleAuth oidc)", () => {
        const ISSUER = "https://login.example.com/tenant/v2.0";
        const SSO = {
            consoleAuth: "oidc",
            deploymentStrategy: "rolling",
            oidcIssuer: ISSUER,
            oidcAuthorizationEndpoint: `${ISSUER}/authorize`,
            oidcTokenEndpoint: `${ISSUER}/token`,
            oidcUserInfoEndpoint: `${ISSUER}/userinfo`,
            oidcClientId: "dify-alb",
            oidcClientSecret: "an-oidc-client-secret-Zq7",
        };
        const SSO_POLICIES = ["alb-sso-browser-paths", "alb-sso-machine-paths"];
        let sso: ProgramRun;
        before(async () => {
            sso = await runProgram("prd", SSO, { secretKeys: ["oidcClientSecret"] });
        });
        const mandatory = async (resources: RegisteredResource[]) =>
            (await runPack(resources, resolvePackConfig(readPackConfigFile("prd")))).violations.filter((v) => v.level === "mandatory").map((v) => `${v.policy}: ${v.resource}: ${v.message}`);
        /** What a run adds to the mandatory violations of another (other policies are proven on prd itself, above). */
        const added = async (resources: RegisteredResource[], baseline: RegisteredResource[]) => {
            const before = new Set(await mandatory(baseline));
            return (await mandatory(resources)).filter((v) => !before.has(v));
        };

        it("adds no mandatory violation to prd's, up and first preview; the SSO policies find nothing", async () => {
            // Not vacuous: SSO is on, so the SSO policies have something to check.
            expect(sso.ofType("aws:lb/listenerRule:ListenerRule").some((r) => r.inputs.actions.some((a: { type: string }) => a.type === "authenticate-oidc"))).to.equal(true);
            expect(await added(sso.resources, runs.prd!.resources)).to.deep.equal([]);
            expect((await mandatory(sso.resources)).filter((v) => SSO_POLICIES.some((p) => v.startsWith(`${p}:`)))).to.deep.equal([]);
            const preview = await runProgram("prd", SSO, { secretKeys: ["oidcClientSecret"], preview: true });
            const previewBaseline = await stackRun("prd", { preview: true });
            expect(await added(preview.resources, previewBaseline.resources)).to.deep.equal([]);
            const report = await runPack(preview.resources, resolvePackConfig(readPackConfigFile("prd")));
            expect(report.violations.filter((v) => SSO_POLICIES.includes(v.policy))).to.deep.equal([]);
            expect(report.cannotRun.filter((c) => SSO_POLICIES.includes(c.policy))).to.deep.equal([]);
        });

        it("catches the web UI's rule forwarding without its sign-in, and the api's machine rule given one", async () => {
            const withActions = (name: string, actions: (current: { type: string }[]) => unknown[]) =>
                sso.resources.map((r) => (r.type === "aws:lb/listenerRule:ListenerRule" && r.name === name ? { ...r, inputs: { ...r.inputs, actions: actions(r.inputs.actions) }, state: { ...r.state, actions: actions(r.state.actions) } } : r));
            const web = sso.one("aws:lb/listenerRule:ListenerRule", "edge-web");
            const signIn = web.inputs.actions.find((a: { type: string }) => a.type === "authenticate-oidc");
            const unsigned = await added(withActions("edge-web", (actions) => actions.filter((a) => a.type === "forward")), sso.resources);
            expect(unsigned).to.have.length(1);
            expect(unsigned[0]).to.match(/^alb-sso-browser-paths: .* edge-web: .*`\/explore`/);
            const signedApi = await added(withActions("edge-api", (actions) => [signIn, ...actions.map((a) => ({ ...a, order: 2 }))]), sso.resources);
            expect(signedApi).to.have.length(1);
            expect(signedApi[0]).to.match(/^alb-sso-machine-paths: .* edge-api: .*`\/v1`/);
        });
    });
});
