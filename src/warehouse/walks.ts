import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { newWalkValues, ScopeHistory } from '../sync/walk-plan.js';
import type { Database, SyncRunsTable, SyncWalksTable } from './db.js';
import type { DataTableName } from './tables.js';
import { refreshOrganizationCounts } from './organization-counts.js';

// The SQL of runs and walks (a page's commit is src/warehouse/page-commit.ts). Lock order
// everywhere: walk row, then run row.

export type WalkRow = Selectable<SyncWalksTable>;
export type RunRow = Selectable<SyncRunsTable>;
type Db = Kysely<Database> | Transaction<Database>;

/** A run's end states; a run in any other state is still going. */
export const TERMINAL_RUN: ReadonlySet<string> = new Set(['succeeded', 'failed', 'partial', 'cancelled']);

/** The id of the source's running regular run (or backfill, with `backfill`), if any. */
export async function findRunningRun(db: Db, sourceId: string, backfill: boolean): Promise<string | null> {
  const row = await db
    .selectFrom('sync_runs')
    .select('id')
    .where('source_id', '=', sourceId)
    .where('status', '=', 'running')
    .where(sql<boolean>`(trigger = 'backfill') = ${backfill}`)
    .executeTakeFirst();
  return row?.id ?? null;
}

/** Inserts a running run; throws the unique violation (23505) when the source already has one of its kind. */
export async function insertRun(trx: Transaction<Database>, run: { sourceId: string; vendor?: string; trigger: string; mode: 'full' | 'incremental'; resources: string[] }): Promise<string> {
  const row = await trx
    .insertInto('sync_runs')
    .values({ source_id: run.sourceId, vendor: run.vendor ?? null, trigger: run.trigger, mode: run.mode, resources: run.resources, status: 'running', finished_at: null, error_status: null, error_message: null, error_request_id: null })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Inserts new walks in batches; a walk that exists for (run, resource, scope) is left as it is. */
export async function insertWalks(trx: Transaction<Database>, walks: readonly NewWalkValues[]): Promise<void> {
  for (let i = 0; i < walks.length; i += 500) {
    await trx
      .insertInto('sync_walks')
      .values(walks.slice(i, i + 500))
      .onConflict((oc) => oc.columns(['run_id', 'resource', 'scope']).doNothing())
      .execute();
  }
}

/** Values of a new walk, as built by newWalkValues(). */
export type NewWalkValues = ReturnType<typeof newWalkValues>;

/** The succeeded-walk history of scopes of a resource: highest high-water mark and last full walk start. */
export async function scopeHistory(db: Db, sourceId: string, resource: string, scopes: readonly string[]): Promise<ScopeHistory[]> {
  let q = db
    .selectFrom('sync_walks')
    .select(['scope', sql<Date | null>`max(high_water_mark)`.as('mark'), sql<Date | null>`max(started_at) filter (where mode = 'full')`.as('last_full')])
    .where('source_id', '=', sourceId)
    .where('resource', '=', resource)
    .where('status', '=', 'succeeded');
  // A long IN list costs more than grouping the few extra scopes.
  if (scopes.length <= 1000) q = q.where('scope', 'in', [...scopes]);
  const rows = await q.groupBy('scope').execute();
  return rows.map((r) => ({ scope: r.scope, mark: r.mark ? new Date(r.mark) : null, lastFull: r.last_full ? new Date(r.last_full) : null }));
}

/** A walk by id, or undefined. */
export function getWalk(db: Db, walkId: string): Promise<WalkRow | undefined> {
  return db.selectFrom('sync_walks').selectAll().where('id', '=', walkId).executeTakeFirst();
}

/** A run by id; throws when there is none. */
export function getRun(db: Db, runId: string): Promise<RunRow> {
  return db.selectFrom('sync_runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
}

/** The running walks of a run (optionally of one resource). */
export function runningWalks(db: Db, runId: string, resource?: string): Promise<WalkRow[]> {
  let q = db.selectFrom('sync_walks').selectAll().where('run_id', '=', runId).where('status', '=', 'running');
  if (resource !== undefined) q = q.where('resource', '=', resource);
  return q.execute();
}

/** The running walks started by a (completed) parent walk. */
export function runningChildWalks(db: Db, parentWalkId: string): Promise<WalkRow[]> {
  return db.selectFrom('sync_walks').selectAll().where('parent_walk_id', '=', parentWalkId).where('status', '=', 'running').execute();
}

/** Scopes of a source's running walks (any run). */
export async function runningScopes(db: Db, sourceId: string): Promise<string[]> {
  return (await db.selectFrom('sync_walks').select('scope').where('source_id', '=', sourceId).where('status', '=', 'running').execute()).map((w) => w.scope);
}

/** The running runs, of one source when given: id and source. */
export async function runningRuns(db: Db, sourceId?: string): Promise<Array<{ id: string; source_id: string }>> {
  let q = db.selectFrom('sync_runs').select(['id', 'source_id']).where('status', '=', 'running');
  if (sourceId !== undefined) q = q.where('source_id', '=', sourceId);
  return await q.orderBy('id').execute();
}

/** Whether a walk of one of `resources` in a run has committed a page (for resources that request, the run had an answer from its vendor). */
export async function runHasCommittedPages(db: Db, runId: string, resources: readonly string[]): Promise<boolean> {
  if (resources.length === 0) return false;
  const row = await db.selectFrom('sync_walks').select('id').where('run_id', '=', runId).where('resource', 'in', [...resources]).where('pages', '>', 0).limit(1).executeTakeFirst();
  return row !== undefined;
}

/** The trigger of a run, or undefined when it does not exist. */
export async function runTrigger(db: Db, runId: string): Promise<string | undefined> {
  return (await db.selectFrom('sync_runs').select('trigger').where('id', '=', runId).executeTakeFirst())?.trigger;
}

/** Records why a walk waits and until when (shown by status and the dashboard). */
export async function markWalkWaiting(db: Db, walkId: string, until: Date | null, reason: string): Promise<void> {
  await db.updateTable('sync_walks').set({ waiting_until: until, waiting_reason: reason, updated_at: sql`now()` }).where('id', '=', walkId).execute();
}

/**
 * The page of a walk whose request had this requestHash, if one committed: the loop check, order-free
 * and for every style (a next page must not ask for what a page of its walk already asked for).
 */
export async function pageOfRequest(db: Db, walkId: string, requestHash: string): Promise<number | null> {
  const row = await db.selectFrom('sync_walk_cursors').select('page').where('walk_id', '=', walkId).where('request_hash', '=', requestHash).executeTakeFirst();
  return row?.page ?? null;
}

/** Clears the waits recorded on a source's running walks. */
export async function clearWaiting(db: Db, sourceId: string): Promise<void> {
  await db.updateTable('sync_walks').set({ waiting_until: null, waiting_reason: null, updated_at: sql`now()` }).where('source_id', '=', sourceId).where('status', '=', 'running').execute();
}

/**
 * Live parent rows of a completed walk's scope: where its child walks come from. A row the walk
 * just missed (missing_since) is left out: its children are most likely gone with it.
 */
export function liveParentRows(trx: Transaction<Database>, table: DataTableName, sourceId: string, scope: string): Promise<Array<{ external_id: string; raw: unknown }>> {
  return trx
    .selectFrom(table)
    .select(['external_id', 'raw'])
    .where('source_id', '=', sourceId)
    .where('scope', '=', scope)
    .where('deleted_at', 'is', null)
    .where('missing_since', 'is', null)
    .orderBy('external_id')
    .execute();
}

/** A run that a transaction ended: reported (logged) only after that transaction committed. */
export interface RunEnd {
  runId: string;
  status: 'succeeded' | 'partial' | 'failed' | 'cancelled';
}

/**
 * Ends a run when none of its walks is running. Locks the run row so concurrent walk ends agree.
 * Every run end goes through here (succeeded, partial, failed; a run without walks), in the
 * transaction that ends it: it also recomputes the source's organization counts, which commit
 * with the run's end (docs/warehouse.md, reporting.organization_summary).
 * Returns the end when this call ended the run (exactly one caller gets it), else null.
 */
export async function finalizeRunIfDone(trx: Transaction<Database>, runId: string): Promise<RunEnd | null> {
  const run = await trx.selectFrom('sync_runs').select(['source_id', 'status', 'error_status']).where('id', '=', runId).forNoKeyUpdate().executeTakeFirst();
  if (!run || run.status !== 'running') return null;
  const stats = await trx
    .selectFrom('sync_walks')
    .select([
      sql<number>`count(*) filter (where status = 'running')::int`.as('running'),
      sql<number>`count(*) filter (where status = 'succeeded')::int`.as('succeeded'),
      sql<number>`count(*) filter (where status in ('failed', 'cancelled'))::int`.as('failed'),
      sql<number>`count(*) filter (where status = 'cancelled')::int`.as('cancelled'),
    ])
    .where('run_id', '=', runId)
    .executeTakeFirstOrThrow();
  if (stats.running > 0) return null;
  // Refused credentials fail the run whatever finished before them (a request-free static
  // list may win the race against the 401).
  const authFailed = run.error_status === 401 || run.error_status === 403;
  // A run whose walks that did not succeed were all cancelled (`runs cancel`, a removed source) was cancelled.
  const status: RunEnd['status'] = stats.failed === 0 ? 'succeeded' : stats.cancelled === stats.failed ? 'cancelled' : stats.succeeded > 0 && !authFailed ? 'partial' : 'failed';
  const firstFailure = await trx
    .selectFrom('sync_walks')
    .select(['error_status', 'error_message', 'error_request_id'])
    .where('run_id', '=', runId)
    .where('status', '=', 'failed')
    .orderBy('finished_at')
    .limit(1)
    .executeTakeFirst();
  await trx
    .updateTable('sync_runs')
    .set({
      status,
      finished_at: sql`now()`,
      error_status: sql`coalesce(error_status, ${firstFailure?.error_status ?? null}::int)`,
      error_message: sql`coalesce(error_message, ${firstFailure?.error_message ?? null}::text)`,
      error_request_id: sql`coalesce(error_request_id, ${firstFailure?.error_request_id ?? null}::text)`,
    })
    .where('id', '=', runId)
    .execute();
  await refreshOrganizationCounts(trx, run.source_id);
  return { runId, status };
}

/** A walk that failWalks ended: for metrics. */
export interface EndedWalk {
  source_id: string;
  resource: string;
  started_at: Date;
}

/**
 * Ends running walks of a run with a failure (or as cancelled), records the run's first failure
 * and finalizes the run if nothing else runs. Walks no longer running are left alone.
 * Returns the walks it ended and the run's end when this call ended the run.
 */
export async function failWalks(
  db: Kysely<Database>,
  walkIds: readonly string[],
  runId: string,
  failure: { message: string; status: number | null; requestId: string | null },
  status: 'failed' | 'cancelled' = 'failed',
): Promise<{ ended: EndedWalk[]; runEnd: RunEnd | null }> {
  return db.transaction().execute(async (trx) => {
    let ended: EndedWalk[] = [];
    if (walkIds.length > 0) {
      ended = await trx
        .updateTable('sync_walks')
        .set({
          status,
          error_status: failure.status,
          error_message: failure.message,
          error_request_id: failure.requestId,
          finished_at: sql`now()`,
          updated_at: sql`now()`,
          waiting_until: null,
          waiting_reason: null,
        })
        .where('id', 'in', [...walkIds])
        .where('status', '=', 'running')
        .returning(['source_id', 'resource', 'started_at'])
        .execute();
      await trx.deleteFrom('sync_walk_pages').where('walk_id', 'in', [...walkIds]).execute();
      await trx.deleteFrom('sync_walk_cursors').where('walk_id', 'in', [...walkIds]).execute();
    }
    await trx
      .updateTable('sync_runs')
      .set({ error_status: failure.status, error_message: failure.message, error_request_id: failure.requestId })
      .where('id', '=', runId)
      .where('error_message', 'is', null)
      .execute();
    const runEnd = await finalizeRunIfDone(trx, runId);
    return { ended, runEnd };
  });
}
