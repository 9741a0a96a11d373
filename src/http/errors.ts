/**
 * How a failure is handled, decided once in the HTTP layer (docs/design.md, "Errors are classified once"):
 * - rate_limited: pause the lane until retryAfterMs, spend no attempt;
 * - retryable: network error or 5xx after in-process retries: BullMQ attempts with backoff;
 * - invalid_request: 400/404/422 (and bad pages): fail the walk with the vendor's message;
 * - auth: 401/403: fail the source's run, "check credentials";
 * - payment_required: 402: pause the source until resumed;
 * - gone: 410: disable the resource for the source for good;
 * - unsafe: a link off the source's origin or plain HTTP to a remote host: fail the walk.
 */
export type FailureKind = 'rate_limited' | 'retryable' | 'invalid_request' | 'auth' | 'payment_required' | 'gone' | 'unsafe';

/** A classified vendor failure. Carries no request configuration, so it is safe to log and store. */
export class VendorError extends Error {
  override name = 'VendorError';
  readonly kind: FailureKind;
  readonly status: number | null;
  readonly vendorMessage: string | null;
  readonly requestId: string | null;
  readonly retryAfterMs: number | null;
  /** The network error code when no response came (`ECONNREFUSED`, `ENOTFOUND`, `ECONNABORTED` for a timeout), else null. */
  readonly code: string | null;

  constructor(init: {
    kind: FailureKind;
    message: string;
    status?: number | null;
    vendorMessage?: string | null;
    requestId?: string | null;
    retryAfterMs?: number | null;
    code?: string | null;
  }) {
    super(init.message);
    this.kind = init.kind;
    this.status = init.status ?? null;
    this.vendorMessage = init.vendorMessage ?? null;
    this.requestId = init.requestId ?? null;
    this.retryAfterMs = init.retryAfterMs ?? null;
    this.code = init.code ?? null;
  }
}

/** Classifies an HTTP status. 429 is rate_limited; anything unknown in 4xx fails the walk. */
export function classifyStatus(status: number): FailureKind {
  if (status === 429) return 'rate_limited';
  if (status === 401 || status === 403) return 'auth';
  if (status === 402) return 'payment_required';
  if (status === 410) return 'gone';
  if (status >= 500 || status === 408) return 'retryable';
  return 'invalid_request';
}

/**
 * The message of a 3xx answer, which is never followed (a redirect could leave the source's
 * origin with its credentials): the status, where it pointed (resolved against `baseUrl`; its
 * query left out, it may carry a signature) and what to check.
 */
export function redirectMessage(status: number, location: string | null, baseUrl: string): string {
  const advice = "redirects are not followed: check the source's baseUrl (scheme, host, path)";
  if (location === null || location.trim() === '') return `${status} redirect without a Location; ${advice}`;
  let shown: string;
  try {
    const u = new URL(location.trim(), baseUrl);
    shown = `${u.origin}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    shown = JSON.stringify(location.slice(0, 200));
  }
  return `${status} redirect to ${shown}; ${advice}`;
}

/**
 * Parses Retry-After: delta seconds or an HTTP date. Returns milliseconds from `now`, or null
 * when absent or unparseable. Never negative.
 */
export function parseRetryAfter(value: string | undefined | null, now = Date.now()): number | null {
  if (value === undefined || value === null || value.trim() === '') return null;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.max(0, Math.round(Number(v) * 1000));
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/**
 * Parses X-RateLimit-Reset: a UTC epoch in seconds (Automox, most APIs), epoch milliseconds,
 * or, when small, delta seconds. Returns milliseconds from `now`, or null.
 */
export function parseRateLimitReset(value: string | undefined | null, now = Date.now()): number | null {
  if (value === undefined || value === null || !/^\d+(\.\d+)?$/.test(value.trim())) return null;
  const n = Number(value.trim());
  if (n > 1e12) return Math.max(0, n - now);
  if (n > 1e9) return Math.max(0, Math.round(n * 1000 - now));
  return Math.round(n * 1000);
}
