import { z } from 'zod';
import { isLoopbackHost } from '../http/loopback.js';

/** Default port of the receiver. */
export const DEFAULT_WEBHOOK_PORT = 8790;

/** Where the receiver listens: a port, on loopback unless `host` says otherwise. */
const listenSchema = z
  .object({
    port: z.number().int().min(1).max(65535).default(DEFAULT_WEBHOOK_PORT),
    /** Default 127.0.0.1: a reverse proxy in front terminates TLS (docs/freshness.md). */
    host: z.string().min(1).default('127.0.0.1'),
  })
  .strict();

/**
 * `webhooks:` in the config: the receiver of vendor events (docs/freshness.md). Off unless
 * `listen` is set (the worker then receives too) or `fleetsync webhooks serve` runs. Each
 * source's secret is its credential `webhookSecret`, a reference like every credential.
 */
export const webhooksSchema = z
  .object({
    listen: listenSchema.optional(),
    /**
     * The URL vendors reach the receiver at (the reverse proxy's), without the `/webhooks/<source>`
     * path: `fleetsync webhooks register` gives the vendors `<publicUrl>/webhooks/<source id>`.
     * HTTPS unless loopback (a simulator).
     */
    publicUrl: z
      .string()
      .url()
      .refine((u) => {
        const url = new URL(u);
        return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
      }, 'must be https:// (plain http only to loopback): vendors send the events, and Toggl signs but does not encrypt them')
      .refine((u) => new URL(u).search === '' && new URL(u).hash === '', 'must not have a query or fragment')
      .optional(),
    /** Largest body accepted (bytes); a bigger one is refused with 413 before it is read whole. Default 1 MiB. */
    maxBodyBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
    /**
     * How far the signed send time of a delivery (Toggl's `timestamp`) may be from the receiver's
     * clock, either way, in seconds; an older one is refused as a replay. Default 300.
     */
    maxAgeSeconds: z.number().int().min(10).max(86_400).default(300),
  })
  .strict();
export type WebhooksConfig = z.infer<typeof webhooksSchema>;

/** The URL a vendor is given for a source's events. */
export function callbackUrl(publicUrl: string, sourceId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/webhooks/${encodeURIComponent(sourceId)}`;
}

/** The source id a receiver path names (`/webhooks/<id>`), or null for any other path. */
export function sourceOfPath(path: string): string | null {
  const m = /^\/webhooks\/([A-Za-z0-9][A-Za-z0-9_-]{0,62})\/?$/.exec(path);
  return m ? m[1]! : null;
}

/** Shortest `webhookSecret` accepted: a guessable secret would let anyone write events. */
export const MIN_SECRET_LENGTH = 16;
