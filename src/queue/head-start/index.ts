import type { HttpPage } from '../../http/client.js';
import type { Cursor } from '../../pagination/types.js';
import type { CommitInFlight } from '../commit.js';
import { preparedFrom, type PreparedPage } from '../page-prepare.js';
import { nextPageRef, type PageRef } from '../page-ref.js';
import { fetchAheadFrom } from './fetch-ahead.js';
import { PagePrefetch } from './prefetch.js';
import { writeAhead, type WriteAheadDeps } from './write-ahead.js';

// The head start of a walk (`worker.fetchAhead`, docs/design.md, One page per job): pages
// requested before their jobs run (fetch-ahead.ts) and written while the page before them commits
// (write-ahead.ts). The page frame (src/queue/page-job.ts) asks it four things and reads the same
// with it on or off: with it off, nothing is held, nothing is fetched and nothing is written ahead.

/** A page's answer the head start already has, and what it prepared of it (null: the job prepares it). */
export interface HeldAnswer {
  answer: HttpPage;
  prepared: PreparedPage | null;
}

/** What the page frame asks of the head start. */
export interface HeadStart {
  /**
   * Takes the answer fetched ahead for this page in this process (at most once), with its
   * preparation when that was made from the page's cursor. Null: the job asks the vendor itself.
   * Rejects with the vendor's failure when the request fetched ahead failed (it is the job's).
   */
  take(page: PageRef): Promise<HeldAnswer | null>;
  /** Once a page is parsed: fetches the page after it ahead, from `next`. Not awaited; a failure only costs the head start. Idempotent. */
  fetchNext(page: PageRef, next: Cursor | null): void;
  /** While a page commits: writes the page after it too, when both came ahead. Resolves true when it committed that page; never rejects. */
  writeNext(page: PageRef, prepared: PreparedPage, commit: CommitInFlight): Promise<boolean>;
  /** Stops fetching ahead (a stopping worker); pages already held stay takeable. */
  close(): void;
}

/** The head start turned off (`worker.fetchAhead: false`): every page's job asks, prepares and commits its page alone. */
export const NO_HEAD_START: HeadStart = {
  take: async () => null,
  fetchNext: () => undefined,
  writeNext: async () => false,
  close: () => undefined,
};

/** The head start of this process: the pages it holds ahead live in `deps.store`. */
export function headStartOf(deps: WriteAheadDeps): HeadStart {
  const { store } = deps;
  return {
    async take(page) {
      const held = store.takePage(PagePrefetch.key(page.walk.id, page.page, page.requestHash));
      if (!held) return null;
      const answer = await held.response;
      if (answer === null) return null;
      const made = await held.prepared;
      // Made from the cursor this job reads from the committed walk, or not used.
      return { answer, prepared: made && preparedFrom(made, page.cursor) ? made : null };
    },
    fetchNext(page, next) {
      if (next === null) return;
      // Not awaited: its loop check and gate token are two round trips the commit need not wait for.
      fetchAheadFrom(deps, nextPageRef(page, next), [page.requestHash]).catch((err: unknown) => deps.log.debug({ err, where: page.where }, 'the next page was not fetched ahead'));
    },
    writeNext: (page, prepared, commit) => writeAhead(deps, page, prepared, commit),
    close: () => store.close(),
  };
}
