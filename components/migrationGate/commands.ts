/**
 * What the one-off migration tasks run. Program side only: the gate's provider gets these as plain inputs.
 *
 * Dify's `flask upgrade-db` (api/commands, the DB_UPGRADE_LOCK of 60 s renewed every 20 s) exits 0 in two cases: when
 * it migrated ("Database migration successful!") and when another process holds the Redis lock `db_upgrade_lock`
 * ("Database migration skipped"), for instance a migration task a killed `pulumi up` left running. The second must not
 * pass the gate, so the migration container runs the image's own entrypoint (`/bin/bash /entrypoint.sh`, the dify-api
 * Dockerfile's ENTRYPOINT; MODE=migration exits after the migration) through a wrapper that reads its output.
 */
import { applicationNameOf } from "../difyEnvironment/shared";

/** The wrapper's own exit codes (sysexits.h: 75 EX_TEMPFAIL, 76 EX_PROTOCOL); upgrade-db itself exits 1 on failure. */
export const MIGRATION_EXIT = { lockHeld: 75, noSuccess: 76 } as const;

/** Where the wrapper keeps the entrypoint's output to read it (the container's /tmp). */
const LOG_FILE = "/tmp/dify-migration.log";

/** The Dify migration container's entry point and command: the image's entrypoint, judged by what it printed. */
export function difyMigrationCommand(): { entryPoint: string[]; command: string[] } {
    const script = [
        "set -o pipefail",
        `/bin/bash /entrypoint.sh 2>&1 | tee ${LOG_FILE}`,
        "status=$?",
        'if [ "$status" -ne 0 ]; then exit "$status"; fi',
        `if grep -q "Database migration skipped" ${LOG_FILE}; then echo "dify-aws: another process holds Dify's upgrade lock (db_upgrade_lock); nothing was migrated" >&2; exit ${MIGRATION_EXIT.lockHeld}; fi`,
        `if ! grep -q "Database migration successful" ${LOG_FILE}; then echo "dify-aws: the migration ended without reporting success" >&2; exit ${MIGRATION_EXIT.noSuccess}; fi`,
    ].join("\n");
    return { entryPoint: ["/bin/bash", "-c"], command: [script] };
}

/** What each wrapper exit code means and what to do, for the gate's error. */
export function difyMigrationExitCodes(clusterName: string): Record<string, string> {
    return {
        [MIGRATION_EXIT.lockHeld]:
            "Dify reported \"Database migration skipped\": another process holds its upgrade lock (Redis key db_upgrade_lock, 60 s, renewed every 20 s while its holder runs), usually a migration task an interrupted `pulumi up` left running. " +
            `Find it with aws ecs list-tasks --cluster ${clusterName} --started-by pulumi-migration, wait for it to stop (or stop it and wait a minute for the lock to expire), then run pulumi up again. Nothing was migrated by this run.`,
        [MIGRATION_EXIT.noSuccess]:
            "the migration exited 0 without printing \"Database migration successful\"; the schema state is unknown. Read the log below before running pulumi up again.",
    };
}

/** The SQL that ends the migration's sessions (they carry DB_EXTRAS' application_name), for the operator. */
export function migrationSessionsSql(): string {
    return `SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '${applicationNameOf("migration")}' AND pid <> pg_backend_pid();`;
}

/**
 * The cleanup a timed-out gate runs in the migration's own task definition: connects as the migration's database user
 * (a role may end its own sessions, PostgreSQL "Server Signaling Functions") with the api image's psycopg2, and ends
 * every session named dify-migration.
 */
export function migrationSessionCleanupCommand(): string[] {
    const python = [
        "import os, psycopg2",
        "c = psycopg2.connect(host=os.environ['DB_HOST'], port=os.environ['DB_PORT'], dbname=os.environ['DB_DATABASE'], user=os.environ['DB_USERNAME'], password=os.environ['DB_PASSWORD'], sslmode='require', connect_timeout=10, application_name='dify-migration-cleanup')",
        "c.autocommit = True",
        "cur = c.cursor()",
        `cur.execute(${JSON.stringify(migrationSessionsSql())})`,
        "print('dify-aws: ended migration sessions', [r[0] for r in cur.fetchall()])",
    ].join("\n");
    return [`python - <<'PY'\n${python}\nPY`];
}

/**
 * The plugin daemon (0.6.x, docker/local.dockerfile) runs `/app/commandline migrate && exec /app/main` under tini: GORM
 * AutoMigrate at every start, with no lock and no switch to skip it, so two new tasks starting together migrate at
 * once. The service runs the server alone; the gate runs the migration once, before any new daemon task starts.
 */
export const PLUGIN_DAEMON_COMMANDS = { serve: ["/app/main"], migrate: ["/app/commandline", "migrate"] } as const;
