/**
 * The pack's layout and its per-stack configuration: what `--policy-pack-config policy/config/<stack>.json` turns on,
 * and that each stack's file matches what that stack's own config says (the allow-list, the TLS policy, what dev
 * honestly does not have).
 */
import * as fs from "fs";
import * as path from "path";
import * as aws from "@pulumi/aws";
import { expect } from "chai";
import * as yaml from "js-yaml";
import { parseCidr } from "../config/cidr";
import { CONFIG_PROPERTIES, ConfigKey } from "../policy/config";
import { albHttpsListeners } from "../policy/encryption";
import { PACK_NAME, packPolicies } from "../policy/policies";
import { loadSettingsFor, readProjectFile } from "./harness";
import { registeredResource } from "./mocks";
import { POLICY_DIR, readPackConfigFile, resolvePackConfig, runPack, typeOf } from "./policyHarness";

const STACKS = ["dev", "prd"] as const;
/** The policies that keep Dify off the open internet: never relaxed, on any stack. */
const NETWORK_EXPOSURE = ["no-world-ingress", "alb-ingress-allow-list", "data-sg-no-cidr-ingress", "rds-not-publicly-accessible", "ecs-no-public-ip", "s3-public-access-block"];

/** Every value a config file gives `key`, over all policies that declare it. */
function valuesOf(stack: string, key: ConfigKey): unknown[] {
    return [...resolvePackConfig(readPackConfigFile(stack)).values()].filter((c) => key in c.properties).map((c) => c.properties[key]);
}

describe("policy pack layout", () => {
    it("is a nodejs CrossGuard pack with its own versioned package.json and lock file", () => {
        const manifest = yaml.load(fs.readFileSync(path.join(POLICY_DIR, "PulumiPolicy.yaml"), "utf8")) as { runtime: string; description: string };
        expect(manifest.runtime).to.equal("nodejs");
        const pkg = JSON.parse(fs.readFileSync(path.join(POLICY_DIR, "package.json"), "utf8"));
        expect(pkg.version).to.match(/^\d+\.\d+\.\d+$/);
        // The CLI installs these in policy/ and the pack's typings come from them: same versions as the program.
        const root = JSON.parse(fs.readFileSync(path.join(POLICY_DIR, "..", "package.json"), "utf8"));
        for (const dep of ["@pulumi/policy", "@pulumi/pulumi", "@pulumi/aws"]) {
            expect(pkg.dependencies[dep], dep).to.equal(root.dependencies[dep] ?? root.devDependencies[dep]);
        }
        const lock = JSON.parse(fs.readFileSync(path.join(POLICY_DIR, "package-lock.json"), "utf8"));
        expect(lock.packages[""].dependencies).to.deep.equal(pkg.dependencies);
        expect(PACK_NAME).to.match(/^[a-zA-Z0-9-_.]{1,100}$/);
    });

    it("index.ts only constructs the pack from the policy modules", () => {
        const source = fs.readFileSync(path.join(POLICY_DIR, "index.ts"), "utf8");
        expect(source.match(/new PolicyPack\(/g)).to.have.length(1);
        expect(source).to.not.match(/validateResource|validateStack|reportViolation/);
    });

    it("declares every policy config key with a type, a description and a default", () => {
        for (const p of packPolicies) {
            for (const [key, schema] of Object.entries(p.configSchema?.properties ?? {})) {
                expect(CONFIG_PROPERTIES, `${p.name}.${key}`).to.have.property(key);
                expect(schema).to.include.keys("type", "description", "default");
            }
        }
    });
});

describe("policy pack config files", () => {
    for (const stack of STACKS) {
        it(`${stack}.json names only policies and properties the pack declares`, () => {
            expect(() => resolvePackConfig(readPackConfigFile(stack))).to.not.throw();
        });

        it(`${stack}.json disables no policy and keeps every network-exposure policy mandatory`, () => {
            const resolved = resolvePackConfig(readPackConfigFile(stack));
            for (const [name, c] of resolved) {
                expect(c.level, name).to.not.equal("disabled");
            }
            for (const name of NETWORK_EXPOSURE) {
                expect(resolved.get(name)?.level, name).to.equal("mandatory");
            }
        });

        it(`${stack}.json allows exactly the stack's ALB allow-list (dify-aws:albAllowedCidrs, as the loader reads it)`, () => {
            const { settings } = loadSettingsFor(stack);
            const canonical = (list: string[]) => list.map((c) => parseCidr(c)?.text ?? c).sort();
            const [allowed] = valuesOf(stack, "allowedIngressCidrs") as string[][];
            expect(canonical(allowed)).to.deep.equal(canonical(settings.edge.allowedCidrs));
        });

        it(`${stack}.json allows the stack's TLS policy (dify-aws:albSslPolicy)`, () => {
            const { settings } = loadSettingsFor(stack);
            // An HTTP-only stack has no HTTPS listener yet; the policy it would get is Pulumi.yaml's default.
            const sslPolicy = settings.edge.tls.mode === "https" ? settings.edge.tls.sslPolicy : (readProjectFile().config.albSslPolicy.default as string);
            const [allowed] = valuesOf(stack, "allowedTlsPolicies") as string[][];
            expect(allowed).to.include(sslPolicy);
        });

        it(`${stack}.json gives each shared key one value across the policies that read it`, () => {
            for (const key of Object.keys(CONFIG_PROPERTIES) as ConfigKey[]) {
                expect(new Set(valuesOf(stack, key).map((v) => JSON.stringify(v))).size, key).to.be.at.most(1);
            }
        });
    }

    it("prd.json requires everything: customer-managed keys, deletion protection, WAF, HTTPS", () => {
        const resolved = resolvePackConfig(readPackConfigFile("prd"));
        for (const [name, c] of resolved) {
            expect(c.level, name).to.equal("mandatory");
        }
        for (const key of ["requireCustomerManagedKeys", "requireDeletionProtection", "requireWaf"] as const) {
            expect(valuesOf("prd", key), key).to.deep.equal(valuesOf("prd", key).map(() => true)).and.to.not.be.empty;
        }
    });

    it("dev.json relaxes only what the dev stack's config turns off, and lowers only the HTTPS-listener policy to advisory", () => {
        const { settings } = loadSettingsFor("dev");
        const relaxed = (key: ConfigKey) => valuesOf("dev", key).includes(false);
        expect(relaxed("requireCustomerManagedKeys")).to.equal(!settings.common.customerManagedKey);
        expect(relaxed("requireDeletionProtection")).to.equal(!settings.common.deletionProtection);
        expect(relaxed("requireWaf")).to.equal(settings.edge.waf === undefined);
        const advisory = [...resolvePackConfig(readPackConfigFile("dev"))].filter(([, c]) => c.level === "advisory").map(([name]) => name);
        expect(advisory).to.deep.equal(settings.edge.tls.mode === "httpOnly" ? ["alb-https-listeners"] : []);
    });
});

describe("policy config resolution (what --policy-pack-config does)", () => {
    const plainHttpListener = registeredResource({
        type: typeOf(aws.lb.Listener),
        name: "http",
        inputs: { protocol: "HTTP", port: 80, defaultActions: [{ type: "forward", targetGroupArn: "arn" }] },
        id: "listener-1",
        urn: "urn:pulumi:dev::dify-aws::aws:lb/listener:Listener::http",
    });
    const levelOf = async (file: Parameters<typeof resolvePackConfig>[0]) => {
        const report = await runPack([plainHttpListener], resolvePackConfig(file), [albHttpsListeners]);
        return report.violations.map((v) => v.level);
    };

    it("a policy's own level beats \"all\", \"all\" beats the pack's mandatory default, disabled runs nothing", async () => {
        expect(await levelOf({})).to.deep.equal(["mandatory"]);
        expect(await levelOf({ all: "advisory" })).to.deep.equal(["advisory"]);
        expect(await levelOf({ all: "advisory", "alb-https-listeners": "mandatory" })).to.deep.equal(["mandatory"]);
        expect(await levelOf({ "alb-https-listeners": { enforcementLevel: "disabled" } })).to.deep.equal([]);
        expect(await levelOf(readPackConfigFile("dev"))).to.deep.equal(["advisory"]);
        expect(await levelOf(readPackConfigFile("prd"))).to.deep.equal(["mandatory"]);
    });

    it("rejects a policy the pack does not have and a property its schema does not declare", () => {
        expect(() => resolvePackConfig({ "no-such-policy": "advisory" })).to.throw(/no-such-policy/);
        expect(() => resolvePackConfig({ "alb-waf": { requireWAF: false } })).to.throw(/requireWAF/);
    });
});
