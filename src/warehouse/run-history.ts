import { sql, type Kysely } from 'kysely';
import type { Database } from './db.js';

type Db = Kysely<Database>;

/** One run as `fleetsync runs` lists it. Durations in seconds; null while running. */
export interface RunListing {
  id: string;
  sourceId: string;
  trigger: string;
  mode: 'full' | 'incremental';
  status: string;
  startedAt: Date;
  finishedAt: Date | null;
  seconds: number | null;
  walks: number;
  records: number;
  failures: number;
}

/** The most recent runs, newest first, of one source or all (or the one run `runId`); `limit` at least 1. */
export async function listRuns(db: Db, opts: { sourceId?: string; runId?: string; limit: number }): Promise<RunListing[]> {
  let q = db
    .selectFrom('sync_runs as r')
    .leftJoin('sync_walks as w', 'w.run_id', 'r.id')
    .select([
      'r.id',
      'r.source_id',
      'r.trigger',
      'r.mode',
      'r.status',
      'r.started_at',
      'r.finished_at',
      sql<number>`count(w.id)::int`.as('walks'),
      sql<string>`coalesce(sum(w.records), 0)::text`.as('records'),
      sql<number>`(count(w.id) filter (where w.status = 'failed'))::int`.as('failures'),
    ])
    .groupBy('r.id')
    .orderBy('r.started_at', 'desc')
    .orderBy('r.id', 'desc')
    .limit(Math.max(1, opts.limit));
  if (opts.sourceId !== undefined) q = q.where('r.source_id', '=', opts.sourceId);
  if (opts.runId !== undefined) q = q.where('r.id', '=', opts.runId);
  const rows = await q.execute();
  return rows.map((r) => ({
    id: r.id,
    sourceId: r.source_id,
    trigger: r.trigger,
    mode: r.mode,
    status: r.status,
    startedAt: new Date(r.started_at),
    finishedAt: r.finished_at ? new Date(r.finished_at) : null,
    seconds: r.finished_at ? (new Date(r.finished_at).getTime() - new Date(r.started_at).getTime()) / 1000 : null,
    walks: r.walks,
    records: Number(r.records),
    failures: r.failures,
  }));
}

/** One walk of a run as `fleetsync runs show` prints it. */
export interface WalkListing {
  id: string;
  resource: string;
  scope: string;
  mode: 'full' | 'incremental';
  status: string;
  startedAt: Date;
  finishedAt: Date | null;
  seconds: number | null;
  pages: number;
  records: number;
  total: number | null;
  inserted: number;
  updated: number;
  unchanged: number;
  deleted: number;
  quarantined: number;
  error: { status: number | null; message: string; requestId: string | null } | null;
}

/** The walks of one run in the order they started, with their failures (vendor message and request id). */
export async function runWalks(db: Db, runId: string): Promise<WalkListing[]> {
  const rows = await db.selectFrom('sync_walks').selectAll().where('run_id', '=', runId).orderBy('started_at').orderBy('id').execute();
  return rows.map((w) => {
    const started = new Date(w.started_at);
    const finished = w.finished_at ? new Date(w.finished_at) : null;
    return {
      id: w.id,
      resource: w.resource,
      scope: w.scope,
      mode: w.mode,
      status: w.status,
      startedAt: started,
      finishedAt: finished,
      seconds: finished ? (finished.getTime() - started.getTime()) / 1000 : null,
      pages: w.pages,
      records: w.records,
      total: w.total,
      inserted: w.inserted,
      updated: w.updated,
      unchanged: w.unchanged,
      deleted: w.deleted,
      quarantined: w.quarantined,
      error: w.error_message ? { status: w.error_status, message: w.error_message, requestId: w.error_request_id } : null,
    };
  });
}

/**
 * When a walk of each (source, resource) of `sourceIds` last succeeded: the newest finished_at of
 * its succeeded walks. Sources no longer configured are left out (they would look stale forever).
 */
export async function lastSucceededWalks(db: Db, sourceIds: readonly string[]): Promise<Array<{ source: string; resource: string; at: Date }>> {
  if (sourceIds.length === 0) return [];
  const rows = await db
    .selectFrom('sync_walks')
    .select(['source_id', 'resource', sql<Date>`max(finished_at)`.as('at')])
    .where('source_id', 'in', [...sourceIds])
    .where('status', '=', 'succeeded')
    .where('finished_at', 'is not', null)
    .groupBy(['source_id', 'resource'])
    .execute();
  return rows.map((r) => ({ source: r.source_id, resource: r.resource, at: new Date(r.at) }));
}
