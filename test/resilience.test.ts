/**
 * Runtime resilience (issue 18): each fault traced through prd's settings has the setting that bounds it, asserted
 * where it lands (the task definitions, the WAF, the alarms, the backup plan).
 */
import { expect } from "chai";
import { statementMatches } from "../tools/reachability/waf";
import { containerOf, environmentOf, stackRun } from "./harness";

describe("resilience: database sessions fail fast after a lost writer", () => {
    for (const stack of ["dev", "prd"] as const) {
        it(`${stack}: every dify-api mode bounds connect, idle-dead and unacknowledged time, and recycles pooled connections within two minutes`, async () => {
            const run = await stackRun(stack);
            for (const family of ["api", "worker", "beat", "migration", "api-websocket"]) {
                const e = environmentOf(containerOf(run, family));
                // Dify appends DB_EXTRAS to the SQLAlchemy URL as its query: libpq keywords.
                const extras = new URLSearchParams(e.DB_EXTRAS);
                expect(Number(extras.get("connect_timeout")), family).to.be.within(1, 10);
                expect(extras.get("keepalives"), family).to.equal("1");
                const detect = Number(extras.get("keepalives_idle")) + Number(extras.get("keepalives_interval")) * Number(extras.get("keepalives_count"));
                expect(detect, `${family}: a dead server is noticed within (s)`).to.be.within(1, 120);
                expect(Number(extras.get("tcp_user_timeout")), family).to.be.within(1000, 60_000);
                expect(Number(e.SQLALCHEMY_POOL_RECYCLE), family).to.be.within(30, 120);
                // The pgvector pool reads libpq's environment only.
                expect(Number(e.PGCONNECT_TIMEOUT), family).to.be.within(1, 10);
                expect(e.PGSSLMODE, family).to.equal("require");
            }
        });

        it(`${stack}: the plugin daemon's pool lives as briefly, and its connects time out`, async () => {
            const e = environmentOf(containerOf(await stackRun(stack), "plugin-daemon"));
            expect(Number(e.DB_CONN_MAX_LIFETIME)).to.be.within(30, 120);
            expect(Number(e.PGCONNECT_TIMEOUT)).to.be.within(1, 10);
            // Its DB_EXTRAS becomes the server's `options`: libpq keywords there would fail the connection.
            expect(e.DB_EXTRAS).to.equal(undefined);
        });
    }
});

describe("resilience: the WAF limits people and credentials, not the office they share", () => {
    for (const stack of ["prd"] as const) {
        it(`${stack}: the per-IP limit leaves the allow-listed office ranges out, and still limits everyone else`, async () => {
            const run = await stackRun(stack);
            const acl = run.one("aws:wafv2/webAcl:WebAcl");
            const perIp = acl.inputs.rules.find((r: { name: string }) => r.name === "rate-limit-per-ip").statement.rateBasedStatement;
            const sets = run.ofType("aws:wafv2/ipSet:IpSet");
            const office = { ip: "203.0.113.7", path: "/console/api/apps" };
            const stranger = { ip: "198.18.0.10", path: "/v1/chat-messages" };
            // A rate-based rule counts only what its scope-down statement matches.
            expect(statementMatches(perIp.scopeDownStatement, office, sets)).to.equal(false);
            expect(statementMatches(perIp.scopeDownStatement, stranger, sets)).to.equal(true);
        });

        it(`${stack}: each API credential and each console user has its own limit, counting first, with an alarm`, async () => {
            const run = await stackRun(stack);
            const rules = run.one("aws:wafv2/webAcl:WebAcl").inputs.rules as any[];
            const byName = (n: string) => rules.find((r) => r.name === n);
            const apiKey = byName("rate-limit-per-api-key");
            const console = byName("rate-limit-per-console-user");
            expect(apiKey.statement.rateBasedStatement.customKeys).to.deep.equal([{ header: { name: "authorization", textTransformations: [{ priority: 0, type: "NONE" }] } }]);
            expect(console.statement.rateBasedStatement.customKeys[0].header.name).to.equal("x-csrf-token");
            const sets = run.ofType("aws:wafv2/ipSet:IpSet");
            // The API-key rule looks at the machine paths, the console rule at the console's API.
            expect(statementMatches(apiKey.statement.rateBasedStatement.scopeDownStatement, { ip: "203.0.113.7", path: "/v1/chat-messages" }, sets)).to.equal(true);
            expect(statementMatches(apiKey.statement.rateBasedStatement.scopeDownStatement, { ip: "203.0.113.7", path: "/apps" }, sets)).to.equal(false);
            expect(statementMatches(console.statement.rateBasedStatement.scopeDownStatement, { ip: "203.0.113.7", path: "/console/api/apps" }, sets)).to.equal(true);
            for (const r of [apiKey, console]) {
                expect(r.action, r.name).to.deep.equal({ count: {} });
            }
            const alarm = run.ofType("aws:cloudwatch/metricAlarm:MetricAlarm").find((a) => a.inputs.name === `dify-${stack}-waf-credential-rate-limited`)!;
            expect(alarm.inputs.threshold).to.equal(0);
        });
    }
});
