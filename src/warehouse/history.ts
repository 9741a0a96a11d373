import { sql, type Kysely, type Transaction } from 'kysely';
import { DATA_TABLES, type DataTableName } from './tables.js';
import type { Database } from './db.js';

// Change history as slowly changing dimension type 2 (dlt's scd2): `<table>_history` holds one
// row per version of a row's normalized columns, valid over [valid_from, valid_to); the open
// version has valid_to NULL. Times are the warehouse's transaction time (when we learnt it).
// docs/warehouse.md, History.

/** Tables whose history is always kept; a source adds others with `history: [table, ...]`. */
export const ALWAYS_HISTORY: readonly DataTableName[] = ['devices', 'packages'];

/** True when writes of `table` by a source with opt-ins `optIn` keep history. */
export function keepsHistory(table: DataTableName, optIn: readonly string[] | undefined): boolean {
  return ALWAYS_HISTORY.includes(table) || (optIn?.includes(table) ?? false);
}

type Db = Kysely<Database> | Transaction<Database>;

/**
 * Brings the history of the given rows of (source, table) up to date with the table, inside the
 * caller's transaction: closes the open version of a row that is deleted or whose normalized
 * columns (or scope) differ, then opens a version for each present row without an open one.
 * Idempotent; a row whose normalized columns are unchanged gets nothing (a change of raw only,
 * or of missing_since, is no new version). `ids` are the rows the caller inserted, changed,
 * revived or deleted; other rows are not looked at.
 * `allInserted`: every row of `ids` was just inserted (no row had the id before). Then the close
 * step is skipped unless opening finds a version already open (a row deleted by hand from the
 * table while its version stayed open), in which case the whole step runs as without it.
 */
export async function recordHistory(db: Db, table: DataTableName, sourceId: string, ids: readonly string[], allInserted = false): Promise<{ closed: number; opened: number }> {
  if (ids.length === 0) return { closed: 0, opened: 0 };
  if (allInserted) {
    // A first sync's pages: nothing to close. The close step's plan was a sequential scan of the
    // history while the planner priced it below 500 index probes (7 ms a page at 30,000 rows).
    const opened = await openVersions(db, table, sourceId, ids);
    if (opened === ids.length) return { closed: 0, opened };
    const rest = await recordHistory(db, table, sourceId, ids);
    return { closed: rest.closed, opened: opened + rest.opened };
  }
  const closed = await closeChangedVersions(db, table, sourceId, ids);
  return { closed, opened: await openVersions(db, table, sourceId, ids) };
}

/** Closes the open versions of the rows among `ids` that are deleted or whose normalized columns differ from the version's; returns how many. */
async function closeChangedVersions(db: Db, table: DataTableName, sourceId: string, ids: readonly string[]): Promise<number> {
  const cols = ['scope', ...Object.keys(DATA_TABLES[table])];
  const h = sql.table(`${table}_history`);
  const t = sql.table(table);
  const tuple = (alias: string) => sql.raw(`(${cols.map((c) => `${alias}.${c}`).join(', ')})`);
  const closed = await sql`
    UPDATE ${h} AS h SET valid_to = now()
    FROM ${t} AS t
    WHERE h.source_id = ${sourceId} AND h.external_id = ANY(${ids as string[]}::text[]) AND h.valid_to IS NULL
      AND t.source_id = h.source_id AND t.external_id = h.external_id
      AND (t.deleted_at IS NOT NULL OR ${tuple('h')} IS DISTINCT FROM ${tuple('t')})`.execute(db);
  return Number(closed.numAffectedRows ?? 0n);
}

/** Opens a version for each present row among `ids` that has no open one; returns how many. */
async function openVersions(db: Db, table: DataTableName, sourceId: string, ids: readonly string[]): Promise<number> {
  const cols = ['scope', ...Object.keys(DATA_TABLES[table])];
  const h = sql.table(`${table}_history`);
  const t = sql.table(table);
  const list = sql.raw(cols.join(', '));
  // A row that has an open version conflicts on `<table>_history_open` (one open version per
  // row, unique): ON CONFLICT without a target skips it by that index, where a NOT EXISTS anti
  // join was planned as a scan of every open version per row while the statistics were stale.
  const opened = await sql`
    INSERT INTO ${h} (source_id, external_id, ${list}, valid_from)
    SELECT t.source_id, t.external_id, ${sql.raw(cols.map((c) => `t.${c}`).join(', '))}, now()
    FROM ${t} AS t
    WHERE t.source_id = ${sourceId} AND t.external_id = ANY(${ids as string[]}::text[]) AND t.deleted_at IS NULL
    ON CONFLICT DO NOTHING`.execute(db);
  return Number(opened.numAffectedRows ?? 0n);
}

/**
 * Closes the open versions of rows just marked deleted (the sweep, a held sweep applied).
 * Runs for every table whatever the opt-ins: a row without an open version is left alone.
 */
export async function closeHistory(db: Db, table: DataTableName, sourceId: string, ids: readonly string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const res = await sql`
    UPDATE ${sql.table(`${table}_history`)} SET valid_to = now()
    WHERE source_id = ${sourceId} AND external_id = ANY(${ids as string[]}::text[]) AND valid_to IS NULL`.execute(db);
  return Number(res.numAffectedRows ?? 0n);
}
