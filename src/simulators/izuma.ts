/**
 * Izuma (formerly Pelion) Device Management simulator (vendor doc 003).
 *
 * Connector baseUrl = origin (real: https://api.us-east-1.mbedcloud.com).
 *   GET /v3/devices                 (+ GET /v3/devices/{id})
 *   GET /v3/device-groups           (+ GET /v3/device-groups/{id})
 *   GET /v3/firmware-images         (+ GET /v3/firmware-images/{id})
 *   GET /v3/accounts/me
 * Auth: `Authorization: Bearer <apiKey>`. No/garbled header → 401 invalid_auth; wrong key → 401
 * invalid_apikey. Errors use {object:"error", code, type, message, fields, request_id}; every
 * response has X-Request-ID (32 hex) equal to request_id in error bodies.
 * Lists: limit 2..1000 (default 50), after=<entity id> (keyset: ids strictly after it in the
 * requested order, so a deleted cursor entity still works), order=ASC|DESC, include=total_count;
 * response {object:"list", limit, after, order, has_more, data, total_count?}.
 * Filters `<field>__eq|__neq|__lte|__gte|__in|__nin` on any top-level scalar field of the
 * entities; `*_at` / `*_timestamp` fields compare as instants and accept RFC3339 or the truncated
 * `20161130T162512Z` form. Unknown query parameters are ignored.
 */
import { HttpSimulator, bearerToken, createRng } from './http-sim.js';
import type { RateWindow, SimRequest, SimResponse } from './http-sim.js';
import { IzumaChannel } from './izuma-channel.js';
import { iso, makeDevice, type IzumaData, type IzumaDevice } from './izuma-data.js';

export * from './izuma-data.js';

// ---------------------------------------------------------------- simulator

export interface IzumaSimulatorOptions {
  apiKey: string;
  data: IzumaData;
  rateLimit?: RateWindow | RateWindow[];
  /** has_more stays true and every page returns the first page again, whatever `after` says. */
  stuckAfter?: boolean;
}

/**
 * What a list is ordered by: entity id (the simulator's default, its ids sort like creation
 * time) or creation time with ids of any form: Izuma documents `order` but no id order, so a
 * client may not assume ids grow along a list.
 */
export type IzumaListOrder = 'id' | 'created';

type Entity = { id: string } & object;

const ERROR_TYPES: Record<number, string> = {
  400: 'bad_request',
  401: 'invalid_auth',
  403: 'access_denied',
  404: 'not_found',
  405: 'method_not_supported',
  429: 'too_many_requests',
  500: 'internal_server_error',
  502: 'bad_gateway',
  503: 'service_unavailable',
  504: 'gateway_timeout',
};

/** Parses RFC3339 or the truncated `20161130T162512Z` form; NaN if invalid. */
export function parseIzumaDate(value: string): number {
  const t = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\.\d+)?Z$/.exec(value);
  if (t) return Date.parse(`${t[1]}-${t[2]}-${t[3]}T${t[4]}:${t[5]}:${t[6]}${t[7] ?? ''}Z`);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(value)) return Number.NaN;
  // Date.parse copes with >3 fractional digits in V8, but normalise to be safe.
  return Date.parse(value.replace(/(\.\d{3})\d+/, '$1'));
}

const FILTER_OPS = ['eq', 'neq', 'lte', 'gte', 'in', 'nin'] as const;
type FilterOp = (typeof FILTER_OPS)[number];

export class IzumaSimulator extends HttpSimulator {
  readonly apiKey: string;
  /** Public and mutable. */
  data: IzumaData;
  stuckAfter: boolean;
  /** Order of every list; default 'id'. With 'created', `after` must name a listed entity (else 400). */
  listOrder: IzumaListOrder = 'id';
  /** Fault: lists answer every remaining entity, whatever `limit` says (a vendor ignoring the page size). */
  ignoreLimit = false;
  /**
   * Fault: `after=K` is answered as if it were `after=V` (null: the first page), the way a vendor
   * whose keyset index went stale sends a walk back to a page it already read.
   */
  readonly afterGlitch = new Map<string, string | null>();
  protected override readonly requestIdHeader = 'X-Request-ID';

  constructor(opts: IzumaSimulatorOptions) {
    super({ rateLimit: opts.rateLimit });
    this.apiKey = opts.apiKey;
    this.data = opts.data;
    this.stuckAfter = opts.stuckAfter ?? false;

    this.get(/^\/v3\/devices\/?$/, (req) => this.list(req, this.data.devices));
    this.get(/^\/v3\/devices\/([^/]+)\/?$/, (req, [id]) => this.one(req, this.data.devices, id ?? ''));
    this.get(/^\/v3\/device-groups\/?$/, (req) => this.list(req, this.data.groups));
    this.get(/^\/v3\/device-groups\/([^/]+)\/?$/, (req, [id]) => this.one(req, this.data.groups, id ?? ''));
    this.get(/^\/v3\/firmware-images\/?$/, (req) => this.list(req, this.data.firmwareImages));
    this.get(/^\/v3\/firmware-images\/([^/]+)\/?$/, (req, [id]) => this.one(req, this.data.firmwareImages, id ?? ''));
    this.get(/^\/v3\/accounts\/me\/?$/, () => ({ status: 200, body: this.data.account }));
    this.channel.install((method, pattern, handler) => this.route(method, pattern, handler), (req, status, message) => this.error(req, status, message));
  }

  /** The notification channel (src/simulators/izuma-channel.ts): the callback, and the registration events below. */
  readonly channel = new IzumaChannel(() => this.now());

  /**
   * A registration event of a device at Izuma: its state changes (registered, or deregistered for
   * a de-registration or an expiry), updated_at becomes now, and the channel delivers the event.
   */
  registration(kind: 'registrations' | 'reg-updates' | 'de-registrations' | 'registrations-expired', id: string): IzumaDevice | undefined {
    const d = this.updateDevice(id, { state: kind === 'registrations' || kind === 'reg-updates' ? 'registered' : 'deregistered' });
    if (!d) return undefined;
    if (kind === 'registrations' || kind === 'reg-updates') this.channel.notify({ kind, item: { ep: d.id, ept: d.endpoint_type, 'original-ep': d.endpoint_name, q: false, resources: [{ path: '/3/0/0' }] } });
    else this.channel.notify({ kind, item: d.id });
    return d;
  }

  override async stop(): Promise<void> {
    this.channel.stop();
    await super.stop();
  }

  // ------------------------------------------------------------ data helpers

  /** Bumps updated_at (and etag) to now; returns the device or undefined. */
  touchDevice(id: string): IzumaDevice | undefined {
    return this.updateDevice(id, {});
  }

  updateDevice(id: string, patch: Partial<Omit<IzumaDevice, 'id' | 'object'>>): IzumaDevice | undefined {
    const d = this.data.devices.find((x) => x.id === id);
    if (!d) return undefined;
    Object.assign(d, patch);
    const now = iso(this.now());
    d.updated_at = now;
    d.etag = now;
    return d;
  }

  deleteDevice(id: string): boolean {
    const before = this.data.devices.length;
    this.data.devices = this.data.devices.filter((d) => d.id !== id);
    return this.data.devices.length !== before;
  }

  /** Adds a device created now (its id sorts after every existing one). */
  addDevice(patch: Partial<Omit<IzumaDevice, 'object'>> = {}): IzumaDevice {
    const now = this.now();
    const counter = this.data.devices.length + 1;
    const device = makeDevice(createRng(counter * 7919), this.data.account.id, now, counter, []);
    Object.assign(device, patch);
    this.data.devices.push(device);
    return device;
  }

  // ------------------------------------------------------------ endpoints

  private error(req: SimRequest, status: number, message: string, type?: string, fields: Array<{ name: string; message: string }> = []): SimResponse {
    return { status, body: this.errorModel(req, status, message, type, fields) };
  }

  private errorModel(
    req: SimRequest,
    status: number,
    message: string,
    type?: string,
    fields: Array<{ name: string; message: string }> = [],
  ): Record<string, unknown> {
    return {
      object: 'error',
      code: status,
      type: type ?? ERROR_TYPES[status] ?? (status >= 500 ? 'internal_server_error' : 'bad_request'),
      message,
      fields,
      request_id: req.requestId,
    };
  }

  private one<T extends Entity>(req: SimRequest, items: readonly T[], id: string): SimResponse {
    const found = items.find((x) => x.id === id);
    return found ? { status: 200, body: found } : this.error(req, 404, 'Resource not found.', 'not_found');
  }

  private list<T extends Entity>(req: SimRequest, items: readonly T[]): SimResponse {
    const q = req.query;
    const limitRaw = q.get('limit');
    let limit = 50;
    if (limitRaw !== null) {
      limit = /^\d+$/.test(limitRaw) ? Number(limitRaw) : Number.NaN;
      if (!(limit >= 2 && limit <= 1000)) {
        return this.error(req, 400, 'Validation error', 'validation_error', [
          { name: 'limit', message: 'Limit must be an integer between 2 and 1000.' },
        ]);
      }
    }
    const orderRaw = q.get('order');
    const order = orderRaw === null ? 'ASC' : orderRaw.toUpperCase();
    if (order !== 'ASC' && order !== 'DESC') {
      return this.error(req, 400, 'Validation error', 'validation_error', [
        { name: 'order', message: 'Order must be ASC or DESC.' },
      ]);
    }
    const asked = q.get('after');
    const after = asked !== null && this.afterGlitch.has(asked) ? (this.afterGlitch.get(asked) ?? null) : asked;
    if (after !== null && !/^[0-9a-f]{32}$/i.test(after)) {
      return this.error(req, 400, 'Validation error', 'validation_error', [
        { name: 'after', message: 'after must be a valid entity id (32 hex characters).' },
      ]);
    }

    const filtered = this.applyFilters(req, items);
    if (!Array.isArray(filtered)) return filtered;

    const byId = (a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    const created = (x: T) => String((x as { created_at?: unknown }).created_at ?? '');
    const sorted = [...filtered].sort(this.listOrder === 'id' ? byId : (a, b) => (created(a) < created(b) ? -1 : created(a) > created(b) ? 1 : byId(a, b)));
    if (order === 'DESC') sorted.reverse();
    let rest = sorted;
    if (after !== null && !this.stuckAfter) {
      const a = after.toLowerCase();
      if (this.listOrder === 'id') {
        rest = sorted.filter((x) => (order === 'ASC' ? x.id > a : x.id < a));
      } else {
        const at = sorted.findIndex((x) => x.id === a);
        if (at < 0) return this.error(req, 400, 'Validation error', 'validation_error', [{ name: 'after', message: 'after must name an entity of this list.' }]);
        rest = sorted.slice(at + 1);
      }
    }
    const data = this.ignoreLimit ? rest : rest.slice(0, limit);
    const body: Record<string, unknown> = {
      object: 'list',
      limit,
      after: asked,
      order,
      has_more: this.stuckAfter ? true : rest.length > data.length,
      data,
    };
    const include = (q.get('include') ?? '').split(',').map((s) => s.trim());
    if (include.includes('total_count')) body.total_count = sorted.length;
    return { status: 200, body };
  }

  private applyFilters<T extends Entity>(req: SimRequest, items: readonly T[]): T[] | SimResponse {
    type Pred = (item: Record<string, unknown>) => boolean;
    const preds: Pred[] = [];
    for (const [key, value] of req.query) {
      const m = /^([a-z_][a-z0-9_]*)__(eq|neq|lte|gte|in|nin)$/.exec(key);
      if (!m) continue;
      const field = m[1] ?? '';
      const op = m[2] as FilterOp;
      const isDate = /(_at|_timestamp|_date)$/.test(field);
      if (isDate && op !== 'in' && op !== 'nin') {
        const t = parseIzumaDate(value);
        if (Number.isNaN(t)) {
          return this.error(req, 400, 'Validation error', 'validation_error', [
            { name: key, message: `Invalid date-time '${value}'; use RFC3339 (2016-11-30T16:25:12.1234Z) or 20161130T162512Z.` },
          ]);
        }
        preds.push((item) => {
          const raw = item[field];
          if (typeof raw !== 'string') return false;
          const v = Date.parse(raw);
          return compare(op, v, t);
        });
        continue;
      }
      const list = value.split(',');
      preds.push((item) => {
        const raw = item[field];
        const v = raw === null || raw === undefined ? '' : typeof raw === 'object' ? JSON.stringify(raw) : String(raw);
        switch (op) {
          case 'eq':
            return v === value;
          case 'neq':
            return v !== value;
          case 'in':
            return list.includes(v);
          case 'nin':
            return !list.includes(v);
          default:
            return compare(op, v, value);
        }
      });
    }
    if (preds.length === 0) return [...items];
    return items.filter((item) => preds.every((p) => p(item as Record<string, unknown>)));
  }

  // ------------------------------------------------------------ hooks

  protected override authenticate(req: SimRequest): SimResponse | null {
    const header = req.headers.authorization;
    const token = bearerToken(req.headers);
    if (typeof header !== 'string' || token === null) {
      return this.error(req, 401, 'Authorization header is missing or malformed; use "Authorization: Bearer <api_key>".', 'invalid_auth');
    }
    if (token !== this.apiKey) return this.error(req, 401, 'Provided API key is invalid.', 'invalid_apikey');
    return null;
  }

  protected override rateLimitResponse(req: SimRequest, retryAfterSec: number): SimResponse {
    return {
      status: 429,
      body: this.errorModel(req, 429, `Too many requests. Retry after ${retryAfterSec} seconds.`, 'too_many_requests'),
      headers: { 'Retry-After': String(retryAfterSec) },
    };
  }

  protected override errorBody(status: number, req: SimRequest): unknown {
    return this.errorModel(req, status, ERROR_TYPES[status]?.replace(/_/g, ' ') ?? 'error');
  }

  protected override notFound(req: SimRequest): SimResponse {
    return this.error(req, 404, 'Unrecognized request URL, or method not supported by the API.', 'unrecognized_request');
  }

  protected override methodNotAllowed(req: SimRequest): SimResponse {
    return this.error(req, 405, 'Method not supported by the API.', 'method_not_supported');
  }
}

function compare(op: FilterOp, a: number | string, b: number | string): boolean {
  if (op === 'lte') return a <= b;
  if (op === 'gte') return a >= b;
  if (op === 'eq') return a === b;
  if (op === 'neq') return a !== b;
  return false;
}
