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
 */
import { createRng, HttpSimulator, bearerToken, type Fault, type FaultMatchInput, type Rng, type SimRequest, type SimResponse } from './http-sim.js';

/** The pagination styles the chaos serves. */
export const CHAOS_STYLES = ['page', 'offset', 'next', 'after', 'envelope'] as const;
export type ChaosStyle = (typeof CHAOS_STYLES)[number];

/** Styles whose pages are positions: a change before the walk's position shifts later records. */
export function isPositional(style: ChaosStyle): boolean {
  return style !== 'after';
}

/** One vendor record. `attrs` is nested past the engine's depth limit for a "too deep" record. */
export interface ChaosRecord {
  id: string;
  name: string;
  serial: string;
  v: number;
  updated_at: string;
  attrs?: unknown;
}

/** What the current walk may suffer. */
export interface ChaosWalk {
  /** Data changes before page requests (inserts, deletes, updates, moves). */
  churn: boolean;
  /** Transport faults: 5xx, resets, cut bodies, stalls past the timeout, 429 with and without Retry-After. */
  faults: boolean;
  /** A record of a page served without an id or with an object as id (that response only). */
  glitches: boolean;
  /** From the n-th distinct page request of this walk on, every list request answers 503. */
  persistentFrom?: number;
}

/** Counts of what the chaos did, for reports. */
export interface ChaosCounts {
  requests: number;
  inserts: number;
  deletes: number;
  updates: number;
  moves: number;
  faults: Record<string, number>;
  glitches: number;
}

export interface ChaosSimulatorOptions {
  style: ChaosStyle;
  seed: number;
  token: string;
  /** Records at the start; default 20-45 from the seed. */
  records?: number;
  /** The client's request timeout: a stall lasts longer than this. */
  stallMs: number;
}

const MAX_ID = 9_999_999;
/** Deeper than the engine's record limit (64). */
const DEEP_LEVELS = 80;

function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A generator for `what` of one (seed, style): the same numbers on every replay. */
export function createRngForSeed(seed: number, style: ChaosStyle, what: string): Rng {
  return createRng(hash32(`${seed}|${style}|${what}`));
}

function deep(levels: number): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
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
  /** The vendor's records in listing order. */
  private items: ChaosRecord[] = [];
  private readonly usedIds = new Set<string>();
  private walkNo = 0;
  private walk: ChaosWalk | null = null;
  /** Requests per page key in the current walk. */
  private readonly seenKeys = new Map<string, number>();
  /** GET /items/{id} requests per id in the current walk. */
  private readonly itemAsks = new Map<string, number>();
  private pending: Pending | null = null;
  private clock = Date.UTC(2026, 0, 1);
  /** Ids deleted during the current walk. */
  readonly deletedDuringWalk = new Set<string>();
  readonly counts: ChaosCounts = { requests: 0, inserts: 0, deletes: 0, updates: 0, moves: 0, faults: {}, glitches: 0 };
  private readonly token: string;
  private readonly stallMs: number;

  constructor(opts: ChaosSimulatorOptions) {
    super();
    this.style = opts.style;
    this.seed = opts.seed;
    this.token = opts.token;
    this.stallMs = opts.stallMs;
    const rng = this.rngFor('initial');
    const n = opts.records ?? rng.int(20, 45);
    for (let i = 0; i < n; i++) this.insert(rng, false);
    this.counts.inserts = 0;
    this.get(/^\/items$/, (req) => this.list(req));
    this.get(/^\/items\/([^/]+)$/, (_req, [id]) => this.one(decodeURIComponent(id ?? '')));
  }

  /** A copy of the vendor's current records, in listing order. */
  records(): ChaosRecord[] {
    return this.items.map((r) => structuredClone(r));
  }

  /** Ids the vendor lists now. */
  ids(): Set<string> {
    return new Set(this.items.map((r) => r.id));
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
    for (let i = 0; i < changes; i++) this.mutate(rng, true);
  }

  // ---------------------------------------------------------------- internals

  private rngFor(what: string): Rng {
    return createRng(hash32(`${this.seed}|${this.style}|${this.walkNo}|${what}`));
  }

  private sortById(): void {
    this.items.sort((a, b) => Number(a.id) - Number(b.id));
  }

  private newId(rng: Rng): string {
    for (;;) {
      const id = String(rng.int(1, MAX_ID));
      if (!this.usedIds.has(id)) {
        // Ids are never reused: a deleted record does not come back under its id.
        this.usedIds.add(id);
        return id;
      }
    }
  }

  private stamp(): string {
    this.clock += 1000;
    return new Date(this.clock).toISOString();
  }

  private insert(rng: Rng, bad: boolean): void {
    const id = this.newId(rng);
    const rec: ChaosRecord = { id, name: `item ${id}`, serial: rng.hex(10), v: 0, updated_at: this.stamp() };
    if (bad) rec.attrs = deep(DEEP_LEVELS);
    if (isPositional(this.style) && this.style !== 'next') this.items.splice(rng.int(0, this.items.length), 0, rec);
    else {
      this.items.push(rec);
      this.sortById();
    }
    this.counts.inserts++;
  }

  /** One data change. Keeps at least 10 records, so no walk lists a scope empty by chaos. */
  private mutate(rng: Rng, mayBeBad: boolean): void {
    const r = rng.next();
    if (r < 0.3 || this.items.length < 10) {
      this.insert(rng, mayBeBad && rng.bool(0.1));
      return;
    }
    const i = rng.int(0, this.items.length - 1);
    const rec = this.items[i]!;
    if (r < 0.6) {
      this.items.splice(i, 1);
      this.deletedDuringWalk.add(rec.id);
      this.counts.deletes++;
      return;
    }
    rec.v++;
    rec.updated_at = this.stamp();
    // A lone surrogate, which Postgres refuses: the engine stores it repaired (U+FFFD).
    rec.name = mayBeBad && rec.attrs === undefined && rng.bool(0.15) ? `item ${rec.id} \ud800v${rec.v}` : `item ${rec.id} v${rec.v}`;
    this.counts.updates++;
    if ((this.style === 'page' || this.style === 'offset' || this.style === 'envelope') && rng.bool(0.5)) {
      // No documented order: an updated row may come back last.
      this.items.splice(i, 1);
      this.items.push(rec);
      this.counts.moves++;
    }
  }

  /** True once the current walk has reached the page from which its persistent fault answers. */
  private persistent(): boolean {
    const from = this.walk?.persistentFrom;
    return from !== undefined && this.seenKeys.size > from;
  }

  private pageKey(q: URLSearchParams): string {
    switch (this.style) {
      case 'page':
      case 'envelope':
      case 'next':
        return `page=${q.get('page') ?? '1'}`;
      case 'offset':
        return `offset=${q.get('offset') ?? '0'}`;
      case 'after':
        return `after=${q.get('after') ?? ''}`;
    }
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
    const key = this.pageKey(m.query);
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
    const pending = this.pending ?? { key: this.pageKey(req.query), n: 0, rng: createRng(0) };
    this.pending = null;
    const { rng, n } = pending;
    const walk = this.walk;
    if (this.persistent()) {
      this.count('persistent 503');
      return { status: 503, body: { error: 'Service Unavailable', message: 'maintenance' } };
    }
    if (walk?.faults) {
      const f = rng.next();
      if (f < 0.04) {
        this.count('5xx');
        return { status: rng.pick([500, 502, 503, 504]), body: { error: 'upstream', message: 'try again' } };
      }
      if (f < 0.05) {
        this.count('429 Retry-After');
        return { status: 429, body: { error: 'rate_limited', message: 'slow down' }, headers: { 'retry-after': '1' } };
      }
      if (f < 0.07) {
        this.count('429');
        return { status: 429, body: { error: 'rate_limited', message: 'slow down' } };
      }
    }
    const stall = walk?.faults === true && rng.bool(0.02);
    // Data changes the first time a page is asked for, i.e. between the walk's pages. Decided and
    // applied on arrival (also for a stalled answer), so the changes keep the order of the requests
    // and none lands after its walk ended.
    if (walk?.churn && n === 0 && rng.bool(0.35)) {
      const changes = rng.int(1, 2);
      for (let i = 0; i < changes; i++) this.mutate(rng, false);
    }
    const limit = Math.max(1, Number(req.query.get('limit') ?? '5'));
    const out = this.page(req, limit);
    if (walk?.glitches && rng.bool(0.04)) this.glitch(out.records, rng);
    let response: SimResponse = { status: 200, body: out.body };
    if (walk?.faults && rng.bool(0.03)) {
      this.count('cut body');
      const text = JSON.stringify(out.body);
      response = { status: 200, body: text.slice(0, rng.int(0, text.length - 1)), headers: { 'content-type': 'application/json' } };
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
    const rec = this.items.find((r) => r.id === id);
    return rec ? { status: 200, body: rec } : { status: 404, body: { error: 'not_found', message: `no item ${id}` } };
  }

  /** Replaces one record of this response by one without a usable id (missing, or an object). */
  private glitch(records: unknown[], rng: Rng): void {
    // A keyset page's cursor is its last record's id: an id-less last record breaks the vendor's
    // own pagination (the walk fails, as it must), so the glitch spares it there.
    const last = this.style === 'after' ? records.length - 2 : records.length - 1;
    if (last < 0) return;
    const i = rng.int(0, last);
    const rec = { ...(records[i] as ChaosRecord) } as Record<string, unknown>;
    if (rng.bool()) delete rec.id;
    else rec.id = { value: rec.id };
    records[i] = rec;
    this.counts.glitches++;
  }

  private page(req: SimRequest, limit: number): { records: unknown[]; body: unknown } {
    const q = req.query;
    const copy = (rs: ChaosRecord[]): unknown[] => rs.map((r) => structuredClone(r));
    switch (this.style) {
      case 'page': {
        const page = Number(q.get('page') ?? '0');
        const records = copy(this.items.slice(page * limit, (page + 1) * limit));
        return { records, body: records };
      }
      case 'offset': {
        const offset = Number(q.get('offset') ?? '0');
        const records = copy(this.items.slice(offset, offset + limit));
        return { records, body: records };
      }
      case 'envelope': {
        const page = Number(q.get('page') ?? '1');
        const records = copy(this.items.slice((page - 1) * limit, page * limit));
        return { records, body: { data: records, total: this.items.length, page, limit } };
      }
      case 'next': {
        const page = Number(q.get('page') ?? '1');
        const records = copy(this.items.slice((page - 1) * limit, page * limit));
        const link = (p: number) => `${req.origin}/items?limit=${limit}&page=${p}`;
        const next = page * limit < this.items.length ? link(page + 1) : null;
        const previous = page > 1 ? link(page - 1) : null;
        return { records, body: { count: this.items.length, next, previous, results: records } };
      }
      case 'after': {
        const after = q.get('after');
        const from = after === null ? 0 : this.items.findIndex((r) => Number(r.id) > Number(after));
        const rest = from < 0 ? [] : this.items.slice(from);
        const records = copy(rest.slice(0, limit));
        return { records, body: { object: 'list', limit, order: 'ASC', after, has_more: rest.length > limit, data: records } };
      }
    }
  }

  protected override authenticate(req: SimRequest): SimResponse | null {
    return bearerToken(req.headers) === this.token ? null : { status: 401, body: { error: 'unauthorized', message: 'bad token' } };
  }
}

/** The `rest` source block that walks a ChaosSimulator of `style` with pages of `pageSize`. */
export function chaosRestBlock(style: ChaosStyle, pageSize: number): Record<string, unknown> {
  const pagination: Record<ChaosStyle, Record<string, unknown>> = {
    page: { type: 'short-page', firstPage: 0, limit: pageSize },
    offset: { type: 'offset', limit: pageSize },
    envelope: { type: 'page', limit: pageSize },
    next: { type: 'next', limit: pageSize, total: 'count' },
    after: { type: 'after', limit: pageSize, hasMore: 'has_more' },
  };
  return {
    auth: { type: 'bearer' },
    rateLimitBackoffMs: 100,
    resources: [
      {
        name: 'items',
        path: '/items',
        item: '/items/{id}',
        table: 'devices',
        pagination: pagination[style],
        map: { name: 'name', serial_number: 'serial', vendor_updated_at: 'updated_at' },
      },
    ],
  };
}
