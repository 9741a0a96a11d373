import { createHash } from 'node:crypto';
import type { PageRequest } from './types.js';

/**
 * A page request as stable text: method, path or URL, params sorted by name, and the JSON body
 * of a POST page (the Reports search carries its cursor there). Two requests of a walk with the
 * same key ask the vendor for the same page, whatever the cursor's counters say (a next link's
 * page count, a page-total's records read).
 */
export function requestKey(req: PageRequest): string {
  const params = Object.entries(req.params ?? {})
    .map(([k, v]) => [k, String(v)])
    .sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0));
  return JSON.stringify([req.method ?? 'GET', req.url ?? null, req.path ?? null, params, req.body ?? null]);
}

/** A short hash of requestKey(): what a walk keeps per page for its loop check (32 hex characters). */
export function requestHash(req: PageRequest): string {
  return createHash('sha256').update(requestKey(req)).digest('hex').slice(0, 32);
}

/** A page request as a reader sees it: `path?a=1&b=2` (params sorted) or the URL as sent. */
export function describeRequest(req: PageRequest): string {
  if (req.url !== undefined) return req.url;
  const q = new URLSearchParams(Object.entries(req.params ?? {}).map(([k, v]): [string, string] => [k, String(v)]));
  q.sort();
  const qs = q.toString();
  return `${req.path ?? ''}${qs ? `?${qs}` : ''}`;
}
