import { z } from 'zod/v4';
import type { VendorEvent } from '../events/types.js';
import { checkSha256Signature } from './signature.js';
import type { Delivery, DeliverySource, Reading, Verdict, WebhookVendor } from './vendor.js';

// Toggl Track Webhooks API v1 (https://engineering.toggl.com/docs/webhooks_start): one event per
// POST, signed with the subscription's secret (`X-Webhook-Signature-256: sha256=<HMAC-SHA256 of
// the body>`). A PING (`payload: "ping"`) of a subscription not yet validated carries a
// `validation_code` that the answer echoes (`{"validation_code": ...}`): that validates it.

/** Toggl's entity (event filter `entity`, metadata `model`) of each resource fleetsync keeps. */
export const TOGGL_ENTITY_RESOURCES: Readonly<Record<string, string>> = {
  time_entry: 'time_entries',
  project: 'projects',
  client: 'clients',
  tag: 'tags',
  task: 'tasks',
};

const ACTIONS = ['created', 'updated', 'deleted'] as const;
const id = z.union([z.number().int(), z.string().min(1)]);

const deliverySchema = z.object({
  event_id: id,
  subscription_id: id,
  created_at: z.string().min(1),
  // The time this delivery was sent; a redelivery is sent (and signed) anew.
  timestamp: z.string().min(1),
  metadata: z.record(z.string(), z.unknown()).nullish(),
  payload: z.unknown(),
  validation_code: z.string().nullish(),
});
type TogglDelivery = z.infer<typeof deliverySchema>;

const text = (v: unknown): string | null => (typeof v === 'number' && Number.isFinite(v) ? String(v) : typeof v === 'string' && v !== '' ? v : null);

/**
 * The record of a time entry as the time_entries resource reads it (jobs/toggl-time-entries.ts
 * reads rows of the Reports API): the v9 entity of the event with `seconds` (its duration) and
 * `tag_names` (its tags) added under the report's names. The next walk writes the report's row.
 */
export function togglTimeEntryRecord(entity: Record<string, unknown>): Record<string, unknown> {
  return {
    ...entity,
    user_id: entity.user_id ?? entity.uid ?? null,
    project_id: entity.project_id ?? entity.pid ?? null,
    task_id: entity.task_id ?? entity.tid ?? null,
    seconds: entity.duration ?? null,
    tag_names: Array.isArray(entity.tags) ? entity.tags : null,
  };
}

/** What one Toggl event is: its VendorEvent, one to ignore (an entity fleetsync does not keep), or why it cannot be read. */
export type TogglEventReading = { event: VendorEvent } | { ignore: string } | { invalid: string };

/** Reads one parsed Toggl event (not a ping) for a source: pure, never throws. */
export function togglEvent(d: TogglDelivery, source: DeliverySource): TogglEventReading {
  const where = `${source.id}: Toggl event ${d.event_id} of subscription ${d.subscription_id}`;
  const meta = d.metadata ?? {};
  const model = text(meta.model);
  const action = text(meta.action);
  if (model === null) return { invalid: `${where}: metadata.model is missing` };
  const resource = TOGGL_ENTITY_RESOURCES[model];
  if (resource === undefined) return { ignore: `entity ${model} is not kept` };
  if (!source.resources.has(resource)) return { ignore: `${source.id} does not sync ${resource}` };
  if (action === null || !(ACTIONS as readonly string[]).includes(action)) return { invalid: `${where}: metadata.action ${JSON.stringify(action)} is not one of ${ACTIONS.join(', ')}` };
  const entity = d.payload !== null && typeof d.payload === 'object' && !Array.isArray(d.payload) ? (d.payload as Record<string, unknown>) : null;
  const recordId = text(entity?.id) ?? text(meta[`${model}_id`]);
  if (recordId === null) return { invalid: `${where} (${model} ${action}): no id in payload.id or metadata.${model}_id` };
  const scope = text(meta.workspace_id) ?? text(entity?.workspace_id) ?? text(entity?.wid);
  if (scope === null) return { invalid: `${where} (${model} ${recordId}): no workspace in metadata.workspace_id or payload.workspace_id` };
  const event: VendorEvent = {
    source: source.id,
    resource,
    id: recordId,
    scope,
    action: action as VendorEvent['action'],
    occurredAt: isoOf(d.created_at) ?? isoOf(entity?.at) ?? new Date(0).toISOString(),
    eventKey: togglEventKey(d.subscription_id, d.event_id),
  };
  // The payload is the whole entity, signed with the subscription's secret: applied as it is.
  if (entity !== null && action !== 'deleted') event.record = model === 'time_entry' ? togglTimeEntryRecord(entity) : entity;
  return { event };
}

/** An event's unique key: Toggl numbers events per subscription. */
export function togglEventKey(subscriptionId: string | number, eventId: string | number): string {
  return `toggl:${subscriptionId}:${eventId}`;
}

function isoOf(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const ms = Date.parse(v.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

function parse(body: Buffer, sourceId: string): { delivery: TogglDelivery } | { invalid: string } {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return { invalid: `${sourceId}: Toggl delivery is not JSON` };
  }
  const r = deliverySchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    return { invalid: `${sourceId}: Toggl delivery field ${issue.path.join('.') || '(body)'}: ${issue.message}` };
  }
  return { delivery: r.data };
}

function readToggl(d: Delivery, source: DeliverySource): Reading {
  const parsed = parse(d.body, source.id);
  if ('invalid' in parsed) return { kind: 'invalid', reason: parsed.invalid };
  const t = parsed.delivery;
  // A ping: the validation code (when the subscription is not validated yet) goes back in the answer.
  if (t.payload === 'ping') return { kind: 'reply', status: 200, body: t.validation_code ? { validation_code: t.validation_code } : { status: 'ok' } };
  const read = togglEvent(t, source);
  if ('invalid' in read) return { kind: 'invalid', reason: read.invalid };
  const replayKey = togglEventKey(t.subscription_id, t.event_id);
  return 'ignore' in read ? { kind: 'events', events: [], ignored: 1, sentAt: t.timestamp, replayKey } : { kind: 'events', events: [read.event], ignored: 0, sentAt: t.timestamp, replayKey };
}

function verifyToggl(d: Delivery, secret: string): Verdict {
  const check = checkSha256Signature(d.headers['x-webhook-signature-256'], secret, d.body);
  if (check === 'ok') return { ok: true };
  const why = { unsigned: 'no X-Webhook-Signature-256 header', malformed: 'X-Webhook-Signature-256 is not sha256=<64 hex digits>', wrong: 'X-Webhook-Signature-256 does not match the body and the secret' };
  return { ok: false, reason: why[check] };
}

/** Toggl Track webhooks: POSTs signed with HMAC-SHA256, answered 200. */
export const togglWebhooks: WebhookVendor = {
  vendor: 'toggl',
  method: 'POST',
  acceptedStatus: 200,
  verify: verifyToggl,
  read: readToggl,
};
