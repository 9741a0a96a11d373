import { sql, type RawBuilder } from 'kysely';
import { DATA_TABLES, type DataTableName } from './tables.js';

// The two statements a page's rows land with, each written whole. Their one jsonb parameter is a
// page payload (src/warehouse/payload.ts); what differs per data table (its name and columns) is
// spliced in as identifiers from DATA_TABLES, never from input.

/** What the compared statement returns: rows it inserted and updated, and their ids. */
export interface ComparedRow {
  inserted: number;
  updated: number;
  ids: string[];
}

/** What the fresh walk's statement returns: ComparedRow, the updated ids apart, and the history versions it opened (null without history). */
export interface FreshRow extends ComparedRow {
  updated_ids: string[];
  opened: number | null;
}

/** A table's names and column lists as SQL fragments, made once per table. */
interface TableSql {
  table: RawBuilder<unknown>;
  history: RawBuilder<unknown>;
  /** `external_id text, scope text, <column type>..., raw jsonb, row_hash uuid`: the payload record's type. */
  recordDef: RawBuilder<unknown>;
  insertCols: RawBuilder<unknown>;
  selectCols: RawBuilder<unknown>;
  /** The normalized columns a history version keeps (scope first). */
  versioned: RawBuilder<unknown>;
  versionedOfT: RawBuilder<unknown>;
  setList: RawBuilder<unknown>;
  /** The values a row is compared on plus its deletion marks: stored (t), incoming (x), and EXCLUDED. */
  stored: RawBuilder<unknown>;
  incoming: RawBuilder<unknown>;
  excluded: RawBuilder<unknown>;
}

const tables = new Map<DataTableName, TableSql>();

function tableSql(table: DataTableName): TableSql {
  const cached = tables.get(table);
  if (cached) return cached;
  const columns = Object.entries(DATA_TABLES[table]) as Array<[string, string]>;
  const names = columns.map(([c]) => c);
  const compared = ['scope', ...names, 'raw'];
  const tuple = (alias: string, marks: string) => sql.raw(`(${compared.map((c) => `${alias}.${c}`).join(', ')}, ${marks})`);
  const noMarks = 'NULL::timestamptz, NULL::timestamptz';
  const made: TableSql = {
    table: sql.raw(table),
    history: sql.raw(`${table}_history`),
    recordDef: sql.raw(['external_id text', 'scope text', ...columns.map(([c, t]) => `${c} ${t}`), 'raw jsonb', 'row_hash uuid'].join(', ')),
    insertCols: sql.raw(['source_id', 'external_id', 'scope', ...names, 'raw', 'row_hash'].join(', ')),
    selectCols: sql.raw(['external_id', 'scope', ...names, 'raw', 'row_hash'].join(', ')),
    versioned: sql.raw(['scope', ...names].join(', ')),
    versionedOfT: sql.raw(['scope', ...names].map((c) => `t.${c}`).join(', ')),
    setList: sql.raw([...['scope', ...names, 'raw', 'row_hash'].map((c) => `${c} = EXCLUDED.${c}`), 'last_seen_at = now()', 'deleted_at = NULL', 'missing_since = NULL'].join(', ')),
    stored: tuple('t', 't.deleted_at, t.missing_since'),
    incoming: tuple('x', noMarks),
    excluded: tuple('EXCLUDED', noMarks),
  };
  tables.set(table, made);
  return made;
}

/**
 * The page statement that first compares each record with its stored row. Unchanged rows are
 * dropped before the INSERT (`changed`): an ON CONFLICT DO UPDATE whose WHERE is false still locks
 * the existing row, and that lock is a WAL record plus, first time after a checkpoint, a full-page
 * image (a resync of unchanged data wrote ~85% of the first sync's WAL). The DO UPDATE's WHERE
 * stays for rows changed between the two steps. A deleted (or missing) row that comes back differs
 * in deleted_at (missing_since) and is revived; first_seen_at is never written by the update. A
 * row whose values match but whose row_hash does not (written before row hashes existed, or a
 * vendor that reorders an object's keys) gets only its hash (`rehash`): not a change, no history.
 */
export function comparedUpsert(table: DataTableName, payload: Buffer, sourceId: string): RawBuilder<ComparedRow> {
  const t = tableSql(table);
  return sql<ComparedRow>`WITH input AS (SELECT * FROM jsonb_to_recordset(${payload}::jsonb) AS x(${t.recordDef})),
joined AS (
  SELECT x.*, t.row_hash AS stored_hash, t.external_id IS NULL OR ${t.stored} IS DISTINCT FROM ${t.incoming} AS differs
  FROM input AS x
  LEFT JOIN ${t.table} AS t ON t.source_id = ${sourceId}::text AND t.external_id = x.external_id
),
changed AS (SELECT * FROM joined WHERE differs),
rehash AS (
  UPDATE ${t.table} AS t SET row_hash = j.row_hash FROM joined AS j
  WHERE NOT j.differs AND j.stored_hash IS DISTINCT FROM j.row_hash AND t.source_id = ${sourceId}::text AND t.external_id = j.external_id
  RETURNING 1
),
up AS (
  INSERT INTO ${t.table} AS t (${t.insertCols})
  SELECT ${sourceId}::text, ${t.selectCols} FROM changed
  ON CONFLICT (source_id, external_id) DO UPDATE SET ${t.setList}
  WHERE ${t.stored} IS DISTINCT FROM ${t.excluded}
  RETURNING (xmax = 0) AS inserted, t.external_id
)
SELECT (count(*) FILTER (WHERE inserted))::int AS inserted, (count(*) FILTER (WHERE NOT inserted))::int AS updated,
  coalesce(array_agg(external_id), '{}') AS ids FROM up`;
}

/**
 * The page statement of a fresh walk, where the rows met so far were all new: the records go
 * straight into INSERT ... ON CONFLICT, without comparing each with its stored row first (that
 * join, and the CTE it needs, were ~15% of a first sync's Postgres time per page). A row that does
 * exist is still rewritten only when it differs (the DO UPDATE's WHERE); what is lost on such a
 * row is the cheaper WAL of an unchanged one and a hash filled in for a row written before hashes
 * existed, which the next walk's compared statement does. With `history`, the versions of the
 * inserted rows are opened in the same statement (one round trip and one index scan fewer).
 */
export function freshUpsert(table: DataTableName, payload: Buffer, sourceId: string, history: boolean): RawBuilder<FreshRow> {
  const t = tableSql(table);
  const up = sql`up AS (
  INSERT INTO ${t.table} AS t (${t.insertCols})
  SELECT ${sourceId}::text, ${t.selectCols} FROM jsonb_to_recordset(${payload}::jsonb) AS x(${t.recordDef})
  ON CONFLICT (source_id, external_id) DO UPDATE SET ${t.setList}
  WHERE ${t.stored} IS DISTINCT FROM ${t.excluded}
  RETURNING (xmax = 0) AS inserted, t.external_id${history ? sql`, ${t.versionedOfT}` : sql``}
)`;
  const counts = sql`(count(*) FILTER (WHERE inserted))::int AS inserted, (count(*) FILTER (WHERE NOT inserted))::int AS updated,
  coalesce(array_agg(external_id), '{}') AS ids, coalesce(array_agg(external_id) FILTER (WHERE NOT inserted), '{}') AS updated_ids`;
  if (!history) return sql<FreshRow>`WITH ${up} SELECT ${counts}, NULL::int AS opened FROM up`;
  return sql<FreshRow>`WITH ${up}, opened AS (
  INSERT INTO ${t.history} (source_id, external_id, ${t.versioned}, valid_from)
  SELECT ${sourceId}::text, external_id, ${t.versioned}, now() FROM up WHERE inserted
  ON CONFLICT DO NOTHING
  RETURNING 1
)
SELECT ${counts}, (SELECT count(*) FROM opened)::int AS opened FROM up`;
}
