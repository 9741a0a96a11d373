/**
 * What the loopback simulators answer: the response value handlers return, its body as bytes on
 * the wire, and the never-ending trickle a fault may send instead.
 */
import type { ServerResponse } from 'node:http';
import { boundedJson } from '../normalize.js';

export interface SimResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * The bytes of a response body and their content type: a Buffer as is, a string as text, nothing
 * as empty, anything else as JSON.
 */
export function encodeBody(body: unknown): { payload: string | Buffer; contentType: string } {
  if (Buffer.isBuffer(body)) return { payload: body, contentType: 'application/json' };
  if (typeof body === 'string') return { payload: body, contentType: 'text/plain; charset=utf-8' };
  if (body === undefined) return { payload: '', contentType: 'application/json' };
  return { payload: jsonText(body), contentType: 'application/json' };
}

/**
 * JSON text of a response body. A record nested deeper than JSON.stringify can go (a vendor's
 * stored blob thousands of levels deep) is still sent, as a vendor's serializer would send it.
 */
function jsonText(body: unknown): string {
  try {
    return JSON.stringify(body);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    return boundedJson(body).text;
  }
}

/** Sends 200 headers and `[`, then one space every `everyMs` until the client goes away. */
export function trickle(res: ServerResponse, everyMs: number): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write('[');
  const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write(' ')), everyMs);
  res.on('close', () => clearInterval(timer));
}
