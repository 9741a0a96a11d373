/**
 * Loopback HTTP simulator base used by the vendor simulators (tests and `fleetsync demo`).
 *
 * Pipeline for every request:
 *   1. fault queue (inject()) — consulted before anything else; may answer a status or drop the socket
 *   2. rate limiter (fixed windows, optional) — answers 429 via rateLimitResponse()
 *   3. authenticate() hook
 *   4. GET route table (path regex → handler); unknown path → notFound(), other method → methodNotAllowed()
 * Every response is JSON (unless a fault supplies a string body), carries content-type and a
 * request-id header (random 32 hex), plus whatever commonHeaders() adds.
 *
 * Only node built-ins (and the repo's own JSON writer, for bodies too deep for JSON.stringify) are used.
 */
import { createServer, STATUS_CODES } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { boundedJson } from '../normalize.js';

export interface FaultMatchInput {
  method: string;
  path: string;
  query: URLSearchParams;
}

interface FaultCommon {
  /** Which requests the fault applies to; default: every request. */
  match?: (req: FaultMatchInput) => boolean;
  /** How many matching requests the fault fires for; default 1. `Infinity` is allowed. */
  times?: number;
  /** Optional delay before the fault fires (response sent / socket destroyed). */
  delayMs?: number;
}

export type Fault =
  | (FaultCommon & {
      kind: 'status';
      status: number;
      /** JSON-serialised unless a string (sent verbatim, text/plain unless headers say otherwise)
       *  or a Buffer (sent as bytes, e.g. gzip with `content-encoding` in headers).
       *  When omitted the simulator's vendor-style error body for that status is used. */
      body?: unknown;
      headers?: Record<string, string>;
    })
  | (FaultCommon & { kind: 'drop' })
  /** 200 headers at once, then the body a byte at a time, one every `everyMs`, never ending. */
  | (FaultCommon & { kind: 'trickle'; everyMs: number });

export interface RequestLogEntry {
  method: string;
  path: string;
  query: URLSearchParams;
  /** HTTP status sent; 0 when the socket was dropped by a fault. */
  status: number;
  /** Date.now() when the request arrived. */
  at: number;
  /** Request body as text ('' for none), for POST searches whose parameters travel there. */
  body: string;
}

export interface RateWindow {
  max: number;
  windowMs: number;
  /** When false the window is only counted/reported (e.g. for x-ratelimit-* headers), never enforced. Default true. */
  enforce?: boolean;
  /**
   * Windows start at multiples of windowMs since the epoch (a vendor that reports its reset as an
   * epoch second keys its windows on the clock) instead of at the first request. Default false.
   */
  aligned?: boolean;
}

export interface HttpSimulatorOptions {
  /** One or more fixed windows (e.g. per-minute and per-hour); a request must fit in all enforced windows. */
  rateLimit?: RateWindow | RateWindow[];
  /** Which requests count against the limiter (e.g. only a stricter endpoint); default: all. */
  rateLimitMatch?: (req: FaultMatchInput) => boolean;
}

export interface SimRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Random 32-hex id, also sent in the request-id response header. */
  requestId: string;
  /** The simulator origin, e.g. http://127.0.0.1:12345 */
  origin: string;
  /** Request body as text ('' for none); read before routing so PUT/POST handlers can parse it. */
  body: string;
  raw: IncomingMessage;
}

export interface SimResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type RouteHandler = (req: SimRequest, params: string[]) => SimResponse | Promise<SimResponse>;

export interface RateLimitStatus {
  limit: number;
  remaining: number;
  /** Epoch ms when the window resets. */
  resetAt: number;
}

interface WindowState {
  cfg: RateWindow;
  start: number;
  count: number;
}

interface ActiveFault {
  fault: Fault;
  remaining: number;
}

interface Route {
  method: string;
  pattern: RegExp;
  handler: RouteHandler;
}

/** 32 random lowercase hex chars. */
export function randomHex32(): string {
  return randomBytes(16).toString('hex');
}

export function bearerToken(headers: IncomingHttpHeaders): string | null {
  const h = headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1] ?? null;
}

export class HttpSimulator {
  readonly requests: RequestLogEntry[] = [];
  /** Number of 429s sent by the rate limiter (not by injected faults). */
  rateLimited = 0;
  /** Clock used by the limiter and by data helpers; tests may replace it. */
  now: () => number = () => Date.now();

  protected readonly requestIdHeader: string = 'x-request-id';

  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly routes: Route[] = [];
  private faults: ActiveFault[] = [];
  private windows: WindowState[] = [];
  private baseUrlValue: string | null = null;
  private readonly rateLimitMatch: ((req: FaultMatchInput) => boolean) | null;

  constructor(opts: HttpSimulatorOptions = {}) {
    this.setRateLimit(opts.rateLimit);
    this.rateLimitMatch = opts.rateLimitMatch ?? null;
  }

  /** Origin of the running simulator, e.g. http://127.0.0.1:12345 (throws before start()). */
  get origin(): string {
    if (this.baseUrlValue === null) throw new Error('simulator not started');
    return this.baseUrlValue;
  }

  get started(): boolean {
    return this.server !== null;
  }

  /** Listens on 127.0.0.1:`port` (0: a free one) and returns the origin. Rejects with EADDRINUSE when the port is taken. */
  async start(port = 0): Promise<string> {
    if (this.server) return this.origin;
    const server = createServer((req, res) => {
      void this.dispatch(req, res);
    });
    server.keepAliveTimeout = 5_000;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address() as AddressInfo;
    this.server = server;
    this.baseUrlValue = `http://127.0.0.1:${addr.port}`;
    return this.baseUrlValue;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    server.closeAllConnections();
    await closed;
  }

  // ---------------------------------------------------------------- faults

  inject(fault: Fault): void {
    this.faults.push({ fault, remaining: fault.times ?? 1 });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Faults not yet fully consumed. */
  get pendingFaults(): number {
    return this.faults.length;
  }

  // ---------------------------------------------------------------- rate limiting

  /** Replace the limiter configuration (resets counters). `undefined` disables it. */
  setRateLimit(rateLimit: RateWindow | RateWindow[] | undefined): void {
    const list = rateLimit === undefined ? [] : Array.isArray(rateLimit) ? rateLimit : [rateLimit];
    for (const w of list) {
      if (!(w.max >= 1) || !(w.windowMs >= 1)) throw new Error(`invalid rate window ${JSON.stringify(w)}`);
    }
    this.windows = list.map((cfg) => ({ cfg, start: 0, count: 0 }));
  }

  resetRateLimit(): void {
    for (const w of this.windows) {
      w.start = 0;
      w.count = 0;
    }
  }

  /** Status of the first configured window (after counting the current request), or null without limiter. */
  rateLimitStatus(): RateLimitStatus | null {
    const w = this.windows[0];
    if (!w) return null;
    const now = this.now();
    this.roll(w, now);
    return {
      limit: w.cfg.max,
      remaining: Math.max(0, w.cfg.max - w.count),
      resetAt: (w.start === 0 ? now : w.start) + w.cfg.windowMs,
    };
  }

  /** Clears the request log, the faults, the limiter counters and `rateLimited`. */
  reset(): void {
    this.requests.length = 0;
    this.clearFaults();
    this.resetRateLimit();
    this.rateLimited = 0;
  }

  // ---------------------------------------------------------------- routing

  protected get(pattern: RegExp, handler: RouteHandler): void {
    this.routes.push({ method: 'GET', pattern, handler });
  }

  protected route(method: string, pattern: RegExp, handler: RouteHandler): void {
    this.routes.push({ method: method.toUpperCase(), pattern, handler });
  }

  // ---------------------------------------------------------------- hooks (override in vendor subclasses)

  /** Return a response to reject the request (401/403), or null to let it through. */
  protected authenticate(_req: SimRequest): SimResponse | null {
    return null;
  }

  /** Body/headers of a limiter 429. */
  protected rateLimitResponse(_req: SimRequest, retryAfterSec: number): SimResponse {
    return {
      status: 429,
      body: { error: 'Too Many Requests' },
      headers: { 'retry-after': String(retryAfterSec) },
    };
  }

  /** Extra headers on every response (after auth/routing decided the status). */
  protected commonHeaders(_req: SimRequest, _status: number): Record<string, string> {
    return {};
  }

  /** Vendor-style error body used for injected status faults that have no body. */
  protected errorBody(status: number, _req: SimRequest): unknown {
    return { error: STATUS_CODES[status] ?? 'Error' };
  }

  protected notFound(req: SimRequest): SimResponse {
    return { status: 404, body: this.errorBody(404, req) };
  }

  protected methodNotAllowed(req: SimRequest): SimResponse {
    return { status: 405, body: this.errorBody(405, req) };
  }

  protected internalError(req: SimRequest, _err: unknown): SimResponse {
    return { status: 500, body: this.errorBody(500, req) };
  }

  // ---------------------------------------------------------------- internals

  private roll(w: WindowState, now: number): void {
    if (w.start === 0 || now >= w.start + w.cfg.windowMs) {
      w.start = w.cfg.aligned ? now - (now % w.cfg.windowMs) : now;
      w.count = 0;
    }
  }

  /** Counts the request; returns Retry-After seconds if it must be rejected, else null. */
  private consumeRateLimit(): number | null {
    if (this.windows.length === 0) return null;
    const now = this.now();
    let retryMs = -1;
    for (const w of this.windows) {
      this.roll(w, now);
      if ((w.cfg.enforce ?? true) && w.count >= w.cfg.max) {
        retryMs = Math.max(retryMs, w.start + w.cfg.windowMs - now);
      }
    }
    if (retryMs >= 0) return Math.max(1, Math.ceil(retryMs / 1000));
    for (const w of this.windows) w.count++;
    return null;
  }

  /** The fault for this request, or null; a subclass may decide its own (seeded chaos). */
  protected takeFault(m: FaultMatchInput): Fault | null {
    for (let i = 0; i < this.faults.length; i++) {
      const f = this.faults[i];
      if (!f) continue;
      if (f.fault.match && !f.fault.match(m)) continue;
      f.remaining--;
      if (f.remaining <= 0) this.faults.splice(i, 1);
      return f.fault;
    }
    return null;
  }

  private async dispatch(raw: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const chunks: Buffer[] = [];
    if (raw.method === 'GET' || raw.method === 'HEAD' || raw.method === undefined) {
      // Stay synchronous up to the handler for GETs, so the log keeps arrival order.
      raw.resume();
    } else {
      // Session endpoints (PUT/POST /org-units/active) read the body; capped, simulators are not stores.
      let size = 0;
      for await (const chunk of raw) {
        size += (chunk as Buffer).length;
        if (size <= 1_000_000) chunks.push(chunk as Buffer);
      }
    }
    const origin = this.baseUrlValue ?? 'http://127.0.0.1';
    const url = new URL(raw.url ?? '/', origin);
    const req: SimRequest = {
      method: (raw.method ?? 'GET').toUpperCase(),
      path: url.pathname,
      query: url.searchParams,
      headers: raw.headers,
      requestId: randomHex32(),
      origin,
      body: Buffer.concat(chunks).toString('utf8'),
      raw,
    };
    const log = (status: number): void => {
      this.requests.push({ method: req.method, path: req.path, query: req.query, status, at, body: req.body });
    };

    const fault = this.takeFault({ method: req.method, path: req.path, query: req.query });
    if (fault) {
      if (fault.delayMs && fault.delayMs > 0) await sleep(fault.delayMs);
      if (fault.kind === 'drop') {
        log(0);
        raw.socket.destroy();
        return;
      }
      if (fault.kind === 'trickle') {
        log(200);
        this.trickle(res, fault.everyMs);
        return;
      }
      const body = fault.body === undefined ? this.errorBody(fault.status, req) : fault.body;
      this.send(req, res, { status: fault.status, body, headers: fault.headers ?? {} }, log);
      return;
    }

    let out: SimResponse;
    const limited = this.rateLimitMatch === null || this.rateLimitMatch({ method: req.method, path: req.path, query: req.query });
    const retryAfter = limited ? this.consumeRateLimit() : null;
    if (retryAfter !== null) {
      this.rateLimited++;
      out = this.rateLimitResponse(req, retryAfter);
    } else {
      try {
        out = this.authenticate(req) ?? (await this.routeRequest(req));
      } catch (err) {
        out = this.internalError(req, err);
      }
    }
    this.send(req, res, out, log);
  }

  /** Sends 200 headers and `[`, then one space every `everyMs` until the client goes away. */
  private trickle(res: ServerResponse, everyMs: number): void {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('[');
    const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write(' ')), everyMs);
    res.on('close', () => clearInterval(timer));
  }

  private async routeRequest(req: SimRequest): Promise<SimResponse> {
    let pathMatched = false;
    for (const r of this.routes) {
      const m = r.pattern.exec(req.path);
      if (!m) continue;
      pathMatched = true;
      if (r.method !== req.method) continue;
      return await r.handler(req, m.slice(1).map((s) => (s === undefined ? '' : decodeURIComponent(s))));
    }
    return pathMatched ? this.methodNotAllowed(req) : this.notFound(req);
  }

  private send(req: SimRequest, res: ServerResponse, out: SimResponse, log: (status: number) => void): void {
    if (res.destroyed || res.headersSent) return;
    let payload: string | Buffer;
    let contentType = 'application/json';
    if (Buffer.isBuffer(out.body)) {
      payload = out.body;
    } else if (typeof out.body === 'string') {
      payload = out.body;
      contentType = 'text/plain; charset=utf-8';
    } else if (out.body === undefined) {
      payload = '';
    } else {
      payload = jsonText(out.body);
    }
    const headers: Record<string, string> = {
      'content-type': contentType,
      ...this.commonHeaders(req, out.status),
      ...(out.headers ?? {}),
    };
    res.statusCode = out.status;
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    res.setHeader(this.requestIdHeader, req.requestId);
    res.setHeader('content-length', Buffer.byteLength(payload));
    log(out.status);
    res.end(payload);
  }
}

/**
 * JSON text of a response body. A record nested deeper than JSON.stringify can go (a vendor's
 * stored blob thousands of levels deep) is still sent, as a vendor's serializer would send it.
 */
function jsonText(body: unknown): string {
  try {
    return JSON.stringify(body);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    return boundedJson(body).text;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------- deterministic data helpers

/** mulberry32 PRNG: returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Rng {
  next(): number;
  /** Integer in [min, max] inclusive. */
  int(min: number, max: number): number;
  bool(pTrue?: number): boolean;
  pick<T>(items: readonly T[]): T;
  hex(len: number): string;
  digits(len: number): string;
  mac(prefix?: string): string;
  uuid(): string;
}

export function createRng(seed: number): Rng {
  const next = mulberry32(seed);
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  const hex = (len: number): string => {
    let s = '';
    for (let i = 0; i < len; i++) s += '0123456789abcdef'[int(0, 15)];
    return s;
  };
  return {
    next,
    int,
    bool: (p = 0.5) => next() < p,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new Error('pick from empty list');
      return items[int(0, items.length - 1)] as T;
    },
    hex,
    digits: (len: number) => {
      let s = '';
      for (let i = 0; i < len; i++) s += String(int(0, 9));
      return s;
    },
    mac: (prefix?: string) => {
      const parts = prefix ? prefix.split(':') : [];
      while (parts.length < 6) parts.push(hex(2));
      return parts.join(':');
    },
    uuid: () => {
      const h = hex(32);
      const variant = '89ab'[int(0, 3)] ?? '8';
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
    },
  };
}

/** The items sorted by id (the same array when already sorted). */
export function byId<T extends { id: number }>(items: T[]): T[] {
  for (let i = 1; i < items.length; i++) {
    const prev = items[i - 1];
    const cur = items[i];
    if (prev && cur && prev.id > cur.id) return [...items].sort((a, b) => a.id - b.id);
  }
  return items;
}

/** Parses a non-negative base-10 integer query value; null when absent, NaN when malformed. */
export function parseIntParam(value: string | null): number | null {
  if (value === null) return null;
  if (!/^\d{1,15}$/.test(value.trim())) return Number.NaN;
  return Number(value.trim());
}
