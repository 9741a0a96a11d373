import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kysely } from 'kysely';
import type { Database } from '../src/warehouse/db.js';
import { payloadRecords, type RowToUpsert } from '../src/warehouse/payload.js';
import type { DataTableName } from '../src/warehouse/tables.js';
import { upsertRows, type UpsertOptions } from '../src/warehouse/upsert.js';
import { recordHistory } from '../src/warehouse/history.js';
import { createTestEnv, type TestEnv } from './helpers.js';

// A resync sends only the records whose hash differs from the stored row's: an
// unchanged page costs one lookup of ids and hashes, not a parse and compare of its jsonb.

const SOURCE = 'hash-test';

/** upsertRows of these rows' payload into a table of a source. */
const upsert = (db: Kysely<Database>, table: DataTableName, sourceId: string, rows: RowToUpsert[], options?: UpsertOptions) => upsertRows(db, { table, sourceId }, payloadRecords(rows), options);

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
    const first = await upsert(env.db, 'devices', SOURCE, page({ a: 'alpha', b: 'beta', c: 'gamma' }));
    expect(first).toMatchObject({ inserted: 3, updated: 0, unchanged: 0 });
    const hashes = (await stored()).map((r) => r.row_hash);
    expect(hashes.every((h) => h !== null && /^[0-9a-f-]{36}$/.test(h))).toBe(true);
    expect(new Set(hashes).size).toBe(3);

    // A row edited in the warehouse but not at the vendor keeps its hash: the resync does not
    // send it, so the edit stays. Without the hash lookup the full compare would rewrite it.
    await sql`update devices set raw = jsonb_set(raw, '{name}', '"edited"') where source_id = ${SOURCE} and external_id = 'a'`.execute(env.db);
    const resync = await upsert(env.db, 'devices', SOURCE, page({ a: 'alpha', b: 'beta', c: 'gamma' }));
    expect(resync).toEqual({ inserted: 0, updated: 0, unchanged: 3, changedIds: [] });
    expect((await stored())[0]!.raw.name).toBe('edited');

    // A row written before hashes existed: same values, no hash. It gets its hash, and is not a change.
    await sql`update devices set row_hash = null where source_id = ${SOURCE} and external_id = 'b'`.execute(env.db);
    const backfill = await upsert(env.db, 'devices', SOURCE, page({ a: 'alpha', b: 'beta', c: 'gamma' }));
    expect(backfill).toEqual({ inserted: 0, updated: 0, unchanged: 3, changedIds: [] });
    expect((await stored())[1]!.row_hash).toBe(hashes[1]);

    // A change at the vendor: only that row is written, with its new hash.
    const changed = await upsert(env.db, 'devices', SOURCE, page({ a: 'alpha', b: 'beta', c: 'delta' }));
    expect(changed).toEqual({ inserted: 0, updated: 1, unchanged: 2, changedIds: ['c'] });
    const after = await stored();
    expect(after[2]!.name).toBe('delta');
    expect(after[2]!.row_hash).not.toBe(hashes[2]);

    // A missing row listed again with the same values is revived, whatever its hash says.
    await sql`update devices set missing_since = now() where source_id = ${SOURCE} and external_id = 'b'`.execute(env.db);
    const revived = await upsert(env.db, 'devices', SOURCE, page({ a: 'alpha', b: 'beta', c: 'delta' }));
    expect(revived).toEqual({ inserted: 0, updated: 1, unchanged: 2, changedIds: ['b'] });
    expect((await stored())[1]!.missing_since).toBeNull();

    // Without the lookup (a walk whose rows were all new so far) every record is sent and
    // compared: still exact, and the hand edit is now rewritten from the vendor's record.
    const compared = await upsert(env.db, 'devices', SOURCE, page({ a: 'alpha', b: 'beta', c: 'delta' }), { lookUpHashes: false });
    expect(compared).toEqual({ inserted: 0, updated: 1, unchanged: 2, changedIds: ['a'] });
    expect((await stored())[0]!.raw.name).toBe('alpha');
  });

  it("a fresh walk's statement inserts, opens the new rows' history itself, and still writes only what differs", async () => {
    const src = 'fresh-test';
    const versions = async () =>
      (
        await sql<{ external_id: string; name: string; open: boolean }>`
          select external_id, name, valid_to is null as open from devices_history where source_id = ${src} order by external_id, valid_from, valid_to nulls last`.execute(env.db)
      ).rows;
    const rows = (names: Record<string, string>) => page(names).map((r) => ({ ...r, scope: 'org-1' }));
    const first = await upsert(env.db, 'devices', src, rows({ a: 'alpha', b: 'beta' }), { lookUpHashes: false, openHistory: true });
    expect(first).toEqual({ inserted: 2, updated: 0, unchanged: 0, changedIds: ['a', 'b'], history: { opened: 2, updatedIds: [] } });
    expect(await versions()).toEqual([
      { external_id: 'a', name: 'alpha', open: true },
      { external_id: 'b', name: 'beta', open: true },
    ]);
    const hashes = (await sql<{ row_hash: string | null }>`select row_hash::text from devices where source_id = ${src} order by external_id`.execute(env.db)).rows;
    expect(hashes.every((h) => h.row_hash !== null)).toBe(true);

    // Stored rows met on a fresh walk: an unchanged one is not written, a changed one is, and its
    // history is left to the history step (updatedIds), a deleted one comes back.
    await sql`update devices set deleted_at = now() where source_id = ${src} and external_id = 'b'`.execute(env.db);
    const again = await upsert(env.db, 'devices', src, rows({ a: 'alpha', b: 'beta', c: 'gamma' }), { lookUpHashes: false, openHistory: true });
    expect(again).toMatchObject({ inserted: 1, updated: 1, unchanged: 1, history: { opened: 1, updatedIds: ['b'] } });
    expect([...again.changedIds].sort()).toEqual(['b', 'c']);
    const live = await sql<{ external_id: string; deleted: boolean }>`select external_id, deleted_at is not null as deleted from devices where source_id = ${src} order by 1`.execute(env.db);
    expect(live.rows).toEqual([
      { external_id: 'a', deleted: false },
      { external_id: 'b', deleted: false },
      { external_id: 'c', deleted: false },
    ]);

    // A row deleted from the table by hand while its version stayed open: inserting it again
    // finds that version, so the statement opens fewer versions than it inserted, which is how
    // the engine knows to run the whole history step for the page (src/warehouse/walks.ts).
    await sql`delete from devices where source_id = ${src} and external_id = 'c'`.execute(env.db);
    const back = await upsert(env.db, 'devices', src, rows({ c: 'gamma-2' }), { lookUpHashes: false, openHistory: true });
    expect(back).toMatchObject({ inserted: 1, updated: 0, history: { opened: 0, updatedIds: [] } });
    // The history step told every row was inserted finds the open version and closes it.
    expect(await recordHistory(env.db, 'devices', src, back.changedIds, true)).toEqual({ closed: 1, opened: 1 });
    expect((await versions()).filter((v) => v.external_id === 'c')).toEqual([
      { external_id: 'c', name: 'gamma', open: false },
      { external_id: 'c', name: 'gamma-2', open: true },
    ]);

    // Without openHistory nothing is written to the history.
    const before = (await versions()).length;
    const plain = await upsert(env.db, 'devices', src, rows({ d: 'delta' }), { lookUpHashes: false });
    expect(plain).toEqual({ inserted: 1, updated: 0, unchanged: 0, changedIds: ['d'] });
    expect((await versions()).length).toBe(before);
  });
});
