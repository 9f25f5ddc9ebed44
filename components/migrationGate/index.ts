/**
 * The migration gate: what runs before any new version serves.
 * - snapshot.ts: PreMigrationSnapshot, a manual Aurora cluster snapshot named for the versions about to migrate,
 *   awaited until available, keeping the newest N it made;
 * - task.ts: MigrationGate, one one-off ECS task per image whose exit code decides whether `up` goes on, with its
 *   database sessions ended when it times out;
 * - commands.ts: what those tasks run: Dify's migration, failing on "Database migration skipped"; the session cleanup;
 *   the plugin daemon's own migration.
 */
export * from "./task";
export * from "./snapshot";
export * from "./commands";
