/**
 * Messages that say which part of the infrastructure failed: Postgres, Redis, the vendor's host
 * or the metrics port. Pure: no I/O. Messages carry host and port only, never a user or password
 * (connection URLs may hold both).
 */

/** A host and port, as a message shows it. */
export interface Endpoint {
  host: string;
  port: number;
}

/** The part of the infrastructure an error is about. */
export type InfraPart = 'Postgres' | 'Redis' | 'vendor' | 'metrics';

/** An error whose message already names the part that failed; the CLI prints it as it is. */
export class InfraError extends Error {
  override name = 'InfraError';
  constructor(
    readonly part: InfraPart,
    message: string,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

/** Error codes of a connection that could not be made or was lost (Node's net/dns codes). */
export const CONNECTION_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
]);

/** Codes that mean a host is wrong (does not resolve) or nothing listens there: a configuration error when it happens on the first request. */
export const UNREACHABLE_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

// SQLSTATEs of a server that went away: admin shutdown or terminate (57P01), crash shutdown
// (57P02), starting up or shutting down (57P03), and the connection exception class (08).
const PG_GONE_STATES = new Set(['57P01', '57P02', '57P03']);

/**
 * The host and port of a connection URL (postgres://, redis://, rediss://), with the scheme's
 * default port when it names none. Never returns the user or password. Returns null for a URL
 * that does not parse.
 */
export function endpointOf(url: string, defaultPort: number): Endpoint | null {
  try {
    const u = new URL(url);
    const host = u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
    return { host, port: u.port ? Number(u.port) : defaultPort };
  } catch {
    return null;
  }
}

/** `host:port` (IPv6 hosts in brackets). */
export function formatEndpoint(e: Endpoint): string {
  return `${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;
}

function fieldOf(err: unknown, key: string): unknown {
  return err !== null && typeof err === 'object' ? (err as Record<string, unknown>)[key] : undefined;
}

/** The Node error code of an error (`ECONNREFUSED`), from the error, else its first inner error (AggregateError) or its cause. */
export function errorCode(err: unknown, depth = 0): string | null {
  const code = fieldOf(err, 'code');
  if (typeof code === 'string' && code !== '') return code;
  if (depth > 3) return null;
  const inner = fieldOf(err, 'errors');
  if (Array.isArray(inner) && inner.length > 0) return errorCode(inner[0], depth + 1);
  const cause = fieldOf(err, 'cause');
  return cause === undefined ? null : errorCode(cause, depth + 1);
}

/**
 * Whether an error from the pg driver means the connection to Postgres failed or was lost (as
 * opposed to an SQL error): a network code, "Connection terminated", or a server-shutdown SQLSTATE.
 * Returns the short reason to show, or null.
 */
export function postgresConnectionReason(err: unknown): string | null {
  const code = errorCode(err);
  if (code && CONNECTION_CODES.has(code)) return code;
  if (code && (PG_GONE_STATES.has(code) || code.startsWith('08'))) {
    const msg = fieldOf(err, 'message');
    return typeof msg === 'string' ? `${code} ${msg}` : code;
  }
  const msg = fieldOf(err, 'message');
  if (typeof msg === 'string' && /^Connection terminated( unexpectedly| due to connection timeout)?$/.test(msg)) return msg;
  // pg's own words for a connection that timed out, or a client used again after its connection broke.
  if (typeof msg === 'string' && (msg === 'timeout exceeded when trying to connect' || msg === 'Client has encountered a connection error and is not queryable')) return msg;
  return null;
}

/** `Postgres at host:port is unreachable (reason)`: the one line for a lost or refused Postgres connection. */
export function postgresMessage(endpoint: Endpoint | null, reason: string): string {
  return `Postgres${endpoint ? ` at ${formatEndpoint(endpoint)}` : ''} is unreachable (${reason})`;
}

/** `Redis at host:port is unreachable (reason)`: the one line for a lost or refused Redis connection. */
export function redisMessage(endpoint: Endpoint | null, reason: string): string {
  return `Redis${endpoint ? ` at ${formatEndpoint(endpoint)}` : ''} is unreachable (${reason})`;
}

/** `cannot reach the vendor at host:port: CODE`: a request that got no response. */
export function vendorUnreachableMessage(endpoint: Endpoint | null, code: string): string {
  return `cannot reach the vendor${endpoint ? ` at ${formatEndpoint(endpoint)}` : ''}: ${code}`;
}

/** The message for a metrics server that could not listen, or null when the error is not a listen error. */
export function metricsListenMessage(err: unknown, port: number, host: string | undefined): string | null {
  const code = errorCode(err);
  const where = host && host !== '0.0.0.0' ? `${formatEndpoint({ host, port })}` : String(port);
  if (code === 'EADDRINUSE') return `metrics port ${where} is already in use (set worker.metricsPort or FLEETSYNC_METRICS_PORT to a free port, or 0 for off)`;
  if (code === 'EACCES') return `metrics port ${where} needs privileges this process lacks (EACCES)`;
  if (code === 'EADDRNOTAVAIL') return `metrics host ${host ?? '0.0.0.0'} is not an address of this machine (EADDRNOTAVAIL)`;
  return null;
}

/** Where fleetsync connects, for naming the part an error came from. */
export interface InfraEndpoints {
  databaseUrl: string;
  redisUrl: string;
}

/**
 * The one-line message for an error a command ended with, naming the part that is down, or null
 * when the error is not an infrastructure error. An InfraError keeps its message; a connection
 * error is matched to Postgres or Redis by the host and port it names, and the pg driver's own
 * "Connection terminated" and shutdown errors are Postgres's.
 */
export function describeInfraError(err: unknown, where: InfraEndpoints): string | null {
  if (err instanceof InfraError) return err.message;
  const pg = endpointOf(where.databaseUrl, 5432);
  const redis = endpointOf(where.redisUrl, 6379);
  const code = errorCode(err);
  if (code && CONNECTION_CODES.has(code)) {
    const port = fieldOf(err, 'port') ?? fieldOf(firstInner(err), 'port');
    const host = fieldOf(err, 'hostname') ?? fieldOf(err, 'address') ?? fieldOf(firstInner(err), 'address');
    const matches = (e: Endpoint | null) => e !== null && (port === e.port || (port === undefined && host === e.host));
    if (matches(redis) && !matches(pg)) return redisMessage(redis, code);
    if (matches(pg)) return postgresMessage(pg, code);
    return null;
  }
  const reason = postgresConnectionReason(err);
  return reason ? postgresMessage(pg, reason) : null;
}

function firstInner(err: unknown): unknown {
  const inner = fieldOf(err, 'errors');
  return Array.isArray(inner) ? inner[0] : undefined;
}
