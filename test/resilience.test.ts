/**
 * Runtime resilience (issue 18): each fault traced through prd's settings has the setting that bounds it, asserted
 * where it lands (the task definitions, the WAF, the alarms, the backup plan).
 */
import { expect } from "chai";
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
