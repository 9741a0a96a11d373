import { pino, type Logger } from 'pino';

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

/**
 * Creates the process logger (JSON lines on stderr so stdout stays for command output).
 * Level from FLEETSYNC_LOG_LEVEL, default info; "silent" turns it off.
 */
export function createLogger(opts: { level?: string; name?: string } = {}): Logger {
  return pino(
    {
      name: opts.name ?? 'fleetsync',
      level: opts.level ?? process.env.FLEETSYNC_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
    },
    pino.destination(2),
  );
}
