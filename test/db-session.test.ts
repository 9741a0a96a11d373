import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../src/warehouse/db.js';
import { createTestEnv, type TestEnv } from './helpers.js';

// The session settings createDb gives each connection (src/warehouse/db.ts).

describe('createDb sessions', () => {
  let env: TestEnv;

  beforeAll(async () => {
    env = await createTestEnv();
    await sql`CREATE TABLE toast_probe (id int, v text)`.execute(env.db);
  });
  afterAll(async () => {
    await env.cleanup();
  });

  // Long enough to be compressed in place, short enough to stay in the row.
  const value = 'device raw '.repeat(400);
  const compressionOf = async (db: typeof env.db, id: number) => {
    await sql`INSERT INTO toast_probe VALUES (${id}, ${value})`.execute(db);
    return (await sql<{ c: string | null }>`SELECT pg_column_compression(v) AS c FROM toast_probe WHERE id = ${id}`.execute(db)).rows[0]!.c;
  };

  it('compresses large values with lz4 where the server left the default, and keeps a compression the database chose', async () => {
    expect(await compressionOf(env.db, 1)).toBe('lz4');
    const name = new URL(env.databaseUrl).pathname.slice(1);
    await sql`ALTER DATABASE ${sql.id(name)} SET default_toast_compression = 'pglz'`.execute(env.db);
    const chosen = createDb(env.databaseUrl, { max: 1 });
    try {
      expect(await compressionOf(chosen, 2)).toBe('pglz');
    } finally {
      await chosen.destroy();
    }
  });
});
