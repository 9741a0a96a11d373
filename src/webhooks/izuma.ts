import { z } from 'zod/v4';
import type { VendorEvent } from '../events/types.js';
import { bodyDigest, sameSecret } from './signature.js';
import type { Delivery, DeliverySource, Reading, Verdict, WebhookVendor } from './vendor.js';

// Izuma (formerly Pelion) Device Management notification channel, callback form
// (https://developer.izumanetworks.com/docs/device-management/current/integrate-web-app/event-notification.html):
// `PUT /v2/notification/callback {url, headers}` makes Izuma PUT batches of notifications
// (NotificationMessage: registrations, reg-updates, de-registrations, registrations-expired,
// notifications, async-responses) to the URL with those headers. Izuma signs nothing: the
// headers are the proof, so fleetsync sets one holding the source's webhookSecret. A batch names
// devices only; each becomes a fetch of the device by id through the normal path, never data.

/** The header Izuma sends with every batch (set by `fleetsync webhooks register`), holding the source's webhookSecret. */
export const IZUMA_SECRET_HEADER = 'x-fleetsync-secret';

// A device of a registration or registration update (EndpointData); unknown fields are ignored.
const endpointSchema = z.object({ ep: z.string().min(1) });
const batchSchema = z.object({
  registrations: z.array(endpointSchema).nullish(),
  'reg-updates': z.array(endpointSchema).nullish(),
  'de-registrations': z.array(z.string().min(1)).nullish(),
  'registrations-expired': z.array(z.string().min(1)).nullish(),
  // Resource values and answers to device requests: not warehouse data.
  notifications: z.array(z.unknown()).nullish(),
  'async-responses': z.array(z.unknown()).nullish(),
});
type IzumaBatch = z.infer<typeof batchSchema>;

/** The kinds of a batch that concern a device's registration, each a change of the device record. */
export const IZUMA_DEVICE_KINDS = ['registrations', 'reg-updates', 'de-registrations', 'registrations-expired'] as const;

/**
 * The device ids of a batch, kind by kind, in the batch's order. A de-registration or an expiry is
 * not a deletion: the device stays in the directory with another state, so every kind is an
 * update, fetched by id.
 */
export function izumaDeviceIds(batch: IzumaBatch): Array<{ kind: (typeof IZUMA_DEVICE_KINDS)[number]; id: string }> {
  const out: Array<{ kind: (typeof IZUMA_DEVICE_KINDS)[number]; id: string }> = [];
  for (const e of batch.registrations ?? []) out.push({ kind: 'registrations', id: e.ep });
  for (const e of batch['reg-updates'] ?? []) out.push({ kind: 'reg-updates', id: e.ep });
  for (const id of batch['de-registrations'] ?? []) out.push({ kind: 'de-registrations', id });
  for (const id of batch['registrations-expired'] ?? []) out.push({ kind: 'registrations-expired', id });
  return out;
}

/**
 * The events of one Izuma batch for a source (pure). A batch has no id and no time of its own,
 * so its events are keyed by the batch's digest and arrival time: the same batch sent twice is
 * two fetches, never a refusal (Izuma removes a callback that keeps failing).
 */
export function izumaEvents(batch: IzumaBatch, source: DeliverySource, d: Pick<Delivery, 'body' | 'receivedAt'>): { events: VendorEvent[]; ignored: number } {
  const ids = izumaDeviceIds(batch);
  const other = (batch.notifications?.length ?? 0) + (batch['async-responses']?.length ?? 0);
  if (!source.resources.has('devices')) return { events: [], ignored: ids.length + other };
  const at = new Date(d.receivedAt).toISOString();
  const batchKey = `${bodyDigest(d.body).slice(0, 32)}:${d.receivedAt}`;
  const events = ids.map(({ kind, id }, i): VendorEvent => ({ source: source.id, resource: 'devices', id, scope: null, action: 'updated', occurredAt: at, eventKey: `izuma:${batchKey}:${kind}:${i}` }));
  return { events, ignored: other };
}

function readIzuma(d: Delivery, source: DeliverySource): Reading {
  const raw = d.body.toString('utf8');
  // Izuma tests a callback URL with an empty PUT when it is registered.
  if (raw.trim() === '') return { kind: 'reply', status: 204 };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { kind: 'invalid', reason: `${source.id}: Izuma notification batch is not JSON` };
  }
  const r = batchSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    return { kind: 'invalid', reason: `${source.id}: Izuma notification batch field ${issue.path.join('.') || '(body)'}: ${issue.message}` };
  }
  return { kind: 'events', ...izumaEvents(r.data, source, d), sentAt: null, replayKey: null };
}

function verifyIzuma(d: Delivery, secret: string): Verdict {
  const presented = d.headers[IZUMA_SECRET_HEADER];
  if (presented === undefined) return { ok: false, reason: `no ${IZUMA_SECRET_HEADER} header` };
  return sameSecret(presented, secret) ? { ok: true } : { ok: false, reason: `${IZUMA_SECRET_HEADER} does not match the source's webhookSecret` };
}

/** Izuma's notification channel: PUTs with the shared secret header, answered 204. */
export const izumaWebhooks: WebhookVendor = {
  vendor: 'izuma',
  method: 'PUT',
  acceptedStatus: 204,
  verify: verifyIzuma,
  read: readIzuma,
};
