import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertRows, type RowToUpsert } from '../src/warehouse/upsert.js';
import { createTestEnv, type TestEnv } from './helpers.js';

// A resync sends only the records whose hash differs from the stored row's (issue 15): an
// unchanged page costs one lookup of ids and hashes, not a parse and compare of its jsonb.

const SOURCE = 'hash-test';

function page(names: Record<string, string>): RowToUpsert[] {
  return Object.entries(names).map(([id, name]) => ({
    externalId: id,
    scope: 'org-1',
    columns: { organization_external_id: 'org-1', name, status: 'on' },
    raw: { id, name, status: 'on' },
  }));
}

describe('row hashes', () => {
  let env: TestEnv;

  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(async () => {
    await env?.cleanup();
  });

  const stored = async () =>
    (
      await sql<{ external_id: string; name: string; raw: { name: string }; row_hash: string | null; missing_since: Date | null }>`
        select external_id, name, raw, row_hash::text, missing_since from devices where source_id = ${SOURCE} order by external_id`.execute(env.db)
    ).rows;

  it('skips unchanged records by hash, writes changed ones, and fills a missing hash without calling it a change', async () => {
    const first = await upsertRows(env.db, 'devices', SOURCE, page({ a: 'alpha', b: 'beta', c: 'gamma' }));
    expect(first).toMatchObject({ inserted: 3, updated: 0, unchanged: 0 });
    const hashes = (await stored()).map((r) => r.row_hash);
    expect(hashes.every((h) => h !== null && /^[0-9a-f-]{36}$/.test(h))).toBe(true);
    expect(new Set(hashes).size).toBe(3);

    // A row edited in the warehouse but not at the vendor keeps its hash: the resync does not
    // send it, so the edit stays. Without the hash lookup the full compare would rewrite it.
    await sql`update devices set raw = jsonb_set(raw, '{name}', '"edited"') where source_id = ${SOURCE} and external_id = 'a'`.execute(env.db);
    const resync = await upsertRows(env.db, 'devices', SOURCE, page({ a: 'alpha', b: 'beta', c: 'gamma' }));
    expect(resync).toEqual({ inserted: 0, updated: 0, unchanged: 3, changedIds: [] });
    expect((await stored())[0]!.raw.name).toBe('edited');

    // A row written before hashes existed: same values, no hash. It gets its hash, and is not a change.
    await sql`update devices set row_hash = null where source_id = ${SOURCE} and external_id = 'b'`.execute(env.db);
    const backfill = await upsertRows(env.db, 'devices', SOURCE, page({ a: 'alpha', b: 'beta', c: 'gamma' }));
    expect(backfill).toEqual({ inserted: 0, updated: 0, unchanged: 3, changedIds: [] });
    expect((await stored())[1]!.row_hash).toBe(hashes[1]);

    // A change at the vendor: only that row is written, with its new hash.
    const changed = await upsertRows(env.db, 'devices', SOURCE, page({ a: 'alpha', b: 'beta', c: 'delta' }));
    expect(changed).toEqual({ inserted: 0, updated: 1, unchanged: 2, changedIds: ['c'] });
    const after = await stored();
    expect(after[2]!.name).toBe('delta');
    expect(after[2]!.row_hash).not.toBe(hashes[2]);

    // A missing row listed again with the same values is revived, whatever its hash says.
    await sql`update devices set missing_since = now() where source_id = ${SOURCE} and external_id = 'b'`.execute(env.db);
    const revived = await upsertRows(env.db, 'devices', SOURCE, page({ a: 'alpha', b: 'beta', c: 'delta' }));
    expect(revived).toEqual({ inserted: 0, updated: 1, unchanged: 2, changedIds: ['b'] });
    expect((await stored())[1]!.missing_since).toBeNull();

    // Without the lookup (a walk whose rows were all new so far) every record is sent and
    // compared: still exact, and the hand edit is now rewritten from the vendor's record.
    const compared = await upsertRows(env.db, 'devices', SOURCE, page({ a: 'alpha', b: 'beta', c: 'delta' }), false);
    expect(compared).toEqual({ inserted: 0, updated: 1, unchanged: 2, changedIds: ['a'] });
    expect((await stored())[0]!.raw.name).toBe('alpha');
  });
});
