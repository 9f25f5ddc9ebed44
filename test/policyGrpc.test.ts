/**
 * The pack through the real protocol: `policy/index.ts` runs as its own process the way the CLI starts a policy pack
 * (node + ts-node in the pack's directory; it prints the port of its gRPC Analyzer server), and this test is the
 * engine, calling GetAnalyzerInfo, Configure and Analyze with the protos shipped in @pulumi/pulumi.
 */
import { ChildProcess, spawn } from "child_process";
import * as aws from "@pulumi/aws";
import * as grpc from "@grpc/grpc-js";
import * as analyzerRpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzer from "@pulumi/pulumi/proto/analyzer_pb";
import { expect } from "chai";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { PACK_NAME, packPolicies } from "../policy/policies";
import { POLICY_DIR, readPackConfigFile, typeOf } from "./policyHarness";

function call<Req, Res>(fn: (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown, req: Req): Promise<Res> {
    return new Promise((resolve, reject) => fn(req, (err, res) => (err ? reject(err) : resolve(res))));
}

/** Starts the pack; resolves with the port it prints on its first stdout line. */
function startPack(): Promise<{ child: ChildProcess; port: number }> {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "index.ts"], { cwd: POLICY_DIR, stdio: ["ignore", "pipe", "pipe"] });
    return new Promise((resolve, reject) => {
        let out = "";
        let err = "";
        child.stderr!.on("data", (d) => (err += String(d)));
        child.stdout!.on("data", (d) => {
            out += String(d);
            const line = out.split("\n")[0];
            if (out.includes("\n") && /^\d+$/.test(line.trim())) {
                resolve({ child, port: Number(line.trim()) });
            }
        });
        child.on("exit", (code) => reject(new Error(`the policy pack exited (${code}) before printing its port: ${err || out}`)));
    });
}

const LEVEL_NAMES = Object.fromEntries(Object.entries(analyzer.EnforcementLevel).map(([k, v]) => [v, k.toLowerCase()]));

describe("policy pack over gRPC (as the Pulumi CLI runs it)", function () {
    this.timeout(30000);
    let child: ChildProcess | undefined;
    let client: analyzerRpc.AnalyzerClient;

    before(async () => {
        const started = await startPack();
        child = started.child;
        client = new analyzerRpc.AnalyzerClient(`127.0.0.1:${started.port}`, grpc.credentials.createInsecure());
    });

    after(async () => {
        client?.close();
        if (child && child.exitCode === null) {
            const exited = new Promise((resolve) => child!.once("exit", resolve));
            child.kill();
            await exited;
        }
    });

    function analyzeRequest(type: string, name: string, props: Record<string, unknown>, protect = false): analyzer.AnalyzeRequest {
        const options = new analyzer.AnalyzerResourceOptions();
        options.setProtect(protect);
        const req = new analyzer.AnalyzeRequest();
        req.setType(type);
        req.setName(name);
        req.setUrn(`urn:pulumi:prd::dify-aws::${type}::${name}`);
        req.setProperties(Struct.fromJavaScript(props as Record<string, never>));
        req.setOptions(options);
        return req;
    }

    async function analyze(type: string, name: string, props: Record<string, unknown>, protect = false) {
        const res = await call<analyzer.AnalyzeRequest, analyzer.AnalyzeResponse>(client.analyze.bind(client), analyzeRequest(type, name, props, protect));
        return res.getDiagnosticsList().map((d) => ({ policy: d.getPolicyname(), level: LEVEL_NAMES[d.getEnforcementlevel()], message: d.getMessage(), urn: d.getUrn() }));
    }

    it("GetAnalyzerInfo lists every policy of the pack, with its description, remediation and config schema", async () => {
        const info = await call<Empty, analyzer.AnalyzerInfo>(client.getAnalyzerInfo.bind(client), new Empty());
        expect(info.getName()).to.equal(PACK_NAME);
        const served = info.getPoliciesList();
        expect(served.map((p) => p.getName()).sort()).to.deep.equal(packPolicies.map((p) => p.name).sort());
        for (const p of served) {
            const local = packPolicies.find((l) => l.name === p.getName())!;
            expect(p.getDescription()).to.equal(local.description);
            expect(p.getRemediationSteps()).to.equal(local.remediationSteps);
            expect(LEVEL_NAMES[p.getEnforcementlevel()], p.getName()).to.equal("mandatory");
            const schema = p.getConfigschema()?.getProperties()?.toJavaScript() ?? {};
            expect(Object.keys(schema).sort(), p.getName()).to.deep.equal(Object.keys(local.configSchema?.properties ?? {}).sort());
        }
    });

    const worldSsh = { securityGroupId: "sg-0123456789abcdef0", ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIpv4: "0.0.0.0/0" };

    it("Analyze returns the violation for a violating resource", async () => {
        const diagnostics = await analyze(typeOf(aws.vpc.SecurityGroupIngressRule), "ssh-from-anywhere", worldSsh);
        expect(diagnostics).to.have.length(1);
        expect(diagnostics[0]).to.include({ policy: "no-world-ingress", level: "mandatory" });
        expect(diagnostics[0].message).to.include("0.0.0.0/0");
    });

    it("Analyze returns nothing for a compliant resource", async () => {
        const { cidrIpv4: _omit, ...rest } = worldSsh;
        expect(await analyze(typeOf(aws.vpc.SecurityGroupIngressRule), "db-from-api", { ...rest, fromPort: 5432, toPort: 5432, referencedSecurityGroupId: "sg-0fedcba9876543210" })).to.deep.equal([]);
        expect(await analyze(typeOf(aws.s3.Bucket), "files", { bucket: "dify-prd-files" }, true)).to.deep.equal([]);
    });

    it("Configure with a stack's config file changes levels and policy properties (dev: HTTP listener advisory, no protect required)", async () => {
        const httpListener = { loadBalancerArn: "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:loadbalancer/app/x/1", protocol: "HTTP", port: 80, defaultActions: [{ type: "forward", targetGroupArn: "arn" }] };
        const unprotectedBucket = { bucket: "dify-dev-files", forceDestroy: true };
        expect((await analyze(typeOf(aws.lb.Listener), "http", httpListener)).map((d) => d.level)).to.deep.equal(["mandatory"]);
        expect((await analyze(typeOf(aws.s3.Bucket), "files", unprotectedBucket)).map((d) => d.policy)).to.deep.equal(["deletion-protection", "deletion-protection"]);

        const req = new analyzer.ConfigureAnalyzerRequest();
        const file = readPackConfigFile("dev");
        for (const p of packPolicies) {
            const entry = file[p.name];
            const { enforcementLevel, ...properties } = typeof entry === "object" ? entry : { enforcementLevel: entry };
            const level = enforcementLevel ?? (file.all as string | undefined) ?? "mandatory";
            const config = new analyzer.PolicyConfig();
            config.setEnforcementlevel(analyzer.EnforcementLevel[level.toUpperCase() as keyof typeof analyzer.EnforcementLevel]);
            config.setProperties(Struct.fromJavaScript(properties as Record<string, never>));
            req.getPolicyconfigMap().set(p.name, config);
        }
        await call(client.configure.bind(client), req);

        expect((await analyze(typeOf(aws.lb.Listener), "http", httpListener)).map((d) => d.level)).to.deep.equal(["advisory"]);
        expect(await analyze(typeOf(aws.s3.Bucket), "files", unprotectedBucket)).to.deep.equal([]);
        // Network exposure stays mandatory on dev.
        expect((await analyze(typeOf(aws.vpc.SecurityGroupIngressRule), "ssh-from-anywhere", worldSsh)).map((d) => d.level)).to.deep.equal(["mandatory"]);
    });
});
