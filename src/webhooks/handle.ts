import type { EnqueueResult, VendorEvent } from '../events/types.js';
import type { SeenDeliveries } from './seen.js';
import { bodyDigest } from './signature.js';
import type { Delivery, DeliverySource, Reading, WebhookVendor } from './vendor.js';

/** Where a delivery for a source goes: the vendor's reader, the source and its secret; or why there is none. */
export type WebhookRoute = { ok: true; hooks: WebhookVendor; source: DeliverySource; secret: string } | { ok: false; reason: string };

/** What enqueueing events came to (src/events/enqueue.ts), or why the event core refused them (never queued). */
export type EnqueueOutcome = EnqueueResult | { refused: string };

/** What handling a delivery needs; everything is passed in. */
export interface DeliveryDeps {
  route(sourceId: string): Promise<WebhookRoute>;
  /** Hands verified events to the source's lanes (enqueueEvents); rejects when Redis does. */
  enqueue(events: readonly VendorEvent[]): Promise<EnqueueOutcome>;
  seen: Pick<SeenDeliveries, 'check' | 'remember'>;
  /** False while Redis is away: the delivery is answered 503 at once, so the vendor sends it again. */
  redisReady(): boolean;
  /** Tolerance of a signed send time, either way (webhooks.maxAgeSeconds). */
  maxAgeMs: number;
  /** Longest the answer waits for Redis; past it, 503. */
  answerWithinMs: number;
}

/**
 * The answer to a delivery and its log line. `note` says what happened, naming the source, and
 * never quotes a header, a secret or the body.
 */
export interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  level: 'debug' | 'info' | 'warn';
  note: string;
}

function refuse(status: number, error: string, note: string): Answer {
  return { status, body: { error }, level: 'warn', note };
}

function unavailable(note: string): Answer {
  return { status: 503, body: { error: 'unavailable, send it again' }, headers: { 'retry-after': '30' }, level: 'warn', note };
}

/**
 * Why a signed send time is refused as a replay (more than `maxAgeMs` before or after `nowMs`),
 * or null when it is within the tolerance (pure).
 */
export function sentAtProblem(sentAt: string, nowMs: number, maxAgeMs: number): string | null {
  const t = Date.parse(sentAt.trim().replace(/(\.\d{3})\d+/, '$1'));
  if (Number.isNaN(t)) return `its send time ${JSON.stringify(sentAt.slice(0, 40))} is not a time`;
  const age = nowMs - t;
  const limit = `${Math.round(maxAgeMs / 1000)} s`;
  if (age > maxAgeMs) return `sent at ${new Date(t).toISOString()}, ${Math.round(age / 1000)} s ago (tolerance ${limit})`;
  if (-age > maxAgeMs) return `sent at ${new Date(t).toISOString()}, ${Math.round(-age / 1000)} s ahead of this clock (tolerance ${limit})`;
  return null;
}

/**
 * Answers one delivery: the source's route (404), the vendor's method (405), its signature or
 * shared secret (401), its body (400), its signed send time (400, stale) and key (409, the same
 * bytes again), then its events queued on the source's lanes (the vendor's accepted status), or
 * 503 when Redis is away or slow, so the vendor sends it again. Nothing is queued unless every
 * check passed. Never throws.
 */
export async function handleDelivery(deps: DeliveryDeps, d: Delivery): Promise<Answer> {
  const route = await deps.route(d.sourceId);
  if (!route.ok) return refuse(404, 'not found', `webhook refused: ${route.reason}`);
  const { hooks } = route;
  if (d.method !== hooks.method) return { ...refuse(405, 'method not allowed', `${d.sourceId}: webhook refused: ${d.method}, ${hooks.vendor} sends ${hooks.method}`), headers: { allow: hooks.method } };
  const verdict = hooks.verify(d, route.secret);
  if (!verdict.ok) return refuse(401, 'signature', `${d.sourceId}: webhook refused: ${verdict.reason}`);
  const reading = hooks.read(d, route.source);
  if (reading.kind === 'invalid') return refuse(400, 'invalid body', `webhook refused: ${reading.reason}`);
  if (reading.kind === 'reply') return { status: reading.status, body: reading.body, level: 'info', note: `${d.sourceId}: answered a ${hooks.vendor} ping` };
  const stale = reading.sentAt === null ? null : sentAtProblem(reading.sentAt, d.receivedAt, deps.maxAgeMs);
  if (stale !== null) return refuse(400, 'stale', `${d.sourceId}: webhook refused as a replay: ${stale}`);
  if (!deps.redisReady()) return unavailable(`${d.sourceId}: webhook answered 503: Redis is not connected; ${hooks.vendor} sends it again`);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Answer>((resolve) => {
    timer = setTimeout(() => resolve(unavailable(`${d.sourceId}: webhook answered 503: Redis did not answer within ${deps.answerWithinMs} ms; ${hooks.vendor} sends it again`)), deps.answerWithinMs);
  });
  const work = accept(deps, d, route, reading);
  // After a 503 for slowness the work may still end; its failure then concerns no one.
  work.catch(() => undefined);
  try {
    return await Promise.race([work, late]);
  } catch (err) {
    return unavailable(`${d.sourceId}: webhook answered 503: ${err instanceof Error ? err.message : String(err)}; ${hooks.vendor} sends it again`);
  } finally {
    clearTimeout(timer);
  }
}

/** The replay check, the queueing and the remembering of a verified delivery. */
async function accept(deps: DeliveryDeps, d: Delivery, route: Extract<WebhookRoute, { ok: true }>, reading: Extract<Reading, { kind: 'events' }>): Promise<Answer> {
  const { hooks } = route;
  const digest = bodyDigest(d.body);
  const key = reading.replayKey;
  if (key !== null) {
    const seen = await deps.seen.check(d.sourceId, key, digest);
    if (seen === 'replay') return refuse(409, 'replayed', `${d.sourceId}: webhook refused as a replay: event ${key} was received with these very bytes already`);
    if (seen === 'redelivery') return accepted(hooks, { queued: 0, duplicates: reading.events.length }, reading.ignored, `${d.sourceId}: ${hooks.vendor} sent event ${key} again (queued already)`);
  }
  const result = reading.events.length > 0 ? await deps.enqueue(reading.events) : { queued: 0, duplicates: 0 };
  if ('refused' in result) return refuse(400, 'invalid event', `${d.sourceId}: webhook refused: ${result.refused}`);
  if (key !== null) await deps.seen.remember(d.sourceId, key, digest);
  const what = reading.events.map((e) => `${e.resource} ${e.id} ${e.action}`).slice(0, 5).join(', ');
  return accepted(hooks, result, reading.ignored, `${d.sourceId}: ${hooks.vendor} webhook: ${result.queued} queued, ${result.duplicates} duplicate, ${reading.ignored} ignored${what ? ` (${what}${reading.events.length > 5 ? ', …' : ''})` : ''}`);
}

function accepted(hooks: WebhookVendor, result: EnqueueResult, ignored: number, note: string): Answer {
  const body = hooks.acceptedStatus === 204 ? undefined : { queued: result.queued, duplicates: result.duplicates, ignored };
  return { status: hooks.acceptedStatus, body, level: 'debug', note };
}
