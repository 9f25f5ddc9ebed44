/**
 * Console SSO (issue 19), proved on every listener rule the program registers: for consoleAuth "oidc" and "cognito",
 * on dev and prd, alone (the ALB open to the internet), with the IP allow-list and with split exposure, each path
 * Dify serves is walked through the HTTPS listener's rules as the ALB evaluates them (tools/reachability/alb.ts):
 * the console and web UI sign in first, the machine paths never meet an authenticate action, and the IdP's callback
 * lands on a rule that signs in. Expectations come from the issue and from the classification the program routes by
 * (components/edgeAlb/routes.ts), never from the rules themselves.
 */
import { expect } from "chai";
import { parseCidr } from "../config/cidr";
import { EXTRA_LOCATIONS, LOCATION_AUDIENCE } from "../components/edgeAlb/routes";
import { AlbOutcome, routeRequest } from "../tools/reachability/alb";
import { STRANGER_IP } from "../tools/reachability/flows";
import { SecurityGroupRules } from "../tools/reachability/securityGroups";
import { wafDecision } from "../tools/reachability/waf";
import { configErrorFor, loadSettingsFor, ProgramRun, readProjectFile, readStackFile, runProgram, Stack } from "./harness";
import type { RegisteredResource } from "./mocks";

const LISTENER = "aws:lb/listener:Listener";
const RULE = "aws:lb/listenerRule:ListenerRule";
const SG = "aws:ec2/securityGroup:SecurityGroup";

// Issue 19: the machine paths that stay on Dify's own authentication and never get a login redirect.
const ISSUE_MACHINE = ["/v1", "/api", "/files", "/e/", "/triggers", "/mcp", "/.well-known", "/openapi"];
// The browser paths and what an unauthenticated browser gets: the console's XHR API and its websocket a 401 (an XHR
// cannot follow a redirect to the IdP; the console reloads into the sign-in), pages a redirect to sign in.
const ISSUE_BROWSER: Record<string, "deny" | "authenticate"> = { "/console/api": "deny", "/socket.io/": "deny", "/explore": "authenticate", "/": "authenticate" };
/** Where the IdP sends the browser back (ELB user guide, "Authenticate users using an Application Load Balancer"). */
const CALLBACK = "/oauth2/idpresponse";

/** Every location the program classifies: upstream's nginx locations and the ones it adds (all machine paths). */
const TABLE: { location: string; audience: "browser" | "machine"; unauthenticated?: "deny" | "authenticate" }[] = [
    ...Object.entries(LOCATION_AUDIENCE).map(([location, c]) => ({ location, ...c })),
    ...EXTRA_LOCATIONS.map((e) => ({ location: e.location, audience: "machine" as const })),
];

/** The paths walked for a location: itself, and realistic paths below it. */
function pathsOf(location: string): string[] {
    const below = location.endsWith("/") ? location : `${location}/`;
    const samples: Record<string, string[]> = {
        "/": ["/apps", "/signin", "/install", "/app/0f0e/workflow", "/chat/AbCd"],
        "/console/api": ["/console/api/apps", "/console/api/login"],
        "/v1": ["/v1/chat-messages"],
        "/api": ["/api/passport", "/api/chat-messages"],
        "/files": ["/files/0f0e/file-preview"],
        "/mcp": ["/mcp/server/abc/mcp"],
        "/triggers": ["/triggers/webhook/abc"],
        "/e/": ["/e/abc/hook"],
        "/.well-known": ["/.well-known/oauth-protected-resource"],
        "/openapi": ["/openapi/v1/apps"],
        "/explore": ["/explore/apps"],
    };
    return [...new Set([location, `${below}x`, ...(samples[location] ?? [])])];
}

type Auth = "oidc" | "cognito";
type Exposure = "public" | "allowList" | "split";
interface Variant {
    stack: Stack;
    auth: Auth;
    exposure: Exposure;
    /** Set the session keys (else Pulumi.yaml's defaults apply). */
    customSession: boolean;
}

// Each identity provider meets each exposure once, and each stack gets both: six program runs.
const VARIANTS: Variant[] = [
    { stack: "dev", auth: "oidc", exposure: "public", customSession: true },
    { stack: "dev", auth: "cognito", exposure: "allowList", customSession: false },
    { stack: "dev", auth: "oidc", exposure: "split", customSession: false },
    { stack: "prd", auth: "cognito", exposure: "public", customSession: true },
    { stack: "prd", auth: "oidc", exposure: "allowList", customSession: true },
    { stack: "prd", auth: "cognito", exposure: "split", customSession: false },
];

const ISSUER = "https://login.microsoftonline.com/00000000-0000-4000-8000-000000000000/v2.0";
const OIDC = {
    oidcIssuer: ISSUER,
    oidcAuthorizationEndpoint: "https://login.microsoftonline.com/00000000-0000-4000-8000-000000000000/oauth2/v2.0/authorize",
    oidcTokenEndpoint: "https://login.microsoftonline.com/00000000-0000-4000-8000-000000000000/oauth2/v2.0/token",
    oidcUserInfoEndpoint: "https://graph.microsoft.com/oidc/userinfo",
    oidcClientId: "11111111-2222-4333-8444-555555555555",
    oidcClientSecret: "an-entra-client-secret-Zq7",
};
const COGNITO = {
    cognitoUserPoolArn: "arn:aws:cognito-idp:ap-northeast-1:123456789012:userpool/ap-northeast-1_AbCdEf123",
    cognitoUserPoolClientId: "1example23456789abcdefghij",
    cognitoUserPoolDomain: "dify-login",
};
const SESSION = { consoleAuthScope: "openid email profile", consoleAuthSessionTimeoutSeconds: 3600, consoleAuthSessionCookieName: "DifySso" };

function overrides(v: Variant): Record<string, unknown> {
    const stack: Record<Stack, Record<string, unknown>> = {
        // dev is HTTP-only; the ALB authenticates on HTTPS listeners only, so give it a domain.
        dev: { albAllowHttpOnly: false, domainName: "dify-dev.example.com", hostedZoneId: "Z0123456789ABCDEFGHIJ" },
        // SSO and canaries exclude each other (config/index.ts).
        prd: { deploymentStrategy: "rolling" },
    };
    const exposure: Record<Exposure, Record<string, unknown>> = {
        public: { albPublicIngress: true, albAllowedCidrs: [], wafIpAllowList: false },
        allowList: {},
        split: { albMachinePathCidrs: ["0.0.0.0/0"], wafEnabled: true, wafIpAllowList: true },
    };
    return { ...stack[v.stack], consoleAuth: v.auth, ...(v.auth === "oidc" ? OIDC : COGNITO), ...(v.customSession ? SESSION : {}), ...exposure[v.exposure] };
}

/** An address inside the stack file's first IPv4 allow-listed CIDR. */
function allowListedIp(stack: Stack): string {
    const cidr = (readStackFile(stack).config["dify-aws:albAllowedCidrs"] as string[]).find((c) => parseCidr(c)?.version === 4)!;
    const [base] = cidr.split("/");
    const parts = base.split(".").map(Number);
    parts[3] += 10;
    return parts.join(".");
}

type AuthAction = { type: string; order?: number; authenticateOidc?: Record<string, unknown>; authenticateCognito?: Record<string, unknown> };
const authenticateActions = (rule: RegisteredResource): AuthAction[] => (rule.inputs.actions as AuthAction[]).filter((a) => a.type === "authenticate-oidc" || a.type === "authenticate-cognito");

for (const v of VARIANTS) {
    describe(`console SSO: ${v.stack}, ${v.auth}, ${v.exposure === "public" ? "alone (public ALB)" : v.exposure === "allowList" ? "with the IP allow-list" : "with split exposure"}`, () => {
        let run: ProgramRun;
        let https: RegisteredResource;
        let rules: RegisteredResource[];
        let websocket: boolean;
        const route = (path: string, authenticated: boolean, sourceIp?: string): AlbOutcome => routeRequest(https, rules, { path, authenticated, sourceIp });
        const ruleNamed = (name: string) => rules.find((r) => r.name === name)!;

        before(async () => {
            const o = overrides(v);
            run = await runProgram(v.stack, o, { secretKeys: v.auth === "oidc" ? ["oidcClientSecret"] : [] });
            https = run.ofType(LISTENER).find((l) => l.inputs.protocol === "HTTPS")!;
            rules = run.ofType(RULE).filter((r) => r.inputs.listenerArn === https?.state.arn);
            websocket = loadSettingsFor(v.stack, o, v.auth === "oidc" ? ["oidcClientSecret"] : []).settings.cluster.enabledRoles.includes("apiWebsocket");
        });

        it("serves HTTPS, with every listener rule on the HTTPS listener", () => {
            expect(https, "an HTTPS listener").to.not.equal(undefined);
            expect(rules.length).to.be.greaterThan(2);
            expect(run.ofType(RULE).length).to.equal(rules.length);
        });

        it("signs a browser in on every browser path (console API and websocket 401, pages a redirect) and forwards it once signed in", () => {
            const wrong: string[] = [];
            for (const { location, audience, unauthenticated } of TABLE.filter((t) => t.audience === "browser")) {
                // The websocket's location is routed only with collaboration on; without it web's catch-all takes it.
                const expected = location === "/socket.io/" && !websocket ? "authenticate" : (ISSUE_BROWSER[location] ?? unauthenticated);
                expect(audience).to.equal("browser");
                for (const path of pathsOf(location)) {
                    const anonymous = route(path, false);
                    if (anonymous.kind !== "authenticate" || anonymous.onUnauthenticated !== expected) {
                        wrong.push(`${path}: expected authenticate (${expected}), got ${JSON.stringify(anonymous)}`);
                    }
                    const signedIn = route(path, true);
                    if (signedIn.kind !== "forward" || !signedIn.authenticated || signedIn.rule !== anonymous.rule) {
                        wrong.push(`${path} signed in: expected a forward by ${anonymous.rule}, got ${JSON.stringify(signedIn)}`);
                    }
                }
            }
            expect(wrong).to.deep.equal([]);
        });

        it("never puts an authenticate action in front of a machine path, signed in or not", () => {
            const wrong: string[] = [];
            for (const { location } of TABLE.filter((t) => t.audience === "machine")) {
                for (const path of pathsOf(location)) {
                    for (const authenticated of [false, true]) {
                        const outcome = route(path, authenticated);
                        if (outcome.kind !== "forward" || outcome.authenticated) {
                            wrong.push(`${path}${authenticated ? " (with a session)" : ""}: expected a plain forward, got ${JSON.stringify(outcome)}`);
                        } else if (authenticateActions(ruleNamed(outcome.rule)).length > 0) {
                            wrong.push(`${path}: served by ${outcome.rule}, which has an authenticate action`);
                        }
                    }
                }
            }
            expect(wrong).to.deep.equal([]);
        });

        it("walks every listener rule: a rule that authenticates serves browser paths only, every other rule machine paths only", () => {
            const served = new Map<string, Set<"browser" | "machine">>(rules.map((r) => [r.name, new Set()]));
            for (const { location, audience } of TABLE) {
                for (const path of pathsOf(location)) {
                    served.get(route(path, false).rule)?.add(audience);
                }
            }
            for (const r of rules) {
                const audiences = [...served.get(r.name)!];
                expect(audiences, `${r.name} serves some path of the table`).to.have.length(1);
                expect(audiences[0], r.name).to.equal(authenticateActions(r).length > 0 ? "browser" : "machine");
                // Where it authenticates, it signs in first and forwards after.
                const ordered = [...(r.inputs.actions as AuthAction[])].sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
                expect(ordered.map((a) => a.type), r.name).to.deep.equal(authenticateActions(r).length > 0 ? [`authenticate-${v.auth}`, "forward"] : ["forward"]);
            }
            // Both kinds are there: the walk is not vacuous.
            expect(rules.filter((r) => authenticateActions(r).length > 0).length).to.be.greaterThan(0);
            expect(rules.filter((r) => authenticateActions(r).length === 0).length).to.be.greaterThan(0);
        });

        it(`lets the identity provider's callback ${CALLBACK} reach a rule that signs in (no fixed response, no 401)`, () => {
            const outcome = route(CALLBACK, false);
            expect(outcome).to.deep.include({ kind: "authenticate", onUnauthenticated: "authenticate" });
            expect(authenticateActions(ruleNamed(outcome.rule))).to.have.length(1);
        });

        it("hands the configured identity provider and session settings to every authenticate action", () => {
            const declared = readProjectFile().config;
            const session = v.customSession
                ? { scope: SESSION.consoleAuthScope, sessionTimeout: SESSION.consoleAuthSessionTimeoutSeconds, sessionCookieName: SESSION.consoleAuthSessionCookieName }
                : { scope: declared.consoleAuthScope.default, sessionTimeout: declared.consoleAuthSessionTimeoutSeconds.default, sessionCookieName: declared.consoleAuthSessionCookieName.default };
            const provider =
                v.auth === "oidc"
                    ? {
                          issuer: OIDC.oidcIssuer,
                          authorizationEndpoint: OIDC.oidcAuthorizationEndpoint,
                          tokenEndpoint: OIDC.oidcTokenEndpoint,
                          userInfoEndpoint: OIDC.oidcUserInfoEndpoint,
                          clientId: OIDC.oidcClientId,
                          clientSecret: OIDC.oidcClientSecret,
                      }
                    : { userPoolArn: COGNITO.cognitoUserPoolArn, userPoolClientId: COGNITO.cognitoUserPoolClientId, userPoolDomain: COGNITO.cognitoUserPoolDomain };
            const signing = rules.filter((r) => authenticateActions(r).length > 0);
            for (const r of signing) {
                const [action] = authenticateActions(r);
                expect(action.type, r.name).to.equal(`authenticate-${v.auth}`);
                const config = (v.auth === "oidc" ? action.authenticateOidc : action.authenticateCognito)!;
                expect(config, r.name).to.deep.include({ ...provider, ...session });
                expect(["authenticate", "deny"], r.name).to.include(config.onUnauthenticatedRequest);
                if (v.auth === "oidc") {
                    // The client secret stays a secret in state and previews: the whole actions input is.
                    expect(r.secretPaths, r.name).to.include("actions");
                }
            }
            // The ALB calls the IdP's token and user info endpoints itself (on 443).
            const albGroup = run.one(SG, "edge-alb").id!;
            expect(new SecurityGroupRules(run.resources).leaves(albGroup, { ip: "20.190.128.10" }, 443)).to.equal(true);
        });

        it("answers plain HTTP only with a redirect to HTTPS: no path reaches Dify or the sign-in over port 80", () => {
            const http = run.ofType(LISTENER).find((l) => l.inputs.protocol === "HTTP")!;
            for (const { location } of TABLE) {
                for (const path of [...pathsOf(location), CALLBACK]) {
                    expect(routeRequest(http, run.ofType(RULE), { path }).kind, path).to.equal("redirect");
                }
            }
        });

        it(`combines with the exposure: ${v.exposure === "split" ? "strangers reach the machine paths unauthenticated and nothing else" : v.exposure === "public" ? "anyone reaches the sign-in, no one the console without it" : "strangers are refused at the security group"}`, () => {
            const sg = new SecurityGroupRules(run.resources);
            const albGroup = run.one(SG, "edge-alb").id!;
            const acl = run.ofType("aws:wafv2/webAcl:WebAcl")[0];
            const ipSets = run.ofType("aws:wafv2/ipSet:IpSet");
            /** What a client at `ip` gets for a path: refused before the listener, or the listener's answer. */
            const through = (ip: string, path: string): string => {
                if (!sg.admits(albGroup, { ip }, 443)) {
                    return "refused:security-group";
                }
                if (acl && wafDecision(acl, ipSets, { ip, path }).action === "block") {
                    return "refused:waf";
                }
                const outcome = route(path, false, ip);
                return outcome.kind === "authenticate" ? `sign-in:${outcome.onUnauthenticated}` : outcome.kind === "forward" && !outcome.authenticated ? "forward" : outcome.kind;
            };
            const clients = { allowListed: allowListedIp(v.stack), stranger: STRANGER_IP };
            const wrong: string[] = [];
            for (const { location, audience } of TABLE) {
                for (const path of pathsOf(location)) {
                    for (const [client, ip] of Object.entries(clients)) {
                        const got = through(ip, path);
                        const open = audience === "machine" ? got === "forward" : got.startsWith("sign-in:");
                        const reachable =
                            client === "allowListed" || v.exposure === "public" ? true : v.exposure === "split" ? audience === "machine" : false;
                        if (reachable !== open || (!reachable && !got.startsWith("refused:"))) {
                            wrong.push(`${client} ${path} (${audience}): got ${got}`);
                        }
                        if (!reachable && v.exposure === "split" && got !== "refused:waf") {
                            wrong.push(`${client} ${path}: split exposure refuses browser paths at the WAF, got ${got}`);
                        }
                    }
                }
            }
            expect(wrong).to.deep.equal([]);
        });
    });
}

describe("console SSO: the classification agrees with issue 19", () => {
    it("classifies the issue's machine paths as machine and its browser paths as browser, with their 401 or sign-in", () => {
        const table = new Map(TABLE.map((t) => [t.location, t]));
        for (const location of ISSUE_MACHINE) {
            expect(table.get(location)?.audience, location).to.equal("machine");
        }
        for (const [location, unauthenticated] of Object.entries(ISSUE_BROWSER)) {
            expect(table.get(location), location).to.deep.include({ audience: "browser", unauthenticated });
        }
        // The callback and the sign-in pages are web's, so SSO covers them.
        expect(TABLE.filter((t) => CALLBACK.startsWith(t.location)).map((t) => t.location)).to.deep.equal(["/"]);
    });

    it("is walked by every variant: both providers meet every exposure, on both stacks", () => {
        for (const auth of ["oidc", "cognito"] as const) {
            expect(new Set(VARIANTS.filter((x) => x.auth === auth).map((x) => x.exposure)), auth).to.have.length(3);
        }
        for (const stack of ["dev", "prd"] as const) {
            expect(new Set(VARIANTS.filter((x) => x.stack === stack).map((x) => x.auth)), stack).to.have.length(2);
        }
    });
});

describe("SSO: refused where the ALB cannot reach the identity provider", () => {
    it("an internal ALB without NAT: the sign-in would fail with HTTP 500, so the loader names all three keys", () => {
        const message = configErrorFor(
            "prd",
            { ...OIDC, consoleAuth: "oidc", deploymentStrategy: "rolling", albInternal: true, natGateways: "none", acknowledgeNoInternetEgress: true, pipMirrorUrl: "https://pypi.internal.example/simple", interfaceEndpoints: ["ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm", "ssmmessages"] },
            ["oidcClientSecret"],
        );
        expect(message).to.contain('dify-aws:consoleAuth = "oidc"');
        expect(message).to.contain("dify-aws:albInternal = true");
        expect(message).to.contain('dify-aws:natGateways = "none"');
        // With NAT the same internal ALB signs users in.
        expect(() => loadSettingsFor("prd", { ...OIDC, consoleAuth: "oidc", deploymentStrategy: "rolling", albInternal: true }, ["oidcClientSecret"])).to.not.throw();
    });
});
