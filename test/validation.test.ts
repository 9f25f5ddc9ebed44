/**
 * Validation across keys and against what AWS really offers: each rejection happens before any resource, and its
 * message names every key involved, the values and what is allowed. Expected limits come from AWS's documentation
 * (cited beside each), not from the implementation.
 */
import { expect } from "chai";
import { REQUIRED_ENDPOINTS } from "../config/network";
import { ConfigError, isSecretLookingKey } from "../config/reader";
import { ACCEPTED_TLS_POLICIES } from "../config/tlsPolicies";
import { STRONG_TLS_POLICIES } from "../policy/config";
import { configErrorFor, loadSettingsFor, readProjectFile, runProgramExpectingError } from "./harness";

/** The message names each key (with the project namespace unless it has its own) and matches `allowed`. */
function expectKeys(message: string, keys: string[], allowed: RegExp): void {
    for (const key of keys) {
        expect(message, key).to.include(key.includes(":") ? `${key} = ` : `dify-aws:${key} = `);
    }
    expect(message).to.match(allowed);
}

describe("validation across keys", () => {
    it("refuses a certificate from another region than aws:region (an ALB uses ACM certificates of its own region)", () => {
        const arn = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-4a6b-8c9d-0e1f2a3b4c5d";
        const message = configErrorFor("prd", { certificateArn: arn });
        expectKeys(message, ["certificateArn", "aws:region"], /issued in ap-northeast-1.*this one is in us-east-1/);
        expect(message).to.include(arn).and.to.include('"ap-northeast-1"');
        const same = arn.replace("us-east-1", "ap-northeast-1");
        expect(loadSettingsFor("prd", { certificateArn: same }).settings.edge.tls).to.include({ certificateArn: same });
    });

    it("names vpcCidr and every subnet prefix when the VPC is too small, and what it suggests really fits", () => {
        const message = configErrorFor("prd", { vpcCidr: "10.40.0.0/22" });
        expectKeys(message, ["vpcCidr", "availabilityZoneCount", "publicSubnetPrefix", "privateSubnetPrefix", "dataSubnetPrefix"], /each zone needs \d+ addresses, a zone of this VPC has 256/);
        const bigger = /a vpcCidr of \/(\d+) or larger/.exec(message);
        const shrunk = /publicSubnetPrefix (\d+), privateSubnetPrefix (\d+) and dataSubnetPrefix (\d+) \(the largest subnets that fit\)/.exec(message);
        expect(bigger, message).to.not.equal(null);
        expect(shrunk, message).to.not.equal(null);
        // Both suggestions load; one prefix less in the shrunk layout would not fit again.
        expect(() => loadSettingsFor("prd", { vpcCidr: `10.40.0.0/${bigger![1]}` })).to.not.throw();
        const [pub, priv, data] = shrunk!.slice(1).map(Number);
        expect(() => loadSettingsFor("prd", { vpcCidr: "10.40.0.0/22", publicSubnetPrefix: pub, privateSubnetPrefix: priv, dataSubnetPrefix: data })).to.not.throw();
        expect(() => loadSettingsFor("prd", { vpcCidr: "10.40.0.0/22", publicSubnetPrefix: pub - 1, privateSubnetPrefix: priv - 1, dataSubnetPrefix: data - 1 })).to.throw(ConfigError);
        expect(() => loadSettingsFor("prd", { vpcCidr: `10.40.0.0/${Number(bigger![1]) + 1}` })).to.throw(ConfigError);
    });

    describe("SMTP port and TLS mode agree (465/2465 implicit TLS, 25/587/2587 STARTTLS)", () => {
        const smtp = { smtpServer: "email-smtp.ap-northeast-1.amazonaws.com", smtpUsername: "AKIAEXAMPLE", mailDefaultSendFrom: "no-reply@example.com", smtpPasswordSecretArn: "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:smtp-AbCdEf" };
        const keys = ["smtpPort", "smtpUseTls", "smtpOpportunisticTls"];
        it("accepts 465 with implicit TLS and 587 with STARTTLS", () => {
            expect(loadSettingsFor("dev", { ...smtp, smtpPort: 465, smtpUseTls: true, smtpOpportunisticTls: false }).settings.cluster.smtp?.port).to.equal(465);
            expect(loadSettingsFor("dev", { ...smtp, smtpPort: 587, smtpUseTls: true, smtpOpportunisticTls: true }).settings.cluster.smtp?.port).to.equal(587);
        });
        it("refuses STARTTLS on 465 and implicit TLS on 587, naming all three keys", () => {
            expectKeys(configErrorFor("dev", { ...smtp, smtpPort: 465, smtpUseTls: true, smtpOpportunisticTls: true }), keys, /smtpOpportunisticTls false on port 465/);
            expectKeys(configErrorFor("dev", { ...smtp, smtpPort: 587, smtpUseTls: true, smtpOpportunisticTls: false }), keys, /smtpOpportunisticTls true on port 587/);
            expectKeys(configErrorFor("dev", { ...smtp, smtpPort: 2465, smtpUseTls: true, smtpOpportunisticTls: true }), keys, /port 2465/);
        });
        it("refuses SMTP without TLS (the password would cross the network in clear)", () => {
            expectKeys(configErrorFor("dev", { ...smtp, smtpPort: 25, smtpUseTls: false, smtpOpportunisticTls: false }), keys, /in clear/);
        });
    });

    describe("ALB TLS policy", () => {
        it("accepts every ALB TLS 1.3 policy that accepts nothing below TLS 1.2, including the pack's strong list", () => {
            for (const policy of ACCEPTED_TLS_POLICIES) {
                expect(loadSettingsFor("prd", { albSslPolicy: policy }).settings.edge.tls, policy).to.include({ sslPolicy: policy });
            }
            expect(STRONG_TLS_POLICIES.filter((p) => !ACCEPTED_TLS_POLICIES.includes(p)), "the policy pack allows only policies ELB has").to.deep.equal([]);
            expect(ACCEPTED_TLS_POLICIES).to.include("ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09");
        });
        it("refuses a name ELB does not have, and TLS 1.3 policies that still accept TLS 1.0/1.1, listing the allowed ones", () => {
            const typo = configErrorFor("prd", { albSslPolicy: "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-9" });
            expectKeys(typo, ["albSslPolicy"], /ELBSecurityPolicy-TLS13-1-2-Res-2021-06/);
            expectKeys(configErrorFor("prd", { albSslPolicy: "ELBSecurityPolicy-TLS13-1-0-2021-06" }), ["albSslPolicy"], /still accepts TLS 1\.0/);
            expectKeys(configErrorFor("prd", { albSslPolicy: "ELBSecurityPolicy-2016-08" }), ["albSslPolicy"], /TLS 1\.3 security policies/);
        });
    });

    it("refuses Aurora instance classes Aurora PostgreSQL does not offer, listing what it does", () => {
        const provisioned = { databaseCapacityMode: "provisioned" };
        expectKeys(configErrorFor("prd", { ...provisioned, databaseInstanceClass: "db.t3.micro" }), ["databaseInstanceClass"], /db\.t3\.medium, db\.t3\.large/);
        expectKeys(configErrorFor("prd", { ...provisioned, databaseInstanceClass: "db.t4g.small" }), ["databaseInstanceClass"], /db\.t4g\.medium, db\.t4g\.large/);
        expectKeys(configErrorFor("prd", { ...provisioned, databaseInstanceClass: "db.m5.large" }), ["databaseInstanceClass"], /families .*db\.r7g/);
        for (const c of ["db.r7g.large", "db.r6g.xlarge", "db.t4g.medium", "db.r8g.2xlarge", "db.x2g.large"]) {
            // dev with one api task: more would need more than a db.t4g.medium's 405 connections (config/capacity.ts).
            expect(loadSettingsFor("dev", { ...provisioned, databaseInstanceClass: c, apiMaxTasks: 1 }).settings.data.database.capacity, c).to.include({ instanceClass: c });
        }
    });

    it("refuses a Fargate CPU written in vCPUs (\"0.5\"), listing the CPU units Fargate accepts", () => {
        const message = configErrorFor("dev", { apiCpu: "0.5" });
        expectKeys(message, ["apiCpu"], /one of 256, 512, 1024, 2048, 4096, 8192, 16384/);
        expect(message).to.include('"0.5"').and.to.match(/0\.5 vCPU is 512/);
    });

    it("requires a PyPI mirror when the VPC has no NAT, naming both keys", () => {
        const none = { natGateways: "none", dockerHubPullThroughCache: true, dockerHubCredentialsSecretArn: "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf", acknowledgeNoInternetEgress: true, interfaceEndpoints: REQUIRED_ENDPOINTS };
        expectKeys(configErrorFor("dev", none), ["pipMirrorUrl", "natGateways"], /PyPI mirror reachable inside the VPC/);
        expect(loadSettingsFor("dev", { ...none, pipMirrorUrl: "https://pypi.internal.example.com/simple/" }).settings.cluster.pipMirrorUrl).to.equal("https://pypi.internal.example.com/simple/");
        expectKeys(configErrorFor("dev", { pipMirrorUrl: "https://user:pw@pypi.example.com/simple/" }), ["pipMirrorUrl"], /without credentials/);
    });

    it("fails before any resource is declared", async () => {
        const { error, registered } = await runProgramExpectingError("prd", { albSslPolicy: "ELBSecurityPolicy-2016-08" });
        // The program's modules are loaded afresh for each run, so the class is compared by name.
        expect(error.name).to.equal("ConfigError");
        expect(registered).to.equal(0);
    });
});

describe("an error about a key whose name looks secret never prints its value", () => {
    it("holds for every declared key named like a secret, alone and together with other keys", () => {
        const secretKeys = Object.keys(readProjectFile().config).filter(isSecretLookingKey);
        expect(secretKeys, "Pulumi.yaml declares secret-looking keys (smtpPassword)").to.include("smtpPassword");
        for (const key of secretKeys) {
            const alone = new ConfigError(key, "hunter2-Zq7", "whatever is allowed");
            expect(alone.message, key).to.not.include("hunter2-Zq7");
            expect(alone.message).to.include(`dify-aws:${key} = (a value, not shown)`);
            const together = new ConfigError({ smtpServer: "mail.example.com", [key]: "hunter2-Zq7" }, undefined, "whatever");
            expect(together.message).to.include('"mail.example.com"').and.not.to.include("hunter2-Zq7");
        }
        // Keys about secrets (an ARN, a setting) are not secrets: their values help the user.
        expect(isSecretLookingKey("smtpPasswordSecretArn")).to.equal(false);
        expect(isSecretLookingKey("extraSecrets")).to.equal(false);
    });
});
