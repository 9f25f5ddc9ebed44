/** DifyCluster on its own, against fake contract values: the contracts are all it needs. */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { runProgram, stackConfig } from "./harness";

const FIXTURE = path.join(__dirname, "difyCluster.fixture.ts");

describe("DifyCluster standalone (fake contracts)", () => {
    it("builds from the contracts alone and stores a stack-secret SMTP password in Secrets Manager, never in plain text", async () => {
        const password = "fixture-smtp-pw-9Qx";
        const overrides = { smtpServer: "smtp.example.com", smtpUsername: "mailer", mailDefaultSendFrom: "dify@example.com", smtpPassword: password };
        // Mark the key as a stack secret the way `pulumi config set --secret` does (overrides alone are plaintext).
        const original = pulumi.runtime.setAllConfig;
        const { secretKeys } = stackConfig("dev", overrides);
        (pulumi.runtime as { setAllConfig: typeof original }).setAllConfig = (c, keys) => original(c, [...(keys ?? secretKeys), "dify-aws:smtpPassword"]);
        let run;
        try {
            delete require.cache[FIXTURE];
            run = await runProgram("dev", overrides, { entry: FIXTURE });
        } finally {
            (pulumi.runtime as { setAllConfig: typeof original }).setAllConfig = original;
        }
        expect(run.outputs.clusterName).to.equal("dify-fx");
        expect(run.outputs.smtpConfigured).to.equal(true);

        const secret = run.ofType("aws:secretsmanager/secret:Secret").find((s) => String(s.inputs.namePrefix).includes("smtp-password"))!;
        expect(secret, "a secret for the SMTP password").to.not.equal(undefined);
        const version = run.ofType("aws:secretsmanager/secretVersion:SecretVersion").find((v) => v.inputs.secretString === password)!;
        expect(version.secretPaths).to.include("secretString");

        for (const td of run.ofType("aws:ecs/taskDefinition:TaskDefinition")) {
            expect(td.inputs.containerDefinitions, td.name).to.not.include(password);
        }
        const api = JSON.parse(run.ofType("aws:ecs/taskDefinition:TaskDefinition").find((t) => t.inputs.family === "dify-fx-api")!.inputs.containerDefinitions)[0];
        const ref = api.secrets.find((s: { name: string }) => s.name === "SMTP_PASSWORD").valueFrom;
        // The reference is that secret's ARN (the mock names ARNs after the resource).
        expect(ref).to.match(new RegExp(`^arn:aws:secretsmanager:[^:]+:\\d{12}:secret:${secret.name}-`));
        expect(secret.inputs.namePrefix).to.equal("dify-fx/dify-smtp-password-");
        const exec = JSON.parse(run.ofType("aws:iam/rolePolicy:RolePolicy").find((p) => p.name === "dify-execution")!.inputs.policy);
        const readable = exec.Statement.find((s: { Action: string[] }) => s.Action.includes("secretsmanager:GetSecretValue")).Resource;
        expect(readable).to.include(ref.split(":").slice(0, 7).join(":"));

        // The fake database group admits the five roles that use it (api, worker, beat, plugin daemon, websocket); the
        // cache, those and the agent backend.
        const ingress = run.ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
        expect(ingress.filter((r) => r.inputs.securityGroupId === "sg-0db0db0db0db0db00")).to.have.length(5);
        expect(ingress.filter((r) => r.inputs.securityGroupId === "sg-0cac0cac0cac0cac0")).to.have.length(6);
        // The squid config denies this VPC's own CIDR.
        const squid = JSON.parse(run.ofType("aws:ecs/taskDefinition:TaskDefinition").find((t) => t.inputs.family === "dify-fx-ssrf-proxy")!.inputs.containerDefinitions)[0];
        const conf = squid.environment.find((e: { name: string }) => e.name === "SQUID_CONF").value as string;
        expect(conf).to.match(/^acl to_vpc dst 10\.77\.0\.0\/16$/m);
        expect(conf).to.match(/^http_access deny to_vpc$/m);
    });
});
