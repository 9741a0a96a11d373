import { pino, type DestinationStream, type Logger } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { EnvError, readEnv } from './env.js';
import { fieldsText } from './log-line.js';
import { stderrTerm, type Terminal } from './terminal.js';

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

/** How log lines are written: JSON lines, or human-readable lines for a terminal. */
export type LogFormat = 'json' | 'pretty';

/**
 * The format for FLEETSYNC_LOG_FORMAT (`json`, `pretty`, or `auto`/unset: pretty when stderr is a
 * terminal, JSON otherwise). Throws EnvError for any other value, naming the variable.
 */
export function resolveLogFormat(text: string | undefined, stderrIsTTY: boolean): LogFormat {
  if (text === undefined || text === '' || text === 'auto') return stderrIsTTY ? 'pretty' : 'json';
  if (text === 'json' || text === 'pretty') return text;
  throw new EnvError(`FLEETSYNC_LOG_FORMAT must be json, pretty or auto, not "${text}"`);
}

/**
 * A pino destination that turns each JSON line into one human-readable line (pino-pretty, run
 * synchronously in this thread): `[08:11:36] INFO: run started source=automox-prod runId=2 ...`,
 * and writes it to `out`: a Terminal keeps it above the progress bars.
 */
export function prettyDestination(out: Pick<Terminal, 'write'>, opts: { colorize: boolean }): DestinationStream {
  // The fields follow the message as key=value pairs (src/log-line.ts), never as a JSON blob.
  const format = prettyFactory({
    colorize: opts.colorize,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,name',
    singleLine: true,
    hideObject: true,
    messageFormat: (log, messageKey, _level, { colors }) => {
      const fields = fieldsText(log);
      const msg = String(log[messageKey] ?? '');
      return fields ? `${msg} ${colors.gray(fields)}` : msg;
    },
  });
  return {
    write: (line: string) => {
      const text = format(line);
      // pino-pretty ends no line whose object it hides.
      out.write(text.endsWith('\n') ? text : `${text}\n`);
    },
  };
}

/** A destination that hands every JSON line to `tee` (the run log sink) before writing it. */
function teed(destination: DestinationStream, tee: (jsonLine: string) => void): DestinationStream {
  return {
    write: (line: string) => {
      tee(line);
      destination.write(line);
    },
  };
}

/**
 * Creates the process logger on stderr, so stdout stays for command output: JSON lines, or
 * readable lines when `format` is pretty (default: FLEETSYNC_LOG_FORMAT, else pretty exactly when
 * stderr is a terminal; JSON whenever a `destination` is given). Pretty lines go through the
 * stderr Terminal, above any progress bars. Level from FLEETSYNC_LOG_LEVEL, default info;
 * "silent" turns it off. Every line goes through sanitizeForLog and the REDACT_PATHS before it is
 * formatted, so an axios error or a credentials object logged by mistake never prints its secret.
 * `tee` receives every JSON line as written, before any pretty formatting (src/run-log-sink.ts).
 * `destination` is for tests.
 */
export function createLogger(opts: { level?: string; name?: string; destination?: DestinationStream; format?: LogFormat; tee?: (jsonLine: string) => void } = {}): Logger {
  const env = readEnv();
  const format = opts.format ?? (opts.destination ? 'json' : resolveLogFormat(env.logFormat, process.stderr.isTTY === true));
  let destination: DestinationStream;
  if (format === 'json') destination = opts.destination ?? pino.destination(2);
  else if (opts.destination) destination = prettyDestination(opts.destination, { colorize: false });
  else {
    const term = stderrTerm();
    destination = prettyDestination(term ?? pino.destination(2), { colorize: term !== null });
  }
  if (opts.tee) destination = teed(destination, opts.tee);
  return pino(
    {
      name: opts.name ?? 'fleetsync',
      level: opts.level ?? env.logLevel,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      // pino's default err serializer copies every enumerable field (an axios error's config
      // with its Authorization header included): replace it.
      serializers: { err: (e: unknown) => sanitizeForLog(e), error: (e: unknown) => sanitizeForLog(e) },
      formatters: { log: (obj) => sanitizeForLog(obj) as Record<string, unknown> },
    },
    destination,
  );
}
