import { sql, type Kysely } from 'kysely';
import type { Logger } from '../logger.js';
import type { Database } from '../warehouse/db.js';
import type { RunEnd } from '../warehouse/walks.js';

/** What the "run finished" line carries: the run's totals over its walks and its duration. */
export interface RunTotals {
  source: string;
  runId: string;
  trigger: string;
  mode: string;
  status: string;
  walks: number;
  failedWalks: number;
  pages: number;
  records: number;
  inserted: number;
  updated: number;
  unchanged: number;
  missing: number;
  deleted: number;
  quarantined: number;
  ms: number | null;
  error?: string;
  requestId?: string;
}

/** Reads the totals of one run from sync_runs and sync_walks; null when the run does not exist. */
export async function readRunTotals(db: Kysely<Database>, runId: string): Promise<RunTotals | null> {
  const run = await db.selectFrom('sync_runs').selectAll().where('id', '=', runId).executeTakeFirst();
  if (!run) return null;
  const t = await db
    .selectFrom('sync_walks')
    .select([
      sql<number>`count(*)::int`.as('walks'),
      sql<number>`count(*) filter (where status in ('failed', 'cancelled'))::int`.as('failed'),
      sql<number>`coalesce(sum(pages), 0)::int`.as('pages'),
      sql<number>`coalesce(sum(records), 0)::int`.as('records'),
      sql<number>`coalesce(sum(inserted), 0)::int`.as('inserted'),
      sql<number>`coalesce(sum(updated), 0)::int`.as('updated'),
      sql<number>`coalesce(sum(unchanged), 0)::int`.as('unchanged'),
      sql<number>`coalesce(sum(missing), 0)::int`.as('missing'),
      sql<number>`coalesce(sum(deleted), 0)::int`.as('deleted'),
      sql<number>`coalesce(sum(quarantined), 0)::int`.as('quarantined'),
    ])
    .where('run_id', '=', runId)
    .executeTakeFirstOrThrow();
  return {
    source: run.source_id,
    runId: run.id,
    trigger: run.trigger,
    mode: run.mode,
    status: run.status,
    walks: t.walks,
    failedWalks: t.failed,
    pages: t.pages,
    records: t.records,
    inserted: t.inserted,
    updated: t.updated,
    unchanged: t.unchanged,
    missing: t.missing,
    deleted: t.deleted,
    quarantined: t.quarantined,
    ms: run.finished_at ? new Date(run.finished_at).getTime() - new Date(run.started_at).getTime() : null,
    ...(run.error_message ? { error: run.error_message } : {}),
    ...(run.error_request_id ? { requestId: run.error_request_id } : {}),
  };
}

/**
 * Logs one info line "run finished" with the run's counts and duration. Call it only after the
 * transaction that ended the run committed (finalizeRunIfDone returned `end` to exactly one
 * caller), so the line is written once per run and never for a run that rolled back.
 * Never throws: a failed read is logged as a warning instead.
 */
export async function logRunFinished(db: Kysely<Database>, log: Logger, end: RunEnd | null | undefined): Promise<void> {
  if (!end) return;
  try {
    const totals = await readRunTotals(db, end.runId);
    if (totals) log.info(totals, 'run finished');
  } catch (err) {
    log.warn({ runId: end.runId, err: err instanceof Error ? err.message : String(err) }, 'run finished, but its totals could not be read');
  }
}
