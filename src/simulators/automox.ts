/**
 * Automox console API simulator (vendor doc 001).
 *
 * Base URL for a connector: `${origin}/api` (the real one is https://console.automox.com/api).
 *   GET /api/orgs
 *   GET /api/servergroups?o=ORG
 *   GET /api/servers?o=ORG[&groupId=G][&include_details=0|1]   `detail` and `status` are `{}` unless
 *       include_details=1 (default 0, "fast by default" in the published definition)
 *   GET /api/orgs/{id}/packages?o=ORG[&includeUnmanaged=0|1]   software Automox cannot patch
 *       (`is_managed: false`) only with includeUnmanaged=1
 *   GET /api/servers/{id}?o=ORG, GET /api/servergroups/{id}?o=ORG   one object; 404 {"errors":["Not Found"]}
 *       when the org has no such id
 *   GET /api/events?o=ORG[&eventName=..][&startDate=..][&limit][&page]   the event log (automox-events.ts):
 *       `addServer` and `removeServer` record system.add and system.delete
 * All lists take `limit` (1..500, default 500) and `page` (from 0) and return a bare JSON array
 * (no pagination metadata): a full page means "maybe more". Items are in stable id order.
 * `o` is optional on /servers and /servergroups like the real API (omitted = every org of the
 * account); an unknown `o` answers 403 {"errors":["Forbidden"]}.
 * Auth: `Authorization: Bearer <apiKey>` else 401 {"errors":["Unauthorized"]}.
 * Every response carries x-ratelimit-limit/-remaining/-reset (UTC epoch seconds) and
 * x-request-id; a limiter 429 adds retry-after and {"errors":["Too Many Requests"]}.
 * Without a `rateLimit` option the headers report the documented 100 req/s window but it is not
 * enforced.
 */
import { STATUS_CODES } from 'node:http';
import { AutomoxEventLog } from './automox-events.js';
import { generateAutomoxData } from './automox-data.js';
import { generatedAutomoxServer, type GeneratedAutomoxOptions } from './automox-devices.js';
import type { AutomoxData, AutomoxServer, AutomoxServerDetail, AutomoxServerStatus } from './automox-records.js';
import { HttpSimulator, bearerToken, byId, parseIntParam } from './http-sim.js';
import type { RateWindow, SimRequest, SimResponse } from './http-sim.js';

// The simulator lives here; the records, the devices and the tenant's generator in modules of
// their own, exported from here as before.
export type { AutomoxData, AutomoxNic, AutomoxOrg, AutomoxPackage, AutomoxServer, AutomoxServerDetail, AutomoxServerGroup, AutomoxServerStatus, AutomoxSeverity, AutomoxWsusConfig } from './automox-records.js';
export { automoxTime } from './automox-records.js';
export { generateAutomoxData, type GenerateAutomoxOptions } from './automox-data.js';
export { generatedAutomoxServer, type GeneratedAutomoxOptions } from './automox-devices.js';

/** Documented default limit: 100 authenticated requests per second per account. */
export const AUTOMOX_RATE_LIMIT: RateWindow = { max: 100, windowMs: 1000 };

export interface AutomoxSimulatorOptions {
  apiKey: string;
  /** The tenant to serve. Ignored when `generated` is given. */
  data?: AutomoxData;
  /**
   * Serve a large tenant without holding it: orgs and groups are generated up front, devices are
   * generated per page on request (deterministic per device id, O(page) per request). For
   * benchmarks; `data.servers` stays empty in this mode and packages are not served.
   */
  generated?: GeneratedAutomoxOptions;
  rateLimit?: RateWindow | RateWindow[];
  /** Only requests whose path matches count against `rateLimit` (Automox's stricter /servers limit); default all. */
  rateLimitPath?: RegExp;
}

export class AutomoxSimulator extends HttpSimulator {
  readonly apiKey: string;
  /** Public and mutable: tests add/delete/rename objects between syncs. */
  data: AutomoxData;
  /** Set in generated mode: devices are made per request. */
  readonly generated: GeneratedAutomoxOptions | null;
  /** What `GET /api/events` answers from; addServer/removeServer record into it. */
  readonly eventLog = new AutomoxEventLog();

  constructor(opts: AutomoxSimulatorOptions) {
    const pathRe = opts.rateLimitPath;
    super({ rateLimit: opts.rateLimit ?? { ...AUTOMOX_RATE_LIMIT, enforce: false }, ...(pathRe ? { rateLimitMatch: (r: { path: string }) => pathRe.test(r.path) } : {}) });
    this.apiKey = opts.apiKey;
    this.generated = opts.generated ?? null;
    if (opts.generated) {
      const g = opts.generated;
      const data = generateAutomoxData({ seed: g.seed, orgs: g.orgs, devicesPerOrg: 0, packagesPerDevice: 0, groupsPerOrg: g.groupsPerOrg });
      for (const grp of data.groups) grp.server_count = Math.round(g.devicesPerOrg / Math.max(1, g.groupsPerOrg ?? 3));
      for (const org of data.orgs) org.device_count = g.devicesPerOrg;
      this.data = data;
    } else if (opts.data) {
      this.data = opts.data;
    } else {
      throw new Error('AutomoxSimulator needs data or generated');
    }

    this.get(/^\/api\/orgs\/?$/, (req) => this.list(req, () => this.data.orgs));
    this.get(/^\/api\/servergroups\/?$/, (req) =>
      this.list(req, (orgIds) => this.data.groups.filter((g) => orgIds.has(g.organization_id))),
    );
    this.get(/^\/api\/servers\/?$/, (req) => {
      const include = req.query.get('include_details') ?? '0';
      if (include !== '0' && include !== '1') return { status: 400, body: { errors: ['include_details must be 0 or 1'] } };
      const res =
        this.generated && req.query.get('groupId') === null
          ? this.generatedServers(req)
          : this.list(req, (orgIds) => {
              const groupParam = req.query.get('groupId');
              const groupId = groupParam === null ? null : Number(groupParam);
              return this.data.servers.filter((s) => orgIds.has(s.organization_id) && (groupId === null || s.server_group_id === groupId));
            });
      return include === '1' || res.status !== 200 ? res : { ...res, body: (res.body as AutomoxServer[]).map(fastByDefault) };
    });
    this.get(/^\/api\/events\/?$/, (req) => {
      const o = req.query.get('o');
      if (o !== null && o !== '' && !this.data.orgs.some((x) => x.id === Number(o))) return forbidden();
      return this.eventLog.answer(req, new Set(o === null || o === '' ? this.data.orgs.map((x) => x.id) : [Number(o)]));
    });
    this.get(/^\/api\/servergroups\/([^/]+)\/?$/, (req, [idParam]) => this.one(req, idParam, () => this.data.groups));
    this.get(/^\/api\/servers\/([^/]+)\/?$/, (req, [idParam]) => this.one(req, idParam, () => this.data.servers));
    this.get(/^\/api\/orgs\/([^/]+)\/packages\/?$/, (req, [idParam]) => {
      const orgId = Number(idParam);
      if (!Number.isInteger(orgId) || !this.data.orgs.some((o) => o.id === orgId)) return forbidden();
      const unmanaged = req.query.get('includeUnmanaged') ?? '0';
      if (unmanaged !== '0' && unmanaged !== '1') return { status: 400, body: { errors: ['includeUnmanaged must be 0 or 1'] } };
      return this.list(req, (orgIds) => {
        if (!orgIds.has(orgId)) return null;
        const serverIds = new Set(this.data.servers.filter((s) => s.organization_id === orgId).map((s) => s.id));
        return this.data.packages.filter((p) => p.organization_id === orgId && serverIds.has(p.server_id) && (unmanaged === '1' || p.is_managed));
      });
    });
  }

  /** Adds a device as the console does: listed and served by id from now on, with a `system.add` event (none with `quiet`: an event lost). */
  addServer(server: AutomoxServer, opts: { quiet?: boolean } = {}): void {
    this.data.servers.push(server);
    this.data.servers.sort((a, b) => a.id - b.id);
    if (!opts.quiet) this.eventLog.record('system.add', server, this.now());
  }

  /** Removes a device (gone from lists, 404 by id) with a `system.delete` event (none with `quiet`). Returns it, or undefined when there is none. */
  removeServer(id: number, opts: { quiet?: boolean } = {}): AutomoxServer | undefined {
    const i = this.data.servers.findIndex((s) => s.id === id);
    const [gone] = i < 0 ? [] : this.data.servers.splice(i, 1);
    if (gone && !opts.quiet) this.eventLog.record('system.delete', gone, this.now());
    return gone;
  }

  /** One server or group by id within `o`: the object, 404 when the org has no such id, 403 for an unknown org. */
  private one<T extends { id: number; organization_id: number }>(req: SimRequest, idParam: string | undefined, all: () => T[]): SimResponse {
    const o = Number(req.query.get('o'));
    if (!Number.isInteger(o) || !this.data.orgs.some((x) => x.id === o)) return forbidden();
    const id = Number(idParam);
    const found = Number.isInteger(id) ? all().find((x) => x.id === id && x.organization_id === o) : undefined;
    return found ? { status: 200, body: found } : { status: 404, body: { errors: ['Not Found'] } };
  }

  /** Shared limit/page/o validation: the values, or the 400/403 to answer. */
  private listParams(req: SimRequest): { limit: number; page: number; orgIds: Set<number> } | SimResponse {
    const limit = parseIntParam(req.query.get('limit')) ?? 500;
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
      return { status: 400, body: { errors: ['limit must be between 1 and 500'] } };
    }
    const page = parseIntParam(req.query.get('page')) ?? 0;
    if (!Number.isInteger(page) || page < 0) {
      return { status: 400, body: { errors: ['page must be a non-negative integer'] } };
    }
    const o = req.query.get('o');
    let orgIds: Set<number>;
    if (o === null || o === '') {
      orgIds = new Set(this.data.orgs.map((x) => x.id));
    } else {
      const id = Number(o);
      if (!Number.isInteger(id) || !this.data.orgs.some((x) => x.id === id)) return forbidden();
      orgIds = new Set([id]);
    }
    return { limit, page, orgIds };
  }

  /** Shared limit/page/o handling. `select` returns null to answer 403. */
  private list<T extends { id: number }>(req: SimRequest, select: (orgIds: Set<number>) => T[] | null): SimResponse {
    const p = this.listParams(req);
    if ('status' in p) return p;
    const items = select(p.orgIds);
    if (items === null) return forbidden();
    return { status: 200, body: byId(items).slice(p.page * p.limit, (p.page + 1) * p.limit) };
  }

  /** /servers in generated mode: only the requested page is generated. */
  private generatedServers(req: SimRequest): SimResponse {
    const g = this.generated!;
    const p = this.listParams(req);
    if ('status' in p) return p;
    // Orgs are in id order and each holds devicesPerOrg devices: the selection is a concatenation.
    const orgIndexes = this.data.orgs.map((o, i) => (p.orgIds.has(o.id) ? i : -1)).filter((i) => i >= 0);
    const total = orgIndexes.length * g.devicesPerOrg;
    const out: AutomoxServer[] = [];
    for (let k = p.page * p.limit; k < Math.min(total, (p.page + 1) * p.limit); k++) {
      const orgIndex = orgIndexes[Math.floor(k / g.devicesPerOrg)]!;
      out.push(generatedAutomoxServer(g, this.data.groups, orgIndex, k % g.devicesPerOrg));
    }
    return { status: 200, body: out };
  }

  protected override authenticate(req: SimRequest): SimResponse | null {
    return bearerToken(req.headers) === this.apiKey ? null : { status: 401, body: { errors: ['Unauthorized'] } };
  }

  protected override rateLimitResponse(_req: SimRequest, retryAfterSec: number): SimResponse {
    return { status: 429, body: { errors: ['Too Many Requests'] }, headers: { 'retry-after': String(retryAfterSec) } };
  }

  protected override commonHeaders(): Record<string, string> {
    const st = this.rateLimitStatus();
    if (!st) return {};
    return {
      'x-ratelimit-limit': String(st.limit),
      'x-ratelimit-remaining': String(st.remaining),
      'x-ratelimit-reset': String(Math.ceil(st.resetAt / 1000)),
    };
  }

  protected override errorBody(status: number): unknown {
    return { errors: [STATUS_CODES[status] ?? 'Error'] };
  }
}

/**
 * A server as `/servers` lists it without `include_details=1` (the published definition's
 * "server without details (default)" example): `detail` and `status` are empty objects.
 */
export function fastByDefault(s: AutomoxServer): AutomoxServer {
  return { ...s, detail: {} as AutomoxServerDetail, status: {} as AutomoxServerStatus };
}

function forbidden(): SimResponse {
  return { status: 403, body: { errors: ['Forbidden'] } };
}
