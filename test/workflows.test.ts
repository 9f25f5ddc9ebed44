/**
 * The GitHub workflows: valid against GitHub's published schemas (action-validator), and structured as the delivery
 * process requires: checks, then a policy-checked preview of every stack on pull requests; on main, `up` on dev, then
 * on prd behind a protected environment; AWS only through GitHub OIDC.
 */
import { validateAction, validateWorkflow } from "@action-validator/core";
import { expect } from "chai";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { ROOT } from "./harness";

const WORKFLOWS = path.join(ROOT, ".github", "workflows");
const ACTIONS = path.join(ROOT, ".github", "actions");

interface Step {
    name?: string;
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
    env?: Record<string, string>;
    if?: string;
    "working-directory"?: string;
}
interface Job {
    name?: string;
    needs?: string | string[];
    if?: string;
    uses?: string;
    environment?: string | { name: string };
    concurrency?: string | { group: string; "cancel-in-progress"?: boolean | string };
    permissions?: Record<string, string> | string;
    strategy?: { matrix: { stack?: string[]; include?: Record<string, string>[] } };
    steps?: Step[];
}
interface Workflow {
    on: Record<string, unknown>;
    permissions?: Record<string, string> | string;
    concurrency?: unknown;
    jobs: Record<string, Job>;
}

const read = (file: string) => fs.readFileSync(file, "utf8");
const workflow = (name: string) => yaml.load(read(path.join(WORKFLOWS, name))) as Workflow;
const workflowFiles = () => fs.readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f));
const actionFiles = () => fs.readdirSync(ACTIONS).map((d) => path.join(ACTIONS, d, "action.yml"));

/** The stacks of this project: one `Pulumi.<stack>.yaml` each. */
const STACKS = fs
    .readdirSync(ROOT)
    .map((f) => /^Pulumi\.([a-z0-9-]+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();

const PULUMI_ACTION = /^pulumi\/actions@/;
const AWS_CREDENTIALS = /^aws-actions\/configure-aws-credentials@/;

/** A job's steps with local composite actions (`./.github/actions/x`) expanded in place, as the runner executes them. */
function expandedSteps(job: Job): Step[] {
    return (job.steps ?? []).flatMap((step) => {
        if (step.uses?.startsWith("./")) {
            const action = yaml.load(read(path.join(ROOT, step.uses, "action.yml"))) as { runs: { using: string; steps: Step[] } };
            expect(action.runs.using, step.uses).to.equal("composite");
            return action.runs.steps.map((s) => ({ ...s, with: { ...s.with }, if: s.if?.replace(/inputs\.([\w-]+)/g, (_, k) => `'${String(step.with?.[k] ?? "")}'`) }));
        }
        return [step];
    });
}

/** Steps that actually run (a composite step whose `if` compares a literal input that is not set is skipped). */
function runningSteps(job: Job): Step[] {
    return expandedSteps(job).filter((s) => {
        const m = s.if && /^'([^']*)' == '([^']*)'$/.exec(s.if.trim());
        return !m || m[1] === m[2];
    });
}

const stepIndex = (steps: Step[], match: (s: Step) => boolean) => steps.findIndex(match);
const isNpmCi = (dir?: string) => (s: Step) => s.run?.trim() === "npm ci" && (s["working-directory"] ?? ".") === (dir ?? ".");

function permissionsOf(job: Job, wf: Workflow): Record<string, string> {
    const p = job.permissions ?? wf.permissions;
    expect(p, "permissions must be explicit (no default token scope)").to.be.an("object");
    return p as Record<string, string>;
}

function pulumiStep(job: Job): Step {
    const steps = (job.steps ?? []).filter((s) => PULUMI_ACTION.test(s.uses ?? ""));
    expect(steps, "exactly one pulumi/actions step").to.have.length(1);
    return steps[0];
}

/** Every workflow job, with its workflow, for assertions that hold everywhere. */
function allJobs(): { file: string; id: string; job: Job; wf: Workflow }[] {
    return workflowFiles().flatMap((file) => {
        const wf = workflow(file);
        return Object.entries(wf.jobs).map(([id, job]) => ({ file, id, job, wf }));
    });
}

describe("workflows", () => {
    it("has the stacks the workflows deploy", () => {
        expect(STACKS).to.deep.equal(["dev", "prd"]);
    });

    describe("schema validation (@action-validator/core, GitHub's published workflow and action schemas)", () => {
        it("finds the workflows and the composite action", () => {
            expect(workflowFiles()).to.include.members(["preview.yml", "deploy.yml", "checks.yml"]);
            expect(actionFiles().map((f) => path.relative(ROOT, f))).to.include(path.join(".github", "actions", "install", "action.yml"));
        });

        for (const file of ["preview.yml", "deploy.yml", "checks.yml"]) {
            it(`${file} is a valid workflow`, () => {
                const state = validateWorkflow(read(path.join(WORKFLOWS, file)));
                expect(state.actionType).to.equal("workflow");
                expect(state.errors, JSON.stringify(state.errors, null, 1)).to.deep.equal([]);
            });
        }

        it("every composite action is a valid action", () => {
            for (const file of actionFiles()) {
                const state = validateAction(read(file));
                expect(state.errors, `${file}: ${JSON.stringify(state.errors, null, 1)}`).to.deep.equal([]);
            }
        });

        it("the validator rejects what GitHub would reject (so a pass above means something)", () => {
            const src = read(path.join(WORKFLOWS, "deploy.yml"));
            const noRunner = src.replace(/^( {4})runs-on: ubuntu-24\.04\n/m, "");
            expect(noRunner).to.not.equal(src);
            expect(validateWorkflow(noRunner).errors).to.not.be.empty;
            const badPermission = src.replace("id-token: write", "id-token: admin");
            expect(validateWorkflow(badPermission).errors).to.not.be.empty;
            const badTrigger = src.replace("  push:\n", "  pushed:\n");
            expect(validateWorkflow(badTrigger).errors).to.not.be.empty;
        });
    });

    describe("every job", () => {
        it("pins third-party actions to a full commit SHA (a moved tag cannot change what runs with AWS credentials)", () => {
            const steps = [
                ...allJobs().flatMap(({ job }) => job.steps ?? []),
                ...actionFiles().flatMap((f) => (yaml.load(read(f)) as { runs: { steps: Step[] } }).runs.steps),
            ];
            const remote = steps.map((s) => s.uses).filter((u): u is string => !!u && !u.startsWith("./"));
            expect(remote.length).to.be.greaterThan(5);
            for (const uses of remote) {
                expect(uses, uses).to.match(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
            }
        });

        it("has no long-lived AWS keys: credentials only through configure-aws-credentials with an OIDC role", () => {
            for (const { file, id, job, wf } of allJobs()) {
                const text = JSON.stringify(job);
                expect(text, `${file}/${id}`).to.not.match(/AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|aws-access-key-id|aws-secret-access-key|AWS_SESSION_TOKEN/);
                const aws = (job.steps ?? []).filter((s) => AWS_CREDENTIALS.test(s.uses ?? ""));
                const perms = job.uses ? job.permissions ?? {} : permissionsOf(job, wf);
                if (aws.length > 0) {
                    expect((perms as Record<string, string>)["id-token"], `${file}/${id} needs an OIDC token`).to.equal("write");
                    for (const s of aws) {
                        expect(String(s.with?.["role-to-assume"]), `${file}/${id}`).to.match(/^\$\{\{ vars(\.[A-Z_]+|\[matrix\.\w+\]) \}\}$/);
                    }
                } else {
                    expect((perms as Record<string, string>)["id-token"], `${file}/${id} assumes no role, so needs no OIDC token`).to.be.undefined;
                }
            }
        });

        it("a job that runs Pulumi first assumes the AWS role, then installs the program and the policy pack", () => {
            const pulumiJobs = allJobs().filter(({ job }) => (job.steps ?? []).some((s) => PULUMI_ACTION.test(s.uses ?? "")));
            expect(pulumiJobs.map((j) => j.id).sort()).to.deep.equal(["preview", "up-dev", "up-prd"]);
            for (const { id, job } of pulumiJobs) {
                const steps = runningSteps(job);
                const pulumi = stepIndex(steps, (s) => PULUMI_ACTION.test(s.uses ?? ""));
                expect(stepIndex(steps, (s) => AWS_CREDENTIALS.test(s.uses ?? "")), id).to.be.within(0, pulumi - 1);
                expect(stepIndex(steps, isNpmCi()), `${id}: npm ci`).to.be.within(0, pulumi - 1);
                // `--policy-pack policy` runs the pack from that directory as it is: its dependencies must be installed.
                expect(stepIndex(steps, isNpmCi("policy")), `${id}: npm ci in policy/`).to.be.within(0, pulumi - 1);
                expect(String(pulumiStep(job).with?.["pulumi-version"]), id).to.match(/^\$\{\{ env\.PULUMI_VERSION \}\}$/);
            }
        });

        it("pins the Pulumi CLI to the release of the locked @pulumi/pulumi SDK", () => {
            const lock = JSON.parse(read(path.join(ROOT, "package-lock.json")));
            const sdk = lock.packages["node_modules/@pulumi/pulumi"].version;
            for (const file of ["preview.yml", "deploy.yml"]) {
                expect((workflow(file) as Workflow & { env: Record<string, string> }).env.PULUMI_VERSION, file).to.equal(sdk);
            }
        });
    });

    describe("checks (install, typecheck, test)", () => {
        const job = () => workflow("checks.yml").jobs.test;

        it("is a reusable workflow with read-only access to the repository", () => {
            const wf = workflow("checks.yml");
            expect(Object.keys(wf.on)).to.deep.equal(["workflow_call"]);
            expect(permissionsOf(job(), wf)).to.deep.equal({ contents: "read" });
        });

        it("runs `npm ci` then `npm test`, and `npm test` typechecks and runs the unit tests", () => {
            const steps = runningSteps(job());
            const ci = stepIndex(steps, isNpmCi());
            const test = stepIndex(steps, (s) => s.run?.trim() === "npm test");
            expect(ci).to.be.at.least(0);
            expect(test).to.be.greaterThan(ci);
            const scripts = JSON.parse(read(path.join(ROOT, "package.json"))).scripts as Record<string, string>;
            expect(scripts.test).to.match(/typecheck|tsc --noEmit/);
            expect(scripts.typecheck ?? scripts.test).to.match(/tsc --noEmit/);
            expect(scripts["test:unit"] ?? scripts.test).to.match(/mocha/);
        });

        it("both delivery workflows gate on it", () => {
            for (const file of ["preview.yml", "deploy.yml"]) {
                expect(workflow(file).jobs.checks.uses, file).to.equal("./.github/workflows/checks.yml");
            }
            expect(workflow("preview.yml").jobs.preview.needs).to.equal("checks");
            expect(workflow("deploy.yml").jobs["up-dev"].needs).to.equal("checks");
        });
    });

    describe("preview.yml (pull requests)", () => {
        const wf = () => workflow("preview.yml");
        const job = () => wf().jobs.preview;

        it("runs on pull requests to main only (never pull_request_target, which would run a fork's code with secrets)", () => {
            expect(wf().on).to.deep.equal({ pull_request: { branches: ["main"] } });
        });

        it("grants no token scopes by default; the preview job gets only read, OIDC and PR comments", () => {
            expect(wf().permissions).to.deep.equal({});
            expect(permissionsOf(job(), wf())).to.deep.equal({ contents: "read", "id-token": "write", "pull-requests": "write" });
        });

        it("skips the AWS preview for forks (GitHub gives them no OIDC token)", () => {
            expect(job().if).to.match(/github\.event\.pull_request\.head\.repo\.full_name == github\.repository/);
        });

        it("previews every stack, each with its own read-only role", () => {
            const include = job().strategy!.matrix.include!;
            expect(include.map((i) => i.stack).sort()).to.deep.equal(STACKS);
            expect(new Set(include.map((i) => i.roleVariable)).size).to.equal(STACKS.length);
            expect((job().strategy as { "fail-fast"?: boolean })["fail-fast"]).to.equal(false);
        });

        it("runs `pulumi preview` with the policy pack and the stack's policy config, commenting on the PR", () => {
            const w = pulumiStep(job()).with!;
            expect(w.command).to.equal("preview");
            expect(w["stack-name"]).to.equal("${{ matrix.stack }}");
            expect(w.policyPacks).to.equal("policy");
            expect(w.policyPackConfigs).to.equal("policy/config/${{ matrix.stack }}.json");
            expect(w["comment-on-pr"]).to.equal(true);
        });

        it("comments each stack's estimated monthly cost, and the difference from what main deployed, after the preview", () => {
            const steps = runningSteps(job());
            const cost = steps.findIndex((s) => /npm run -s cost -- --preview-json .* --state-json .* --markdown/.test(s.run ?? ""));
            expect(cost, "a cost step").to.be.greaterThan(steps.findIndex((s) => PULUMI_ACTION.test(s.uses ?? "")));
            const run = steps[cost].run!;
            // The current state is the "before"; the preview's steps applied to it the "after" (tools/cost/sources.ts).
            expect(run).to.match(/pulumi stack export --stack "\$STACK" > "\$RUNNER_TEMP\/state\.json"/);
            expect(run).to.match(/pulumi preview --stack "\$STACK" --json > "\$RUNNER_TEMP\/preview\.json"/);
            expect(run).to.match(/tools\/cost\/comment\.ts "\$REPO" "\$PR" "\$RUNNER_TEMP\/cost\.md"/);
            expect(steps[cost].env).to.include({ STACK: "${{ matrix.stack }}", GITHUB_TOKEN: "${{ github.token }}", PR: "${{ github.event.pull_request.number }}" });
            // Reading and writing comments needs nothing beyond the job's pull-requests: write.
            expect((job().permissions as Record<string, string>)["pull-requests"]).to.equal("write");
            expect(fs.existsSync(path.join(ROOT, "tools", "cost", "comment.ts"))).to.equal(true);
        });
    });

    describe("deploy.yml (main)", () => {
        const wf = () => workflow("deploy.yml");

        it("runs on pushes to main only", () => {
            expect(wf().on).to.deep.equal({ push: { branches: ["main"] } });
            expect(wf().permissions).to.deep.equal({});
        });

        it("runs `pulumi up` on dev, then on prd only after dev succeeded", () => {
            const jobs = wf().jobs;
            expect(pulumiStep(jobs["up-dev"]).with).to.include({ command: "up", "stack-name": "dev" });
            expect(pulumiStep(jobs["up-prd"]).with).to.include({ command: "up", "stack-name": "prd" });
            expect(jobs["up-prd"].needs).to.equal("up-dev");
            expect(jobs["up-prd"].if, "an `if: always()` would bypass the dev gate").to.be.undefined;
            const ups = Object.values(jobs).filter((j) => j.steps?.some((s) => PULUMI_ACTION.test(s.uses ?? "")));
            expect(ups.map((j) => pulumiStep(j).with!["stack-name"]).sort()).to.deep.equal(STACKS);
        });

        it("deploys prd only through the protected `prd` environment (approval), dev through `dev`", () => {
            expect(wf().jobs["up-prd"].environment).to.equal("prd");
            expect(wf().jobs["up-dev"].environment).to.equal("dev");
        });

        it("never runs two ups of one stack at once, and never cancels a running up", () => {
            const groups = ["up-dev", "up-prd"].map((id) => {
                const c = wf().jobs[id].concurrency as { group: string; "cancel-in-progress": boolean };
                expect(c["cancel-in-progress"], id).to.equal(false);
                return c.group;
            });
            expect(groups[0]).to.match(/dev/);
            expect(groups[1]).to.match(/prd/);
            expect(groups[0]).to.not.equal(groups[1]);
        });

        it("enforces the policy pack on every up, with that stack's policy config", () => {
            for (const stack of STACKS) {
                const w = pulumiStep(wf().jobs[`up-${stack}`]).with!;
                expect(w.policyPacks, stack).to.equal("policy");
                expect(w.policyPackConfigs, stack).to.equal(`policy/config/${stack}.json`);
            }
        });
    });

    describe("policy pack paths the workflows use", () => {
        it("are the ones the local preview scripts use, and exist", () => {
            const scripts = JSON.parse(read(path.join(ROOT, "package.json"))).scripts as Record<string, string>;
            for (const stack of STACKS) {
                expect(scripts[`preview:${stack}`], stack).to.include(`--policy-pack policy --policy-pack-config policy/config/${stack}.json`);
                expect(fs.existsSync(path.join(ROOT, "policy", "config", `${stack}.json`)), `policy/config/${stack}.json`).to.equal(true);
            }
            expect(fs.existsSync(path.join(ROOT, "policy", "PulumiPolicy.yaml")), "policy/PulumiPolicy.yaml").to.equal(true);
            // `npm ci` in policy/ needs the pack's own lock file.
            expect(fs.existsSync(path.join(ROOT, "policy", "package-lock.json")), "policy/package-lock.json").to.equal(true);
        });
    });
});
