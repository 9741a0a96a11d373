import { z } from 'zod/v4';
import { VendorError } from '../http/errors.js';
import type { ResolvedSource } from '../sources.js';
import { IZUMA_SECRET_HEADER } from './izuma.js';
import type { VendorCall } from './vendor-call.js';

// Izuma's callback channel (https://developer.izumanetworks.com/docs/device-management-api/connect/,
// `/v2/notification/callback`): one per API key; registering another URL replaces it; Izuma
// tests the URL with an empty PUT when it is set; URL, header names and values together at most
// 400 characters.
const CALLBACK = '/v2/notification/callback';

/** Most characters of the URL and the headers together that Izuma accepts. */
export const IZUMA_CALLBACK_MAX_CHARS = 400;

/** What an Izuma set-up command works with. */
export interface IzumaSetup {
  src: ResolvedSource;
  call: VendorCall;
  out: (line: string) => void;
}

const callbackSchema = z.object({ url: z.string(), headers: z.record(z.string(), z.string()).nullish() });

/** The callback Izuma has for the source's API key, without its header values; null when none. */
export async function currentCallback(s: IzumaSetup): Promise<{ url: string; headerNames: string[] } | null> {
  try {
    const r = callbackSchema.safeParse((await s.call({ path: CALLBACK })).body);
    if (!r.success) throw new Error(`${s.src.id}: GET ${CALLBACK} did not answer {url, headers}`);
    return { url: r.data.url, headerNames: Object.keys(r.data.headers ?? {}) };
  } catch (err) {
    if (err instanceof VendorError && err.status === 404) return null;
    throw err;
  }
}

/** Why a callback cannot be set (pure): Izuma's length limit, counted like Izuma counts it. */
export function callbackProblem(url: string, headers: Record<string, string>): string | null {
  const chars = url.length + Object.entries(headers).reduce((n, [k, v]) => n + k.length + v.length, 0);
  return chars > IZUMA_CALLBACK_MAX_CHARS ? `the callback URL and its header come to ${chars} characters, over Izuma's ${IZUMA_CALLBACK_MAX_CHARS}: use a shorter webhooks.publicUrl or webhookSecret` : null;
}

/**
 * `webhooks register` for an Izuma source: sets the API key's callback to `url` with the secret
 * header. Refuses to replace another URL (Izuma keeps one per key, another application's
 * included) unless `force`. Izuma tests the URL at once, so the receiver must be reachable.
 */
export async function registerIzuma(s: IzumaSetup, opts: { url: string; secret: string; force: boolean }): Promise<string[]> {
  const headers = { [IZUMA_SECRET_HEADER]: opts.secret };
  const tooLong = callbackProblem(opts.url, headers);
  if (tooLong !== null) return [`${s.src.id}: ${tooLong}`];
  const now = await currentCallback(s);
  if (now !== null && now.url !== opts.url && !opts.force) return [`${s.src.id}: the API key has a callback to ${now.url} already, and Izuma keeps one per key: --force replaces it`];
  try {
    await s.call({ path: CALLBACK, method: 'PUT', body: { url: opts.url, headers } });
  } catch (err) {
    if (err instanceof VendorError && err.status === 400) return [`${s.src.id}: Izuma refused the callback (${err.message}); it tests ${opts.url} at once: is the receiver running and reachable there, and no websocket channel set for the key?`];
    throw err;
  }
  s.out(`${s.src.id}: callback set to ${opts.url} (header ${IZUMA_SECRET_HEADER}); Izuma sends registrations, registration updates, de-registrations and expiries there`);
  return [];
}

/** `webhooks remove` for an Izuma source: deletes the API key's callback when it is the receiver's (`force`: whatever it is). */
export async function removeIzuma(s: IzumaSetup, opts: { url: string | null; force: boolean }): Promise<string[]> {
  const now = await currentCallback(s);
  if (now === null) {
    s.out(`${s.src.id}: no callback set`);
    return [];
  }
  if (now.url !== opts.url && !opts.force) return [`${s.src.id}: the callback goes to ${now.url}, not this receiver: --force removes it anyway`];
  await s.call({ path: CALLBACK, method: 'DELETE' });
  s.out(`${s.src.id}: callback to ${now.url} removed`);
  return [];
}
