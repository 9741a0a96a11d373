import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as automoxSoftware from '../migrations/20261208T0100_automox_software.js';
import * as tagIds from '../migrations/20261208T0200_time_entry_tag_ids.js';
import { createTestEnv, type TestEnv } from './helpers.js';

// Migrations that add a column a connector maps fill it from raw for rows synced before, in the
// table and in the row's open history version, so the next sync writes no version for a value
// that did not change.

describe('migration backfills', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(async () => {
    await env.cleanup();
  });

  it('20261208T0100_automox_software: packages.unmanaged and devices.display_name of Automox sources, from raw', async () => {
    const db = env.db as unknown as Kysely<unknown>;
    await automoxSoftware.down(db);
    await sql`INSERT INTO sync_runs (source_id, trigger, resources, vendor) VALUES ('ax', 'sync', '{}', 'automox'), ('other', 'sync', '{}', 'rest')`.execute(db);
    for (const [source, id, raw] of [
      ['ax', 'p1', { is_managed: false }],
      ['ax', 'p2', { is_managed: true }],
      ['other', 'p3', { is_managed: false }],
    ] as const) {
      await sql`INSERT INTO packages (source_id, external_id, raw) VALUES (${source}, ${id}, ${JSON.stringify(raw)}::jsonb)`.execute(db);
      await sql`INSERT INTO packages_history (source_id, external_id, scope, valid_from) SELECT source_id, external_id, scope, now() FROM packages WHERE external_id = ${id}`.execute(db);
    }
    await sql`INSERT INTO devices (source_id, external_id, raw) VALUES ('ax', 'd1', '{"display_name": "Front desk"}'), ('other', 'd2', '{"display_name": "x"}')`.execute(db);
    await sql`INSERT INTO devices_history (source_id, external_id, scope, valid_from) SELECT source_id, external_id, scope, now() FROM devices`.execute(db);
    await automoxSoftware.up(db);
    const pk = await sql<{ external_id: string; unmanaged: boolean | null; h: boolean | null }>`
      SELECT p.external_id, p.unmanaged, h.unmanaged AS h FROM packages p JOIN packages_history h USING (source_id, external_id) ORDER BY 1`.execute(db);
    expect(pk.rows).toEqual([
      { external_id: 'p1', unmanaged: true, h: true },
      { external_id: 'p2', unmanaged: false, h: false },
      { external_id: 'p3', unmanaged: null, h: null },
    ]);
    const dv = await sql<{ external_id: string; display_name: string | null; h: string | null }>`
      SELECT d.external_id, d.display_name, h.display_name AS h FROM devices d JOIN devices_history h USING (source_id, external_id) ORDER BY 1`.execute(db);
    expect(dv.rows).toEqual([
      { external_id: 'd1', display_name: 'Front desk', h: 'Front desk' },
      { external_id: 'd2', display_name: null, h: null },
    ]);
  });

  it('20261208T0200_time_entry_tag_ids: time_entries.tag_ids of Toggl sources, from raw', async () => {
    const db = env.db as unknown as Kysely<unknown>;
    await tagIds.down(db);
    await sql`INSERT INTO sync_runs (source_id, trigger, resources, vendor) VALUES ('tg', 'sync', '{}', 'toggl')`.execute(db);
    await sql`INSERT INTO time_entries (source_id, external_id, raw) VALUES ('tg', 'e1', '{"tag_ids": [7, 8]}'), ('tg', 'e2', '{"tag_ids": null}')`.execute(db);
    await sql`INSERT INTO time_entries_history (source_id, external_id, scope, valid_from) SELECT source_id, external_id, scope, now() FROM time_entries`.execute(db);
    await tagIds.up(db);
    const rows = await sql<{ external_id: string; tag_ids: unknown; h: unknown }>`
      SELECT t.external_id, t.tag_ids, h.tag_ids AS h FROM time_entries t JOIN time_entries_history h USING (source_id, external_id) ORDER BY 1`.execute(db);
    expect(rows.rows).toEqual([
      { external_id: 'e1', tag_ids: [7, 8], h: [7, 8] },
      { external_id: 'e2', tag_ids: null, h: null },
    ]);
  });
});
