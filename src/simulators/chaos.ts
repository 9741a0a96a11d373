/**
 * Seeded vendor chaos: one list API served in any of the five pagination styles fleetsync
 * walks, whose data changes while a walk reads it, with transport faults and bad records.
 *
 * Every random choice is derived from (seed, walk, page request, how often that request came)
 * rather than from one stream, so a seed replays the same chaos whatever the engine's timing.
 *
 * What each style may do is what its real counterpart may do, and no more:
 * - `page` (Automox-like: bare array, page numbers from 0, no total) and `offset` (bare array,
 *   no total) and `envelope` (the partner template's `{data, total, page, limit}`): no documented
 *   order. Records sit in storage order: an insert lands anywhere, an update may move the record
 *   to the end (as a heap table does), a delete closes the gap. Pages are positions, so a change
 *   before the walk's position shifts every later record.
 * - `next` (DRF `{count, next, previous, results}` with page-number links): ordered by id (DRF
 *   pagination needs an ordering); random new ids land anywhere, so inserts and deletes shift.
 * - `after` (Izuma-like keyset: `after=<last id>`, `has_more`): ordered by id, numerically (so ids
 *   do not sort as text); `after` means "ids greater than this one", which holds for a deleted id
 *   too, as a real keyset query does. Nothing shifts.
 *
 * Modules: the styles' pages and source blocks (chaos-styles.ts), the records and their changes
 * (chaos-store.ts), transport faults and glitches (chaos-faults.ts), the seeded generators
 * (chaos-seed.ts); their names are exported from here too.
 */
import { createRng, HttpSimulator, bearerToken, type Fault, type FaultMatchInput, type Rng, type SimRequest, type SimResponse } from './http-sim.js';
import { chaosPage, pageKey, type ChaosStyle } from './chaos-styles.js';
import { ChaosStore, type ChaosCounts, type ChaosRecord } from './chaos-store.js';
import { cutBody, glitchRecord, persistent503, transportFault, type ChaosWalk } from './chaos-faults.js';
import { walkRng } from './chaos-seed.js';

export { CHAOS_STYLES, chaosRestBlock, isPositional, type ChaosStyle } from './chaos-styles.js';
export type { ChaosCounts, ChaosRecord } from './chaos-store.js';
export type { ChaosWalk } from './chaos-faults.js';
export { createRngForSeed } from './chaos-seed.js';

export interface ChaosSimulatorOptions {
  style: ChaosStyle;
  seed: number;
  token: string;
  /** Records at the start; default 20-45 from the seed. */
  records?: number;
  /** The client's request timeout: a stall lasts longer than this. */
  stallMs: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A page request as the chaos sees it: which page, and the decision taken for it. */
interface Pending {
  key: string;
  n: number;
  rng: Rng;
}

/** The seeded chaos list API (GET /items) of one style; see the module comment. */
export class ChaosSimulator extends HttpSimulator {
  readonly style: ChaosStyle;
  readonly seed: number;
  /** Ids deleted during the current walk. */
  readonly deletedDuringWalk = new Set<string>();
  readonly counts: ChaosCounts = { requests: 0, inserts: 0, deletes: 0, updates: 0, moves: 0, faults: {}, glitches: 0 };
  /** The vendor's records in listing order, and their changes. */
  private readonly store: ChaosStore;
  private walkNo = 0;
  private walk: ChaosWalk | null = null;
  /** Requests per page key in the current walk. */
  private readonly seenKeys = new Map<string, number>();
  /** GET /items/{id} requests per id in the current walk. */
  private readonly itemAsks = new Map<string, number>();
  private pending: Pending | null = null;
  private readonly token: string;
  private readonly stallMs: number;

  constructor(opts: ChaosSimulatorOptions) {
    super();
    this.style = opts.style;
    this.seed = opts.seed;
    this.token = opts.token;
    this.stallMs = opts.stallMs;
    this.store = new ChaosStore({ style: opts.style, counts: this.counts, deleted: this.deletedDuringWalk });
    const rng = this.rngFor('initial');
    const n = opts.records ?? rng.int(20, 45);
    for (let i = 0; i < n; i++) this.store.insert(rng, false);
    this.counts.inserts = 0;
    this.get(/^\/items$/, (req) => this.list(req));
    this.get(/^\/items\/([^/]+)$/, (_req, [id]) => this.one(decodeURIComponent(id ?? '')));
  }

  /** A copy of the vendor's current records, in listing order. */
  records(): ChaosRecord[] {
    return this.store.items.map((r) => structuredClone(r));
  }

  /** Ids the vendor lists now. */
  ids(): Set<string> {
    return new Set(this.store.items.map((r) => r.id));
  }

  /** Starts walk number `no` with what it may suffer; deterministic per (seed, no). */
  beginWalk(no: number, walk: ChaosWalk): void {
    this.walkNo = no;
    this.walk = walk;
    this.seenKeys.clear();
    this.itemAsks.clear();
    this.deletedDuringWalk.clear();
  }

  /** Ends the current walk: the vendor is quiet until the next beginWalk(). */
  endWalk(): void {
    this.walk = null;
  }

  /** Changes between walks: a few inserts, deletes and updates, sometimes a bad record. */
  churnBetweenWalks(no: number): void {
    const rng = this.rngFor(`between|${no}`);
    const changes = rng.int(0, 4);
    for (let i = 0; i < changes; i++) this.store.mutate(rng, true);
  }

  // ---------------------------------------------------------------- internals

  private rngFor(what: string): Rng {
    return walkRng({ seed: this.seed, style: this.style, walkNo: this.walkNo }, what);
  }

  /** True once the current walk has reached the page from which its persistent fault answers. */
  private persistent(): boolean {
    const from = this.walk?.persistentFrom;
    return from !== undefined && this.seenKeys.size > from;
  }

  private count(fault: string): void {
    this.counts.faults[fault] = (this.counts.faults[fault] ?? 0) + 1;
  }

  /**
   * Decides this request's chaos before it is routed. Runs synchronously right before the route
   * handler of the same GET (HttpSimulator's dispatch does not yield in between), which reads it.
   */
  protected override takeFault(m: FaultMatchInput): Fault | null {
    this.pending = null;
    if (m.method !== 'GET' || m.path !== '/items') return super.takeFault(m);
    const key = pageKey(this.style, m.query);
    const n = this.seenKeys.get(key) ?? 0;
    this.seenKeys.set(key, n + 1);
    const rng = this.rngFor(`${key}|${n}`);
    this.pending = { key, n, rng };
    const walk = this.walk;
    // A persistent fault answers 503 every time, so the walk's failure names it.
    if (walk?.faults && !this.persistent() && rng.bool(0.03)) {
      this.count('reset');
      return { kind: 'drop' };
    }
    return super.takeFault(m);
  }

  private async list(req: SimRequest): Promise<SimResponse> {
    this.counts.requests++;
    const pending = this.pending ?? { key: pageKey(this.style, req.query), n: 0, rng: createRng(0) };
    this.pending = null;
    const { rng, n } = pending;
    const walk = this.walk;
    if (this.persistent()) {
      this.count('persistent 503');
      return persistent503();
    }
    const fault = walk?.faults ? transportFault(rng, (f) => this.count(f)) : null;
    if (fault) return fault;
    const stall = walk?.faults === true && rng.bool(0.02);
    // Data changes the first time a page is asked for, i.e. between the walk's pages. Decided and
    // applied on arrival (also for a stalled answer), so the changes keep the order of the requests
    // and none lands after its walk ended.
    if (walk?.churn && n === 0 && rng.bool(0.35)) {
      const changes = rng.int(1, 2);
      for (let i = 0; i < changes; i++) this.store.mutate(rng, false);
    }
    const limit = Math.max(1, Number(req.query.get('limit') ?? '5'));
    const out = chaosPage(this.style, { items: this.store.items, req, limit });
    if (walk?.glitches && rng.bool(0.04) && glitchRecord(out.records, rng, this.style)) this.counts.glitches++;
    let response: SimResponse = { status: 200, body: out.body };
    if (walk?.faults && rng.bool(0.03)) {
      this.count('cut body');
      response = cutBody(out.body, rng);
    }
    if (stall) {
      this.count('stall');
      // The answer comes after the client gave up waiting; it retries.
      await sleep(this.stallMs);
    }
    return response;
  }

  /**
   * GET /items/{id}: the record, or 404 once it is deleted (ids are never reused). During a walk
   * with faults, one answer in ten is a 503 (deterministic per id and asking), which tells the
   * engine nothing: the row must stay missing, not deleted.
   */
  private one(id: string): SimResponse {
    this.counts.requests++;
    const n = this.itemAsks.get(id) ?? 0;
    this.itemAsks.set(id, n + 1);
    if (this.walk?.faults && this.rngFor(`item|${id}|${n}`).bool(0.1)) {
      this.count('item 503');
      return { status: 503, body: { error: 'upstream', message: 'try again' } };
    }
    const rec = this.store.items.find((r) => r.id === id);
    return rec ? { status: 200, body: rec } : { status: 404, body: { error: 'not_found', message: `no item ${id}` } };
  }

  protected override authenticate(req: SimRequest): SimResponse | null {
    return bearerToken(req.headers) === this.token ? null : { status: 401, body: { error: 'unauthorized', message: 'bad token' } };
  }
}
