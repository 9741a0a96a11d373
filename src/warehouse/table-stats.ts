import { sql, type Kysely } from 'kysely';
import type { Database } from './db.js';

// Planner statistics for the tables a sync grows. With autovacuum off (or behind), a table that
// fills inside one sync keeps the statistics of an empty table, and the planner then picks plans
// that are linear in the table per page, quadratic per sync: the history step of a first sync of
// 100,000 devices took 3.6 s a page at 74,000 rows (a join filter over every open version per
// page row). So the engine analyzes a table itself when it grew much since its last analyze.
// Plans need the order of magnitude, not the last row: the threshold is the table having doubled
// since the statistics were taken (about 10 analyzes from empty to a million rows), far above
// autovacuum's defaults, so that a running autovacuum normally gets there first. Only the columns
// the engine's own statements filter, join or group on are analyzed (PLANNED_COLUMNS). Each
// analyzed column costs a sort of its sample, and many columns sit after `raw` in the row, which
// makes their values slow to reach: devices at 80,000 rows took 470 ms with every column but raw
// (about a sixth of Postgres's time in a first sync, perf), 145 ms with these; with raw as well
// it was 450 ms at 30,000 rows. Reporting queries on the other columns are left to the server's
// autovacuum. An analyze of some columns does not reset Postgres's count of changes since the
// last analyze, so growth is read from the live rows against the rows the statistics were taken
// with (pg_class.reltuples), which any analyze sets.

/**
 * The columns whose statistics the engine's statements need (keys, scope, the deletion marks, the
 * organization the counts group by, a history version's bounds); any other column is not analyzed.
 */
export const PLANNED_COLUMNS: readonly string[] = ['source_id', 'external_id', 'scope', 'organization_external_id', 'deleted_at', 'missing_since', 'valid_from', 'valid_to'];

/**
 * The statistics target of the engine's own analyzes (default_statistics_target for them only): a
 * sample of 300 x 10 rows instead of 300 x 100. Its plans need row counts and whether a column is
 * unique, which a small sample gives as well: an analyze of those columns of 200,000 devices took
 * 15 ms instead of 200-290 ms. A column with a statistics target of its own keeps it, and
 * autovacuum's analyzes use the server's.
 */
export const ENGINE_STATISTICS_TARGET = 10;

/** Live rows below which statistics are never worth taking here. */
export const ANALYZE_MIN_ROWS = 1_000;
/** How many times the rows the statistics were taken with a table must hold to be analyzed again. */
export const ANALYZE_GROWTH = 2;

/**
 * How often a worker asks whether a table's statistics are stale, at most. The question is a
 * catalog query (~0.7 ms of Postgres, most of it planning, pg_stat_statements); asked after every
 * page, a first sync asked it 20 times a second, where a table doubles in seconds at the fastest.
 */
export const STATS_CHECK_INTERVAL_MS = 1_000;

/**
 * Whether a table's statistics check is due at `now` (epoch ms), the last one having started at
 * `last` (undefined: never; Infinity: one is running).
 */
export function statsCheckDue(last: number | undefined, now: number): boolean {
  return last === undefined || now - last >= STATS_CHECK_INTERVAL_MS;
}

/**
 * Whether a table's statistics are stale: `live` rows now against the `estimated` rows its
 * statistics were taken with (pg_class.reltuples; -1 or 0 when never analyzed).
 */
export function statsAreStale(live: number, estimated: number): boolean {
  return live >= ANALYZE_MIN_ROWS && live >= ANALYZE_GROWTH * Math.max(0, estimated);
}

/**
 * Analyzes each of `tables` whose statistics are stale (statsAreStale), the PLANNED_COLUMNS it has,
 * skipping one another connection is analyzing (a transaction-level advisory lock: workers never
 * queue behind each other's ANALYZE). Returns the tables it analyzed. The names must be the
 * warehouse's own tables.
 */
export async function analyzeIfStale(db: Kysely<Database>, tables: readonly string[]): Promise<string[]> {
  const stats = await sql<{ relname: string; live: string; estimated: number; columns: string[] }>`
    SELECT s.relname, s.n_live_tup::text AS live, c.reltuples::float8 AS estimated,
      array(SELECT attname::text FROM pg_attribute WHERE attrelid = s.relid AND attnum > 0 AND NOT attisdropped AND attname = ANY(${[...PLANNED_COLUMNS]}::text[]) ORDER BY attnum) AS columns
    FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
    WHERE s.schemaname = current_schema() AND s.relname = ANY(${[...tables]}::text[])`.execute(db);
  const done: string[] = [];
  for (const t of stats.rows) {
    if (!statsAreStale(Number(t.live), t.estimated)) continue;
    const analyzed = await db.transaction().execute(async (trx) => {
      const lock = await sql<{ ok: boolean }>`SELECT pg_try_advisory_xact_lock(hashtext(${`fleetsync:analyze:${t.relname}`})) AS ok`.execute(trx);
      if (!lock.rows[0]?.ok) return false;
      // Every warehouse table has planned columns; a table without any would get a full analyze.
      const columns = t.columns.length > 0 ? sql` (${sql.join(t.columns.map((c) => sql.ref(c)))})` : sql``;
      await sql`SET LOCAL default_statistics_target = ${sql.raw(String(ENGINE_STATISTICS_TARGET))}`.execute(trx);
      await sql`ANALYZE ${sql.table(t.relname)}${columns}`.execute(trx);
      return true;
    });
    if (analyzed) done.push(t.relname);
  }
  return done;
}
