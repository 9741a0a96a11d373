import { sql, type Kysely } from 'kysely';

// Issue 27: the log lines of one run, retrievable after it ended (`fleetsync runs logs ID`, the
// dashboard's run page). Every process that logs a line carrying a runId (workers, `sync
// --wait`) adds it here, at info and above, at most RUN_LOG_LIMIT lines per run
// (src/warehouse/run-logs.ts); the lines are the sanitized ones the log shows, never a secret.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE run_logs (
      id bigserial PRIMARY KEY,
      run_id bigint NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
      at timestamptz NOT NULL,
      level text NOT NULL,
      msg text NOT NULL,
      fields jsonb NOT NULL DEFAULT '{}'
    )`.execute(db);
  await sql`CREATE INDEX run_logs_run_idx ON run_logs (run_id, id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE run_logs`.execute(db);
}
