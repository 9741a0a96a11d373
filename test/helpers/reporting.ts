/**
 * The six-vendor fleet of test/reporting.test.ts and the numbers it expects, computed from the
 * simulators' own data (never by our SQL): devices per organization, stale devices, missing
 * patches, compliance per day, tracked time per week.
 */
import { AUTOMOX_PATCH_CATEGORIES } from '../../jobs/automox.js';
import type { AutomoxData } from '../../src/simulators/automox.js';
import type { FamocoData } from '../../src/simulators/famoco.js';
import type { PartnerData } from '../../src/simulators/partner.js';
import type { TogglData } from '../../src/simulators/toggl.js';
import { automoxSource, FAST, famocoSource, izumaSource, testConfig } from './config.js';

export const DAY = 86_400_000;
export const KEYS = { AX: 'ax-key-r', FM: 'fm-token-r', IZ: 'iz-key-r', TG: 'tg-token-r', PID: 'partner-r', PSECRET: 'partner-secret-r' };
export const STALE_DAYS = 30;

/** Every vendor as a source, on the simulators' origins `o` (ax, fm, fi, iz, tg, pt). */
export function reportingConfig(o: Record<string, string>) {
  return testConfig([
    // immediate: a vendor delete shows in one round (confirm mode is tested in test/deletes.test.ts).
    automoxSource('ax', `${o.ax}/api`, 'AX', { deletes: 'immediate', rateLimits: { api: FAST, servers: FAST } }),
    famocoSource('fm', o.fm!, 'FM', { rateLimits: { mdm: FAST } }),
    famocoSource('fi', o.fi!, 'FM', { vendor: 'famoco-insights', rateLimits: { insights: FAST }, options: { endpoints: { devices: '/api/organizations/{guid}/devices/' } } }),
    izumaSource('iz', o.iz!, 'IZ', { rateLimits: { api: FAST } }),
    { id: 'tg', vendor: 'toggl', baseUrl: o.tg, credentials: { apiToken: '${TG}' }, pageSize: 5, rateLimits: { api: { windows: [{ max: 500, durationMs: 1000 }], concurrency: 2 } } },
    {
      id: 'pt',
      vendor: 'rest',
      baseUrl: `${o.pt}/v1`,
      credentials: { clientId: '${PID}', clientSecret: '${PSECRET}' },
      rateLimits: { api: { tokenBucket: { capacity: 500, refillPerMinute: 60_000 }, concurrency: 2 } },
      history: ['users'],
      rest: {
        auth: { type: 'basic' },
        orgUnits: { ids: ['ou-emea', 'ou-apac'], activate: { method: 'PUT', path: '/org-units/active', body: { id: '{ou}' } } },
        resources: [
          { name: 'sites', path: '/sites', table: 'organizations', pagination: { type: 'page', limit: 5 }, map: { name: 'name', parent_external_id: '$ou' } },
          {
            name: 'devices',
            parent: 'sites',
            path: '/sites/{scope}/devices',
            table: 'devices',
            pagination: { type: 'page', limit: 5 },
            map: { organization_external_id: 'site_id', name: 'name', serial_number: 'serial', os_family: 'os.family', os_version: 'os.version', status: 'status', vendor_last_seen_at: 'last_seen_at' },
          },
          { name: 'users', path: '/users', table: 'users', pagination: { type: 'page', limit: 5 }, map: { organization_external_id: '$ou', user_external_id: 'id', name: 'display_name', email: 'email', active: 'active' } },
        ],
      },
    },
  ]);
}

// ------------------------------------------------------------------ independent expectations

export interface Dev {
  source: string;
  org: string;
  orgName: string | null;
  lastSeenMs: number | null;
  compliant: boolean | null;
}

export function parseVendorTime(s: string | null | undefined): number | null {
  if (!s) return null;
  // Automox's "+0000" offset, written out by hand rather than through our toTimestamp.
  const m = /^(.*)([+-])(\d{2})(\d{2})$/.exec(s);
  return Date.parse(m ? `${m[1]}${m[2]}${m[3]}:${m[4]}` : s);
}

/** The vendors' devices now, by source and organization. */
export function expectedDevices(v: { ax: AutomoxData; fm: FamocoData; pt: PartnerData; izumaDevices: Array<{ account_id: string }>; izAccountName: string }): Dev[] {
  const { ax, fm, pt, izumaDevices, izAccountName } = v;
  const axOrg = new Map(ax.orgs.map((o) => [o.id, o.name]));
  const fmOrg = new Map(fm.organizations.map((o) => [o.id, o]));
  const ptSite = new Map(pt.sites.map((s) => [s.id, s.name]));
  return [
    ...ax.servers.map((s) => ({ source: 'ax', org: String(s.organization_id), orgName: axOrg.get(s.organization_id) ?? null, lastSeenMs: parseVendorTime(s.last_refresh_time), compliant: s.compliant })),
    ...fm.devices.map((d) => ({ source: 'fm', org: String(d.organization), orgName: fmOrg.get(d.organization)?.name ?? null, lastSeenMs: parseVendorTime(d.state_details.last_sync), compliant: null })),
    ...fm.devices.map((d) => ({ source: 'fi', org: fmOrg.get(d.organization)!.guid, orgName: fmOrg.get(d.organization)?.name ?? null, lastSeenMs: parseVendorTime(d.state_details.heartbeat), compliant: null })),
    ...izumaDevices.map((d) => ({ source: 'iz', org: d.account_id, orgName: izAccountName, lastSeenMs: null, compliant: null })),
    ...pt.devices.map((d) => ({ source: 'pt', org: d.site_id, orgName: ptSite.get(d.site_id) ?? null, lastSeenMs: parseVendorTime(d.last_seen_at), compliant: null })),
  ];
}

/** (source, org, org name) -> device count, as sorted tuples. */
export function countByOrg(devs: readonly Dev[]): Array<[string, string, string | null, number]> {
  const m = new Map<string, [string, string, string | null, number]>();
  for (const d of devs) {
    const k = `${d.source}\u0000${d.org}`;
    const e = m.get(k) ?? [d.source, d.org, d.orgName, 0];
    e[3]++;
    m.set(k, e);
  }
  return [...m.values()].sort((a, b) => (a[0] + a[1] < b[0] + b[1] ? -1 : 1));
}

/** The same tuples counted from the inventory report's rows. */
export function orgCounts(rows: Array<Record<string, unknown>>): Array<[string, string, string | null, number]> {
  const m = new Map<string, [string, string, string | null, number]>();
  for (const r of rows) {
    const k = `${String(r.source_id)}\u0000${String(r.organization_id)}`;
    const e = m.get(k) ?? [String(r.source_id), String(r.organization_id), (r.organization_name as string | null) ?? null, 0];
    e[3]++;
    m.set(k, e);
  }
  return [...m.values()].sort((a, b) => (a[0] + a[1] < b[0] + b[1] ? -1 : 1));
}

export function staleIds(devs: readonly Dev[], nowMs: number): number {
  return devs.filter((d) => d.lastSeenMs !== null && d.lastSeenMs < nowMs - STALE_DAYS * DAY).length;
}

export function expectedCompliance(ax: AutomoxData) {
  const names = new Map(AUTOMOX_PATCH_CATEGORIES.map((c) => [c.id, c.name]));
  const m = new Map<string, { source: string; organization_id: string; category_id: number; category_name: string | null; severity: string; devices: Set<number>; missing: number; cves: number }>();
  for (const p of ax.packages) {
    if (p.installed || p.patch_classification_category_id === null) continue;
    const k = `${p.organization_id}/${p.patch_classification_category_id}/${p.severity}`;
    const e = m.get(k) ?? { source: 'ax', organization_id: String(p.organization_id), category_id: p.patch_classification_category_id, category_name: names.get(p.patch_classification_category_id) ?? null, severity: p.severity, devices: new Set(), missing: 0, cves: 0 };
    e.devices.add(p.server_id);
    e.missing++;
    if (p.cves.length > 0) e.cves++;
    m.set(k, e);
  }
  return [...m.values()]
    .map((e) => ({ source_id: e.source, organization_id: e.organization_id, category_id: e.category_id, category_name: e.category_name, severity: e.severity, devices_missing_patches: e.devices.size, missing_packages: e.missing, missing_packages_with_cves: e.cves }))
    .sort((a, b) => a.organization_id.localeCompare(b.organization_id) || a.category_id - b.category_id || a.severity.localeCompare(b.severity));
}

/** Compliance rows in the order expectedCompliance() returns them. */
export function byKey<T extends { organization_id: unknown; category_id: unknown; severity: unknown }>(rows: T[]): T[] {
  return [...rows].sort((a, b) => String(a.organization_id).localeCompare(String(b.organization_id)) || Number(a.category_id) - Number(b.category_id) || String(a.severity).localeCompare(String(b.severity)));
}

export function complianceDaily(ax: AutomoxData) {
  return ax.orgs
    .map((o) => ({
      organization_id: String(o.id),
      devices: ax.servers.filter((s) => s.organization_id === o.id).length,
      compliant_devices: ax.servers.filter((s) => s.organization_id === o.id && s.compliant).length,
      missing_critical_patches: ax.packages.filter((p) => p.organization_id === o.id && !p.installed && p.severity === 'critical').length,
    }))
    .filter((r) => r.devices > 0 || r.missing_critical_patches > 0)
    .sort((a, b) => a.organization_id.localeCompare(b.organization_id));
}

/** ISO week "YYYY-Www" of a UTC instant, computed by hand. */
function isoWeek(ms: number): string {
  const d = new Date(ms);
  const day = (d.getUTCDay() + 6) % 7; // Monday 0
  const thursday = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day + 3);
  const year = new Date(thursday).getUTCFullYear();
  const week = 1 + Math.floor((thursday - Date.UTC(year, 0, 4)) / (7 * DAY) + ((new Date(Date.UTC(year, 0, 4)).getUTCDay() + 6) % 7) / 7);
  return `${year}-W${String(week).padStart(2, '0')}`;
}

export function expectedTime(tg: TogglData) {
  const m = new Map<string, { workspace_id: string; project_id: string | null; iso_week: string; entries: number; seconds: number }>();
  for (const e of tg.timeEntries) {
    const week = isoWeek(Date.parse(e.start));
    const k = `${e.workspace_id}/${e.project_id}/${e.user_id}/${week}`;
    const r = m.get(k) ?? { workspace_id: String(e.workspace_id), project_id: e.project_id === null ? null : String(e.project_id), iso_week: week, entries: 0, seconds: 0 };
    r.entries++;
    r.seconds += e.duration;
    m.set(k, r);
  }
  return [...m.values()].sort((a, b) => `${a.workspace_id}/${a.iso_week}/${a.project_id}`.localeCompare(`${b.workspace_id}/${b.iso_week}/${b.project_id}`));
}
