import { pino, type DestinationStream, type Logger } from 'pino';
import { readEnv } from './env.js';

export type { Logger };

/** Paths pino blanks in every log line: credentials and auth headers wherever they appear. */
export const REDACT_PATHS = [
  'authorization',
  'Authorization',
  '*.authorization',
  '*.Authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
  '*.config.headers',
  '*.config.auth',
  'err.config',
  'err.request',
  'err.response.config',
  'credentials',
  '*.credentials',
  '*.apiKey',
  '*.token',
  '*.password',
  '*.clientSecret',
];

// Keys whose values are secrets or carry them (request configs and raw requests hold the
// Authorization header; `_header` is Node's raw request head).
const SECRET_KEYS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'apikey', 'api_key', 'token', 'password', 'clientsecret', 'client_secret', 'credentials', 'secret']);
const DROP_KEYS = new Set(['config', 'request', 'headers', '_header', 'socket', 'agent', 'res', 'req']);

function isAxiosError(v: object): v is Error & { isAxiosError: true; code?: string; status?: number; response?: { status?: number }; config?: { method?: string; url?: string } } {
  return (v as { isAxiosError?: unknown }).isAxiosError === true;
}

/** Only the origin and path of a URL: query strings may hold tokens. */
function safeUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const u = new URL(url, 'http://relative.invalid');
    return u.origin === 'http://relative.invalid' ? u.pathname : `${u.origin}${u.pathname}`;
  } catch {
    return undefined;
  }
}

/**
 * Returns a copy of a log value that is safe to write: axios errors become
 * { type, message, code, status, method, url } (never their config, request or response), errors
 * keep name/message/code/status/stack, secret keys are censored and request-ish objects dropped.
 * Depth-limited; never throws; never mutates its input.
 */
export function sanitizeForLog(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  if (depth > 6) return '[deep]';
  seen.add(value);
  if (isAxiosError(value)) {
    return {
      type: value.name,
      message: value.message,
      code: value.code,
      status: value.response?.status ?? value.status,
      method: value.config?.method,
      url: safeUrl(value.config?.url),
    };
  }
  if (value instanceof Error) {
    const e = value as Error & { cause?: unknown };
    // Own fields (a VendorError's status, requestId, ...) pass through the same filter as objects.
    const out = sanitizeObject(e, depth, seen);
    out.type = e.name;
    out.message = e.message;
    out.stack = e.stack;
    if (e.cause !== undefined) out.cause = sanitizeForLog(e.cause, depth + 1, seen);
    return out;
  }
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => sanitizeForLog(v, depth + 1, seen));
  if (value instanceof Date || Buffer.isBuffer(value)) return value;
  return sanitizeObject(value, depth, seen);
}

function sanitizeObject(value: object, depth: number, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const key = k.toLowerCase();
    if (SECRET_KEYS.has(key)) out[k] = '[redacted]';
    else if (DROP_KEYS.has(key) && v !== null && typeof v === 'object') out[k] = '[redacted]';
    else out[k] = sanitizeForLog(v, depth + 1, seen);
  }
  return out;
}

/**
 * Creates the process logger (JSON lines on stderr so stdout stays for command output).
 * Level from FLEETSYNC_LOG_LEVEL, default info; "silent" turns it off. Every line goes through
 * sanitizeForLog and the REDACT_PATHS, so an axios error or a credentials object logged by
 * mistake never prints its secret. `destination` is for tests.
 */
export function createLogger(opts: { level?: string; name?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      name: opts.name ?? 'fleetsync',
      level: opts.level ?? readEnv().logLevel,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      // pino's default err serializer copies every enumerable field (an axios error's config
      // with its Authorization header included): replace it.
      serializers: { err: (e: unknown) => sanitizeForLog(e), error: (e: unknown) => sanitizeForLog(e) },
      formatters: { log: (obj) => sanitizeForLog(obj) as Record<string, unknown> },
    },
    opts.destination ?? pino.destination(2),
  );
}
