import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { databaseNameOf, pgConnectionString } from '../src/warehouse/database-url.js';
import { PG_ADMIN_URL } from './helpers.js';
import { runFleetsync } from './helpers/cli.js';

// `migrate` creates the database its DATABASE_URL names and then connects to that same database,
// whatever the name holds (src/warehouse/database-url.ts): `;` is `%3B` in the URL.

const id = randomBytes(4).toString('hex');
const name = `fst_mig_${id} a;b:c@d,e=f+g$h&i%j`;
const escaped = encodeURIComponent(name);

async function databasesLike(prefix: string): Promise<string[]> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    return (await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY 1', [`${prefix}%`])).rows.map((r) => r.datname);
  } finally {
    await admin.end();
  }
}

afterAll(async () => {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    for (const d of await databasesLike(`fst_mig_${id}`)) await admin.query(`DROP DATABASE IF EXISTS "${d.replaceAll('"', '""')}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
});

describe('migrate with a database name that needs escaping', () => {
  it('creates the database of that name, migrates it, and a second run finds it up to date', async () => {
    const url = new URL(PG_ADMIN_URL);
    const databaseUrl = `${url.protocol}//${url.username ? `${url.username}@` : ''}${url.host}/${escaped}`;
    const env = { ...process.env, DATABASE_URL: databaseUrl, FLEETSYNC_LOG_LEVEL: 'error' };
    const first = await runFleetsync(['migrate'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.startsWith(`created database ${name}; applied `)).toBe(true);
    const second = await runFleetsync(['migrate'], env);
    expect([second.code, second.stdout, second.stderr]).toEqual([0, 'schema is up to date\n', '']);
    // Exactly one database, with the decoded name, and the migrations in it.
    expect(await databasesLike(`fst_mig_${id}`)).toEqual([name]);
    const client = new pg.Client({ connectionString: pgConnectionString(databaseUrl) });
    await client.connect();
    try {
      expect((await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db).toBe(name);
      expect((await client.query<{ n: number }>('SELECT count(*)::int AS n FROM kysely_migration')).rows[0]!.n).toBeGreaterThan(5);
    } finally {
      await client.end();
    }
  });
});

describe('databaseNameOf and pgConnectionString', () => {
  it('decode the name once, and leave a URL node-postgres already reads right as it is', () => {
    expect(databaseNameOf('postgres://u@h:5432/fleet%3Bprod')).toBe('fleet;prod');
    expect(databaseNameOf('postgres://u@h:5432/fleet%20x')).toBe('fleet x');
    expect(pgConnectionString('postgres://u:p%40ss@h:5432/fleetsync?sslmode=require')).toBe('postgres://u:p%40ss@h:5432/fleetsync?sslmode=require');
    expect(pgConnectionString('postgres://u@h:5432/fleet%3Bprod?application_name=x')).toBe('postgres://u@h:5432/fleet;prod?application_name=x');
    expect(() => pgConnectionString('postgres://u@h/a%3Fb')).toThrow('database name "a?b" holds "?" or "#", which node-postgres cannot be given in a connection URL: choose another name');
  });
});
