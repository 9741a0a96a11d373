import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './db.js';
import { payloadOf, type PagePayload } from './payload.js';
import { comparedUpsert, freshUpsert } from './page-statements.js';
import type { DataTableName } from './tables.js';

/** What one page's upsert did. unchanged = rows that matched the stored values exactly. */
export interface UpsertCounts {
  inserted: number;
  updated: number;
  unchanged: number;
}

/** UpsertCounts plus the external ids of the rows inserted or changed (revived included): what the history step looks at. */
export interface UpsertResult extends UpsertCounts {
  changedIds: string[];
  /**
   * Set when the statement itself opened the history versions of the rows it inserted
   * (`UpsertOptions.openHistory` on a fresh walk): how many it opened, and the ids it updated,
   * whose history is still to be brought up to date.
   */
  history?: { opened: number; updatedIds: string[] };
}

/** How upsertRows writes a page. */
export interface UpsertOptions {
  /**
   * Whether earlier pages of the walk found stored rows (hashLookupPays). False on a fresh walk
   * (every row so far new): no hash lookup, and one plain INSERT ... ON CONFLICT instead of the
   * statement that first compares each record with its stored row.
   */
  lookUpHashes?: boolean;
  /** The table keeps history (src/warehouse/history.ts): a fresh walk's statement opens the versions of the rows it inserts. */
  openHistory?: boolean;
}

/**
 * Which of a page's records to send to the upsert: those whose id is not among `unchanged` (ids
 * whose stored row is present and has the record's hash). Keeps the page's order.
 */
export function recordsToSend<T extends { id: string }>(records: readonly T[], unchanged: ReadonlySet<string>): T[] {
  return unchanged.size === 0 ? [...records] : records.filter((r) => !unchanged.has(r.id));
}

/**
 * Whether looking up the stored hashes of a page's records is worth its query, from what the
 * walk's earlier pages did: yes on a walk's first page, and once any of its rows existed already
 * (unchanged or updated); no while every row so far was new (a first sync, where the lookup finds
 * nothing). Only speed depends on it: the upsert compares every record it is sent.
 */
export function hashLookupPays(walk: { pages: number; updated: number; unchanged: number }): boolean {
  return walk.pages === 0 || walk.updated + walk.unchanged > 0;
}

/** Where a page's rows land: a data table, under a source. */
export interface UpsertTarget {
  table: DataTableName;
  sourceId: string;
}

/**
 * Upserts one page's payload (src/warehouse/payload.ts) into a data table.
 * With `lookUpHashes` (UpsertOptions, default on) it first asks which stored rows already carry
 * each record's hash (present, not missing): those are unchanged and are neither sent nor parsed
 * again, which is what makes a resync of unchanged data cheap. The rest goes in one statement
 * (comparedUpsert), where rows whose normalized columns, raw and scope are unchanged are still not
 * written; the ids of the rows it wrote come back as `changedIds` (for the history step,
 * src/warehouse/history.ts). A row edited in the warehouse by hand keeps its hash and is not
 * rewritten until the vendor's record changes. Without `lookUpHashes` it writes with the fresh
 * walk's statement (freshUpsert), which with `openHistory` also opens the inserted rows' history
 * versions (`history` in the result).
 * The caller passes the transaction that also advances the walk's cursor. The payload's ids must
 * be distinct (Postgres refuses to update one row twice in a statement). Throws what Postgres throws.
 */
export async function upsertRows(db: Kysely<Database> | Transaction<Database>, target: UpsertTarget, payload: PagePayload, options: UpsertOptions = {}): Promise<UpsertResult> {
  const { table, sourceId } = target;
  const records = payload.records;
  if (records.length === 0) return { inserted: 0, updated: 0, unchanged: 0, changedIds: [] };
  if (options.lookUpHashes === false) {
    const fresh = await freshUpsert(table, payload.bytes, sourceId, options.openHistory === true).execute(db);
    const f = fresh.rows[0] ?? { inserted: 0, updated: 0, ids: [], updated_ids: [], opened: null };
    const counts = { inserted: f.inserted, updated: f.updated, unchanged: records.length - f.inserted - f.updated, changedIds: f.ids };
    return f.opened === null ? counts : { ...counts, history: { opened: f.opened, updatedIds: f.updated_ids } };
  }
  const same = await sql<{ external_id: string }>`
    SELECT t.external_id FROM unnest(${records.map((r) => r.id)}::text[], ${records.map((r) => r.hash)}::uuid[]) AS x(id, h)
    JOIN ${sql.table(table)} AS t ON t.source_id = ${sourceId} AND t.external_id = x.id
    WHERE t.row_hash = x.h AND t.deleted_at IS NULL AND t.missing_since IS NULL`.execute(db);
  const toSend = recordsToSend(records, new Set(same.rows.map((r) => r.external_id)));
  if (toSend.length === 0) return { inserted: 0, updated: 0, unchanged: records.length, changedIds: [] };
  const result = await comparedUpsert(table, payloadOf(payload, toSend), sourceId).execute(db);
  const row = result.rows[0] ?? { inserted: 0, updated: 0, ids: [] };
  return { inserted: row.inserted, updated: row.updated, unchanged: records.length - row.inserted - row.updated, changedIds: row.ids };
}
