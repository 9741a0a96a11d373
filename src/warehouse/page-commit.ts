import { sql, type Kysely, type Transaction } from 'kysely';
import { PaginationLoopError } from '../pagination/types.js';
import type { NormalizedPage } from '../sync/normalize-page.js';
import type { SweepDecision } from '../sync/sweep-decision.js';
import type { Database } from './db.js';
import { recordHistory } from './history.js';
import type { PagePayload } from './payload.js';
import { sweepScope, type WalkSweep } from './sweep.js';
import type { DataTableName } from './tables.js';
import { hashLookupPays, upsertRows, type UpsertCounts } from './upsert.js';
import { pageOfRequest, type RunEnd, type WalkRow } from './walks.js';

// A page's commit (docs/design.md, Rows and cursor commit together): its rows, the ids it saw and
// its walk's cursor in one transaction that first locks the walk row and checks the page number.
// Lock order: walk row, then run row. A page written ahead (src/queue/head-start/write-ahead.ts)
// takes its data rows before the walk row, which the page before it holds until it commits: its
// rows are none of that page's.

/** One page ready to commit: its normalized page (rows in the payload), and where the walk goes next. */
export interface PageCommit extends Omit<NormalizedPage, 'rows'> {
  walk: WalkRow;
  page: number;
  table: DataTableName;
  /** The page's rows as the upsert's parameter (src/warehouse/payload.ts). */
  payload: PagePayload;
  /** Records on the page as the vendor sent them. */
  records: number;
  /** Serialized next cursor, null when the walk is complete. */
  next: string | null;
  total: number | null;
  /** requestHash() of the request this page made. */
  requestHash: string;
  /** requestHash() of the next page's request; null when the walk is complete. */
  nextRequestHash: string | null;
  /** The next request as text for a loop message (it names no secret: credentials are headers). */
  nextRequestText?: string;
  /** How a completing full walk sweeps (src/warehouse/sweep.ts): the source's policy, the range it covered, the vendor's per-id answers. */
  sweep: Pick<WalkSweep, 'policy' | 'range' | 'asked' | 'incomplete'>;
  /** Whether this table's history is kept for the source (src/warehouse/history.ts, keepsHistory). */
  history?: boolean;
}

/** What a commit did: nothing (another delivery won), or the page's counts and whether the walk completed. */
export type CommitOutcome = { committed: false } | { committed: true; counts: UpsertCounts; completed: boolean; sweep?: SweepDecision; runEnd?: RunEnd | null };

/** What a commit calls inside its transaction: `onComplete` when it completed the walk (child walks, the run's end), `began` once it holds the walk row. */
export interface CommitHooks {
  onComplete: (trx: Transaction<Database>) => Promise<RunEnd | null>;
  began?: () => void;
}

/**
 * How a page written ahead follows the page before it: `after` settles with that page's commit
 * (true: it committed); `fromCursor` tells whether the walk's committed cursor is the one this
 * page was fetched with.
 */
export interface CommitAfter {
  after: Promise<boolean>;
  /** Absent: any committed cursor will do. */
  fromCursor?: (cursor: unknown) => boolean;
}

/**
 * Commits one page in one transaction: upserts the rows, records seen ids (full walks) and
 * quarantine, advances the cursor and counts; when `next` is null, completes the walk (deletion
 * sweep of a full walk) and calls `hooks.onComplete` inside the same transaction (its run end is
 * passed on as `runEnd`). Commits nothing when the walk is no longer at `page` (a redelivered job
 * lost the race). Throws PaginationLoopError when the next request repeats one of the walk's.
 */
export async function commitPage(db: Kysely<Database>, c: PageCommit, hooks: CommitHooks): Promise<CommitOutcome> {
  return db.transaction().execute(async (trx) => {
    const atPage = await lockWalkAt(trx, c);
    hooks.began?.();
    if (!atPage) return { committed: false };
    await checkLoop(trx, c);
    return advance(trx, c, await writeRows(trx, c), hooks);
  });
}

/** Rolls back a page written ahead whose page before it did not commit. */
class PageBeforeNotCommitted extends Error {}

/**
 * Commits a page written ahead (src/queue/head-start/write-ahead.ts), as commitPage does, but its
 * rows are written first, while the page before commits; then the walk row is locked, which waits
 * in Postgres for that page's transaction (so Postgres sees any deadlock through it), and the walk
 * must be at `page` with the cursor this page came from (`order.fromCursor`), else everything is
 * rolled back and nothing is committed. The cursor still commits with its rows.
 */
export async function commitPageAhead(db: Kysely<Database>, c: PageCommit, hooks: CommitHooks, order: CommitAfter): Promise<CommitOutcome> {
  // Never unhandled: a page before that failed only means this page rolls back.
  let before: boolean | undefined;
  order.after.then(
    (ok) => (before = ok),
    () => (before = false),
  );
  try {
    return await db.transaction().execute(async (trx) => {
      const written = await writeRows(trx, c);
      // Known to have failed already: no need to wait for the walk row to learn it.
      if (before === false || !(await lockWalkAt(trx, c, order.fromCursor))) throw new PageBeforeNotCommitted();
      hooks.began?.();
      await checkLoop(trx, c);
      return advance(trx, c, written, hooks);
    });
  } catch (err) {
    if (err instanceof PageBeforeNotCommitted) return { committed: false };
    throw err;
  }
}

/** Locks the walk row; true when the walk still runs at this page (and, with `fromCursor`, from that cursor). */
async function lockWalkAt(trx: Transaction<Database>, c: PageCommit, fromCursor?: (cursor: unknown) => boolean): Promise<boolean> {
  const locked = await trx.selectFrom('sync_walks').select(['pages', 'status', 'cursor']).where('id', '=', c.walk.id).forUpdate().executeTakeFirst();
  return locked !== undefined && locked.status === 'running' && locked.pages === c.page && (fromCursor === undefined || fromCursor(locked.cursor));
}

/**
 * The loop check, order-free and for every style: the next page must not ask for what a page of
 * this walk already asked for. The hashes live with the walk, so a resumed walk knows them.
 */
async function checkLoop(trx: Transaction<Database>, c: PageCommit): Promise<void> {
  await trx.insertInto('sync_walk_cursors').values({ walk_id: c.walk.id, request_hash: c.requestHash, page: c.page }).onConflict((oc) => oc.doNothing()).execute();
  if (c.nextRequestHash === null) return;
  const used = await pageOfRequest(trx, c.walk.id, c.nextRequestHash);
  if (used !== null) {
    const shown = c.nextRequestText ? ` ${c.nextRequestText.slice(0, 300)}` : '';
    throw new PaginationLoopError(`pagination loop: the next request${shown} repeats the request of page ${used} of this walk`);
  }
}

/**
 * A page's rows and their history, in the page's transaction: the upsert, then the history step
 * (docs/warehouse.md, History) for the rows it wrote. Returns the upsert's counts.
 */
async function writeRows(trx: Transaction<Database>, c: PageCommit): Promise<UpsertCounts> {
  const { walk } = c;
  const { changedIds, history, ...counts } = await upsertRows(trx, { table: c.table, sourceId: walk.source_id }, c.payload, { lookUpHashes: hashLookupPays(walk), openHistory: c.history === true });
  // When the upsert opened the inserted rows' versions itself, the updated rows are what is left,
  // unless an inserted row already had an open version (a row deleted from the table by hand).
  if (c.history) {
    if (history && history.opened === counts.inserted) await recordHistory(trx, c.table, walk.source_id, history.updatedIds);
    else await recordHistory(trx, c.table, walk.source_id, changedIds, counts.inserted === changedIds.length);
  }
  return counts;
}

/** Records the page on its walk (seen ids, quarantine, cursor and counts), and completes the walk on its last page. */
async function advance(trx: Transaction<Database>, c: PageCommit, counts: UpsertCounts, hooks: CommitHooks): Promise<CommitOutcome> {
  const { walk, page } = c;
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
  return completeWalk(trx, c, counts, hooks);
}

/** Ends a walk whose last page this transaction commits: its sweep (full walks), its bookkeeping, then `hooks.onComplete`. */
async function completeWalk(trx: Transaction<Database>, c: PageCommit, counts: UpsertCounts, hooks: CommitHooks): Promise<CommitOutcome> {
  const { walk } = c;
  // Only a full walk saw everything; an incremental one never marks deletes. The sweep needs
  // its scope's held-sweep row (locked in sweepScope), not the run's: the walks of a run that
  // end together queued on the run row for the length of each other's sweeps (1.5 s of lock
  // waits in a first sync and resync of 20 organizations of 5,000 devices).
  const sweep = walk.mode === 'full' ? await sweepScope(trx, { table: c.table, walk, ...c.sweep }) : undefined;
  // The run row serializes the end of its walks (child walks, the run's end). NO KEY UPDATE (not
  // FOR UPDATE) so the foreign-key checks of concurrent child-walk inserts (KEY SHARE) do not
  // deadlock with it.
  await trx.selectFrom('sync_runs').select('id').where('id', '=', walk.run_id).forNoKeyUpdate().execute();
  await trx.deleteFrom('sync_walk_pages').where('walk_id', '=', walk.id).execute();
  await trx.deleteFrom('sync_walk_cursors').where('walk_id', '=', walk.id).execute();
  await trx.updateTable('sync_walks').set({ status: 'succeeded', finished_at: sql`now()`, updated_at: sql`now()` }).where('id', '=', walk.id).execute();
  const runEnd = await hooks.onComplete(trx);
  return { committed: true, counts, completed: true, runEnd, ...(sweep ? { sweep } : {}) };
}
