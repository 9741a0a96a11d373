// Writing a page ahead (docs/performance.md): one walk's pages commit one after another, each with
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
