import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

// How a delivery proves it comes from the vendor (pure). Every comparison is constant-time, so
// the answer's timing tells a forger nothing about how much of a guess was right.

/** HMAC-SHA256 of `body` keyed with `secret`, as lower-case hex. */
export function hmacSha256Hex(secret: string, body: Buffer | string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** The `X-Webhook-Signature-256` value Toggl sends for a body: `sha256=<hex HMAC of the body>`. */
export function sha256Signature(secret: string, body: Buffer | string): string {
  return `sha256=${hmacSha256Hex(secret, body)}`;
}

/** What checking a signature header came to. */
export type SignatureCheck = 'ok' | 'unsigned' | 'malformed' | 'wrong';

/**
 * Checks a `sha256=<64 hex>` header against the HMAC of the raw body (the bytes as received,
 * never a re-serialized parse). `unsigned` without the header, `malformed` when it is not of that
 * form, `wrong` when it signs something else or with another secret.
 */
export function checkSha256Signature(header: string | string[] | undefined, secret: string, body: Buffer): SignatureCheck {
  if (header === undefined || (Array.isArray(header) && header.length === 0)) return 'unsigned';
  const value = Array.isArray(header) ? header[0]! : header;
  const m = /^\s*sha256=([0-9a-fA-F]{64})\s*$/.exec(value);
  if (!m) return 'malformed';
  const given = Buffer.from(m[1]!.toLowerCase(), 'hex');
  const expected = Buffer.from(hmacSha256Hex(secret, body), 'hex');
  return timingSafeEqual(given, expected) ? 'ok' : 'wrong';
}

/**
 * Whether a presented shared secret equals the configured one. Both are hashed first, so the
 * comparison takes the same time whatever their lengths; a missing or repeated header is false.
 */
export function sameSecret(presented: string | string[] | undefined, secret: string): boolean {
  if (typeof presented !== 'string') return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(secret).digest();
  return timingSafeEqual(a, b) && presented.length === secret.length;
}

/** SHA-256 of a body as hex: how a delivery is recognised again without keeping its bytes. */
export function bodyDigest(body: Buffer | string): string {
  return createHash('sha256').update(body).digest('hex');
}
