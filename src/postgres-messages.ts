/**
 * Plain messages for the Postgres errors an operator meets before anything syncs: a database that
 * does not exist, a schema that was never migrated, refused credentials and a DATABASE_URL that is
 * not a Postgres URL. Pure: no I/O. Like the Redis messages (src/infra-errors.ts) they name the
 * host and port, never a user's password, and say what to do.
 */
import { endpointOf, errorCode, formatEndpoint, InfraError } from './infra-errors.js';

/** The example every DATABASE_URL message shows. */
export const DATABASE_URL_FORM = 'postgres://USER[:PASSWORD]@HOST[:5432]/DATABASE';

/**
 * What is wrong with a DATABASE_URL, or null when it is a usable Postgres URL: it must parse as a
 * URL with scheme postgres: or postgresql: and name a host (or a socket directory in `?host=`).
 * The text never contains the URL (it may hold a password).
 */
export function databaseUrlProblem(databaseUrl: string): string | null {
  let u: URL;
  try {
    u = new URL(databaseUrl);
  } catch {
    return `DATABASE_URL is not a URL (expected ${DATABASE_URL_FORM})`;
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') return `DATABASE_URL has scheme ${u.protocol.slice(0, 20)} (expected ${DATABASE_URL_FORM})`;
  if (u.hostname === '' && !u.searchParams.get('host')) return `DATABASE_URL names no host (expected ${DATABASE_URL_FORM})`;
  return null;
}

/** Throws an InfraError naming Postgres when DATABASE_URL is not a usable Postgres URL (databaseUrlProblem). */
export function assertDatabaseUrl(databaseUrl: string): void {
  const problem = databaseUrlProblem(databaseUrl);
  if (problem !== null) throw new InfraError('Postgres', problem);
}

function databaseName(databaseUrl: string): string | null {
  try {
    const name = decodeURIComponent(new URL(databaseUrl).pathname.replace(/^\//, ''));
    return name === '' ? null : name;
  } catch {
    return null;
  }
}

function messageOf(err: unknown): string {
  const m = err !== null && typeof err === 'object' ? (err as { message?: unknown }).message : undefined;
  return typeof m === 'string' ? m : '';
}

/**
 * The one-line message for a Postgres SQLSTATE an operator can act on, or null for any other
 * error: 3D000 (no such database: `fleetsync migrate` creates it), 42P01 (a table of fleetsync is
 * missing: run `fleetsync migrate`), 42703 (a column is missing: a schema older than this
 * fleetsync), 28000/28P01 (credentials refused).
 */
export function describePostgresError(err: unknown, databaseUrl: string): string | null {
  const code = errorCode(err);
  if (!code || !/^[0-9A-Z]{5}$/.test(code)) return null;
  const endpoint = endpointOf(databaseUrl, 5432);
  const at = endpoint ? ` at ${formatEndpoint(endpoint)}` : '';
  const db = databaseName(databaseUrl);
  const inDb = `Postgres${at}${db ? `, database "${db}"` : ''}`;
  const msg = messageOf(err);
  switch (code) {
    case '3D000':
      return `Postgres${at} has no database ${db ? `"${db}"` : 'of that name'}: run fleetsync migrate to create it and its schema, or correct the name in DATABASE_URL`;
    case '42P01': {
      const rel = /relation "([^"]+)"/.exec(msg)?.[1];
      return `${inDb} has no table ${rel ?? '(unnamed)'}: its fleetsync schema is missing or older than this fleetsync; run fleetsync migrate`;
    }
    case '42703':
      return `${inDb}: ${msg} (42703); if fleetsync was upgraded since the last migrate, run fleetsync migrate`;
    case '28000':
    case '28P01':
      return `Postgres${at} refused the credentials in DATABASE_URL (${code} ${msg})`;
    default:
      return null;
  }
}
