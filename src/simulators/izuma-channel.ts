/**
 * The notification channel of the Izuma simulator, callback form:
 *   PUT    /v2/notification/callback   {url, headers?}: tests the URL with an empty PUT (carrying the
 *                                      headers) first; 400 when it does not answer 200/204 or URL and
 *                                      headers are over 400 characters; 204 once set (replacing any)
 *   GET    /v2/notification/callback   {url, headers}, or 404
 *   DELETE /v2/notification/callback   204, or 404
 * Device registration events (`notify`) are batched (NotificationMessage: registrations,
 * reg-updates, de-registrations, registrations-expired) and PUT to the callback with its headers,
 * in order: while a batch fails, later events wait and go with it. Retries as Izuma documents:
 * 1 s, then doubling up to 2 min; after 24 h of failures the callback is removed.
 */
import type { SimRequest, SimResponse } from './http-sim.js';
import { sendOnce, retryDelay, type RetrySchedule } from './webhook-sender.js';

type Route = (method: string, pattern: RegExp, handler: (req: SimRequest, params: string[]) => SimResponse | Promise<SimResponse>) => void;
type ErrorOf = (req: SimRequest, status: number, message: string) => SimResponse;

/** The kinds of registration event, as the batch names them. */
export type IzumaEventKind = 'registrations' | 'reg-updates' | 'de-registrations' | 'registrations-expired';

/** An EndpointData of a registration (or registration update). */
export interface IzumaEndpointData {
  ep: string;
  ept: string;
  'original-ep'?: string;
  q: boolean;
  resources: Array<{ path: string; rt?: string; ct?: string; obs?: boolean }>;
}

type Pending = { kind: 'registrations' | 'reg-updates'; item: IzumaEndpointData } | { kind: 'de-registrations' | 'registrations-expired'; item: string };

/** One batch PUT as the simulator sent it, and what the receiver answered. */
export interface SentBatch {
  at: number;
  status: number | 'network';
  body: string;
}

export class IzumaChannel {
  callback: { url: string; headers: Record<string, string> } | null = null;
  /** Every batch attempt, in order. */
  readonly sent: SentBatch[] = [];
  /** Events not yet delivered (waiting for the next batch, or for a retry). */
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  private sending = false;
  private failures = 0;
  private failingSince: number | null = null;
  private stopped = false;

  constructor(
    private readonly now: () => number,
    /** Izuma's schedule; tests shorten it. */
    public schedule: RetrySchedule = { firstDelayMs: 1_000, maxDelayMs: 120_000, giveUpAfterMs: 86_400_000 },
    /** How long events gather into one batch. */
    public batchMs = 50,
  ) {}

  /** Events waiting to be delivered. */
  get waiting(): number {
    return this.pending.length;
  }

  install(route: Route, error: ErrorOf): void {
    const path = /^\/v2\/notification\/callback\/?$/;
    route('GET', path, (req) => (this.callback ? { status: 200, body: this.callback } : error(req, 404, 'The callback URL does not exist.')));
    route('DELETE', path, (req) => {
      if (!this.callback) return error(req, 404, 'Callback URL does not exist.');
      this.callback = null;
      return { status: 204 };
    });
    route('PUT', path, (req) => this.register(req, error));
  }

  private async register(req: SimRequest, error: ErrorOf): Promise<SimResponse> {
    let b: { url?: unknown; headers?: unknown };
    try {
      b = JSON.parse(req.body || '{}') as typeof b;
    } catch {
      return error(req, 400, 'Invalid JSON.');
    }
    const url = typeof b.url === 'string' ? b.url : '';
    if (!/^https?:\/\/\S+$/.test(url)) return error(req, 400, 'url must be an http(s) URL.');
    const headers = b.headers !== null && typeof b.headers === 'object' ? Object.fromEntries(Object.entries(b.headers).map(([k, v]) => [k, String(v)])) : {};
    const chars = url.length + Object.entries(headers).reduce((n, [k, v]) => n + k.length + v.length, 0);
    if (chars > 400) return error(req, 400, 'The maximum length of the URL, header keys and values combined is 400 characters.');
    // Izuma tests the URL with an empty payload before it accepts it.
    const test = await sendOnce({ url, method: 'PUT', headers, body: '' });
    if (test.status !== 200 && test.status !== 204) return error(req, 400, 'Given URL is not accessible.');
    this.callback = { url, headers };
    this.flushSoon(0);
    return { status: 204 };
  }

  /** A registration event of a device; delivered in the next batch when a callback is set. */
  notify(p: Pending): void {
    this.pending.push(p);
    this.flushSoon(this.batchMs);
  }

  private flushSoon(ms: number): void {
    if (this.timer !== null || this.sending || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, ms);
  }

  /** Sends everything pending as one batch; on failure keeps it pending and retries after the backoff. */
  private async flush(): Promise<void> {
    const cb = this.callback;
    if (cb === null || this.pending.length === 0 || this.stopped) return;
    this.sending = true;
    const batch = this.pending;
    this.pending = [];
    const body: Partial<Record<IzumaEventKind, unknown[]>> = {};
    for (const p of batch) (body[p.kind] ??= []).push(p.item);
    const text = JSON.stringify(body);
    const answer = await sendOnce({ url: cb.url, method: 'PUT', headers: { 'content-type': 'application/json', ...cb.headers }, body: text });
    this.sent.push({ at: this.now(), status: answer.status, body: text });
    this.sending = false;
    if (answer.status === 200 || answer.status === 204) {
      this.failures = 0;
      this.failingSince = null;
      if (this.pending.length > 0) this.flushSoon(this.batchMs);
      return;
    }
    this.pending = [...batch, ...this.pending];
    this.failures++;
    this.failingSince ??= this.now();
    if (this.now() - this.failingSince > this.schedule.giveUpAfterMs) {
      // Izuma removes a callback whose retries failed for a day; what was pending is lost.
      this.callback = null;
      this.pending = [];
      return;
    }
    this.flushSoon(retryDelay(this.schedule, this.failures));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
