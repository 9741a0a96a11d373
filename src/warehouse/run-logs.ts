import { sql, type Kysely } from 'kysely';
import type { Database } from './db.js';

/** Most log lines kept per run; later ones are dropped (a run's first lines say how it went wrong). */
export const RUN_LOG_LIMIT = 2000;

/** One log line of a run. */
export interface RunLogLine {
  runId: string;
  at: Date;
  level: string;
  msg: string;
  /** The line's other fields (sanitized like the log line itself). */
  fields: Record<string, unknown>;
}

/**
 * Adds log lines, keeping at most RUN_LOG_LIMIT per run: the lines past it are dropped (two
 * processes writing the same run at the same instant may pass it by a batch). Lines of runs that
 * do not exist are dropped.
 */
export async function appendRunLogs(db: Kysely<Database>, lines: readonly RunLogLine[]): Promise<void> {
  if (lines.length === 0) return;
  const rows = lines.map((l) => ({ run_id: l.runId, at: l.at.toISOString(), level: l.level, msg: l.msg, fields: l.fields }));
  await sql`
    INSERT INTO run_logs (run_id, at, level, msg, fields)
    SELECT x.run_id, x.at, x.level, x.msg, x.fields
    FROM (
      SELECT r.*, row_number() OVER (PARTITION BY r.run_id ORDER BY r.ord) AS nth
      FROM ROWS FROM (jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS (run_id bigint, at timestamptz, level text, msg text, fields jsonb)) WITH ORDINALITY AS r(run_id, at, level, msg, fields, ord)
    ) x
    WHERE EXISTS (SELECT 1 FROM sync_runs s WHERE s.id = x.run_id)
      AND x.nth + (SELECT count(*) FROM run_logs l WHERE l.run_id = x.run_id) <= ${RUN_LOG_LIMIT}
    ORDER BY x.run_id, x.nth`.execute(db);
}

/** A run's log lines in the order they were written (at most `limit`, the last ones with `tail`). */
export async function readRunLogs(db: Kysely<Database>, runId: string, opts: { limit?: number; tail?: boolean } = {}): Promise<RunLogLine[]> {
  const limit = opts.limit ?? RUN_LOG_LIMIT;
  const rows = await db
    .selectFrom('run_logs')
    .select(['run_id', 'at', 'level', 'msg', 'fields'])
    .where('run_id', '=', runId)
    .orderBy('id', opts.tail ? 'desc' : 'asc')
    .limit(limit)
    .execute();
  if (opts.tail) rows.reverse();
  return rows.map((r) => ({ runId: r.run_id, at: new Date(r.at), level: r.level, msg: r.msg, fields: (r.fields ?? {}) as Record<string, unknown> }));
}
