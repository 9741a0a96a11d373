import { startCommit, type CommitDeps, type CommitInFlight } from '../commit.js';
import { preparedFrom, type PreparedPage } from '../page-prepare.js';
import { nextPageRef, type PageRef } from '../page-ref.js';
import { fetchAheadFrom, type FetchAheadDeps } from './fetch-ahead.js';
import { PagePrefetch } from './prefetch.js';

// Writing a page ahead (docs/design.md, One page per job): one walk's pages commit one after another, each with
// its cursor, so a big walk waits on one Postgres statement at a time. When the next page was
// fetched and prepared while this page commits, the same job writes it in a second transaction
// at once: its rows and history go in while this page's transaction runs; then it asks for the
// walk row, which this page's transaction holds until it ends, and commits its cursor only if
// the walk is then at its page with the cursor it was fetched with. If this page does not commit,
// the next page's transaction rolls back, and its own job starts it again. The two transactions
// must never wait for each other's rows (a deadlock that Postgres breaks only after
// deadlock_timeout, by failing one of them): the page written ahead shares no id with this one.

/** What decides whether the next page may be written while this page commits. */
export interface WriteAheadCase {
  /** Ids this page writes. */
  ids: readonly string[];
  /** Ids the next page writes. */
  nextIds: readonly string[];
  /** The next page ends the walk (its commit sweeps deletes, starts child walks, may end the run). */
  nextIsLast: boolean;
  /** requestHash of this page's request, of the next page's, and of the one after it (null: none). */
  requestHash: string;
  nextRequestHash: string;
  afterNextRequestHash: string | null;
}

/**
 * Why the next page may not be written while this page commits, or null when it may. A last page
 * waits its turn (its sweep needs every page before it committed), a page that shares an id with
 * this one would wait on this page's row locks while holding its own, and a request repeated
 * across the two pages is a loop that the page's own job reports.
 */
export function writeAheadRefusal(c: WriteAheadCase): string | null {
  if (c.nextIsLast) return 'the next page ends the walk';
  if (c.nextRequestHash === c.requestHash || c.afterNextRequestHash === c.requestHash || c.afterNextRequestHash === c.nextRequestHash) return 'the requests repeat';
  const mine = new Set(c.ids);
  for (const id of c.nextIds) if (mine.has(id)) return `id ${id} is on both pages`;
  return null;
}

/** What writing a page ahead needs: fetching ahead (the page after it) and committing. */
export type WriteAheadDeps = FetchAheadDeps & CommitDeps;

/**
 * Writes the page after `ref` while `ref`'s page commits (`commit`): when its answer was fetched
 * and prepared ahead in this process from the cursor `thisPage` ends with (`thisPage` itself having
 * come ahead), and writeAheadRefusal lets it. Its transaction writes the rows at once and commits
 * only after `commit` committed that cursor; it waits for `commit.holdsWalk` first, so that it
 * waits for the walk row in Postgres (and never takes the pool's last connection from `commit`).
 * Resolves true when it committed the page; false leaves the page to its own job. Never rejects.
 */
export async function writeAhead(deps: WriteAheadDeps, ref: PageRef, thisPage: PreparedPage, commit: CommitInFlight): Promise<boolean> {
  const nextCursor = thisPage.frame.next;
  if (nextCursor === null || !deps.madeAhead.has(thisPage)) return false;
  const next = nextPageRef(ref, nextCursor);
  const key = PagePrefetch.key(ref.walk.id, next.page, next.requestHash);
  const held = deps.store.peekPage(key);
  if (!held) return false;
  try {
    // A failed answer stays held for the page's own job, which meets the failure (a 4xx is never asked twice).
    const made = await held.prepared;
    if (!made || !preparedFrom(made, nextCursor)) return false;
    const afterNext = made.frame.next ? nextPageRef(next, made.frame.next) : null;
    const refusal = writeAheadRefusal({
      ids: thisPage.payload.records.map((r) => r.id),
      nextIds: made.payload.records.map((r) => r.id),
      nextIsLast: made.frame.next === null,
      requestHash: ref.requestHash,
      nextRequestHash: next.requestHash,
      afterNextRequestHash: afterNext?.requestHash ?? null,
    });
    if (refusal !== null) {
      deps.log.trace({ where: next.where, refusal }, 'page not written ahead');
      return false;
    }
    if (deps.store.takePage(key)?.prepared !== held.prepared) return false;
    if (afterNext) fetchAheadFrom(deps, afterNext, [ref.requestHash, next.requestHash]).catch((err: unknown) => deps.log.debug({ err, where: next.where }, 'the next page was not fetched ahead'));
    await commit.holdsWalk;
    return await startCommit(deps, next, made, { after: commit.done, fromCursor: (committed) => preparedFrom(made, committed) }).done;
  } catch (err) {
    deps.log.debug({ err, where: next.where }, 'the page written ahead did not commit: its own job writes it');
    return false;
  }
}
