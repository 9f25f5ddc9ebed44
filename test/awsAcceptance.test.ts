/**
 * AWS acceptance: every string the program sends meets the rule AWS applies to it (config/awsRules.ts), on both stacks
 * and their variants, at `up` and at preview (where values not known yet are skipped); names AWS wants unique are; and
 * every registered type is either covered by rules or listed, with the reason, as sending no such strings.
 */
import { expect } from "chai";
import {
    ACM_DOMAIN_NAME,
    AwsStringRule,
    CW_ALARM_NAME,
    CW_DASHBOARD_NAME,
    CW_METRIC_QUERY_ID,
    EC2_SECURITY_GROUP_DESCRIPTION,
    EC2_SECURITY_GROUP_RULE_DESCRIPTION,
    EC2_TAG_KEY,
    ELB_LOAD_BALANCER_NAME,
    ELB_TARGET_GROUP_NAME,
    IAM_ROLE_DESCRIPTION,
    INPUT_RULES,
    inputViolations,
    KMS_ALIAS_NAME,
    LOGS_LOG_GROUP_NAME,
    NamedResource,
    NO_STRING_RULES,
    RDS_CLUSTER_IDENTIFIER,
    RDS_TAG_KEY,
    ruleViolations,
    S3_BUCKET_NAME,
    SM_SECRET_NAME,
    TAG_KEY,
    TAG_VALUE,
    uniquenessViolations,
    valuesAt,
    WAF_DESCRIPTION,
    WAF_METRIC_NAME,
    AAS_SCHEDULED_ACTION_NAME,
} from "../config/awsRules";
import { PROJECT } from "../config/reader";
import { PREVIEW_UNKNOWN } from "../tools/offline/mocks";
import { ProgramRun, stackRun } from "./harness";

const STACKS = ["dev", "prd"] as const;

function violations(run: ProgramRun): string[] {
    return run.resources.flatMap((r) => inputViolations(r.type, r.inputs).map((v) => `${r.type} ${r.name}: ${v}`));
}

/** Asserts a rule refuses each of `bad` and accepts each of `good`. */
function provesBothWays(rule: AwsStringRule, bad: string[], good: string[]): void {
    for (const value of bad) {
        expect(ruleViolations(rule, value), `${rule.parameter} should refuse ${JSON.stringify(value)}`).to.not.deep.equal([]);
    }
    for (const value of good) {
        expect(ruleViolations(rule, value), `${rule.parameter} should accept ${JSON.stringify(value)}`).to.deep.equal([]);
    }
}

function resource(type: string, name: string, inputs: Record<string, unknown>): NamedResource {
    return { type, name, urn: `urn:pulumi:test::dify-aws::${type}::${name}`, inputs };
}

/** The types a run registers that reach AWS: everything but this program's own component resources. */
function registeredTypes(run: ProgramRun): string[] {
    return [...new Set(run.resources.filter((r) => r.custom || !r.type.startsWith(`${PROJECT}:`)).map((r) => r.type))];
}

describe("AWS acceptance of every string the program sends", () => {
    it("the security group description rule refuses what EC2 refuses (the plugin workspace's old apostrophe)", () => {
        expect(ruleViolations(EC2_SECURITY_GROUP_DESCRIPTION, "EFS mount targets of the plugin daemon's working path: ingress rules are added per caller by the consumer")).to.have.length(1);
        expect(ruleViolations(EC2_SECURITY_GROUP_DESCRIPTION, "Dify ALB: HTTPS and HTTP from the allow-list only; egress only to Dify task ports")).to.deep.equal([]);
        expect(ruleViolations(EC2_SECURITY_GROUP_DESCRIPTION, "")).to.have.length(1);
        expect(ruleViolations(EC2_SECURITY_GROUP_DESCRIPTION, "x".repeat(256))).to.have.length(1);
    });

    describe("each rule refuses what AWS refuses and accepts what it accepts", () => {
        it("security group rule descriptions: no & (prefix-list and security-group rules refuse it), no non-ASCII", () => {
            provesBothWays(EC2_SECURITY_GROUP_RULE_DESCRIPTION, ["api & worker", "Dify web — to api", "x".repeat(256)], ["", "Dify api to the cache (6379, TLS)"]);
        });
        it("load balancer and target group names: 32 alphanumerics or hyphens, no hyphen at an end, no internal-", () => {
            provesBothWays(ELB_LOAD_BALANCER_NAME, ["internal-dify", "-dify", "dify-", "dify_alb", "a".repeat(33), ""], ["dify-prd-alb", "a".repeat(32)]);
            provesBothWays(ELB_TARGET_GROUP_NAME, ["dify-prd-api-", "dify.api", "a".repeat(33)], ["internal-api", "dify-prd-api-8f9b71"]);
        });
        it("log group names: no spaces or colons, not aws/...", () => {
            provesBothWays(LOGS_LOG_GROUP_NAME, ["aws/dify", "/dify prd/api", "/dify:prd", ""], ["/aws/ecs/dify-prd", "/dify-prd/api", "aws-waf-logs-dify-prd"]);
        });
        it("secret names: ASCII letters, digits and /_+=.@-", () => {
            provesBothWays(SM_SECRET_NAME, ["dify prd/db", "dify:prd", "dify-prd/データ"], ["dify-prd/database/master"]);
        });
        it("IAM role descriptions: nothing above U+00FF (an em dash or curly quote fails CreateRole)", () => {
            provesBothWays(IAM_ROLE_DESCRIPTION, ["Dify api task role — prd", "dify-prd\u2019s role", "x".repeat(1001)], ["ECS moves dify-prd's canary traffic", ""]);
        });
        it("WAF: descriptions need 3+ characters with no space at an end; metric names no spaces, not All", () => {
            provesBothWays(WAF_DESCRIPTION, ["ab", " Dify edge", "Dify edge ", "Dify (edge)", "Dify; edge"], ["Dify dify-prd: allow-list, per-IP rate limit", "abc"]);
            provesBothWays(WAF_METRIC_NAME, ["All", "Default_Action", "dify prd", "dify.prd", "a".repeat(129)], ["dify-prd-edge", "dify_prd_rate_limit"]);
        });
        it("alarm names have no control characters; metric query ids start with a lowercase letter", () => {
            provesBothWays(CW_ALARM_NAME, ["dify\tprd", "", "a".repeat(256)], ["dify-prd: api 5xx > 1% (canary)"]);
            provesBothWays(CW_METRIC_QUERY_ID, ["Errors", "1st", "e-rate", "e.rate"], ["errors", "e1", "error_rate"]);
        });
        it("dashboard names: A-Z a-z 0-9 - _ only", () => {
            provesBothWays(CW_DASHBOARD_NAME, ["dify prd", "dify/prd", "dify.prd"], ["dify-prd", "Dify_prd"]);
        });
        it("scheduled action names: no : / | or edge spaces", () => {
            provesBothWays(AAS_SCHEDULED_ACTION_NAME, ["scale:night", "scale/night", " night", "night "], ["dify-prd api night scale-in"]);
        });
        it("tags: the common character set, keys not aws:..., EC2 keys up to 127, RDS not rds:...", () => {
            provesBothWays(TAG_KEY, ["aws:role", "AWS:role", "dify#role", "", "k".repeat(129)], ["dify-aws:role", "Name", "k".repeat(128)]);
            provesBothWays(TAG_VALUE, ["a&b", "v".repeat(257)], ["", "dify-prd-alb", "dify.example.com", "v".repeat(256)]);
            provesBothWays(EC2_TAG_KEY, ["k".repeat(128)], ["k".repeat(127)]);
            provesBothWays(RDS_TAG_KEY, ["rds:owner", "aws:owner"], ["dify-aws:owner"]);
        });
        it("S3 bucket names, KMS aliases, RDS identifiers and certificate domains", () => {
            provesBothWays(S3_BUCKET_NAME, ["Dify-files", "dify_files", "192.168.0.1", "dify..files", "-dify", "xn--dify", "ab"], ["dify-prd-files-123456789012-ap-northeast-1"]);
            provesBothWays(KMS_ALIAS_NAME, ["dify-prd", "alias/aws/dify", "alias/dify prd"], ["alias/dify-prd"]);
            provesBothWays(RDS_CLUSTER_IDENTIFIER, ["1dify", "dify--db", "dify-db-", "dify_db", "a".repeat(64)], ["dify-prd-db"]);
            provesBothWays(ACM_DOMAIN_NAME, ["dify", "-dify.example.com", `${"a".repeat(60)}.example.com`], ["dify.example.com", "*.example.com"]);
        });
        it("reads container names out of the task definition's JSON and skips what preview does not know", () => {
            const td = { family: "dify-prd-api", containerDefinitions: JSON.stringify([{ name: "api", portMappings: [{ name: "Api" }] }, { name: "log.router" }]) };
            expect(valuesAt(td, "containerDefinitions#json[].name").map((v) => v.at)).to.deep.equal(["containerDefinitions[0].name", "containerDefinitions[1].name"]);
            expect(inputViolations("aws:ecs/taskDefinition:TaskDefinition", td)).to.have.length(2);
            expect(inputViolations("aws:ecs/taskDefinition:TaskDefinition", { family: PREVIEW_UNKNOWN, containerDefinitions: PREVIEW_UNKNOWN })).to.deep.equal([]);
            expect(inputViolations("aws:lb/loadBalancer:LoadBalancer", { name: PREVIEW_UNKNOWN, tags: { Name: PREVIEW_UNKNOWN } })).to.deep.equal([]);
        });
        it("uniqueness: two alarms or two roles (any case) with one name collide; ids repeat freely across alarms", () => {
            const alarm = "aws:cloudwatch/metricAlarm:MetricAlarm";
            expect(uniquenessViolations([resource(alarm, "a", { name: "dify-prd-api-5xx" }), resource(alarm, "b", { name: "dify-prd-api-5xx" })])).to.have.length(1);
            expect(uniquenessViolations([resource(alarm, "a", { name: "dify-prd-api-5xx" }), resource(alarm, "b", { name: "dify-prd-web-5xx" })])).to.deep.equal([]);
            const role = "aws:iam/role:Role";
            expect(uniquenessViolations([resource(role, "a", { name: "Dify-Api" }), resource(role, "b", { name: "dify-api" })])).to.have.length(1);
            const queries = { metricQueries: [{ id: "errors" }, { id: "rate" }] };
            expect(uniquenessViolations([resource(alarm, "a", queries), resource(alarm, "b", queries)])).to.deep.equal([]);
            expect(uniquenessViolations([resource(alarm, "a", { metricQueries: [{ id: "errors" }, { id: "errors" }] })])).to.have.length(1);
            const service = "aws:ecs/service:Service";
            expect(uniquenessViolations([resource(service, "a", { name: "api", cluster: "c1" }), resource(service, "b", { name: "api", cluster: "c2" })])).to.deep.equal([]);
            expect(uniquenessViolations([resource(service, "a", { name: "api", cluster: "c1" }), resource(service, "b", { name: "api", cluster: "c1" })])).to.have.length(1);
            expect(uniquenessViolations([resource(alarm, "a", { name: PREVIEW_UNKNOWN }), resource(alarm, "b", { name: PREVIEW_UNKNOWN })])).to.deep.equal([]);
        });
    });

    it("a registered resource whose string breaks a rule fails (the paths reach the program's real inputs)", async () => {
        const run = await stackRun("prd");
        /** The violations of the first resource of a type after `edit` changes a copy of its inputs. */
        const after = (type: string, edit: (inputs: Record<string, any>) => void, pick: (r: ProgramRun["resources"][number]) => boolean = () => true): string[] => {
            const r = run.ofType(type).find(pick)!;
            expect(inputViolations(r.type, r.inputs), `${type} ${r.name} as registered`).to.deep.equal([]);
            const inputs = JSON.parse(JSON.stringify(r.inputs));
            edit(inputs);
            return inputViolations(r.type, inputs);
        };
        expect(after("aws:lb/loadBalancer:LoadBalancer", (i) => (i.name = `${i.name}-`))).to.have.length(1);
        expect(after("aws:lb/targetGroup:TargetGroup", (i) => (i.name = `${i.name}-blue-green-canary-x`))).to.have.length(1);
        expect(after("aws:cloudwatch/logGroup:LogGroup", (i) => (i.name = `${i.name} (api)`))).to.have.length(1);
        expect(after("aws:secretsmanager/secret:Secret", (i) => (i.namePrefix = "dify prd/"), (r) => "namePrefix" in r.inputs)).to.have.length(1);
        expect(after("aws:iam/role:Role", (i) => (i.description = `${i.description} \u2014 canary`))).to.have.length(1);
        expect(after("aws:wafv2/webAcl:WebAcl", (i) => (i.rules[0].visibilityConfig.metricName = "All"))).to.have.length(1);
        expect(after("aws:cloudwatch/metricAlarm:MetricAlarm", (i) => (i.metricQueries[0].id = "Errors"), (r) => Array.isArray(r.inputs.metricQueries))).to.have.length(1);
        expect(after("aws:ecs/service:Service", (i) => (i.tags = { ...i.tags, Owner: "aws:platform" }))).to.have.length(1);
        expect(after("aws:ecs/taskDefinition:TaskDefinition", (i) => (i.containerDefinitions = i.containerDefinitions.replace(/"name":"([a-z-]+)"/, '"name":"$1.main"')))).to.have.length(1);
        expect(after("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", (i) => (i.description = `${i.description} & more`))).to.have.length(1);
        expect(after("aws:ec2/securityGroup:SecurityGroup", (i) => (i.tags = { ...i.tags, "aws:owner": "x" }))).to.have.length(1);
    });

    it("every rule cites its source and says what it allows; no type is both covered and exempt", () => {
        for (const [type, paths] of Object.entries(INPUT_RULES)) {
            expect(NO_STRING_RULES, type).to.not.have.property(type);
            for (const [path, rule] of Object.entries(paths)) {
                expect(rule.source, `${type} ${path}`).to.match(/https:\/\/docs\.aws\.amazon\.com\/|api-models-aws|botocore|terraform/);
                expect(rule.allowed, `${type} ${path}`).to.not.equal("");
                expect(rule.parameter, `${type} ${path}`).to.not.equal("");
            }
        }
        for (const [type, reason] of Object.entries(NO_STRING_RULES)) {
            expect(reason.length, type).to.be.greaterThan(10);
        }
    });

    for (const stack of STACKS) {
        for (const preview of [false, true]) {
            const label = `${stack}${preview ? " (preview)" : ""}`;
            it(`${label}: every registered input AWS would accept`, async () => {
                const run = await stackRun(stack, { preview });
                expect(violations(run)).to.deep.equal([]);
            });
            it(`${label}: names AWS wants unique are unique in their scope`, async () => {
                const run = await stackRun(stack, { preview });
                expect(uniquenessViolations(run.resources)).to.deep.equal([]);
            });
        }
    }

    it("every registered type has rules for its strings, or is listed in NO_STRING_RULES with the reason", async () => {
        const types = new Set<string>();
        for (const stack of STACKS) {
            for (const preview of [false, true]) {
                registeredTypes(await stackRun(stack, { preview })).forEach((t) => types.add(t));
            }
        }
        const uncovered = [...types].filter((t) => !(t in INPUT_RULES) && !(t in NO_STRING_RULES)).sort();
        expect(uncovered, "add their rules to INPUT_RULES, or a reason to NO_STRING_RULES (config/awsRules.ts)").to.deep.equal([]);
    });

    it("dev and prd may share an account: account-wide and global names do not collide between them", async () => {
        const [dev, prd] = await Promise.all(STACKS.map((s) => stackRun(s)));
        const tagged = (run: ProgramRun) => run.resources.map((r) => ({ ...r, name: `${run.stack}:${r.name}` }));
        expect(uniquenessViolations([...tagged(dev), ...tagged(prd)], ["account", "global"])).to.deep.equal([]);
    });
});
