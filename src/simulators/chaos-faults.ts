/**
 * What a chaos walk may suffer besides data changes: transport faults (5xx, 429 with and without
 * Retry-After, a cut body) and glitched records. Each decision draws from the request's own
 * generator, in the order the simulator calls them.
 */
import type { SimResponse } from './http-sim.js';
import type { Rng } from './sim-data.js';
import type { ChaosStyle } from './chaos-styles.js';
import type { ChaosRecord } from './chaos-store.js';

/** What the current walk may suffer. */
export interface ChaosWalk {
  /** Data changes before page requests (inserts, deletes, updates, moves). */
  churn: boolean;
  /** Transport faults: 5xx, resets, cut bodies, stalls past the timeout, 429 with and without Retry-After. */
  faults: boolean;
  /** A record of a page served without an id or with an object as id (that response only). */
  glitches: boolean;
  /** From the n-th distinct page request of this walk on, every list request answers 503. */
  persistentFrom?: number;
}

/** Counts one fault by its report name. */
export type CountFault = (fault: string) => void;

/** The answer of a persistent fault: every list request, from its page on. */
export function persistent503(): SimResponse {
  return { status: 503, body: { error: 'Service Unavailable', message: 'maintenance' } };
}

/** A 5xx or a 429 (with or without Retry-After) instead of the page, or null for the page. */
export function transportFault(rng: Rng, count: CountFault): SimResponse | null {
  const f = rng.next();
  if (f < 0.04) {
    count('5xx');
    return { status: rng.pick([500, 502, 503, 504]), body: { error: 'upstream', message: 'try again' } };
  }
  if (f < 0.05) {
    count('429 Retry-After');
    return { status: 429, body: { error: 'rate_limited', message: 'slow down' }, headers: { 'retry-after': '1' } };
  }
  if (f < 0.07) {
    count('429');
    return { status: 429, body: { error: 'rate_limited', message: 'slow down' } };
  }
  return null;
}

/** The page's JSON cut at a random point, still labelled JSON. */
export function cutBody(body: unknown, rng: Rng): SimResponse {
  const text = JSON.stringify(body);
  return { status: 200, body: text.slice(0, rng.int(0, text.length - 1)), headers: { 'content-type': 'application/json' } };
}

/**
 * Replaces one record of this response by one without a usable id (missing, or an object);
 * false when the page has no record it may glitch.
 */
export function glitchRecord(records: unknown[], rng: Rng, style: ChaosStyle): boolean {
  // A keyset page's cursor is its last record's id: an id-less last record breaks the vendor's
  // own pagination (the walk fails, as it must), so the glitch spares it there.
  const last = style === 'after' ? records.length - 2 : records.length - 1;
  if (last < 0) return false;
  const i = rng.int(0, last);
  const rec = { ...(records[i] as ChaosRecord) } as Record<string, unknown>;
  if (rng.bool()) delete rec.id;
  else rec.id = { value: rec.id };
  records[i] = rec;
  return true;
}
