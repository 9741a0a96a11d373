import { describe, expect, it } from 'vitest';
import { InfraError } from '../../src/infra-errors.js';
import { assertDatabaseUrl, databaseUrlProblem, describePostgresError } from '../../src/postgres-messages.js';

const URL = 'postgres://fleet:s3cret@pg-host:5433/warehouse';
const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('databaseUrlProblem', () => {
  it('accepts postgres: and postgresql: URLs with a host or a socket directory', () => {
    expect(databaseUrlProblem(URL)).toBeNull();
    expect(databaseUrlProblem('postgresql://127.0.0.1/fleetsync')).toBeNull();
    expect(databaseUrlProblem('postgres:///fleetsync?host=/var/run/postgresql')).toBeNull();
  });

  it('names what is wrong and the expected form, never the URL', () => {
    expect(databaseUrlProblem('localhost:5432/fleetsync')).toBe('DATABASE_URL has scheme localhost: (expected postgres://USER[:PASSWORD]@HOST[:5432]/DATABASE)');
    expect(databaseUrlProblem('fleetsync')).toBe('DATABASE_URL is not a URL (expected postgres://USER[:PASSWORD]@HOST[:5432]/DATABASE)');
    expect(databaseUrlProblem('postgres://u:pw@127.0.0.1:99999/x')).toMatch(/^DATABASE_URL is not a URL/);
    expect(databaseUrlProblem('mysql://u:topsecret@db/x')).not.toContain('topsecret');
    expect(databaseUrlProblem('postgres:///fleetsync')).toMatch(/^DATABASE_URL names no host/);
    expect(() => assertDatabaseUrl('fleetsync')).toThrow(InfraError);
  });
});

describe('describePostgresError', () => {
  it('a missing database: migrate creates it', () => {
    expect(describePostgresError(pgError('3D000', 'database "warehouse" does not exist'), URL)).toBe(
      'Postgres at pg-host:5433 has no database "warehouse": run fleetsync migrate to create it and its schema, or correct the name in DATABASE_URL',
    );
  });

  it('a missing table: run migrate', () => {
    expect(describePostgresError(pgError('42P01', 'relation "sync_runs" does not exist'), URL)).toBe('Postgres at pg-host:5433, database "warehouse" has no table sync_runs: its fleetsync schema is missing or older than this fleetsync; run fleetsync migrate');
    expect(describePostgresError(pgError('42703', 'column "vendor" does not exist'), URL)).toMatch(/column "vendor" does not exist \(42703\); if fleetsync was upgraded since the last migrate, run fleetsync migrate$/);
  });

  it('refused credentials name DATABASE_URL and never the password', () => {
    const msg = describePostgresError(pgError('28P01', 'password authentication failed for user "fleet"'), URL);
    expect(msg).toBe('Postgres at pg-host:5433 refused the credentials in DATABASE_URL (28P01 password authentication failed for user "fleet")');
    expect(msg).not.toContain('s3cret');
  });

  it('leaves other errors alone', () => {
    expect(describePostgresError(pgError('23505', 'duplicate key'), URL)).toBeNull();
    expect(describePostgresError(pgError('ECONNREFUSED', 'connect'), URL)).toBeNull();
    expect(describePostgresError(new Error('boom'), URL)).toBeNull();
  });
});
