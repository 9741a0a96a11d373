/**
 * Partner API simulator: the documented template (vendor doc 004) as a concrete API.
 *
 * Base URL for a connector: `${origin}/v1`.
 *   PUT|POST /v1/org-units/active  {"id": "<ou>"}   sets the session's active OU (shared by every
 *                                                     client of the account, like a server session)
 *   GET /v1/org-units/active                         the active OU
 *   GET /v1/sites?page&limit                         sites of the active OU
 *   GET /v1/sites/{id}/devices?page&limit            devices of a site; 403 when the site is not
 *                                                     in the active OU (counted in `violations`)
 *   GET /v1/users?page&limit                         users of the active OU
 * Lists: `page` from 1, `limit` default 25, max 100, envelope `{data, total, page, limit}`.
 * No active OU: 409 `{error: "no_active_ou"}`. Errors are `{error, message, details}`.
 * Auth: HTTP Basic client_id:client_secret, else 401.
 * Limit: a token bucket (default capacity 200, 100/min) answering 429 with X-RateLimit-* headers;
 * every response carries X-RateLimit-Limit (per minute), -Remaining (whole tokens left) and
 * -Reset (unix seconds when the next token is there).
 */
import { HttpSimulator, createRng, parseIntParam } from './http-sim.js';
import type { SimRequest, SimResponse } from './http-sim.js';

export interface PartnerSite {
  id: string;
  ou: string;
  name: string;
  country: string;
  created_at: string;
  updated_at: string;
}

export interface PartnerDevice {
  id: string;
  site_id: string;
  ou: string;
  name: string;
  serial: string;
  os: { family: string; version: string };
  status: string;
  last_seen_at: string;
  created_at: string;
}

export interface PartnerUser {
  id: string;
  ou: string;
  display_name: string;
  email: string;
  role: string;
  active: boolean;
  created_at: string;
}

export interface PartnerData {
  orgUnits: Array<{ id: string; name: string }>;
  sites: PartnerSite[];
  devices: PartnerDevice[];
  users: PartnerUser[];
}

/** Deterministic data: `sitesPerOu[o]` lists the device counts of OU o's sites. */
export function generatePartnerData(opts: { seed?: number; sitesPerOu: number[][]; usersPerOu: number }): PartnerData {
  const rng = createRng(opts.seed ?? 1);
  const base = Date.UTC(2025, 0, 10, 12, 0, 0);
  const data: PartnerData = { orgUnits: [], sites: [], devices: [], users: [] };
  let site = 100;
  let device = 5000;
  let user = 900;
  opts.sitesPerOu.forEach((deviceCounts, o) => {
    const ou = `ou-${['emea', 'apac', 'amer', 'labs'][o] ?? o}`;
    data.orgUnits.push({ id: ou, name: ou.toUpperCase() });
    for (const n of deviceCounts) {
      const siteId = `site-${++site}`;
      data.sites.push({ id: siteId, ou, name: `${ou} site ${site}${site % 3 === 0 ? ' Zürich ✓' : ''}`, country: rng.pick(['DE', 'JP', 'US', 'FR']), created_at: new Date(base - rng.int(1, 400) * 86_400_000).toISOString(), updated_at: new Date(base).toISOString() });
      for (let d = 0; d < n; d++) {
        data.devices.push({
          id: `dev-${++device}`,
          site_id: siteId,
          ou,
          name: `${siteId}-host-${d}`,
          serial: `SN${rng.hex(8).toUpperCase()}`,
          os: { family: rng.pick(['Android', 'Windows', 'Linux']), version: rng.pick(['13', '14', '11', '6.1']) },
          status: rng.pick(['online', 'offline']),
          last_seen_at: new Date(base + rng.int(0, 86_400) * 1000).toISOString(),
          created_at: new Date(base - rng.int(1, 900) * 86_400_000).toISOString(),
        });
      }
    }
    for (let u = 0; u < opts.usersPerOu; u++) {
      const id = `usr-${++user}`;
      data.users.push({ id, ou, display_name: `User ${user}`, email: `${id}@partner.example`, role: rng.pick(['admin', 'viewer', 'operator']), active: rng.bool(0.9), created_at: new Date(base - u * 86_400_000).toISOString() });
    }
  });
  return data;
}

/** Options of PartnerSimulator. */
/**
 * The `rest:` block of a source that syncs this simulator from configuration alone (sites per
 * OU, devices per site), as the demo and `fleetsync simulate partner` use it.
 */
export function partnerRestConfig() {
  return {
    auth: { type: 'basic' },
    orgUnits: { ids: ['ou-emea', 'ou-apac'] },
    resources: [
      { name: 'sites', path: '/sites', table: 'organizations', pagination: { type: 'page', limit: 100 }, map: { name: 'name', parent_external_id: '$ou' } },
      {
        name: 'devices',
        parent: 'sites',
        path: '/sites/{scope}/devices',
        table: 'devices',
        pagination: { type: 'page', limit: 100 },
        map: { organization_external_id: 'site_id', name: 'name', serial_number: 'serial', os_family: 'os.family', os_version: 'os.version', status: 'status', vendor_last_seen_at: 'last_seen_at' },
      },
    ],
  };
}

export interface PartnerSimulatorOptions {
  clientId: string;
  clientSecret: string;
  data: PartnerData;
  /** Default: the documented 200 burst, 100/min. */
  bucket?: { capacity: number; refillPerMinute: number };
}

/** Loopback partner API with OU sessions and a token-bucket limiter, for tests and the demo. */
export class PartnerSimulator extends HttpSimulator {
  data: PartnerData;
  /** The account's active OU (null until set). */
  activeOu: string | null = null;
  /** Every activation, in order. */
  readonly activations: string[] = [];
  /** Requests that asked for an object outside the active OU (an interleaving client). */
  violations = 0;
  /** The active OU at each list request, in order: [path, page, ou]. */
  readonly served: Array<[string, string | null, string | null]> = [];
  private readonly bucket: { capacity: number; refillPerMs: number; refillPerMinute: number };
  private tokens: number;
  private refilledAt = 0;

  constructor(private readonly opts: PartnerSimulatorOptions) {
    super();
    this.data = opts.data;
    const b = opts.bucket ?? { capacity: 200, refillPerMinute: 100 };
    this.bucket = { capacity: b.capacity, refillPerMinute: b.refillPerMinute, refillPerMs: b.refillPerMinute / 60_000 };
    this.tokens = b.capacity;

    const activate = (req: SimRequest): SimResponse => {
      let id: unknown;
      try {
        id = (JSON.parse(req.body || '{}') as { id?: unknown }).id;
      } catch {
        return err(400, 'invalid_json', 'Request body is not JSON');
      }
      if (typeof id !== 'string' || id === '') return err(422, 'validation_failed', 'id is required', { field: 'id', code: 'required' });
      const ou = this.data.orgUnits.find((o) => o.id === id);
      if (!ou) return err(403, 'forbidden', 'No permission for this organizational unit', { id });
      this.activeOu = ou.id;
      this.activations.push(ou.id);
      return { status: 200, body: { id: ou.id, name: ou.name, active: true } };
    };
    this.route('PUT', /^\/v1\/org-units\/active\/?$/, activate);
    this.route('POST', /^\/v1\/org-units\/active\/?$/, activate);
    this.get(/^\/v1\/org-units\/active\/?$/, () => (this.activeOu ? { status: 200, body: { id: this.activeOu } } : err(404, 'not_found', 'No active organizational unit')));
    this.get(/^\/v1\/sites\/?$/, (req) => this.list(req, (ou) => this.data.sites.filter((s) => s.ou === ou)));
    this.get(/^\/v1\/sites\/([^/]+)\/devices\/?$/, (req, [siteId]) => {
      const site = this.data.sites.find((s) => s.id === siteId);
      if (!site) return err(404, 'not_found', 'Site not found');
      if (site.ou !== this.activeOu) {
        this.violations++;
        return err(403, 'forbidden', 'Site is outside the active organizational unit', { site: siteId, active_ou: this.activeOu });
      }
      return this.list(req, () => this.data.devices.filter((d) => d.site_id === site.id));
    });
    this.get(/^\/v1\/users\/?$/, (req) => this.list(req, (ou) => this.data.users.filter((u) => u.ou === ou)));
  }

  private list(req: SimRequest, select: (ou: string) => Array<{ id: string }>): SimResponse {
    const page = parseIntParam(req.query.get('page')) ?? 1;
    const limit = parseIntParam(req.query.get('limit')) ?? 25;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) return err(400, 'invalid_parameter', 'limit must be between 1 and 100', { field: 'limit' });
    if (!Number.isInteger(page) || page < 1) return err(400, 'invalid_parameter', 'page must be 1 or more', { field: 'page' });
    if (this.activeOu === null) return err(409, 'no_active_ou', 'Set the active organizational unit via /org-units/active first');
    this.served.push([req.path, req.query.get('page'), this.activeOu]);
    const all = select(this.activeOu);
    return { status: 200, body: { data: all.slice((page - 1) * limit, page * limit), total: all.length, page, limit } };
  }

  private refill(): void {
    const now = this.now();
    if (this.refilledAt === 0) this.refilledAt = now;
    this.tokens = Math.min(this.bucket.capacity, this.tokens + (now - this.refilledAt) * this.bucket.refillPerMs);
    this.refilledAt = now;
  }

  private limitHeaders(): Record<string, string> {
    const missing = Math.max(0, 1 - this.tokens);
    return {
      'x-ratelimit-limit': String(this.bucket.refillPerMinute),
      'x-ratelimit-remaining': String(Math.floor(this.tokens)),
      'x-ratelimit-reset': String(Math.ceil((this.now() + missing / this.bucket.refillPerMs) / 1000)),
    };
  }

  protected override authenticate(req: SimRequest): SimResponse | null {
    // The bucket comes first: the real limiter sits in front of authentication.
    this.refill();
    if (this.tokens < 1) {
      this.rateLimited++;
      return { status: 429, body: { error: 'rate_limited', message: 'Rate limit exceeded', details: { limit_per_minute: this.bucket.refillPerMinute, burst: this.bucket.capacity } }, headers: this.limitHeaders() };
    }
    this.tokens -= 1;
    const expected = `Basic ${Buffer.from(`${this.opts.clientId}:${this.opts.clientSecret}`).toString('base64')}`;
    if (req.headers.authorization !== expected) return err(401, 'unauthorized', 'Missing or invalid credentials');
    return null;
  }

  protected override commonHeaders(): Record<string, string> {
    return this.limitHeaders();
  }

  protected override errorBody(status: number): unknown {
    return { error: status >= 500 ? 'internal_error' : 'error', message: `HTTP ${status}`, details: {} };
  }
}

function err(status: number, error: string, message: string, details: Record<string, unknown> = {}): SimResponse {
  return { status, body: { error, message, details } };
}
