import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isLoopbackHost } from './http/loopback.js';

/** Compares two secrets in constant time (over their SHA-256, so lengths leak nothing either). */
export function secretsEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** A fresh random token (32 bytes, hex): the per-process CSRF token. */
export function newToken(): string {
  return randomBytes(32).toString('hex');
}

/** The hostname of a "host[:port]" value ("[::1]:3300" gives "[::1]"); null when it is not one. */
export function hostnameOf(hostHeader: string | undefined): string | null {
  if (!hostHeader) return null;
  try {
    return new URL(`http://${hostHeader}`).hostname;
  } catch {
    return null;
  }
}

/**
 * Whether the dashboard must ask for a token when listening on `host`: anywhere but loopback
 * (0.0.0.0 and :: listen on every interface, so they need one too).
 */
export function requiresToken(host: string): boolean {
  return !isLoopbackHost(host);
}

/**
 * Why a dashboard cannot start on `host` with `token` (none, or too short), or null when it can:
 * off loopback a token is required, and any token has at least 16 characters. Checked before
 * anything connects, so a refusal is immediate.
 */
export function dashboardAccessProblem(host: string, token: string | null | undefined): string | null {
  const t = token === undefined || token === '' ? null : token;
  if (t === null && requiresToken(host)) return `the dashboard has no token: listening on ${host} (not loopback) needs --token or FLEETSYNC_DASHBOARD_TOKEN`;
  if (t !== null && t.length < 16) return 'the dashboard token must be at least 16 characters';
  return null;
}

/**
 * Whether a request's Host header names this machine. A loopback dashboard without a token
 * refuses other names: a page of another site whose name was rebound to 127.0.0.1 (DNS
 * rebinding) would otherwise be same-origin with it.
 */
export function hostIsLoopback(hostHeader: string | undefined): boolean {
  const name = hostnameOf(hostHeader);
  return name !== null && isLoopbackHost(name);
}

/**
 * Whether a state-changing request comes from a page of this dashboard: its Origin (or, when a
 * browser sent none, its Referer) must have the same host as the request's Host header. A request
 * with neither is refused: every browser sends Origin on a cross-site POST, and scripts can set it.
 */
export function sameOrigin(headers: { origin?: string | undefined; referer?: string | undefined; host?: string | undefined }): boolean {
  const from = headers.origin && headers.origin !== 'null' ? headers.origin : headers.referer;
  if (!from || !headers.host) return false;
  try {
    return new URL(from).host === headers.host.toLowerCase();
  } catch {
    return false;
  }
}

/** The cookies of a Cookie header, by name (later duplicates lose). Never throws. */
export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const name = part.slice(0, i).trim();
    if (name in out) continue;
    try {
      out[name] = decodeURIComponent(part.slice(i + 1).trim());
    } catch {
      // A malformed value is treated as absent.
    }
  }
  return out;
}
