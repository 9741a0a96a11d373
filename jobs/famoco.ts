import { z } from 'zod/v4';
import type { SourceConfig } from '../src/config.js';
import { defineResource, type ErrorBodyReader, type VendorDefinition } from '../src/connector.js';
import { toBool, toInt, toText, toTimestamp } from '../src/normalize.js';
import { nextLink } from '../src/pagination/next-link.js';

// Famoco MDM and Famoco Insights: https://help.famoco.com/developers/rest-api/quick-start/
// (authentication, organizations, throttling)
//
// Base URL convention: a Famoco source's `baseUrl` is the ORIGIN only
// (`https://my.famoco.com` for the MDM, `https://insights.famoco.com` for Insights), and every
// path below starts with `/api/...`. Unlike Automox (whose baseUrl ends in `/api`), Famoco
// answers absolute `next` links, which the walk follows as they are; keeping the base at the
// origin keeps paths and links in one shape. A link is only followed on the base URL's origin.
//
// Pagination: Django REST Framework `{count, next, previous, results}`, `page_size` up to 1000
// (default 100); the first request carries `page_size`, the rest follow `next`.
// Famoco documents no page size; DRF servers commonly cap `page_size` at 100 (some refuse more
// rather than clamp), so ask for 100 unless the source's `pageSize` says otherwise.
// Famoco publishes no definition; third-party clients list with `?limit=10`, which suggests DRF
// limit/offset links. The first request sends the size both ways (DRF ignores the parameter of
// the other style) and the walk follows `page=` and `offset=` links alike.
const famocoPages = () => nextLink({ sizeParam: ['page_size', 'limit'], defaultPageSize: 100, maxPageSize: 1000 });

const id = z.union([z.number().int(), z.string().min(1)]);
// References arrive as an id or as a nested object with one, depending on endpoint and version:
// accept both rather than quarantine a device over the shape of a link.
const ref = z.union([id, z.object({ id })]);

function refId(v: z.infer<typeof ref> | null | undefined): string | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'object' ? String(v.id) : String(v);
}

// Record times: the real API names them `create_date` / `update_date` (organizations in public
// client code and its recorded answers); `created_at` / `updated_at` are read too, for objects that
// use that spelling. docs/connectors.md, "Famoco: no public definition".
const times = { create_date: z.unknown(), update_date: z.unknown(), created_at: z.unknown(), updated_at: z.unknown() };

/** A Famoco object's creation and update times, from either spelling (`create_date` first). */
export function famocoTimes(o: { create_date?: unknown; update_date?: unknown; created_at?: unknown; updated_at?: unknown }): {
  vendor_created_at: string | null;
  vendor_updated_at: string | null;
} {
  return {
    vendor_created_at: toTimestamp(o.create_date) ?? toTimestamp(o.created_at),
    vendor_updated_at: toTimestamp(o.update_date) ?? toTimestamp(o.updated_at),
  };
}

const orgSchema = z.object({ id, guid: z.string().nullish(), name: z.string().nullish(), ...times });
const fleetSchema = z.object({
  id,
  name: z.string().nullish(),
  organization: ref.nullish(),
  devices_count: z.unknown(),
  is_stock: z.unknown(),
  ...times,
});
const deviceSchema = z.object({
  id,
  famoco_id: z.unknown(),
  serial_number: z.unknown(),
  label: z.unknown(),
  model: z.unknown(),
  organization: ref.nullish(),
  fleet: ref.nullish(),
  hardware_details: z.object({ model: z.unknown(), serial_number: z.unknown() }).nullish(),
  state_details: z.object({ os_version: z.unknown(), agent_version: z.unknown(), is_online: z.unknown(), last_sync: z.unknown() }).nullish(),
  is_archived: z.unknown(),
  ...times,
});
const insightsDeviceSchema = z.object({
  famoco_id: z.string().min(1),
  serial_number: z.string().nullish(),
  model: z.string().nullish(),
  organization_guid: z.string().nullish(),
  os_version: z.unknown(),
  agent_version: z.unknown(),
  is_online: z.unknown(),
  last_seen: z.unknown(),
});

function onlineStatus(v: unknown): string | null {
  return typeof v === 'boolean' ? (v ? 'online' : 'offline') : null;
}

/**
 * Reads a Famoco error body: `{"errors": {"detail": "..."}}` gives the detail, field errors
 * `{"errors": {"page_size": ["..."]}}` give "page_size: ...", several joined by "; ".
 * A bare DRF body (`{"detail": "..."}`) is read the same way. Never throws.
 */
export const readFamocoError: ErrorBodyReader = (body) => {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return {};
  const b = body as Record<string, unknown>;
  const errors: unknown = 'errors' in b ? b.errors : 'detail' in b ? b : undefined;
  if (typeof errors === 'string') return { message: errors };
  if (Array.isArray(errors)) return { message: errors.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join('; ') };
  if (errors === null || typeof errors !== 'object') return {};
  const parts: string[] = [];
  for (const [field, value] of Object.entries(errors as Record<string, unknown>)) {
    const msgs = Array.isArray(value) ? value.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))) : [typeof value === 'string' ? value : JSON.stringify(value)];
    const text = msgs.join(' ');
    parts.push(field === 'detail' || field === 'non_field_errors' ? text : `${field}: ${text}`);
  }
  return parts.length > 0 ? { message: parts.join('; ') } : {};
};

/** The organizations list, the same on the MDM and on Insights but for the lane it goes through. */
function organizations(lane: string) {
  return defineResource({
    name: 'organizations',
    table: 'organizations',
    lane,
    docUrl: 'https://developers.famoco.com/quick-start/#your-organization-idguid',
    path: () => '/api/organizations/',
    pagination: famocoPages(),
    record: orgSchema,
    id: (o) => String(o.id),
    map: (o) => ({
      name: o.name ?? null,
      guid: o.guid ?? null,
      ...famocoTimes(o),
    }),
  });
}

/**
 * `fleetsync check`: one organization of the list the quick start documents, sized for either DRF
 * pagination class (each reads its own parameter and ignores the other).
 */
function organizationsProbe(lane: string): VendorDefinition['probe'] {
  return () => ({ lane, request: { path: '/api/organizations/', params: { page_size: 1, limit: 1 } } });
}

const tokenCredentials = z.strictObject({ token: z.string().min(1, 'is empty') });
const bearer = (c: Record<string, string>) => ({ Authorization: `Bearer ${c.token ?? ''}` });

/** Famoco MDM: bearer token; org-scoped devices and fleets; 100 requests/min and 1000/h per client. */
export const famoco: VendorDefinition = {
  vendor: 'famoco',
  docUrl: 'https://developers.famoco.com/',
  credentials: tokenCredentials,
  authHeaders: bearer,
  lanes: {
    // "MDM API endpoints: 100 requests/minute and 1000 requests/hour per client"
    mdm: { windows: [{ max: 100, durationMs: 60_000 }, { max: 1000, durationMs: 3_600_000 }] },
    // "MDM API export endpoints (/api/organizations/<id>/<resource>/export/): 6 requests/minute"
    export: { windows: [{ max: 6, durationMs: 60_000 }] },
  },
  readError: readFamocoError,
  probe: organizationsProbe('mdm'),
  resources: [
    organizations('mdm'),
    defineResource({
      // A device belongs to one fleet; fleets land in device_groups (the stock fleet is the default).
      name: 'device_groups',
      table: 'device_groups',
      lane: 'mdm',
      parent: 'organizations',
      docUrl: 'https://developers.famoco.com/',
      path: (org) => `/api/organizations/${encodeURIComponent(org)}/fleets/`,
      pagination: famocoPages(),
      record: fleetSchema,
      id: (f) => String(f.id),
      map: (f, ctx) => ({
        organization_external_id: refId(f.organization) ?? ctx.scope,
        name: f.name ?? null,
        is_default: toBool(f.is_stock),
        device_count: toInt(f.devices_count),
        ...famocoTimes(f),
      }),
    }),
    defineResource({
      // famoco_id (GS1 string), IMEIs and MACs stay in raw; serial_number is the device's own
      // serial, else the hardware serial.
      name: 'devices',
      table: 'devices',
      lane: 'mdm',
      parent: 'organizations',
      docUrl: 'https://developers.famoco.com/',
      path: (org) => `/api/organizations/${encodeURIComponent(org)}/devices/`,
      pagination: famocoPages(),
      record: deviceSchema,
      id: (d) => String(d.id),
      map: (d, ctx) => ({
        organization_external_id: refId(d.organization) ?? ctx.scope,
        device_group_external_id: refId(d.fleet),
        name: toText(d.label),
        serial_number: toText(d.serial_number) ?? toText(d.hardware_details?.serial_number),
        model: toText(d.model) ?? toText(d.hardware_details?.model),
        // Famoco builds and manages Android devices only; the API gives just the version.
        os_family: 'Android',
        os_name: 'Android',
        os_version: toText(d.state_details?.os_version),
        agent_version: toText(d.state_details?.agent_version),
        status: toBool(d.is_archived) ? 'archived' : onlineStatus(d.state_details?.is_online),
        ...famocoTimes(d),
        vendor_last_seen_at: toTimestamp(d.state_details?.last_sync),
      }),
    }),
  ],
};

/** Insights list resources whose endpoint comes from the source's `options.endpoints`. */
const INSIGHTS_CONFIGURED = ['devices'] as const;

function insightsEndpoint(source: SourceConfig, resource: string): string {
  const endpoints = source.options?.endpoints as Record<string, unknown> | undefined;
  const t = endpoints?.[resource];
  // validateSource guarantees a template for every synced resource.
  return typeof t === 'string' ? t : `/api/organizations/{guid}/${resource}/`;
}

function validateInsights(source: SourceConfig): string[] {
  const problems: string[] = [];
  const wanted = source.resources ?? ['organizations', ...INSIGHTS_CONFIGURED];
  const endpoints = source.options?.endpoints;
  if (endpoints !== undefined && (endpoints === null || typeof endpoints !== 'object' || Array.isArray(endpoints))) {
    return ['options.endpoints: must be a map of resource name to path template, e.g. {devices: "/api/organizations/{guid}/devices/"}'];
  }
  const map = (endpoints ?? {}) as Record<string, unknown>;
  for (const name of INSIGHTS_CONFIGURED) {
    if (!wanted.includes(name)) continue;
    const t = map[name];
    if (typeof t !== 'string' || t === '') {
      problems.push(`options.endpoints.${name}: the Insights path template of ${name} is required (the Insights doc gives no list endpoints), e.g. "/api/organizations/{guid}/${name}/"`);
    } else if (!t.startsWith('/') || !t.includes('{guid}') || /^\/\//.test(t) || /[?#]/.test(t)) {
      problems.push(`options.endpoints.${name}: must be a path starting with "/" that contains {guid} and no query, got ${JSON.stringify(t.slice(0, 100))}`);
    }
  }
  for (const key of Object.keys(map)) {
    if (!(INSIGHTS_CONFIGURED as readonly string[]).includes(key)) problems.push(`options.endpoints.${key}: unknown Insights resource (known: ${INSIGHTS_CONFIGURED.join(', ')})`);
  }
  return problems;
}

/**
 * Famoco Insights: the MDM's token; organizations scoped by GUID; 60 requests/min and 600/h.
 * Its list endpoints are set per source in `options.endpoints` (path templates with `{guid}`).
 * Insights devices are keyed by famoco_id, and their organization_external_id is the org GUID
 * (Insights identifies organizations by GUID: join on organizations.guid).
 */
export const famocoInsights: VendorDefinition = {
  vendor: 'famoco-insights',
  docUrl: 'https://developers.famoco.com/',
  credentials: tokenCredentials,
  authHeaders: bearer,
  lanes: {
    // "Insights API endpoints: 60 requests/minute and 600 requests/hour per client"
    insights: { windows: [{ max: 60, durationMs: 60_000 }, { max: 600, durationMs: 3_600_000 }] },
  },
  readError: readFamocoError,
  validateSource: validateInsights,
  probe: organizationsProbe('insights'),
  resources: [
    organizations('insights'),
    defineResource({
      name: 'devices',
      table: 'devices',
      lane: 'insights',
      parent: 'organizations',
      scopeFrom: (org) => {
        const guid = org.raw !== null && typeof org.raw === 'object' ? (org.raw as { guid?: unknown }).guid : undefined;
        return typeof guid === 'string' && guid !== '' ? guid : null;
      },
      docUrl: 'https://developers.famoco.com/',
      path: (guid, source) => insightsEndpoint(source, 'devices').replaceAll('{guid}', encodeURIComponent(guid)),
      pagination: famocoPages(),
      record: insightsDeviceSchema,
      idField: 'famoco_id',
      id: (d) => d.famoco_id,
      map: (d, ctx) => ({
        organization_external_id: d.organization_guid ?? ctx.scope,
        serial_number: d.serial_number ?? null,
        model: d.model ?? null,
        os_family: 'Android',
        os_name: 'Android',
        os_version: toText(d.os_version),
        agent_version: toText(d.agent_version),
        status: onlineStatus(d.is_online),
        vendor_last_seen_at: toTimestamp(d.last_seen),
      }),
    }),
  ],
};
