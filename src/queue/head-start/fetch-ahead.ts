import type { Kysely } from 'kysely';
import { VendorError } from '../../http/errors.js';
import type { Logger } from '../../logger.js';
import type { Database } from '../../warehouse/db.js';
import { pageOfRequest } from '../../warehouse/walks.js';
import { finishPage, parsePage, type PreparedPage } from '../page-prepare.js';
import { nextPageRef, type PageRef } from '../page-ref.js';
import { PagePrefetch, type Prepare } from './prefetch.js';

// Fetching ahead within a walk (docs/design.md, One page per job): while page N commits, page
// N+1's request has already gone out, sent by page N's job or, when page N was itself fetched
// ahead, as soon as page N's answer was parsed; a lane holds as many pages ahead as it has free
// slots. The job of page N+1, when this process runs it, takes that answer instead of asking
// again (or page N's job writes it, write-ahead.ts). The walk still commits page after page, each
// cursor with its rows, and every request passes the lane's gate like any other.

/** What fetching ahead needs: the loop check's table, the log, and the pages held in this process. */
export interface FetchAheadDeps {
  db: Kysely<Database>;
  log: Logger;
  store: PagePrefetch;
  /** Pages this process prepared ahead (write-ahead.ts writes only those). */
  madeAhead: WeakSet<PreparedPage>;
}

/** How many of a chain's latest requests fetchAheadFrom compares a new one with. */
const CHAIN_MEMORY = 4;

/** How long a page fetched ahead waits for the next page's request to go out before it is prepared on. */
export const SEND_WAIT_MS = 100;

/**
 * Fetches `ref` ahead (fetchAhead says when) and prepares its answer as it comes. `earlier` holds
 * the request hashes of the latest pages before it (the job's own page first): a request among
 * them is a loop, never sent (the commit fails the walk for it). As soon as the answer is parsed,
 * before it is normalized and hashed, the page after it is fetched ahead in turn, while the lane
 * has room: a walk's requests then follow each other at the vendor's pace plus a parse, not plus
 * the whole preparation. Throws what the loop check or the gate throws.
 */
export async function fetchAheadFrom(deps: FetchAheadDeps, ref: PageRef, earlier: readonly string[]): Promise<void> {
  if (earlier.includes(ref.requestHash)) return;
  const chain = [...earlier.slice(-(CHAIN_MEMORY - 1)), ref.requestHash];
  await fetchAhead(deps, ref, async (answer) => {
    const result = parsePage(ref, answer);
    const next = result.next;
    if (next) {
      await sendFirst(
        () => fetchAheadFrom(deps, nextPageRef(ref, next), chain),
        (err: unknown) => deps.log.debug({ err, where: ref.where }, 'the next page was not fetched ahead'),
      );
    }
    const made = finishPage(ref, result, answer);
    deps.madeAhead.add(made);
    return made;
  });
}

/**
 * Starts `send` (the next page's request: a loop check in Postgres and a gate token in Redis,
 * then the HTTP request) and waits until it is sent, but at most `maxWaitMs`, so a slow Postgres or
 * Redis never holds the page that waits; then gives the event loop a macrotask turn, in which the
 * HTTP client writes the request to its socket, before the caller's synchronous work holds the
 * loop. A failure of `send` goes to `onError`.
 */
export async function sendFirst(send: () => Promise<void>, onError: (err: unknown) => void, maxWaitMs = SEND_WAIT_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, maxWaitMs)));
  await Promise.race([send().catch(onError), waited]);
  clearTimeout(timer);
  await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Sends a later page's request while a page commits and holds its answer (and what `prepare`
 * makes of it) for that page's job, when the worker is not stopping, the lane has a free slot in
 * this process (PagePrefetch.hasRoom: never for a lane of concurrency 1), the source has no
 * session state, the page is not held already, no committed page of the walk made that request (a
 * loop), and the lane's gate has room now (Lane.request). Resolves once the request is on its way,
 * or it was decided not to send it; `prepare` runs when the answer comes.
 */
export async function fetchAhead(deps: Pick<FetchAheadDeps, 'db' | 'store'>, ref: PageRef, prepare?: Prepare): Promise<void> {
  const { store } = deps;
  const lane = ref.lane;
  if (store.isClosed || !store.hasRoom(lane.name, lane.concurrency) || ref.src.vendor.session) return;
  const fulfil = store.reserve(PagePrefetch.key(ref.walk.id, ref.page, ref.requestHash), lane.name);
  if (!fulfil) return;
  try {
    // A request a committed page of this walk made is a loop (the commit fails the walk): never send it.
    if ((await pageOfRequest(deps.db, ref.walk.id, ref.requestHash)) !== null || store.isClosed) return fulfil(null);
  } catch (err) {
    fulfil(null);
    throw err;
  }
  let sent: () => void = () => undefined;
  const onItsWay = new Promise<void>((resolve) => (sent = resolve));
  const reply = lane.request(ref.request, { onSent: () => sent() });
  // The vendor's answer, a failure included, is the job's; a gate or Redis failure only costs the
  // head start (the job asks itself) and is thrown here, before the request would have gone.
  const answer = reply.then(
    (r) => (r.sent ? r.page : null),
    (err: unknown) => {
      if (err instanceof VendorError) throw err;
      return null;
    },
  );
  fulfil(answer, prepare);
  await Promise.race([onItsWay, reply.then(() => undefined)]);
}
