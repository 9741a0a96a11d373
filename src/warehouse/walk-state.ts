import { sql, type Kysely } from 'kysely';
import type { Database } from './db.js';
import type { DataTableName } from './tables.js';

type Db = Kysely<Database>;

/**
 * The saved sync state of one (source, resource, scope): what the next run starts from.
 * `mark` and `lastFull` come from succeeded walks (an incremental run fetches only what changed
 * since the mark, while the last full walk is recent enough); `running` is the cursor of a walk
 * still in progress, which its run resumes from.
 */
export interface ScopeState {
  scope: string;
  mark: Date | null;
  lastFull: Date | null;
  lastSucceeded: { runId: string; finishedAt: Date } | null;
  running: { runId: string; walkId: string; pages: number; cursor: unknown } | null;
}

/** Where the state of a (source, resource) lives; `scope` narrows it to one scope. */
export interface StateKey {
  sourceId: string;
  resource: string;
  scope?: string;
}

/** The saved state of every scope of a (source, resource) that has walked, by scope. */
export async function readState(db: Db, key: StateKey): Promise<ScopeState[]> {
  let done = db
    .selectFrom('sync_walks')
    .select([
      'scope',
      sql<Date | null>`max(high_water_mark)`.as('mark'),
      sql<Date | null>`max(started_at) filter (where mode = 'full')`.as('last_full'),
      sql<string>`(array_agg(run_id::text order by finished_at desc nulls last))[1]`.as('run_id'),
      sql<Date>`max(finished_at)`.as('finished_at'),
    ])
    .where('source_id', '=', key.sourceId)
    .where('resource', '=', key.resource)
    .where('status', '=', 'succeeded');
  if (key.scope !== undefined) done = done.where('scope', '=', key.scope);
  let running = db
    .selectFrom('sync_walks')
    .select(['id', 'run_id', 'scope', 'pages', 'cursor'])
    .where('source_id', '=', key.sourceId)
    .where('resource', '=', key.resource)
    .where('status', '=', 'running');
  if (key.scope !== undefined) running = running.where('scope', '=', key.scope);
  const [succeeded, open] = await Promise.all([done.groupBy('scope').execute(), running.orderBy('id').execute()]);
  const byScope = new Map<string, ScopeState>();
  const entry = (scope: string): ScopeState => {
    let s = byScope.get(scope);
    if (!s) byScope.set(scope, (s = { scope, mark: null, lastFull: null, lastSucceeded: null, running: null }));
    return s;
  };
  for (const r of succeeded) {
    const s = entry(r.scope);
    s.mark = r.mark ? new Date(r.mark) : null;
    s.lastFull = r.last_full ? new Date(r.last_full) : null;
    s.lastSucceeded = { runId: r.run_id, finishedAt: new Date(r.finished_at) };
  }
  for (const w of open) entry(w.scope).running = { runId: w.run_id, walkId: w.id, pages: w.pages, cursor: w.cursor };
  return [...byScope.values()].sort((a, b) => a.scope.localeCompare(b.scope));
}

/**
 * Forgets the high-water marks that succeeded walks of a (source, resource[, scope]) recorded,
 * so its next run walks it fully from the first page (and sweeps deletes at the end). Walk rows,
 * their counts and the warehouse rows stay. Refuses (returns `{ refused: runIds }`) while a run of
 * the source is running, because its walks would write a new mark or resume from their cursor.
 * A run that starts in the same instant as the reset may still plan from the old mark; the next
 * one after it does not. Returns the number of walks whose mark it cleared.
 */
export async function resetState(db: Db, key: StateKey): Promise<{ cleared: number } | { refused: string[] }> {
  return db.transaction().execute(async (trx) => {
    const running = await trx.selectFrom('sync_runs').select('id').where('source_id', '=', key.sourceId).where('status', '=', 'running').orderBy('id').execute();
    if (running.length > 0) return { refused: running.map((r) => r.id) };
    let q = trx
      .updateTable('sync_walks')
      .set({ high_water_mark: null })
      .where('source_id', '=', key.sourceId)
      .where('resource', '=', key.resource)
      .where('status', '=', 'succeeded')
      .where('high_water_mark', 'is not', null);
    if (key.scope !== undefined) q = q.where('scope', '=', key.scope);
    const res = await q.executeTakeFirst();
    return { cleared: Number(res.numUpdatedRows) };
  });
}

/** What `state reset` would clear (the marks, per scope) and what it keeps (rows, held sweeps), or the running runs that refuse it. */
export interface ResetPreview {
  refused: string[];
  /** Per scope: the succeeded walks whose mark would be cleared, and the highest of those marks. */
  marks: Array<{ scope: string; walks: number; mark: Date }>;
  /** Kept: the warehouse rows of each scope (present, not deleted) and its held sweeps. */
  rows: Array<{ scope: string; rows: number }>;
  heldSweeps: string[];
}

/** resetState's reads without its write: what it would clear and keep for the same key. Changes nothing. */
export async function previewReset(db: Db, key: StateKey & { table: DataTableName }): Promise<ResetPreview> {
  const running = db.selectFrom('sync_runs').select('id').where('source_id', '=', key.sourceId).where('status', '=', 'running').orderBy('id').execute();
  let marks = db
    .selectFrom('sync_walks')
    .select(['scope', sql<string>`count(*)`.as('walks'), sql<Date>`max(high_water_mark)`.as('mark')])
    .where('source_id', '=', key.sourceId)
    .where('resource', '=', key.resource)
    .where('status', '=', 'succeeded')
    .where('high_water_mark', 'is not', null);
  let rows = db.selectFrom(key.table).select(['scope', sql<string>`count(*)`.as('rows')]).where('source_id', '=', key.sourceId).where('deleted_at', 'is', null);
  let held = db.selectFrom('sync_held_sweeps').select('scope').where('source_id', '=', key.sourceId).where('resource', '=', key.resource);
  if (key.scope !== undefined) {
    marks = marks.where('scope', '=', key.scope);
    rows = rows.where('scope', '=', key.scope);
    held = held.where('scope', '=', key.scope);
  }
  const [r, m, n, h] = await Promise.all([running, marks.groupBy('scope').orderBy('scope').execute(), rows.groupBy('scope').orderBy('scope').execute(), held.orderBy('scope').execute()]);
  return {
    refused: r.map((x) => x.id),
    marks: m.map((x) => ({ scope: x.scope, walks: Number(x.walks), mark: new Date(x.mark) })),
    rows: n.map((x) => ({ scope: x.scope, rows: Number(x.rows) })),
    heldSweeps: h.map((x) => x.scope),
  };
}
