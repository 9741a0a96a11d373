import type { HttpPage } from '../../http/client.js';
import { LaneSlots } from '../lane-slots.js';
import type { PreparedPage } from '../page-prepare.js';

// The pages this process fetched ahead (src/queue/head-start/fetch-ahead.ts), held for their jobs.
// A held request is that job's request, only sent earlier: its answer, a failure included, is
// what the job goes on with (a 4xx is never asked twice). One that expired, or whose page runs in
// another process, is not used: that job asks the vendor itself.

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

/**
 * Hands a reserved page its request's answer (PagePrefetch.reserve): null, or an answer that comes
 * to null, when the page is not fetched after all (the slot is then freed).
 */
export type Fulfil = (response: Promise<HttpPage | null> | null, prepare?: Prepare) => void;

/**
 * Pages fetched ahead by this process, by walk, page and request, and the page jobs in hand per
 * lane: a page held ahead takes one of the lane's slots, so a lane never holds more pages in this
 * process than its concurrency (each costs a parsed page of memory). A lane whose slots are all
 * busy with jobs (many walks) fetches nothing ahead; its walks already overlap.
 */
export class PagePrefetch {
  private readonly entries = new Map<string, Entry>();
  private closed = false;

  /** `slots`: the page jobs this process has in hand per lane (the engine's). */
  constructor(
    private readonly now: () => number = Date.now,
    private readonly slots: LaneSlots = new LaneSlots(),
  ) {}

  /** Counts a page job of `lane` in hand until the returned function is called (LaneSlots.enter). */
  enter(lane: string): () => void {
    return this.slots.enter(lane);
  }

  /** The key of a walk's page and the request it makes (requestHash). */
  static key(walkId: string, page: number, requestHash: string): string {
    return `${walkId}:${page}:${requestHash}`;
  }

  /**
   * Takes a slot of `lane` for `key` at once, before its request is decided, so that two
   * callers never both fetch one page: returns null when `key` is held already (or the worker is
   * stopping), else the function that hands over the request's answer. An answer of null frees
   * the slot, and a job that took the page meanwhile asks the vendor itself. A rejection is kept
   * for the job, never left unhandled.
   */
  reserve(key: string, lane: string): Fulfil | null {
    this.prune();
    if (this.closed || this.entries.has(key)) return null;
    let settle: (v: { response: Promise<HttpPage | null> | null; prepare?: Prepare }) => void = () => undefined;
    const decided = new Promise<{ response: Promise<HttpPage | null> | null; prepare?: Prepare }>((r) => (settle = r));
    const response = decided.then((d) => d.response);
    response.catch(() => undefined);
    const prepared = decided
      .then(async (d) => {
        const res = d.response ? await d.response : null;
        return res && d.prepare ? await d.prepare(res) : null;
      })
      .catch(() => null);
    const entry: Entry = { response, prepared, at: this.now(), lane };
    this.entries.set(key, entry);
    const free = () => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    };
    response.then((res) => res === null && free(), () => undefined);
    let done = false;
    return (res, prepare) => {
      if (done) return;
      done = true;
      if (res === null) free();
      settle({ response: res, ...(prepare ? { prepare } : {}) });
    };
  }

  /** Whether `lane` has a slot for one more page held ahead: jobs in hand plus pages held stay under `concurrency`. */
  hasRoom(lane: string, concurrency: number): boolean {
    this.prune();
    let held = 0;
    for (const e of this.entries.values()) if (e.lane === lane) held++;
    return this.slots.count(lane) + held < concurrency;
  }

  /** The page held for `key` without taking it (null when none is held or it expired): the same promises takePage() hands over. */
  peekPage(key: string): HeldPage | null {
    const e = this.entries.get(key);
    if (!e || this.now() - e.at > PREFETCH_TTL_MS) return null;
    return { response: e.response, prepared: e.prepared };
  }

  /** Takes the page held for `key` (at most once): null when none is held or it expired; its promises resolve or reject as its request did. */
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
