import type { AxiosResponse } from 'axios';
import type { VendorQuota } from '../connector.js';
import { parseRateLimitReset, parseRetryAfter } from './errors.js';

// What a response says about the lane's next requests: X-RateLimit-*, Retry-After, a vendor's quota headers.

/** A response header as a string (the first value of a repeated one), or null. */
export function header(res: AxiosResponse | undefined, name: string): string | null {
  const v: unknown = res?.headers?.[name];
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  return null;
}

/** Milliseconds until a vendor quota resets when its remaining count is spent, else null. */
export function quotaWait(res: AxiosResponse | undefined, q: VendorQuota | undefined): number | null {
  if (!q) return null;
  const remaining = header(res, q.remaining.toLowerCase());
  if (remaining === null || remaining.trim() === '' || Number(remaining.trim()) > 0) return null;
  return parseRetryAfter(header(res, q.resetsInSeconds.toLowerCase())) ?? 60_000;
}

/**
 * A 402 without quota headers whose message says the quota is spent (VendorQuota.spentMessage):
 * milliseconds to the next hour boundary (hourly quotas reset on the hour), else null.
 */
export function spentQuotaWait(message: string | null, q: VendorQuota | undefined, now = Date.now()): number | null {
  if (!q?.spentMessage || message === null || !q.spentMessage.test(message)) return null;
  return HOUR_MS - (now % HOUR_MS);
}

const HOUR_MS = 3_600_000;

/** Milliseconds the lane must wait after this response, from X-RateLimit-Remaining/Reset, Retry-After or quota headers. */
export function throttleOf(res: AxiosResponse, q?: VendorQuota | undefined): number {
  const remaining = header(res, 'x-ratelimit-remaining');
  let wait = 0;
  if (remaining !== null && Number(remaining.trim()) <= 0) {
    wait = parseRateLimitReset(header(res, 'x-ratelimit-reset')) ?? parseRetryAfter(header(res, 'retry-after')) ?? 1000;
  }
  return Math.max(wait, quotaWait(res, q) ?? 0);
}

