/**
 * A request as the loopback simulators' handlers see it: built from node's IncomingMessage, plus
 * the helpers vendor simulators use to read one (bearer token, integer query values).
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';

export interface SimRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Random 32-hex id, also sent in the request-id response header. */
  requestId: string;
  /** The simulator origin, e.g. http://127.0.0.1:12345 */
  origin: string;
  /** Request body as text ('' for none); read before routing so PUT/POST handlers can parse it. */
  body: string;
  raw: IncomingMessage;
}

/** Bodies past this many bytes are drained, not kept: simulators are not stores. */
const MAX_BODY_BYTES = 1_000_000;

/** 32 random lowercase hex chars. */
export function randomHex32(): string {
  return randomBytes(16).toString('hex');
}

export function bearerToken(headers: IncomingHttpHeaders): string | null {
  const h = headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1] ?? null;
}

/** Parses a non-negative base-10 integer query value; null when absent, NaN when malformed. */
export function parseIntParam(value: string | null): number | null {
  if (value === null) return null;
  if (!/^\d{1,15}$/.test(value.trim())) return Number.NaN;
  return Number(value.trim());
}

/** GET and HEAD carry no body the simulators read. */
export function isBodyless(raw: IncomingMessage): boolean {
  return raw.method === 'GET' || raw.method === 'HEAD' || raw.method === undefined;
}

/** The request body as text (session endpoints such as PUT/POST /org-units/active read it). */
export async function readBody(raw: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of raw) {
    size += (chunk as Buffer).length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The handlers' view of `raw`, whose body was already read. */
export function toSimRequest(raw: IncomingMessage, read: { body: string; origin: string }): SimRequest {
  const url = new URL(raw.url ?? '/', read.origin);
  return {
    method: (raw.method ?? 'GET').toUpperCase(),
    path: url.pathname,
    query: url.searchParams,
    headers: raw.headers,
    requestId: randomHex32(),
    origin: read.origin,
    body: read.body,
    raw,
  };
}
