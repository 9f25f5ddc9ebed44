/**
 * Where images come from. Docker Hub rate-limits anonymous pulls per IP, and every task pulls through the stack's NAT
 * IPs (one in dev), so a rollout or a crash loop can stall on `toomanyrequests`. Two ways out: an ECR pull-through
 * cache the program creates (AWS: upstream registry-1.docker.io, a credential secret named ecr-pullthroughcache/...
 * holding username and accessToken; the puller needs ecr:CreateRepository and ecr:BatchImportUpstreamImage), or
 * authenticated pulls (ECS repositoryCredentials: a secret holding username and password, read by the execution role).
 */
import { expect } from "chai";
import { configErrorFor, containerOf as container, ProgramRun, runProgram, stackRun } from "./harness";

const PTC_SECRET = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf";
const LOGIN_SECRET = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:dockerhub-login-AbCdEf";
const FAMILIES = ["web", "api", "worker", "beat", "plugin-daemon", "sandbox", "ssrf-proxy", "migration"];

const executionStatements = (run: ProgramRun) =>
    JSON.parse(run.one("aws:iam/rolePolicy:RolePolicy", "dify-execution").inputs.policy).Statement as { Action: string[]; Resource: string | string[] }[];
const anonymousWarnings = (run: ProgramRun) => run.warnings.filter((w) => /pulled from Docker Hub anonymously/.test(w));

describe("image pulls", () => {
    describe("prd: an ECR pull-through cache for Docker Hub, created by the program", () => {
        let run: ProgramRun;
        before(async () => {
            run = await stackRun("prd");
        });

        it("creates the rule for registry-1.docker.io with the configured credentials, under a prefix named after the stack", () => {
            const rule = run.one("aws:ecr/pullThroughCacheRule:PullThroughCacheRule");
            expect(rule.inputs).to.include({ upstreamRegistryUrl: "registry-1.docker.io", credentialArn: PTC_SECRET, ecrRepositoryPrefix: "dify-prd-docker-hub" });
            // ECR's limits on the prefix: 2-30 characters of lower-case letters, digits, . _ - /.
            expect(rule.inputs.ecrRepositoryPrefix).to.match(/^[a-z0-9._/-]{2,30}$/);
        });

        it("pulls every image from the cache in the stack's own account and region, and only once the rule exists", () => {
            const rule = run.one("aws:ecr/pullThroughCacheRule:PullThroughCacheRule");
            for (const family of FAMILIES) {
                expect(container(run, family).image, family).to.match(/^123456789012\.dkr\.ecr\.ap-northeast-1\.amazonaws\.com\/dify-prd-docker-hub\/(langgenius|ubuntu)\//);
                expect(run.one("aws:ecs/taskDefinition:TaskDefinition", `dify-${family}`).dependencies, family).to.include(rule.urn);
            }
        });

        it("lets the execution role create the cached repositories and import upstream images under that prefix only", () => {
            const imports = executionStatements(run).filter((s) => s.Action.includes("ecr:BatchImportUpstreamImage"));
            expect(imports.flatMap((s) => s.Action).sort()).to.deep.equal(["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]);
            expect(imports.flatMap((s) => [s.Resource].flat())).to.deep.equal(["arn:aws:ecr:ap-northeast-1:123456789012:repository/dify-prd-docker-hub/*"]);
        });

        it("needs no Docker Hub login in the task definitions and does not warn", () => {
            for (const family of FAMILIES) {
                expect(container(run, family).repositoryCredentials, family).to.equal(undefined);
            }
            expect(anonymousWarnings(run)).to.deep.equal([]);
        });
    });

    describe("authenticated pulls from Docker Hub (repositoryCredentials)", () => {
        let run: ProgramRun;
        before(async () => {
            run = await runProgram("dev", { dockerHubCredentialsSecretArn: LOGIN_SECRET });
        });

        it("logs every container in with the secret, and lets the execution role read exactly that secret", () => {
            for (const family of FAMILIES) {
                const c = container(run, family);
                expect(c.image, family).to.match(/^(langgenius|ubuntu)\//);
                expect(c.repositoryCredentials, family).to.deep.equal({ credentialsParameter: LOGIN_SECRET });
            }
            const read = executionStatements(run).filter((s) => s.Action.includes("secretsmanager:GetSecretValue")).flatMap((s) => [s.Resource].flat());
            expect(read).to.include(LOGIN_SECRET);
            expect(executionStatements(run).flatMap((s) => s.Action).filter((a) => a.startsWith("ecr:"))).to.deep.equal([]);
            expect(run.ofType("aws:ecr/pullThroughCacheRule:PullThroughCacheRule")).to.deep.equal([]);
            expect(anonymousWarnings(run)).to.deep.equal([]);
        });
    });

    it("warns when a stack pulls from Docker Hub anonymously (dev as committed), naming both ways out", async () => {
        const dev = await stackRun("dev");
        const warnings = anonymousWarnings(dev);
        expect(warnings).to.have.length(1);
        expect(warnings[0]).to.include("dify-aws:dockerHubCredentialsSecretArn").and.to.include("dify-aws:dockerHubPullThroughCache").and.to.include("toomanyrequests");
        // A mirror of the user's own is not anonymous Docker Hub.
        expect(anonymousWarnings(await runProgram("dev", { imageRegistryPrefix: "mirror.example.com:5000/hub" }))).to.deep.equal([]);
    });

    describe("refuses settings ECR or ECS would reject, naming the keys", () => {
        it("a pull-through cache without credentials (ECR requires them for Docker Hub)", () => {
            const message = configErrorFor("dev", { dockerHubPullThroughCache: true });
            expect(message).to.include("dify-aws:dockerHubPullThroughCache = true").and.to.include("dify-aws:dockerHubCredentialsSecretArn = (not set)");
            expect(message).to.match(/ecr-pullthroughcache\/<name>.*username.*accessToken/);
        });
        it("a credential secret not named ecr-pullthroughcache/...", () => {
            expect(configErrorFor("dev", { dockerHubPullThroughCache: true, dockerHubCredentialsSecretArn: LOGIN_SECRET })).to.match(/dockerHubCredentialsSecretArn = ".*dockerhub-login.*starts with ecr-pullthroughcache\//);
        });
        it("a credential secret in another region (ECR reads its own account and region only)", () => {
            const message = configErrorFor("dev", { dockerHubPullThroughCache: true, dockerHubCredentialsSecretArn: PTC_SECRET.replace("ap-northeast-1", "us-west-2") });
            expect(message).to.include("aws:region = \"ap-northeast-1\"").and.to.match(/own account and region/);
        });
        it("Docker Hub settings together with a registry prefix of the user's own", () => {
            const message = configErrorFor("prd", { imageRegistryPrefix: "mirror.example.com/hub" });
            expect(message).to.include("dify-aws:imageRegistryPrefix = \"mirror.example.com/hub\"").and.to.include("dify-aws:dockerHubPullThroughCache = true").and.to.match(/not both/);
        });
    });
});
