import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { SweepRange } from '../connector.js';
import type { newWalkValues, ScopeHistory } from '../sync/walk-plan.js';
import { PaginationLoopError } from '../pagination/types.js';
import type { NormalizedPage } from '../sync/normalize-page.js';
import type { Database, SyncRunsTable, SyncWalksTable } from './db.js';
import type { DataTableName } from './tables.js';
import { decideSweep, type SweepDecision } from '../sync/sweep-decision.js';
import { dropHeldSweep, lockHeldSweep, pruneHeldSweep, recordHeldSweep } from './held-sweeps.js';
import { hashLookupPays, scopeSweepCounts, sweepDeleted, unseenRows, upsertRows, type PagePayload, type SweepCounts, type UpsertCounts } from './upsert.js';
import { closeHistory, recordHistory } from './history.js';
import { refreshOrganizationCounts } from './organization-counts.js';

// The SQL of runs and walks. Lock order everywhere: walk row, then run row. A page written ahead
// takes its data rows before the walk row, which the page before it holds until it commits: its
// rows are none of that page's (src/queue/write-ahead.ts).

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

/** Ids of the running runs of the given sources. */
export async function runningRunIds(db: Db, sourceIds: readonly string[]): Promise<string[]> {
  if (sourceIds.length === 0) return [];
  return (await db.selectFrom('sync_runs').select('id').where('status', '=', 'running').where('source_id', 'in', [...sourceIds]).execute()).map((r) => r.id);
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
export async function markWalkWaiting(db: Db, walkId: string, until: Date, reason: string): Promise<void> {
  await db.updateTable('sync_walks').set({ waiting_until: until, waiting_reason: reason, updated_at: sql`now()` }).where('id', '=', walkId).execute();
}

/** Clears the waits recorded on a source's running walks. */
export async function clearWaiting(db: Db, sourceId: string): Promise<void> {
  await db.updateTable('sync_walks').set({ waiting_until: null, waiting_reason: null, updated_at: sql`now()` }).where('source_id', '=', sourceId).where('status', '=', 'running').execute();
}

/** One page ready to commit: what normalizePage made of it, and where the walk goes next. */
export interface PageCommit extends NormalizedPage {
  walk: WalkRow;
  page: number;
  table: DataTableName;
  /** Records on the page as the vendor sent them. */
  records: number;
  /** Serialized next cursor, null when the walk is complete. */
  next: string | null;
  total: number | null;
  /** The rows a completing full walk may sweep (ResourceDefinition.sweepRange); absent: the whole scope. */
  sweepRange?: SweepRange | null;
  /** requestHash() of the request this page made. */
  requestHash: string;
  /** requestHash() of the next page's request; null when the walk is complete. */
  nextRequestHash: string | null;
  /** The next request as text for a loop message (it names no secret: credentials are headers). */
  nextRequestText?: string;
  /** How the source sweeps this resource, and "devices of org 101" for the sweep's messages. */
  sweep: { deletes: 'confirm' | 'immediate'; maxDeleteShare: number; label: string };
  /** Whether this table's history is kept for the source (src/warehouse/history.ts, keepsHistory). */
  history?: boolean;
  /** payloadRecords(rows), when the page was prepared ahead (src/queue/page-prepare.ts). */
  payload?: PagePayload;
  /**
   * The vendor's per-id answers about the rows this last page's walk missed (resources with an
   * item GET, `deletes: confirm`): the sweep then deletes only `gone` rows and clears `present`
   * ones; `problem` is why some stayed unasked, recorded on the walk.
   */
  asked?: { gone: string[]; present: string[]; unknown: number; problem: string | null };
}

/** What commitPage did: nothing (another delivery won), or the page's counts and whether the walk completed. */
export type CommitOutcome = { committed: false } | { committed: true; counts: UpsertCounts; completed: boolean; sweep?: SweepDecision; runEnd?: RunEnd | null };

/**
 * How a page written ahead (src/queue/write-ahead.ts) follows the page before it. `after` settles
 * with that page's commit (true: it committed); `fromCursor` tells whether the walk's committed
 * cursor is the one this page was fetched with. `began` is called once this page's transaction
 * holds the walk row.
 */
export interface CommitOrder {
  after?: Promise<boolean>;
  fromCursor?: (cursor: unknown) => boolean;
  began?: () => void;
}

/** Rolls back a page written ahead whose page before it did not commit. */
class PageBeforeNotCommitted extends Error {}

/**
 * Commits one page in one transaction: upserts the rows, records seen ids (full walks) and
 * quarantine, advances the cursor and counts; when `next` is null, completes the walk (deletion
 * sweep of a full walk) and calls `onComplete` inside the same transaction (child walks, run end;
 * it returns the run's end when it ended the run, passed on as `runEnd`).
 * Commits nothing when the walk is no longer at `page` (a redelivered job lost the race).
 * With `order.after` (a page written ahead): the rows are written first, while the page before
 * commits; then the walk row is locked, which waits in Postgres for that page's transaction (so
 * Postgres sees any deadlock through it), and the walk must be at `page` with the cursor this
 * page came from (`order.fromCursor`), else everything is rolled back and nothing is committed.
 * The cursor still commits with its rows.
 */
export async function commitPage(db: Kysely<Database>, c: PageCommit, onComplete: (trx: Transaction<Database>) => Promise<RunEnd | null>, order: CommitOrder = {}): Promise<CommitOutcome> {
  // Never unhandled: a page before that failed only means this page rolls back.
  let before: boolean | undefined;
  order.after?.then(
    (ok) => (before = ok),
    () => (before = false),
  );
  try {
    return await db.transaction().execute((trx) => commitInTransaction(trx, c, onComplete, order, () => before));
  } catch (err) {
    if (err instanceof PageBeforeNotCommitted) return { committed: false };
    throw err;
  }
}

async function commitInTransaction(
  trx: Transaction<Database>,
  c: PageCommit,
  onComplete: (trx: Transaction<Database>) => Promise<RunEnd | null>,
  order: CommitOrder,
  before: () => boolean | undefined,
): Promise<CommitOutcome> {
  const { walk, page } = c;
  let written: UpsertCounts | null = null;
  if (order.after) {
    written = await writeRows(trx, c);
    // Known to have failed already: no need to wait for the walk row to learn it.
    if (before() === false) throw new PageBeforeNotCommitted();
  }
  const locked = await trx.selectFrom('sync_walks').select(['pages', 'status', 'cursor']).where('id', '=', walk.id).forUpdate().executeTakeFirst();
  order.began?.();
  if (!locked || locked.status !== 'running' || locked.pages !== page || (order.fromCursor && !order.fromCursor(locked.cursor))) {
    if (written) throw new PageBeforeNotCommitted();
    return { committed: false };
  }
  // The loop check, order-free and for every style: the next page must not ask for what a page
  // of this walk already asked for. The hashes live with the walk, so a resumed walk knows them.
  await trx.insertInto('sync_walk_cursors').values({ walk_id: walk.id, request_hash: c.requestHash, page }).onConflict((oc) => oc.doNothing()).execute();
  if (c.nextRequestHash !== null) {
    const used = await trx.selectFrom('sync_walk_cursors').select('page').where('walk_id', '=', walk.id).where('request_hash', '=', c.nextRequestHash).executeTakeFirst();
    if (used) {
      const shown = c.nextRequestText ? ` ${c.nextRequestText.slice(0, 300)}` : '';
      throw new PaginationLoopError(`pagination loop: the next request${shown} repeats the request of page ${used.page} of this walk`);
    }
  }
  const counts = written ?? (await writeRows(trx, c));
  if (walk.mode === 'full' && c.seen.length > 0) {
    await trx.insertInto('sync_walk_pages').values({ walk_id: walk.id, page, ids: c.seen }).onConflict((oc) => oc.doNothing()).execute();
  }
  if (c.quarantine.length > 0) {
    await trx
      .insertInto('sync_quarantine')
      .values(c.quarantine.map((q) => ({ source_id: walk.source_id, resource: walk.resource, scope: walk.scope, run_id: walk.run_id, walk_id: walk.id, page, ...q })))
      .execute();
  }
  await trx
    .updateTable('sync_walks')
    .set((eb) => ({
      cursor: c.next,
      pages: page + 1,
      records: eb('records', '+', c.records),
      inserted: eb('inserted', '+', counts.inserted),
      updated: eb('updated', '+', counts.updated),
      unchanged: eb('unchanged', '+', counts.unchanged),
      quarantined: eb('quarantined', '+', c.quarantine.length),
      repaired: eb('repaired', '+', c.repaired),
      unidentified: eb('unidentified', '+', c.unidentified),
      duplicates: eb('duplicates', '+', c.duplicates),
      // A page without a total keeps the stored one (a page written ahead read the walk before the page before it).
      ...(c.total !== null ? { total: c.total, total_max: sql<number>`greatest(total_max, ${c.total}::int)` } : {}),
      ...(c.markMs !== null ? { high_water_mark: sql<Date>`greatest(high_water_mark, ${new Date(c.markMs).toISOString()}::timestamptz)` } : {}),
      waiting_until: null,
      waiting_reason: null,
      updated_at: sql`now()`,
    }))
    .where('id', '=', walk.id)
    .execute();
  if (c.next !== null) return { committed: true, counts, completed: false };
  // Only a full walk saw everything; an incremental one never marks deletes. The sweep needs
  // its scope's held-sweep row (locked in sweepScope), not the run's: the walks of a run that
  // end together queued on the run row for the length of each other's sweeps (1.5 s of lock
  // waits in a first sync and resync of 20 organizations of 5,000 devices).
  const sweep = walk.mode === 'full' ? await sweepScope(trx, c) : undefined;
  // The run row serializes the end of its walks (child walks, the run's end). NO KEY UPDATE (not
  // FOR UPDATE) so the foreign-key checks of concurrent child-walk inserts (KEY SHARE) do not
  // deadlock with it.
  await trx.selectFrom('sync_runs').select('id').where('id', '=', walk.run_id).forNoKeyUpdate().execute();
  await trx.deleteFrom('sync_walk_pages').where('walk_id', '=', walk.id).execute();
  await trx.deleteFrom('sync_walk_cursors').where('walk_id', '=', walk.id).execute();
  await trx.updateTable('sync_walks').set({ status: 'succeeded', finished_at: sql`now()`, updated_at: sql`now()` }).where('id', '=', walk.id).execute();
  const runEnd = await onComplete(trx);
  return { committed: true, counts, completed: true, runEnd, ...(sweep ? { sweep } : {}) };
}

/**
 * A page's rows and their history, in the page's transaction: the upsert, then the history step
 * (docs/warehouse.md, History) for the rows it wrote. Returns the upsert's counts.
 */
async function writeRows(trx: Transaction<Database>, c: PageCommit): Promise<UpsertCounts> {
  const { walk } = c;
  const { changedIds, history, ...counts } = await upsertRows(trx, c.table, walk.source_id, c.rows, { lookUpHashes: hashLookupPays(walk), openHistory: c.history === true, ...(c.payload ? { payload: c.payload } : {}) });
  // When the upsert opened the inserted rows' versions itself, the updated rows are what is left,
  // unless an inserted row already had an open version (a row deleted from the table by hand).
  if (c.history) {
    if (history && history.opened === counts.inserted) await recordHistory(trx, c.table, walk.source_id, history.updatedIds);
    else await recordHistory(trx, c.table, walk.source_id, changedIds, counts.inserted === changedIds.length);
  }
  return counts;
}

/**
 * The deletion sweep of a completed full walk, inside its commit transaction: gathers the
 * facts, lets decideSweep choose, carries it out and records outcome, reason and counts on the walk.
 */
async function sweepScope(trx: Transaction<Database>, c: PageCommit): Promise<SweepDecision> {
  const { walk } = c;
  await lockHeldSweep(trx, walk.source_id, walk.resource, walk.scope);
  const w = await trx.selectFrom('sync_walks').select(['total_max', 'unidentified', 'started_at']).where('id', '=', walk.id).executeTakeFirstOrThrow();
  const range = c.sweepRange ?? null;
  const counts = await scopeSweepCounts(trx, c.table, walk, range);
  const decision = decideSweep({ ...c.sweep, ...counts, totalMax: w.total_max, unidentified: w.unidentified });
  let marked: SweepCounts = { missing: 0, deleted: 0, deletedIds: [] };
  switch (decision.outcome) {
    case 'swept':
      // Nothing unseen (every first sync, most resyncs): no statement that would rescan the scope.
      if (counts.unseen > 0) marked = await sweepDeleted(trx, c.table, { id: walk.id, source_id: walk.source_id, scope: walk.scope, started_at: w.started_at }, c.sweep.deletes, range, c.asked);
      await dropHeldSweep(trx, walk.source_id, walk.resource, walk.scope);
      break;
    case 'applied':
      // Two complete walks missed the same rows: that is the confirmation `confirm` asks for.
      marked = await sweepDeleted(trx, c.table, { id: walk.id, source_id: walk.source_id, scope: walk.scope, started_at: w.started_at }, 'immediate', range);
      await dropHeldSweep(trx, walk.source_id, walk.resource, walk.scope);
      break;
    case 'held':
      await recordHeldSweep(trx, walk, { table: c.table, present: counts.present, ids: await unseenRows(trx, c.table, walk.source_id, walk.scope, walk.id, range), message: decision.reason });
      break;
    case 'inconsistent':
    case 'skipped':
      // It cannot vouch for its misses, but the rows it listed exist: never confirm those.
      await pruneHeldSweep(trx, walk);
      break;
  }
  // History: a deleted row's open version ends now (docs/warehouse.md, History).
  await closeHistory(trx, c.table, walk.source_id, marked.deletedIds);
  await trx
    .updateTable('sync_walks')
    .set({ sweep: decision.outcome, sweep_reason: decision.reason ?? (decision.outcome === 'swept' ? askedNote(c.asked) : null), seen_ids: counts.seen, deleted: marked.deleted, missing: marked.missing })
    .where('id', '=', walk.id)
    .execute();
  return decision;
}

/** What a swept walk says about rows the vendor was asked about but did not answer (null when none). */
function askedNote(asked: PageCommit['asked']): string | null {
  if (!asked || asked.unknown === 0) return null;
  return `${asked.unknown} missed row${asked.unknown === 1 ? '' : 's'} not confirmed by the vendor (${asked.problem ?? 'not asked'}): kept as missing, asked again by the next walk`;
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
  status: 'succeeded' | 'partial' | 'failed';
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
    ])
    .where('run_id', '=', runId)
    .executeTakeFirstOrThrow();
  if (stats.running > 0) return null;
  // Refused credentials fail the run whatever finished before them (a request-free static
  // list may win the race against the 401).
  const authFailed = run.error_status === 401 || run.error_status === 403;
  const status: RunEnd['status'] = stats.failed === 0 ? 'succeeded' : stats.succeeded > 0 && !authFailed ? 'partial' : 'failed';
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
