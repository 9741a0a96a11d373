import type { HttpPage } from '../http/client.js';
import { VendorError } from '../http/errors.js';
import type { PageRequest } from '../pagination/types.js';
import { rateLimitBackoffOf, type ResolvedSource } from '../sources.js';
import type { WalkRow } from '../warehouse/walks.js';
import type { EngineContext } from './context.js';
import type { Lane } from './lanes.js';
import type { PreparedPage } from './page-prepare.js';

// Fetching ahead within a walk (docs/performance.md): while page N commits, page N+1's request
// has already gone out, sent by page N's job or, when page N was itself fetched ahead, as soon as
// page N's answer was parsed; a lane holds as many pages ahead as it has free slots. The job of
// page N+1, when this process runs it, takes that response instead of asking again (or page N's
// job writes it, src/queue/write-ahead.ts). The walk still commits page after page, each cursor
// with its rows. The prefetched request is that job's request, only sent earlier: its answer, a
// failure included, is what the job goes on with (a 4xx is never asked twice). One that expired,
// or whose page runs in another process, is not used: that job asks the vendor itself.

/** How long a fetched-ahead page may wait for its job; older ones are dropped unused. */
export const PREFETCH_TTL_MS = 30_000;

interface Entry extends HeldPage {
  at: number;
  lane: string;
}

/**
 * A page held ahead: the vendor's answer (null: it was not fetched after all, the job asks
 * itself), and that answer made ready for the commit (null when there is none or making it
 * failed: the job then does it itself and meets the failure).
 */
export interface HeldPage {
  response: Promise<HttpPage | null>;
  prepared: Promise<PreparedPage | null>;
}

/** What makes a held page's answer ready for its commit; it may wait (for the next page's request to go out). */
export type Prepare = (res: HttpPage) => PreparedPage | Promise<PreparedPage>;

/** Hands a reserved page its request, or null when it is not fetched after all (PagePrefetch.reserve). */
export type Fulfil = (response: Promise<HttpPage> | null, prepare?: Prepare) => void;

/**
 * Pages fetched ahead by this process, by walk, page and request, and the page jobs in hand per
 * lane: a page held ahead takes one of the lane's slots, so a lane never holds more pages in this
 * process than its concurrency (each costs a parsed page of memory). A lane whose slots are all
 * busy with jobs (many walks) fetches nothing ahead; its walks already overlap.
 */
export class PagePrefetch {
  private readonly entries = new Map<string, Entry>();
  private readonly jobs = new Map<string, number>();
  private closed = false;

  constructor(private readonly now: () => number = Date.now) {}

  /** The key of a walk's page and the request it makes (requestHash). */
  static key(walkId: string, page: number, requestHash: string): string {
    return `${walkId}:${page}:${requestHash}`;
  }

  /**
   * Starts holding `response` for `key`, in a slot of `lane`, and what `prepare` makes of it once
   * it comes. A rejection is kept for the job, never left unhandled.
   */
  put(key: string, lane: string, response: Promise<HttpPage>, prepare?: Prepare): void {
    this.reserve(key, lane)?.(response, prepare);
  }

  /**
   * Takes a slot of `lane` for `key` at once, before its request is decided, so that two
   * callers never both fetch one page: returns null when `key` is held already (or the worker is
   * stopping), else the function that hands over the request, or null for none (the slot is
   * then freed, and a job that took the page meanwhile asks the vendor itself).
   */
  reserve(key: string, lane: string): Fulfil | null {
    this.prune();
    if (this.closed || this.entries.has(key)) return null;
    let settle: (v: { response: Promise<HttpPage> | null; prepare?: Prepare }) => void = () => undefined;
    const decided = new Promise<{ response: Promise<HttpPage> | null; prepare?: Prepare }>((r) => (settle = r));
    const response = decided.then((d) => d.response);
    response.catch(() => undefined);
    const prepared = decided.then(async (d) => (d.response && d.prepare ? await d.prepare(await d.response) : null)).catch(() => null);
    const entry: Entry = { response, prepared, at: this.now(), lane };
    this.entries.set(key, entry);
    let done = false;
    return (res, prepare) => {
      if (done) return;
      done = true;
      if (res === null && this.entries.get(key) === entry) this.entries.delete(key);
      settle({ response: res, ...(prepare ? { prepare } : {}) });
    };
  }

  /** Counts a page job of `lane` in hand until the returned function is called. */
  enter(lane: string): () => void {
    this.jobs.set(lane, (this.jobs.get(lane) ?? 0) + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.jobs.set(lane, (this.jobs.get(lane) ?? 1) - 1);
    };
  }

  /** Whether `lane` has a slot for one more page held ahead: jobs in hand plus pages held stay under `concurrency`. */
  hasRoom(lane: string, concurrency: number): boolean {
    this.prune();
    let held = 0;
    for (const e of this.entries.values()) if (e.lane === lane) held++;
    return (this.jobs.get(lane) ?? 0) + held < concurrency;
  }

  /**
   * Takes the response held for `key` (at most once): null when none is held or it expired;
   * otherwise it resolves or rejects as the request did.
   */
  take(key: string): Promise<HttpPage | null> | null {
    return this.takePage(key)?.response ?? null;
  }

  /** The page held for `key` without taking it (null when none is held or it expired): the same promises takePage() hands over. */
  peekPage(key: string): HeldPage | null {
    const e = this.entries.get(key);
    if (!e || this.now() - e.at > PREFETCH_TTL_MS) return null;
    return { response: e.response, prepared: e.prepared };
  }

  /** Like take(), with the prepared page as well. */
  takePage(key: string): HeldPage | null {
    const e = this.entries.get(key);
    if (!e) return null;
    this.entries.delete(key);
    if (this.now() - e.at > PREFETCH_TTL_MS) return null;
    return { response: e.response, prepared: e.prepared };
  }

  /**
   * Stops fetching ahead: a stopping worker takes no new jobs, so an answer fetched now would
   * only be dropped (the next worker asks again). Pages already held stay takeable.
   */
  close(): void {
    this.closed = true;
  }

  /** Whether close() was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Pages held now (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  private prune(): void {
    const now = this.now();
    for (const [k, e] of this.entries) if (now - e.at > PREFETCH_TTL_MS) this.entries.delete(k);
  }
}

/** How long a page fetched ahead waits for the next page's request to go out before it is prepared on. */
export const SEND_WAIT_MS = 100;

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
 * Sends a later page's request while this page commits and holds its answer (and what `prepare`
 * makes of it) for that page's job, when the worker fetches ahead and is not stopping, the lane
 * has a free slot in this process (PagePrefetch.hasRoom: never for a lane of concurrency 1), the
 * source has no session state, the page is not held already, no committed page of the walk made
 * that request (a loop), and the gate has room now (the request counts against it like any other).
 * Resolves once the request is on its way, or it was decided not to send it; `prepare` runs
 * when the answer comes.
 */
export async function fetchAhead(
  ctx: EngineContext,
  src: ResolvedSource,
  lane: Lane,
  walk: WalkRow,
  page: number,
  next: { request: PageRequest; nextRequestHash: string },
  prepare?: Prepare,
): Promise<void> {
  const prefetch = ctx.prefetch;
  const name = lane.queue.name;
  if (!prefetch || prefetch.isClosed || !prefetch.hasRoom(name, lane.concurrency) || src.vendor.session) return;
  const fulfil = prefetch.reserve(PagePrefetch.key(walk.id, page, next.nextRequestHash), name);
  if (!fulfil) return;
  try {
    // A request a committed page of this walk made is a loop (commitPage fails the walk): never send it.
    const used = await ctx.db.selectFrom('sync_walk_cursors').select('page').where('walk_id', '=', walk.id).where('request_hash', '=', next.nextRequestHash).executeTakeFirst();
    if (used || prefetch.isClosed || (await lane.gate.take()) > 0) return fulfil(null);
  } catch (err) {
    fulfil(null);
    throw err;
  }
  // The vendor's word on its limit holds for the whole lane as soon as it comes, not only once
  // the next page's job takes the answer (other walks of the lane ask in between).
  const response = lane.http(next.request).then(
    async (res) => {
      if (res.throttleMs > 0) await lane.gate.pauseUntil(Date.now() + res.throttleMs);
      return res;
    },
    async (err: unknown) => {
      if (err instanceof VendorError && err.kind === 'rate_limited') {
        await lane.gate.pauseUntil(Date.now() + (err.retryAfterMs ?? rateLimitBackoffOf(src)));
      }
      throw err;
    },
  );
  fulfil(response, prepare);
}
