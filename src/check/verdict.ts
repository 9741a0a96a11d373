import type { VendorQuota } from '../connector.js';
import type { FailureKind } from '../http/errors.js';
import { parseRateLimitReset, parseRetryAfter } from '../http/errors.js';

// What `fleetsync check` concludes from one source's probe, and the command's exit code. Pure.

/** What the vendor's headers say about the limit the probe ran under (null: not said). */
export interface Headroom {
  /** X-RateLimit-Remaining / -Limit, and the reset in ms from X-RateLimit-Reset. */
  remaining: number | null;
  limit: number | null;
  resetsInMs: number | null;
  /** The vendor's quota headers (Toggl: X-Toggl-Quota-Remaining / -Resets-In). */
  quotaRemaining: number | null;
  quotaResetsInMs: number | null;
  /** The source's own `quota` window as the lane's gate counts it. */
  ownQuota: { left: number; max: number } | null;
}

/** How the probe went, as the lane and HTTP client reported it. */
export type ProbeOutcome =
  | { kind: 'answered'; status: number; headers: Readonly<Record<string, string>>; latencyMs: number }
  | { kind: 'failed'; error: { kind: FailureKind; status: number | null; code: string | null; message: string; retryAfterMs: number | null }; latencyMs: number }
  /** The lane's gate had no room within the check's time (the workers are using it); nothing was sent. */
  | { kind: 'not-sent'; lane: string; waitMs: number };

/** The verdict on one source's probe. */
export interface ProbeVerdict {
  /** `GET /api/orgs`: what was asked (no query: it may carry a token). */
  request: string;
  auth: 'ok' | 'failed' | 'unknown';
  reachable: 'ok' | 'failed' | 'unknown';
  status: number | null;
  latencyMs: number | null;
  headroom: Headroom | null;
  /** What is wrong (the check fails), or null. */
  problem: string | null;
  /** Worth saying but not a failure (rate limited right now, the lane busy), or null. */
  note: string | null;
}

const seconds = (ms: number) => `${Math.ceil(ms / 1000)} s`;

function num(headers: Readonly<Record<string, string>>, name: string): number | null {
  const v = headers[name.toLowerCase()]?.trim();
  return v !== undefined && /^\d+(\.\d+)?$/.test(v) ? Number(v) : null;
}

/** The headroom the vendor's headers give (X-RateLimit-*, its quota headers); null when they give none. */
export function headroomOf(headers: Readonly<Record<string, string>>, quota: VendorQuota | undefined, now = Date.now()): Headroom | null {
  const h: Headroom = {
    remaining: num(headers, 'x-ratelimit-remaining'),
    limit: num(headers, 'x-ratelimit-limit'),
    resetsInMs: parseRateLimitReset(headers['x-ratelimit-reset'] ?? null, now),
    quotaRemaining: quota ? num(headers, quota.remaining) : null,
    quotaResetsInMs: quota ? parseRetryAfter(headers[quota.resetsInSeconds.toLowerCase()] ?? null, now) : null,
    ownQuota: null,
  };
  return h.remaining === null && h.limit === null && h.quotaRemaining === null ? null : h;
}

/** A failed probe's verdict: which of auth and reachability it disproves, and what to do. */
function failedVerdict(base: ProbeVerdict, e: Extract<ProbeOutcome, { kind: 'failed' }>['error'], accept: readonly number[]): ProbeVerdict {
  const v: ProbeVerdict = { ...base, status: e.status, reachable: e.status === null ? 'failed' : 'ok' };
  if (e.status !== null && accept.includes(e.status)) return { ...v, auth: 'ok', note: `${e.message} (an answer that proves the credentials)` };
  if (e.kind === 'rate_limited') {
    const wait = e.retryAfterMs === null ? '' : `, the vendor asks to wait ${seconds(e.retryAfterMs)}`;
    return { ...v, headroom: { remaining: 0, limit: null, resetsInMs: e.retryAfterMs, quotaRemaining: null, quotaResetsInMs: null, ownQuota: null }, note: `rate limited (${e.message})${wait}: credentials not verified; the lane waits` };
  }
  if (e.kind === 'auth') return { ...v, auth: 'failed', problem: `authentication failed: ${e.message}; check the source's credentials` };
  if (e.kind === 'payment_required') return { ...v, auth: 'ok', problem: `${e.message}: the vendor wants a plan upgrade before it answers` };
  if (e.status === null) return { ...v, problem: e.message };
  if (e.status >= 500) return { ...v, problem: `the vendor answered ${e.message}` };
  if (e.status === 404) return { ...v, problem: `${e.message}: check the source's baseUrl` };
  return { ...v, problem: e.message };
}

/** The verdict on a probe: 2xx proves both; 401/403 fail auth; no answer fails reachability. */
export function probeVerdict(outcome: ProbeOutcome, probe: { request: string; accept?: readonly number[]; quota?: VendorQuota | undefined }, now = Date.now()): ProbeVerdict {
  const base: ProbeVerdict = { request: probe.request, auth: 'unknown', reachable: 'unknown', status: null, latencyMs: null, headroom: null, problem: null, note: null };
  if (outcome.kind === 'not-sent') {
    return { ...base, note: `not sent: lane ${outcome.lane} has no free slot for ${seconds(outcome.waitMs)} (the workers are using it); credentials not verified` };
  }
  if (outcome.kind === 'failed') return failedVerdict({ ...base, latencyMs: outcome.latencyMs }, outcome.error, probe.accept ?? []);
  return { ...base, auth: 'ok', reachable: 'ok', status: outcome.status, latencyMs: outcome.latencyMs, headroom: headroomOf(outcome.headers, probe.quota, now) };
}

/** "99/100 left, resets in 1 s; quota 29 left, resets in 3540 s"; '-' when nothing is known. */
export function formatHeadroom(h: Headroom | null): string {
  if (h === null) return '-';
  const parts: string[] = [];
  if (h.remaining !== null || h.limit !== null) {
    const reset = h.resetsInMs === null ? '' : `, resets in ${seconds(h.resetsInMs)}`;
    parts.push(`${h.remaining ?? '?'}${h.limit === null ? '' : `/${h.limit}`} left${reset}`);
  }
  if (h.quotaRemaining !== null) parts.push(`vendor quota ${h.quotaRemaining} left${h.quotaResetsInMs === null ? '' : `, resets in ${seconds(h.quotaResetsInMs)}`}`);
  if (h.ownQuota) parts.push(`quota ${h.ownQuota.left} of ${h.ownQuota.max} left this hour`);
  return parts.length ? parts.join('; ') : '-';
}
