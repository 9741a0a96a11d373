import { z } from 'zod/v4';
import type { SourceConfig } from '../src/config.js';
import { defineResource, type VendorDefinition } from '../src/connector.js';
import { toBool, toInt, toText, toTimestamp } from '../src/normalize.js';
import { pageNumber } from '../src/pagination/page-number.js';
import { staticList } from '../src/pagination/static-list.js';
import { automoxEvents } from './automox-events.js';

// Automox: https://developer.automox.com/developer-portal/
// Bare JSON arrays, `limit` 1..500 (default 500), `page` from 0, no pagination metadata.
const automoxPages = () => pageNumber({ firstPage: 0, defaultPageSize: 500, maxPageSize: 500 });

const id = z.union([z.number().int(), z.string().min(1)]);

const orgSchema = z.object({ id, name: z.string().nullish(), parent_id: id.nullish(), create_time: z.unknown() });
// The published ServerGroup has no creation time: the column stays empty for Automox.
const groupSchema = z.object({ id, organization_id: id.nullish(), name: z.string().nullish(), server_count: z.unknown() });
const serverSchema = z.object({
  id,
  organization_id: id.nullish(),
  server_group_id: id.nullish(),
  name: z.string().nullish(),
  display_name: z.unknown(),
  serial_number: z.unknown(),
  os_family: z.unknown(),
  os_name: z.unknown(),
  os_version: z.unknown(),
  agent_version: z.unknown(),
  create_time: z.unknown(),
  last_update_time: z.unknown(),
  last_refresh_time: z.unknown(),
  connected: z.unknown(),
  status: z.unknown(),
  detail: z.unknown(),
  compliant: z.unknown(),
  is_compatible: z.unknown(),
  pending_patches: z.unknown(),
  needs_reboot: z.unknown(),
  last_disconnect_time: z.unknown(),
});
const packageSchema = z.object({
  id,
  server_id: id.nullish(),
  organization_id: id.nullish(),
  name: z.string().nullish(),
  display_name: z.unknown(),
  version: z.unknown(),
  severity: z.unknown(),
  installed: z.unknown(),
  patch_classification_category_id: z.unknown(),
  create_time: z.unknown(),
  cves: z.unknown(),
  is_managed: z.unknown(),
});
const categorySchema = z.strictObject({ id: z.number().int(), name: z.string() });

/** The documented `patch_classification_category_id` table (Automox serves no endpoint for it). */
export const AUTOMOX_PATCH_CATEGORIES: ReadonlyArray<{ id: number; name: string }> = [
  'Application',
  'Connectors',
  'Critical Updates',
  'Definition Updates',
  'Developer Kits',
  'Feature Packs',
  'Guidance',
  'Security Updates',
  'Service Packs',
  'Tools',
  'Update Rollups',
  'Updates',
  'Upgrades',
].map((name, i) => ({ id: i + 1, name }));

function deviceStatus(s: z.infer<typeof serverSchema>): string | null {
  const st = s.status;
  if (st !== null && typeof st === 'object' && 'device_status' in st) return toText((st as { device_status: unknown }).device_status);
  if (typeof s.connected === 'boolean') return s.connected ? 'connected' : 'disconnected';
  return null;
}

/** A text field of `detail` (filled only with `include_details=1`); null when absent or blank. */
function detailText(detail: unknown, key: 'MODEL' | 'SERIAL'): string | null {
  if (detail === null || typeof detail !== 'object' || !(key in detail)) return null;
  const v = toText((detail as Record<string, unknown>)[key]);
  return v === null || v.trim() === '' ? null : v;
}

/** `serial_number`, else the hardware serial the agent reported in `detail.SERIAL`. */
function serialOf(s: z.infer<typeof serverSchema>): string | null {
  const own = toText(s.serial_number);
  return own !== null && own.trim() !== '' ? own : detailText(s.detail, 'SERIAL');
}

/**
 * Whether a source lists software Automox cannot patch (`options.includeUnmanaged`, default
 * true): `GET /orgs/{id}/packages` leaves it out unless asked with `includeUnmanaged=1`.
 */
export function includesUnmanaged(source: SourceConfig): boolean {
  return source.options?.includeUnmanaged !== false;
}

function validateAutomox(source: SourceConfig): string[] {
  const v = source.options?.includeUnmanaged;
  return v === undefined || typeof v === 'boolean' ? [] : [`options.includeUnmanaged: must be true or false, got ${JSON.stringify(v)}`];
}

/** Automox: API key as bearer token; 100 requests/s per account; `/servers` is stricter. */
export const automox: VendorDefinition = {
  vendor: 'automox',
  docUrl: 'https://developer.automox.com/developer-portal/',
  credentials: z.strictObject({ apiKey: z.string().min(1, 'is empty') }),
  authHeaders: (c) => ({ Authorization: `Bearer ${c.apiKey ?? ''}` }),
  lanes: {
    // "For most APIs, Automox allows 100 authenticated requests per second."
    api: { windows: [{ max: 100, durationMs: 1000 }], concurrency: 4 },
    // Automox publishes a stricter limit for /servers (under 30 requests per minute).
    servers: { windows: [{ max: 29, durationMs: 60_000 }], concurrency: 2 },
  },
  validateSource: validateAutomox,
  // `fleetsync check`: one organization of the first list a sync reads, on the 100/s lane (the
  // vendor doc's `/users/self` example is not in the published definition; `/orgs` and its
  // `limit` are). Every answer carries the x-ratelimit-* headers.
  probe: () => ({ lane: 'api', request: { path: '/orgs', params: { limit: 1, page: 0 } } }),
  // Device additions and removals between walks (a source's `events: { every }`).
  events: automoxEvents,
  readError: (body) => {
    if (body !== null && typeof body === 'object') {
      const b = body as Record<string, unknown>;
      const errs = b.errors;
      if (Array.isArray(errs)) return { message: errs.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join('; ') };
      if (typeof b.message === 'string') return { message: b.message };
    }
    return {};
  },
  resources: [
    defineResource({
      name: 'organizations',
      table: 'organizations',
      lane: 'api',
      docUrl: 'https://developer.automox.com/openapi/axconsole/operation/getOrganizations/',
      path: () => '/orgs',
      pagination: automoxPages(),
      record: orgSchema,
      id: (o) => String(o.id),
      map: (o) => ({
        name: o.name ?? null,
        parent_external_id: o.parent_id == null ? null : String(o.parent_id),
        vendor_created_at: toTimestamp(o.create_time),
      }),
    }),
    defineResource({
      name: 'device_groups',
      table: 'device_groups',
      lane: 'api',
      parent: 'organizations',
      docUrl: 'https://developer.automox.com/openapi/axconsole/operation/getServerGroups/',
      path: () => '/servergroups',
      params: (org) => ({ o: org }),
      // "Retrieve a specific server group": 404 once the group is gone.
      item: (id, org) => ({ path: `/servergroups/${encodeURIComponent(id)}`, params: { o: org } }),
      pagination: automoxPages(),
      record: groupSchema,
      id: (g) => String(g.id),
      map: (g, ctx) => ({
        organization_external_id: g.organization_id == null ? ctx.scope : String(g.organization_id),
        name: g.name ?? null,
        // "the group with a blank name" is the organization's Default Group.
        is_default: g.name === '' || g.name === null,
        device_count: toInt(g.server_count),
      }),
    }),
    defineResource({
      name: 'devices',
      table: 'devices',
      lane: 'servers',
      parent: 'organizations',
      docUrl: 'https://developer.automox.com/openapi/axconsole/operation/getDevices/',
      path: () => '/servers',
      // `detail` (model, hardware serial) is empty unless asked for: include_details defaults to 0.
      params: (org) => ({ o: org, include_details: '1' }),
      // "Retrieve a specific device" (GET /servers/{id}?o=): 404 once the device is gone. The
      // list has no documented order, so a delete during a walk can hide a present device.
      item: (id, org) => ({ path: `/servers/${encodeURIComponent(id)}`, params: { o: org } }),
      pagination: automoxPages(),
      record: serverSchema,
      id: (s) => String(s.id),
      map: (s, ctx) => ({
        organization_external_id: s.organization_id == null ? ctx.scope : String(s.organization_id),
        device_group_external_id: s.server_group_id == null ? null : String(s.server_group_id),
        name: s.name ?? null,
        display_name: toText(s.display_name),
        serial_number: serialOf(s),
        model: detailText(s.detail, 'MODEL'),
        os_family: toText(s.os_family),
        os_name: toText(s.os_name),
        os_version: toText(s.os_version),
        agent_version: toText(s.agent_version),
        status: deviceStatus(s),
        vendor_created_at: toTimestamp(s.create_time),
        vendor_updated_at: toTimestamp(s.last_update_time),
        vendor_last_seen_at: toTimestamp(s.last_refresh_time),
        compliant: toBool(s.compliant),
        is_compatible: toBool(s.is_compatible),
        pending_patches: toInt(s.pending_patches),
        needs_reboot: toBool(s.needs_reboot),
        vendor_last_disconnect_at: toTimestamp(s.last_disconnect_time),
      }),
    }),
    defineResource({
      name: 'packages',
      table: 'packages',
      lane: 'api',
      parent: 'organizations',
      docUrl: 'https://developer.automox.com/openapi/axconsole/operation/getOrganizationPackages/',
      path: (org) => `/orgs/${encodeURIComponent(org)}/packages`,
      // Without includeUnmanaged=1 the list holds only software Automox can patch; an inventory
      // wants everything installed (`options.includeUnmanaged: false` leaves the rest out).
      params: (org, source) => ({ o: org, ...(includesUnmanaged(source) ? { includeUnmanaged: '1' } : {}) }),
      pagination: automoxPages(),
      record: packageSchema,
      id: (p) => String(p.id),
      map: (p, ctx) => ({
        organization_external_id: p.organization_id == null ? ctx.scope : String(p.organization_id),
        device_external_id: p.server_id == null ? null : String(p.server_id),
        name: p.name ?? null,
        display_name: toText(p.display_name),
        version: toText(p.version),
        severity: toText(p.severity),
        installed: toBool(p.installed),
        patch_category_id: toInt(p.patch_classification_category_id),
        vendor_created_at: toTimestamp(p.create_time),
        cve_count: Array.isArray(p.cves) ? p.cves.length : null,
        unmanaged: typeof p.is_managed === 'boolean' ? !p.is_managed : null,
      }),
    }),
    defineResource({
      name: 'patch_categories',
      table: 'patch_categories',
      lane: 'api',
      docUrl: 'https://developer.automox.com/developer-portal/',
      path: () => '',
      pagination: staticList(() => AUTOMOX_PATCH_CATEGORIES.map((c) => ({ ...c }))),
      record: categorySchema,
      id: (c) => String(c.id),
      map: (c) => ({ name: c.name }),
    }),
  ],
};
