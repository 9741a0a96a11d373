/**
 * Loopback HTTP simulator base used by the vendor simulators (tests and `fleetsync demo`): the
 * server frame. What it owns: listening and closing, the request log, the route table, the
 * hooks vendor subclasses override, and the order every request goes through:
 *   1. fault queue (inject(), http-sim-faults.ts) — consulted before anything else; may answer a status or drop the socket
 *   2. rate limiter (fixed windows, http-sim-windows.ts, optional) — answers 429 via rateLimitResponse()
 *   3. authenticate() hook
 *   4. GET route table (path regex → handler); unknown path → notFound(), other method → methodNotAllowed()
 * Every response is JSON (unless a fault supplies a string body), carries content-type and a
 * request-id header (random 32 hex), plus whatever commonHeaders() adds (http-sim-response.ts).
 *
 * Only node built-ins (and the repo's own JSON writer, for bodies too deep for JSON.stringify) are used.
 * The names of the modules above are exported from here too, so vendor simulators import one path.
 */
import { createServer, STATUS_CODES } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { FaultQueue, type Fault, type FaultMatchInput } from './http-sim-faults.js';
import { RateWindows, type RateLimitStatus, type RateWindow } from './http-sim-windows.js';
import { isBodyless, readBody, toSimRequest, type SimRequest } from './http-sim-request.js';
import { encodeBody, trickle, type SimResponse } from './http-sim-response.js';

export type { Fault, FaultMatchInput } from './http-sim-faults.js';
export type { RateLimitStatus, RateWindow } from './http-sim-windows.js';
export { bearerToken, parseIntParam, randomHex32, type SimRequest } from './http-sim-request.js';
export type { SimResponse } from './http-sim-response.js';
export { byId, createRng, mulberry32, type Rng } from './sim-data.js';

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

export interface HttpSimulatorOptions {
  /** One or more fixed windows (e.g. per-minute and per-hour); a request must fit in all enforced windows. */
  rateLimit?: RateWindow | RateWindow[];
  /** Which requests count against the limiter (e.g. only a stricter endpoint); default: all. */
  rateLimitMatch?: (req: FaultMatchInput) => boolean;
}

export type RouteHandler = (req: SimRequest, params: string[]) => SimResponse | Promise<SimResponse>;

interface Route {
  method: string;
  pattern: RegExp;
  handler: RouteHandler;
}

/** Records the status a request was answered with (0: socket dropped). */
type LogStatus = (status: number) => void;

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
  private readonly faults = new FaultQueue();
  private readonly windows = new RateWindows();
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
    this.faults.inject(fault);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** Faults not yet fully consumed. */
  get pendingFaults(): number {
    return this.faults.pending;
  }

  // ---------------------------------------------------------------- rate limiting

  /** Replace the limiter configuration (resets counters). `undefined` disables it. */
  setRateLimit(rateLimit: RateWindow | RateWindow[] | undefined): void {
    this.windows.configure(rateLimit);
  }

  resetRateLimit(): void {
    this.windows.reset();
  }

  /** Status of the first configured window (after counting the current request), or null without limiter. */
  rateLimitStatus(): RateLimitStatus | null {
    return this.windows.status(this.now);
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

  /** The fault for this request, or null; a subclass may decide its own (seeded chaos). */
  protected takeFault(m: FaultMatchInput): Fault | null {
    return this.faults.take(m);
  }

  // ---------------------------------------------------------------- internals

  private async dispatch(raw: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    // Stay synchronous up to the handler for GETs, so the log keeps arrival order.
    const body = isBodyless(raw) ? (raw.resume(), '') : await readBody(raw);
    const req = toSimRequest(raw, { body, origin: this.baseUrlValue ?? 'http://127.0.0.1' });
    const log: LogStatus = (status) => {
      this.requests.push({ method: req.method, path: req.path, query: req.query, status, at, body: req.body });
    };

    const fault = this.takeFault({ method: req.method, path: req.path, query: req.query });
    if (fault) return this.answerFault(fault, req, res, log);

    const limited = this.rateLimitMatch === null || this.rateLimitMatch({ method: req.method, path: req.path, query: req.query });
    const retryAfter = limited ? this.windows.consume(this.now) : null;
    if (retryAfter !== null) {
      this.rateLimited++;
      this.send(req, res, this.rateLimitResponse(req, retryAfter), log);
      return;
    }
    let out: SimResponse;
    try {
      out = this.authenticate(req) ?? (await this.routeRequest(req));
    } catch (err) {
      out = this.internalError(req, err);
    }
    this.send(req, res, out, log);
  }

  private async answerFault(fault: Fault, req: SimRequest, res: ServerResponse, log: LogStatus): Promise<void> {
    if (fault.delayMs && fault.delayMs > 0) await sleep(fault.delayMs);
    if (fault.kind === 'drop') {
      log(0);
      req.raw.socket.destroy();
      return;
    }
    if (fault.kind === 'trickle') {
      log(200);
      trickle(res, fault.everyMs);
      return;
    }
    const body = fault.body === undefined ? this.errorBody(fault.status, req) : fault.body;
    this.send(req, res, { status: fault.status, body, headers: fault.headers ?? {} }, log);
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

  private send(req: SimRequest, res: ServerResponse, out: SimResponse, log: LogStatus): void {
    if (res.destroyed || res.headersSent) return;
    const { payload, contentType } = encodeBody(out.body);
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
