/**
 * The loader a user would write first: a sequential axios page loop, one Kysely upsert per row.
 * Same endpoint, same mapping (the Automox connector's), same table as fleetsync.
 */
import axios from 'axios';
import { sql, type Kysely } from 'kysely';
import { automox } from '../jobs/automox.js';
import type { Database } from '../src/warehouse/db.js';

export interface BaselineOptions {
  db: Kysely<Database>;
  origin: string;
  apiKey: string;
  sourceId: string;
  orgIds: readonly number[];
  /** Stop after this many rows (a subset is enough to get the rate). */
  maxRows: number;
  pageSize?: number;
}

/** Loads devices org by org, page by page, row by row. Returns rows written and elapsed ms. */
export async function runBaseline(opts: BaselineOptions): Promise<{ rows: number; ms: number }> {
  const def = automox.resources.find((r) => r.name === 'devices')!;
  const client = axios.create({ baseURL: `${opts.origin}/api`, headers: { Authorization: `Bearer ${opts.apiKey}` } });
  const limit = opts.pageSize ?? 500;
  let rows = 0;
  const t0 = performance.now();
  outer: for (const org of opts.orgIds) {
    for (let page = 0; ; page++) {
      const res = await client.get<unknown[]>('/servers', { params: { o: org, limit, page } });
      for (const raw of res.data) {
        const rec = def.record.parse(raw);
        const columns = def.map(rec, { sourceId: opts.sourceId, scope: String(org) });
        const values = { source_id: opts.sourceId, external_id: def.id(rec, { sourceId: opts.sourceId, scope: String(org) }), scope: String(org), ...columns, raw: JSON.stringify(raw) };
        await opts.db
          .insertInto('devices')
          .values(values)
          .onConflict((oc) => oc.columns(['source_id', 'external_id']).doUpdateSet({ ...columns, raw: JSON.stringify(raw), last_seen_at: sql`now()`, deleted_at: null }))
          .execute();
        if (++rows >= opts.maxRows) break outer;
      }
      if (res.data.length < limit) break;
    }
  }
  return { rows, ms: performance.now() - t0 };
}
