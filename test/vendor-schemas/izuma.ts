import { z } from 'zod/v4';
import { date, dateTime, defined, int } from './common.js';

// Izuma (Pelion) Device Management, from PelionIoT/mbed-cloud-sdk-python
// `api_specifications/public/pelion_dm_public_openapi.yaml` (definitions: DeviceData, DevicePage,
// DeviceGroup, DeviceGroupPage, FirmwareImage, FirmwareImagePage, AccountInfo, ErrorResponse).
// Nullable where the definition says x-nullable; required where it lists `required`.

export const device = defined({
  account_id: z.string(),
  auto_update: z.boolean(),
  bootstrap_expiration_date: date.nullable(),
  bootstrapped_timestamp: dateTime,
  ca_id: z.string(),
  connector_expiration_date: date.nullable(),
  created_at: dateTime,
  custom_attributes: z.record(z.string(), z.string()),
  deployed_state: z.enum(['development', 'production']),
  deployment: z.string(),
  description: z.string(),
  device_class: z.string(),
  device_execution_mode: z.union([z.literal(0), z.literal(1), z.literal(5)]),
  device_key: z.string(),
  endpoint_name: z.string(),
  endpoint_type: z.string(),
  enrolment_list_timestamp: dateTime,
  etag: dateTime,
  firmware_checksum: z.string(),
  groups: z.array(z.string()),
  host_gateway: z.string(),
  id: z.string(),
  issuer_fingerprint: z.string().nullable(),
  manifest: z.string(),
  manifest_timestamp: dateTime,
  mechanism: z.enum(['connector', 'direct']),
  mechanism_url: z.string(),
  name: z.string(),
  object: z.string(),
  serial_number: z.string(),
  state: z.enum(['unenrolled', 'cloud_enrolling', 'bootstrapped', 'registered', 'deregistered']),
  updated_at: dateTime,
  vendor_id: z.string(),
}).partial();

export const deviceGroup = defined({
  created_at: dateTime,
  custom_attributes: z.record(z.string(), z.string()),
  description: z.string(),
  devices_count: int,
  etag: dateTime,
  id: z.string(),
  name: z.string(),
  object: z.string(),
  updated_at: dateTime,
}).partial();

/** Required: created_at, datafile, datafile_checksum, description, etag, id, name, object, updated_at. */
export const firmwareImage = defined({
  created_at: dateTime,
  datafile: z.string(),
  datafile_checksum: z.string(),
  datafile_size: z.number().int().optional(),
  description: z.string(),
  etag: dateTime,
  id: z.string(),
  name: z.string(),
  object: z.string(),
  updated_at: dateTime,
});

const nullableString = z.string().nullable();

/** Required: end_market, etag, id, object, status, tier. */
export const account = defined({
  address_line1: nullableString.optional(),
  address_line2: nullableString.optional(),
  aliases: z.array(z.string()).optional(),
  city: nullableString.optional(),
  company: nullableString.optional(),
  contact: nullableString.optional(),
  country: nullableString.optional(),
  created_at: dateTime.optional(),
  customer_number: nullableString.optional(),
  display_name: nullableString.optional(),
  email: nullableString.optional(),
  end_market: z.string(),
  etag: z.string(),
  expiration: dateTime.nullable().optional(),
  id: z.string(),
  idle_timeout: int.nullable().optional(),
  limits: z.record(z.string(), z.string()).nullable().optional(),
  mfa_status: z.enum(['enforced', 'optional']).nullable().optional(),
  notification_emails: z.array(z.string()).nullable().optional(),
  object: z.literal('account'),
  parent_id: z.string().regex(/^[a-f0-9]{32}$/).nullable().optional(),
  phone_number: nullableString.optional(),
  postal_code: nullableString.optional(),
  reason: nullableString.optional(),
  reference_note: nullableString.optional(),
  sales_contact: nullableString.optional(),
  state: nullableString.optional(),
  status: z.enum(['ENROLLING', 'ACTIVE', 'RESTRICTED', 'SUSPENDED']),
  template_id: nullableString.optional(),
  tier: z.string(),
  updated_at: dateTime.optional(),
  upgraded_at: dateTime.optional(),
});

/**
 * A list page (DevicePage, DeviceGroupPage, FirmwareImagePage). `after` is a string in the
 * definition; the "Using the APIs" page documents it as the request's `after`, "or null" on a
 * first page, which is what the simulator answers.
 */
export function page<T extends z.ZodType>(item: T) {
  return z.strictObject({
    object: z.string(),
    data: z.array(item),
    has_more: z.boolean(),
    after: z.string().nullable(),
    limit: int,
    order: z.enum(['ASC', 'DESC']),
    total_count: int.optional(),
  });
}

/** ErrorResponse: code, message, object "error", request_id and type required; fields [{name, message}]. */
export const error = z.strictObject({
  code: int,
  fields: z.array(z.strictObject({ name: z.string(), message: z.string() })).optional(),
  message: z.string(),
  object: z.literal('error'),
  request_id: z.string(),
  type: z.string(),
});
