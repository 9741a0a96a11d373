/**
 * Famoco MDM and Famoco Insights simulators (vendor doc 000).
 *
 * MDM (real base https://my.famoco.com), connector baseUrl = origin:
 *   GET /api/organizations/                       organizations visible to the token
 *   GET /api/organizations/{id}/devices/          devices of an org
 *   GET /api/organizations/{id}/fleets/           fleets of an org
 *   GET /api/organizations/{id}/profiles/         profiles of an org
 * Choice of endpoints: the public quick start documents /api/organizations/ and
 * /api/organizations/{id}/devices/ and names /api/organizations/<id>/<resource>/export/; the MDM
 * UI and API group devices into "fleets" (a device belongs to one fleet) and apply a
 * configuration "profile", so those two collections are exposed as sibling org-scoped resources
 * named like the devices one. Devices embed {id, name} references to their fleet and profile.
 * The quick-start device sample uses `hardware_details.imei[]`, `wifi_mac`, `bluetooth_mac`.
 *
 * Insights (real base https://insights.famoco.com), scoped by org GUID:
 *   GET /api/organizations/                       (same orgs, id + guid)
 *   GET /api/organizations/{guid}/devices/        device health snapshots
 *
 * Both: `Authorization: Bearer <token>`; DRF page-number pagination `?page=N&page_size=M`
 * (page from 1 or "last", default page_size 100, max 1000), or with `pagination: 'limit-offset'`
 * DRF limit/offset pagination `?limit=N&offset=M` (default limit 10), answering
 * {count, next, previous, results} with absolute next/previous URLs on the simulator origin.
 * Errors are DRF bodies wrapped in {"errors": ...}. Limiter 429: Retry-After seconds and
 * {"errors":{"detail":"Request was throttled. Expected available in N seconds."}}.
 */
import { HttpSimulator, bearerToken, byId, createRng } from './http-sim.js';
import type { RateWindow, Rng, SimRequest, SimResponse } from './http-sim.js';

/** Documented MDM limits: 100 requests/minute and 1000 requests/hour per client. */
export const FAMOCO_MDM_RATE_LIMITS: RateWindow[] = [
  { max: 100, windowMs: 60_000 },
  { max: 1000, windowMs: 3_600_000 },
];
/** Documented Insights limits: 60 requests/minute and 600 requests/hour per client. */
export const FAMOCO_INSIGHTS_RATE_LIMITS: RateWindow[] = [
  { max: 60, windowMs: 60_000 },
  { max: 600, windowMs: 3_600_000 },
];

/**
 * An organization as the MDM lists it. Its times are `create_date` / `update_date`, the spelling
 * public client code records from the live API; fleets, profiles and devices keep `created_at` /
 * `updated_at` (no public sample of theirs), so the connector is exercised with both.
 */
export interface FamocoOrganization {
  id: number;
  guid: string;
  name: string;
  create_date: string;
  update_date: string;
  devices_count: number;
  fleets_count: number;
  /** As public client code records the MDM's organizations: `status` and `is_blocked`. */
  status: 'active' | 'inactive';
  is_blocked: boolean;
  x_future_field?: Record<string, unknown>;
}

export interface FamocoRef {
  id: number;
  name: string;
}

export interface FamocoFleet {
  id: number;
  name: string;
  description: string;
  organization: number;
  profile: FamocoRef | null;
  devices_count: number;
  is_stock: boolean;
  created_at: string;
  updated_at: string;
}

export interface FamocoProfile {
  id: number;
  name: string;
  description: string;
  organization: number;
  version: number;
  applications_count: number;
  created_at: string;
  updated_at: string;
}

export interface FamocoHardwareDetails {
  imei: string[];
  wifi_mac: string;
  bluetooth_mac: string;
  manufacturer: string;
  model: string;
  serial_number: string;
  nfc: boolean;
  ram_mb: number;
  storage_gb: number;
}

export interface FamocoStateDetails {
  os_version: string;
  api_level: number;
  build_number: string;
  agent_version: string;
  battery_level: number;
  battery_plugged: boolean;
  is_online: boolean;
  ip_address: string | null;
  storage_free_mb: number;
  last_sync: string | null;
  sync_status: 'synced' | 'pending' | 'failed' | 'never_synced';
  heartbeat: string | null;
}

export interface FamocoDevice {
  id: number;
  famoco_id: string;
  serial_number: string | null;
  label: string;
  model: string;
  organization: number;
  fleet: FamocoRef | null;
  profile: FamocoRef | null;
  hardware_details: FamocoHardwareDetails;
  state_details: FamocoStateDetails;
  maintenance_status: 'in_the_field' | 'in_stock' | 'in_repair';
  comment: string;
  is_archived: boolean;
  created_at: string;
  updated_at: string;
  x_future_field?: Record<string, unknown>;
}

export interface FamocoData {
  organizations: FamocoOrganization[];
  fleets: FamocoFleet[];
  profiles: FamocoProfile[];
  devices: FamocoDevice[];
}

export interface GenerateFamocoOptions {
  seed?: number;
  orgs: number;
  devicesPerOrg: number | number[];
  /** Fleets per org (the first is the stock fleet); default 3, minimum 1. */
  fleetsPerOrg?: number;
}

const BASE_TIME = Date.UTC(2024, 2, 1, 8, 0, 0);
const DAY = 86_400_000;

const ORG_NAMES = ['Famoco Developers', 'Transports Île-de-France', '東京交通カード', 'Zürich-Büro-Ümlaut-😀', 'Acme Retail'];
const FLEET_NAMES = ['Stock', 'Ticket inspectors', 'Drivers', 'Point of sale', 'Entrepôt Nord', 'Demo'];
const PROFILE_NAMES = ['Kiosk – Ticketing', 'Drivers app', 'POS lockdown', 'Default'];
const MODELS: ReadonlyArray<{ model: string; gtin: string; os: string; api: number; ram: number; storage: number }> = [
  { model: 'FX205', gtin: '03770004396001', os: '8.1.0', api: 27, ram: 2048, storage: 16 },
  { model: 'FX300', gtin: '03770004396018', os: '9', api: 28, ram: 2048, storage: 16 },
  { model: 'FX915', gtin: '03770004396025', os: '10', api: 29, ram: 3072, storage: 32 },
  { model: 'FX920', gtin: '03770004396032', os: '11', api: 30, ram: 4096, storage: 64 },
];

const iso = (ms: number): string => new Date(ms).toISOString();

function famocoId(gtin: string, serial: string): string {
  // GS1 element string, as on the device sticker: (01) GTIN, (21) serial.
  return `(01)${gtin}(21)${serial}`;
}

/** Luhn-valid 15-digit IMEI from a 14-digit body. */
function imei(rng: Rng): string {
  const body = `35${rng.digits(12)}`;
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return body + String((10 - (sum % 10)) % 10);
}

/** Deterministic fake Famoco tenant (seeded mulberry32). Ids ascend in array order. */
export function generateFamocoData(opts: GenerateFamocoOptions): FamocoData {
  const rng = createRng(opts.seed ?? 1);
  const fleetsPerOrg = Math.max(1, opts.fleetsPerOrg ?? 3);
  const data: FamocoData = { organizations: [], fleets: [], profiles: [], devices: [] };
  let fleetId = 300;
  let profileId = 700;
  let deviceId = 40_000;
  let serialCounter = 0x580;

  for (let o = 0; o < opts.orgs; o++) {
    const orgId = 2000 + o + 1;
    const deviceCount = Array.isArray(opts.devicesPerOrg) ? (opts.devicesPerOrg[o] ?? 0) : opts.devicesPerOrg;
    const created = BASE_TIME - rng.int(100, 1200) * DAY;
    const org: FamocoOrganization = {
      id: orgId,
      guid: rng.uuid(),
      name: o < ORG_NAMES.length ? (ORG_NAMES[o] ?? 'Org') : `${ORG_NAMES[o % ORG_NAMES.length] ?? 'Org'} ${o}`,
      create_date: iso(created),
      update_date: iso(created + rng.int(1, 90) * DAY),
      devices_count: deviceCount,
      fleets_count: fleetsPerOrg,
      status: 'active',
      is_blocked: false,
    };
    if (o % 2 === 1) org.x_future_field = { billing_tier: 'gold' };
    data.organizations.push(org);

    const profiles: FamocoProfile[] = [];
    for (let p = 0; p < Math.min(2, fleetsPerOrg); p++) {
      const profile: FamocoProfile = {
        id: ++profileId,
        name: PROFILE_NAMES[(o + p) % PROFILE_NAMES.length] ?? 'Profile',
        description: '',
        organization: orgId,
        version: rng.int(1, 40),
        applications_count: rng.int(1, 12),
        created_at: iso(created + DAY),
        updated_at: iso(created + rng.int(2, 60) * DAY),
      };
      profiles.push(profile);
      data.profiles.push(profile);
    }

    const fleets: FamocoFleet[] = [];
    for (let f = 0; f < fleetsPerOrg; f++) {
      const isStock = f === 0;
      const profile = isStock ? null : (profiles[f % profiles.length] ?? null);
      const fleet: FamocoFleet = {
        id: ++fleetId,
        name: isStock ? 'Stock' : (FLEET_NAMES[1 + ((f - 1 + o) % (FLEET_NAMES.length - 1))] ?? `Fleet ${f}`),
        description: isStock ? 'Devices not yet deployed' : '',
        organization: orgId,
        profile: profile ? { id: profile.id, name: profile.name } : null,
        devices_count: 0,
        is_stock: isStock,
        created_at: iso(created + DAY),
        updated_at: iso(created + rng.int(2, 60) * DAY),
      };
      fleets.push(fleet);
      data.fleets.push(fleet);
    }

    for (let d = 0; d < deviceCount; d++) {
      const id = ++deviceId;
      const m = rng.pick(MODELS);
      const serial = (serialCounter++).toString(16).toUpperCase().padStart(4, '0');
      const fleet = fleets[rng.int(0, fleets.length - 1)] ?? null;
      if (fleet) fleet.devices_count++;
      const online = rng.bool(0.7);
      const neverSynced = rng.bool(0.05);
      const lastSync = neverSynced ? null : BASE_TIME + rng.int(0, 30 * DAY);
      const createdAt = created + rng.int(2, 90) * DAY;
      const label = d % 13 === 4 ? rng.pick(['Contrôleur-Gare-Nord', '改札機-渋谷', 'Kassé 😀 #2']) : `${m.model}-${serial}`;
      const device: FamocoDevice = {
        id,
        famoco_id: famocoId(m.gtin, serial),
        serial_number: rng.bool(0.9) ? `${m.model}${rng.digits(8)}` : null,
        label,
        model: m.model,
        organization: orgId,
        fleet: fleet ? { id: fleet.id, name: fleet.name } : null,
        profile: fleet?.profile ? { ...fleet.profile } : null,
        hardware_details: {
          imei: m.model === 'FX205' ? [] : rng.bool(0.5) ? [imei(rng), imei(rng)] : [imei(rng)],
          wifi_mac: rng.mac('00:16:58'),
          bluetooth_mac: rng.mac('00:16:58'),
          manufacturer: 'Famoco',
          model: m.model,
          serial_number: serial,
          nfc: true,
          ram_mb: m.ram,
          storage_gb: m.storage,
        },
        state_details: {
          os_version: m.os,
          api_level: m.api,
          build_number: `${m.model}_${m.os}_${rng.int(2021, 2024)}${String(rng.int(1, 12)).padStart(2, '0')}`,
          agent_version: rng.pick(['4.12.0', '4.13.2', '5.0.1']),
          battery_level: rng.int(3, 100),
          battery_plugged: rng.bool(0.3),
          is_online: online,
          ip_address: online ? `192.168.${rng.int(0, 20)}.${rng.int(2, 250)}` : null,
          storage_free_mb: rng.int(200, m.storage * 900),
          last_sync: lastSync === null ? null : iso(lastSync),
          sync_status: neverSynced ? 'never_synced' : rng.pick(['synced', 'synced', 'synced', 'pending', 'failed'] as const),
          heartbeat: lastSync === null ? null : iso(lastSync + rng.int(0, 3 * DAY)),
        },
        maintenance_status: fleet?.is_stock ? 'in_stock' : rng.bool(0.05) ? 'in_repair' : 'in_the_field',
        comment: rng.bool(0.1) ? 'Écran remplacé 2024-02' : '',
        is_archived: false,
        created_at: iso(createdAt),
        updated_at: iso(createdAt + rng.int(1, 200) * DAY),
      };
      if (d % 9 === 2) device.x_future_field = { esim: { eid: rng.digits(32) } };
      data.devices.push(device);
    }
  }
  return data;
}

// ---------------------------------------------------------------- shared DRF behaviour

export interface FamocoSimulatorOptions {
  token: string;
  data: FamocoData;
  rateLimit?: RateWindow | RateWindow[];
  /** Emit next/previous links on this foreign origin (e.g. 'http://evil.example:9') instead of ours. */
  nextOriginOverride?: string;
  /** `next` always points at the current page again (never null): a pagination-loop trap. */
  repeatNext?: boolean;
  /**
   * DRF pagination class: `page` (PageNumberPagination, default) or `limit-offset`
   * (LimitOffsetPagination: `?limit=N&offset=M`, default limit 10, as third-party clients call it).
   */
  pagination?: 'page' | 'limit-offset';
}

/** Fault: the next link of page `from` (1-based) points at page `to` instead, a page the walk already read. */
export interface FamocoLinkGlitch {
  from: number;
  to: number;
}

abstract class FamocoBase extends HttpSimulator {
  readonly token: string;
  /** Public and mutable. */
  data: FamocoData;
  nextOriginOverride: string | undefined;
  repeatNext: boolean;
  pagination: 'page' | 'limit-offset';
  /**
   * DRF CursorPagination instead of page numbers: links carry an opaque `cursor` (base64 of the
   * position) and the body has no count, so a link says nothing about where it stands.
   */
  cursorLinks = false;
  /** See FamocoLinkGlitch; null: none. */
  linkGlitch: FamocoLinkGlitch | null = null;

  constructor(opts: FamocoSimulatorOptions) {
    super({ rateLimit: opts.rateLimit });
    this.token = opts.token;
    this.data = opts.data;
    this.nextOriginOverride = opts.nextOriginOverride;
    this.repeatNext = opts.repeatNext ?? false;
    this.pagination = opts.pagination ?? 'page';
  }

  /** DRF LimitOffsetPagination (default_limit 10, no max): ignores `page`/`page_size`. */
  protected limitOffset<T>(req: SimRequest, items: readonly T[]): SimResponse {
    const int = (name: string, dflt: number, min: number): number | SimResponse => {
      const raw = req.query.get(name);
      if (raw === null) return dflt;
      if (!/^\d+$/.test(raw.trim())) return fieldError(name, 'A valid integer is required.');
      return Math.max(min, Number(raw.trim()));
    };
    const limit = int('limit', 10, 1);
    if (typeof limit !== 'number') return limit;
    const offset = int('offset', 0, 0);
    if (typeof offset !== 'number') return offset;
    const count = items.length;
    const link = (o: number | null): string => {
      const u = new URL(req.path, this.nextOriginOverride ?? req.origin);
      for (const [k, v] of req.query) u.searchParams.append(k, v);
      u.searchParams.set('limit', String(limit));
      if (o === null) u.searchParams.delete('offset');
      else u.searchParams.set('offset', String(o));
      return u.toString();
    };
    let next: string | null = offset + limit < count ? link(offset + limit) : null;
    const previous = offset > 0 ? link(offset - limit > 0 ? offset - limit : null) : null;
    if (this.repeatNext) next = link(offset);
    return { status: 200, body: { count, next, previous, results: items.slice(offset, offset + limit) } };
  }

  /** DRF PageNumberPagination (page_size_query_param='page_size', max_page_size=1000). */
  protected paginate<T>(req: SimRequest, items: readonly T[]): SimResponse {
    if (this.pagination === 'limit-offset') return this.limitOffset(req, items);
    const psRaw = req.query.get('page_size');
    let pageSize = 100;
    if (psRaw !== null) {
      if (!/^-?\d+$/.test(psRaw.trim())) return fieldError('page_size', 'A valid integer is required.');
      pageSize = Number(psRaw.trim());
      if (pageSize < 1) return fieldError('page_size', 'Ensure this value is greater than or equal to 1.');
      if (pageSize > 1000) return fieldError('page_size', 'Ensure this value is less than or equal to 1000.');
    }
    const count = items.length;
    const numPages = Math.max(1, Math.ceil(count / pageSize));
    const pageRaw = req.query.get('page');
    let page = 1;
    const cursorRaw = this.cursorLinks ? req.query.get('cursor') : null;
    if (cursorRaw !== null) {
      const m = /^o=(\d+)$/.exec(Buffer.from(cursorRaw, 'base64url').toString('utf8'));
      if (!m) return { status: 404, body: { detail: 'Invalid cursor' } };
      page = Math.floor(Number(m[1]) / pageSize) + 1;
    } else if (pageRaw !== null) {
      if (pageRaw === 'last') page = numPages;
      else if (/^\d+$/.test(pageRaw)) page = Number(pageRaw);
      else return invalidPage();
      if (page < 1 || page > numPages) return invalidPage();
    }
    const results = items.slice((page - 1) * pageSize, page * pageSize);
    const linkOrigin = this.nextOriginOverride ?? req.origin;
    const link = (p: number | null): string => {
      const u = new URL(req.path, linkOrigin);
      for (const [k, v] of req.query) u.searchParams.append(k, v);
      if (this.cursorLinks) {
        u.searchParams.delete('cursor');
        if (p !== null) u.searchParams.set('cursor', Buffer.from(`o=${(p - 1) * pageSize}`).toString('base64url'));
      } else if (p === null) u.searchParams.delete('page');
      else u.searchParams.set('page', String(p));
      return u.toString();
    };
    let next: string | null = page < numPages ? link(page + 1) : null;
    const previous: string | null = page > 1 ? link(page === 2 ? null : page - 1) : null;
    if (this.repeatNext) next = link(page);
    if (this.linkGlitch?.from === page) next = link(this.linkGlitch.to === 1 ? null : this.linkGlitch.to);
    return { status: 200, body: this.cursorLinks ? { next, previous, results } : { count, next, previous, results } };
  }

  protected orgById(idParam: string): FamocoOrganization | undefined {
    if (!/^\d+$/.test(idParam)) return undefined;
    const id = Number(idParam);
    return this.data.organizations.find((o) => o.id === id);
  }

  protected orgByGuid(guid: string): FamocoOrganization | undefined {
    return this.data.organizations.find((o) => o.guid === guid.toLowerCase());
  }

  protected override authenticate(req: SimRequest): SimResponse | null {
    const hasHeader = typeof req.headers.authorization === 'string' && req.headers.authorization.length > 0;
    if (!hasHeader) return unauthorized('Authentication credentials were not provided.');
    const token = bearerToken(req.headers);
    if (token === null) return unauthorized('Invalid token header. No credentials provided.');
    return token === this.token ? null : unauthorized('Invalid token.');
  }

  protected override rateLimitResponse(_req: SimRequest, retryAfterSec: number): SimResponse {
    return {
      status: 429,
      body: { errors: { detail: `Request was throttled. Expected available in ${retryAfterSec} seconds.` } },
      headers: { 'retry-after': String(retryAfterSec) },
    };
  }

  protected override commonHeaders(): Record<string, string> {
    return { allow: 'GET, POST, HEAD, OPTIONS', vary: 'Accept' };
  }

  protected override errorBody(status: number): unknown {
    const detail: Record<number, string> = {
      400: 'Bad request.',
      401: 'Authentication credentials were not provided.',
      403: 'You do not have permission to perform this action.',
      404: 'Not found.',
      405: 'Method not allowed.',
      429: 'Request was throttled.',
      500: 'A server error occurred.',
    };
    return { errors: { detail: detail[status] ?? 'A server error occurred.' } };
  }
}

function fieldError(field: string, message: string): SimResponse {
  return { status: 400, body: { errors: { [field]: [message] } } };
}

function invalidPage(): SimResponse {
  return { status: 404, body: { errors: { detail: 'Invalid page.' } } };
}

function notFoundBody(): SimResponse {
  return { status: 404, body: { errors: { detail: 'Not found.' } } };
}

function unauthorized(detail: string): SimResponse {
  return { status: 401, body: { errors: { detail } }, headers: { 'www-authenticate': 'Bearer realm="api"' } };
}

// ---------------------------------------------------------------- MDM

export class FamocoSimulator extends FamocoBase {
  constructor(opts: FamocoSimulatorOptions) {
    super(opts);
    this.get(/^\/api\/organizations\/?$/, (req) => this.paginate(req, byId(this.data.organizations)));
    this.get(/^\/api\/organizations\/([^/]+)\/devices\/?$/, (req, [id]) => {
      const org = this.orgById(id ?? '');
      if (!org) return notFoundBody();
      return this.paginate(req, byId(this.data.devices.filter((d) => d.organization === org.id)));
    });
    this.get(/^\/api\/organizations\/([^/]+)\/fleets\/?$/, (req, [id]) => {
      const org = this.orgById(id ?? '');
      if (!org) return notFoundBody();
      return this.paginate(req, byId(this.data.fleets.filter((f) => f.organization === org.id)));
    });
    this.get(/^\/api\/organizations\/([^/]+)\/profiles\/?$/, (req, [id]) => {
      const org = this.orgById(id ?? '');
      if (!org) return notFoundBody();
      return this.paginate(req, byId(this.data.profiles.filter((p) => p.organization === org.id)));
    });
  }
}

// ---------------------------------------------------------------- Insights

/** Device snapshot as served by the Insights API (derived from the MDM device). */
export interface FamocoInsightsDevice {
  famoco_id: string;
  serial_number: string | null;
  model: string;
  organization_guid: string;
  os_version: string;
  agent_version: string;
  battery_level: number;
  battery_health: 'good' | 'fair' | 'poor';
  storage_free_mb: number;
  is_online: boolean;
  last_seen: string | null;
}

export function toInsightsDevice(d: FamocoDevice, orgGuid: string): FamocoInsightsDevice {
  return {
    famoco_id: d.famoco_id,
    serial_number: d.serial_number,
    model: d.model,
    organization_guid: orgGuid,
    os_version: d.state_details.os_version,
    agent_version: d.state_details.agent_version,
    battery_level: d.state_details.battery_level,
    battery_health: d.id % 10 === 0 ? 'poor' : d.id % 4 === 0 ? 'fair' : 'good',
    storage_free_mb: d.state_details.storage_free_mb,
    is_online: d.state_details.is_online,
    last_seen: d.state_details.heartbeat,
  };
}

export class FamocoInsightsSimulator extends FamocoBase {
  constructor(opts: FamocoSimulatorOptions) {
    super(opts);
    this.get(/^\/api\/organizations\/?$/, (req) =>
      this.paginate(
        req,
        byId(this.data.organizations).map((o) => ({ id: o.id, guid: o.guid, name: o.name })),
      ),
    );
    this.get(/^\/api\/organizations\/([^/]+)\/devices\/?$/, (req, [guid]) => {
      const org = this.orgByGuid(guid ?? '');
      if (!org) return notFoundBody();
      const devices = byId(this.data.devices.filter((d) => d.organization === org.id));
      return this.paginate(req, devices.map((d) => toInsightsDevice(d, org.guid)));
    });
  }
}
