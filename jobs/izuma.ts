import { z } from 'zod/v4';
import { defineResource, type ErrorBodyReader, type VendorDefinition } from '../src/connector.js';
import { toInt, toText, toTimestamp } from '../src/normalize.js';
import { afterCursor } from '../src/pagination/after-cursor.js';
import { singlePage } from '../src/pagination/single-page.js';

// Izuma (formerly Pelion) Device Management:
// https://developer.izumanetworks.com/docs/device-management/current/service-api-references/using-the-apis.html
// https://developer.izumanetworks.com/docs/device-management-api/
//
// Base URL convention: the API origin (`https://api.us-east-1.mbedcloud.com`); paths start
// with `/v3/`. Bearer API key, never in the URL. Lists: `limit` 2..1000, `after` = id of the
// last item, `order=ASC`, `has_more`; `include=total_count` on the first page.
const izumaPages = () => afterCursor({ defaultPageSize: 1000, minPageSize: 2, maxPageSize: 1000 });

// `parent_id` is the parent account of a tenant (the account hierarchy), null at the top.
const accountSchema = z.object({
  id: z.string().min(1),
  display_name: z.string().nullish(),
  company: z.string().nullish(),
  parent_id: z.string().nullish(),
  created_at: z.unknown(),
  updated_at: z.unknown(),
});
const groupSchema = z.object({ id: z.string().min(1), name: z.string().nullish(), devices_count: z.unknown(), created_at: z.unknown(), updated_at: z.unknown() });
const deviceSchema = z.object({
  id: z.string().min(1),
  account_id: z.string().nullish(),
  name: z.string().nullish(),
  serial_number: z.string().nullish(),
  device_class: z.string().nullish(),
  state: z.string().nullish(),
  groups: z.array(z.string()).nullish(),
  created_at: z.unknown(),
  updated_at: z.unknown(),
});
const firmwareSchema = z.object({
  id: z.string().min(1),
  name: z.string().nullish(),
  description: z.string().nullish(),
  datafile: z.string().nullish(),
  datafile_checksum: z.string().nullish(),
  datafile_size: z.unknown(),
  created_at: z.unknown(),
  updated_at: z.unknown(),
});

/**
 * A bigint column value from an int64 field (firmware `datafile_size`): a whole number or a
 * string of digits within JavaScript's exact integer range (2^53, 8 PiB), else null. Unlike
 * toInt it has no 32-bit bound, so an image of 2 GiB or more keeps its size.
 */
export function toInt64(value: unknown): number | null {
  const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) ? n : null;
}

/**
 * Reads Izuma's error model `{object, code, type, message, fields: [{name, message}], request_id}`
 * into "validation_error: Validation error (limit: must be 2..1000)" and the request id.
 * Never throws.
 */
export const readIzumaError: ErrorBodyReader = (body) => {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return {};
  const b = body as Record<string, unknown>;
  const type = typeof b.type === 'string' && b.type !== '' ? b.type : null;
  const message = typeof b.message === 'string' && b.message !== '' ? b.message : null;
  const fields = Array.isArray(b.fields)
    ? b.fields
        .map((f: unknown) => {
          if (f === null || typeof f !== 'object') return null;
          const { name, message: m } = f as { name?: unknown; message?: unknown };
          return `${typeof name === 'string' ? name : '(field)'}: ${typeof m === 'string' ? m : JSON.stringify(m)}`;
        })
        .filter((x): x is string => x !== null)
    : [];
  const head = [type, message].filter((x) => x !== null).join(': ');
  const text = fields.length > 0 ? `${head}${head ? ' ' : ''}(${fields.join('; ')})` : head;
  const requestId = typeof b.request_id === 'string' && b.request_id !== '' ? b.request_id : undefined;
  return { ...(text ? { message: text } : {}), ...(requestId ? { requestId } : {}) };
};

/**
 * Izuma Device Management: account (as the one organization), devices (incremental on
 * `updated_at__gte`), device groups, firmware images (a table of their own: account-wide
 * binaries with checksum and size, not installed software, so not `packages`).
 * No documented rate limit: the `api` lane defaults to 20 requests/s (override per source with
 * `rateLimits.api`); a 429 pauses the lane like for any vendor.
 */
export const izuma: VendorDefinition = {
  vendor: 'izuma',
  docUrl: 'https://developer.izumanetworks.com/docs/device-management-api/',
  // webhookSecret: the receiver's proof that a delivery is the vendor's (src/webhooks/, docs/freshness.md).
  credentials: z.strictObject({ apiKey: z.string().min(1, 'is empty'), webhookSecret: z.string().min(16, 'must be at least 16 characters').optional() }),
  authHeaders: (c) => ({ Authorization: `Bearer ${c.apiKey ?? ''}` }),
  lanes: {
    api: { windows: [{ max: 20, durationMs: 1000 }], concurrency: 2 },
  },
  readError: readIzumaError,
  // `fleetsync check`: the API key's own account, one object.
  probe: () => ({ lane: 'api', request: { path: '/v3/accounts/me' } }),
  resources: [
    defineResource({
      name: 'organizations',
      table: 'organizations',
      lane: 'api',
      docUrl: 'https://developer.izumanetworks.com/docs/device-management-api/account-management/',
      path: () => '/v3/accounts/me',
      pagination: singlePage({ single: true }),
      record: accountSchema,
      id: (a) => a.id,
      map: (a) => ({
        name: a.display_name ?? a.company ?? null,
        parent_external_id: a.parent_id || null,
        vendor_created_at: toTimestamp(a.created_at),
        vendor_updated_at: toTimestamp(a.updated_at),
      }),
    }),
    defineResource({
      name: 'device_groups',
      table: 'device_groups',
      lane: 'api',
      docUrl: 'https://developer.izumanetworks.com/docs/device-management-api/device-directory/',
      path: () => '/v3/device-groups',
      pagination: izumaPages(),
      record: groupSchema,
      id: (g) => g.id,
      map: (g) => ({
        name: g.name ?? null,
        device_count: toInt(g.devices_count),
        vendor_created_at: toTimestamp(g.created_at),
        vendor_updated_at: toTimestamp(g.updated_at),
      }),
    }),
    defineResource({
      // A device may be in several groups: device_group_external_id is set only for exactly one;
      // the full membership stays in raw->'groups'.
      name: 'devices',
      table: 'devices',
      lane: 'api',
      docUrl: 'https://developer.izumanetworks.com/docs/device-management-api/device-directory/',
      path: () => '/v3/devices',
      pagination: izumaPages(),
      // `GET /v3/devices/{id}`: a full walk asks it about the devices it missed (404: deleted), and a
      // notification of the channel (src/webhooks/izuma.ts) fetches the device it names.
      item: (id) => ({ path: `/v3/devices/${encodeURIComponent(id)}` }),
      record: deviceSchema,
      id: (d) => d.id,
      map: (d) => ({
        organization_external_id: d.account_id ?? null,
        device_group_external_id: d.groups?.length === 1 ? (d.groups[0] ?? null) : null,
        name: d.name ?? null,
        serial_number: d.serial_number || null,
        model: d.device_class || null,
        status: toText(d.state),
        vendor_created_at: toTimestamp(d.created_at),
        vendor_updated_at: toTimestamp(d.updated_at),
      }),
      incremental: {
        params: (since) => ({ updated_at__gte: since.toISOString() }),
        updatedAt: (d) => toTimestamp(d.updated_at),
      },
    }),
    defineResource({
      name: 'firmware_images',
      table: 'firmware_images',
      lane: 'api',
      docUrl: 'https://developer.izumanetworks.com/docs/device-management-api/update-service/',
      path: () => '/v3/firmware-images',
      pagination: izumaPages(),
      record: firmwareSchema,
      id: (f) => f.id,
      map: (f) => ({
        name: f.name ?? null,
        description: f.description ?? null,
        datafile_url: f.datafile ?? null,
        datafile_checksum: f.datafile_checksum ?? null,
        datafile_size: toInt64(f.datafile_size),
        vendor_created_at: toTimestamp(f.created_at),
        vendor_updated_at: toTimestamp(f.updated_at),
      }),
    }),
  ],
};
