import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { SweepRange } from '../connector.js';
import { decideSweep, type SweepDecision } from '../sync/sweep-decision.js';
import type { Database } from './db.js';
import { dropHeldSweep, lockHeldSweep, pruneHeldSweep, recordHeldSweep } from './held-sweeps.js';
import { closeHistory } from './history.js';
import { DATA_TABLES, type DataTableName } from './tables.js';

// The deletion sweep of a completed full walk (docs/design.md, Deletes are detected, not guessed):
// the SQL that finds the rows a walk did not see and marks them. What the misses become is
// decided by src/sync/sweep-decision.ts; this module gathers its facts and carries it out.

/** What a walk sweeps: its table, the walk, and the part of its scope it covered. */
export interface SweepScope {
  table: DataTableName;
  walk: { id: string; source_id: string; resource: string; scope: string };
  /** What the walk covered when it covered only part of its scope (a date range); null: all of it. */
  range: SweepRange | null;
}

/**
 * The vendor's per-id answers about the rows a walk missed (resources with an item GET, `deletes:
 * confirm`): the sweep then deletes only `gone` rows and clears `present` ones; `problem` is why
 * some stayed unasked, recorded on the walk.
 */
export interface MissedAnswers {
  gone: string[];
  present: string[];
  unknown: number;
  problem: string | null;
}

/** A completed full walk's sweep: its scope, the source's policy for the resource, and the vendor's answers. */
export interface WalkSweep extends SweepScope {
  /** How the source sweeps this resource, and "devices of org 101" for the sweep's messages. */
  policy: { deletes: 'confirm' | 'immediate'; maxDeleteShare: number; label: string };
  asked?: MissedAnswers;
  /** Why the walk cannot vouch for its misses (the vendor's own figures disagree with what it read). */
  incomplete?: string;
}

/**
 * Present rows of a sweep's scope that the walk's recorded pages did not show, as a subquery of
 * `external_id`. EXCEPT (a hashed or sorted set operation) rather than NOT EXISTS: with the
 * statistics of a table that grew inside this sync the planner picked a nested-loop anti join,
 * O(rows x seen) (8 s for 5,000 rows, hours at 50,000). This form costs O(n) whatever the statistics say.
 * Rows a vendor event wrote since the walk started are not the walk's to judge (it may have read
 * their page before the change): never unseen (docs/freshness.md, Walks stay exact).
 */
function unseenIds(s: SweepScope): RawBuilder<{ external_id: string }> {
  return sql<{ external_id: string }>`
    SELECT external_id FROM ${sql.table(s.table)}
    WHERE source_id = ${s.walk.source_id} AND scope = ${s.walk.scope} AND deleted_at IS NULL ${within(s)}
    EXCEPT
    SELECT unnest(ids) FROM sync_walk_pages WHERE walk_id = ${s.walk.id}
    EXCEPT
    SELECT external_id FROM source_event_rows
    WHERE source_id = ${s.walk.source_id} AND resource = ${s.walk.resource} AND applied_at >= (SELECT started_at FROM sync_walks WHERE id = ${s.walk.id})`;
}

/** Present rows of a sweep's scope (within its range). */
function presentRows(s: SweepScope): RawBuilder<{ n: number }> {
  return sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(s.table)} WHERE source_id = ${s.walk.source_id} AND scope = ${s.walk.scope} AND deleted_at IS NULL ${within(s)}`;
}

/**
 * The SQL condition that keeps a walk that covered only part of its scope (a date range) to the
 * rows of that part; empty without a range. Throws for a column the table does not have.
 */
function within({ table, range }: SweepScope): RawBuilder<unknown> {
  if (range === null) return sql``;
  if (!Object.prototype.hasOwnProperty.call(DATA_TABLES[table], range.column)) throw new Error(`sweep range column ${range.column} is not a column of ${table}`);
  return sql`AND ${sql.ref(range.column)} >= ${range.from}::timestamptz AND ${sql.ref(range.column)} < ${range.to}::timestamptz`;
}

/** What the sweep of a completed full walk needs to know about its scope. */
export interface ScopeSweepCounts {
  /** Distinct ids the walk's pages recorded. */
  seen: number;
  /** Rows of the scope not marked deleted. */
  present: number;
  /** Present rows the walk did not see. */
  unseen: number;
  /** True when the scope's held sweep names exactly the unseen rows. */
  agreesWithHold: boolean;
}

/**
 * Counts what a completed full walk saw and missed in its scope, and compares the missed rows
 * with the held sweep of (source, resource, scope), whose row the caller has locked.
 */
export async function scopeSweepCounts(trx: Transaction<Database>, s: SweepScope): Promise<ScopeSweepCounts> {
  const { walk } = s;
  const res = await sql<{ seen: number; present: number; unseen: number; agrees: boolean }>`
    WITH unseen AS (${unseenIds(s)})
    SELECT
      (SELECT count(DISTINCT id)::int FROM sync_walk_pages, unnest(ids) AS id WHERE walk_id = ${walk.id}) AS seen,
      (${presentRows(s)}) AS present,
      (SELECT count(*)::int FROM unseen) AS unseen,
      coalesce((SELECT array(SELECT external_id FROM unseen ORDER BY 1)) =
        (SELECT array(SELECT unnest(ids) ORDER BY 1) FROM sync_held_sweeps
         WHERE source_id = ${walk.source_id} AND resource = ${walk.resource} AND scope = ${walk.scope}), false) AS agrees`.execute(trx);
  const row = res.rows[0]!;
  return { seen: row.seen, present: row.present, unseen: row.unseen, agreesWithHold: row.agrees };
}

/** What a sweep marked: rows newly missing, rows deleted (and their ids, whose history closes). */
export interface SweepCounts {
  missing: number;
  deleted: number;
  deletedIds: string[];
}

/** How sweepDeleted marks: the policy, when the sweeping walk started, and the vendor's per-id answers. */
export interface SweepMarking {
  deletes: 'confirm' | 'immediate';
  walkStartedAt: Date;
  asked?: MissedAnswers | undefined;
}

/**
 * Marks the rows of a sweep's scope that the walk did not see. `confirm`: a row missed for the
 * first time gets missing_since; one already missing since before `walkStartedAt` (a complete full
 * walk that ended before this one started missed it too) gets deleted_at. `immediate`: every
 * unseen row gets deleted_at (and missing_since if it had none). With the vendor's per-id answers,
 * only a 404/410 deletes, and a row it still has is not missing.
 */
export async function sweepDeleted(trx: Transaction<Database>, s: SweepScope, how: SweepMarking): Promise<SweepCounts> {
  const { walk } = s;
  const { asked } = how;
  const deleteIf = how.deletes === 'immediate' ? sql`true` : asked ? sql`t.external_id = ANY(${[...asked.gone]}::text[])` : sql`t.missing_since <= ${how.walkStartedAt}`;
  const missingSince = asked ? sql`CASE WHEN t.external_id = ANY(${[...asked.present]}::text[]) THEN NULL ELSE coalesce(t.missing_since, now()) END` : sql`coalesce(t.missing_since, now())`;
  const res = await sql<{ external_id: string; deleted: boolean; fresh: boolean }>`
    UPDATE ${sql.table(s.table)} AS t
    SET missing_since = ${missingSince},
        deleted_at = CASE WHEN ${deleteIf} THEN now() END
    FROM (${unseenIds(s)}) AS gone
    WHERE t.source_id = ${walk.source_id} AND t.external_id = gone.external_id AND t.deleted_at IS NULL
    RETURNING t.external_id, t.deleted_at IS NOT NULL AS deleted, t.missing_since = now() AS fresh`.execute(trx);
  const deletedIds: string[] = [];
  let missing = 0;
  for (const r of res.rows) {
    if (r.deleted) deletedIds.push(r.external_id);
    else if (r.fresh) missing++;
  }
  return { missing, deleted: deletedIds.length, deletedIds };
}

/**
 * Before a walk's last page commits: the present rows of its scope that neither its committed
 * pages nor `alsoSeen` (the last page's ids) listed, in id order, and how many rows of the scope
 * are present. What a full walk's sweep would consider missing.
 */
export async function missedRows(db: Kysely<Database>, s: SweepScope, alsoSeen: readonly string[]): Promise<{ present: number; ids: string[] }> {
  const res = await sql<{ external_id: string }>`
    SELECT external_id FROM (${unseenIds(s)}) AS u
    WHERE external_id <> ALL(${[...alsoSeen]}::text[]) ORDER BY 1`.execute(db);
  const present = await presentRows(s).execute(db);
  return { present: present.rows[0]!.n, ids: res.rows.map((r) => r.external_id) };
}

/** The present rows of a sweep's scope that the completed walk did not see, in id order. */
async function unseenRows(trx: Transaction<Database>, s: SweepScope): Promise<string[]> {
  const res = await sql<{ external_id: string }>`SELECT external_id FROM (${unseenIds(s)}) AS u ORDER BY 1`.execute(trx);
  return res.rows.map((r) => r.external_id);
}

/**
 * The deletion sweep of a completed full walk, inside its commit transaction: gathers the facts,
 * lets decideSweep choose, carries it out and records outcome, reason and counts on the walk.
 */
export async function sweepScope(trx: Transaction<Database>, s: WalkSweep): Promise<SweepDecision> {
  const { walk, table } = s;
  await lockHeldSweep(trx, walk.source_id, walk.resource, walk.scope);
  const w = await trx.selectFrom('sync_walks').select(['total_max', 'unidentified', 'started_at']).where('id', '=', walk.id).executeTakeFirstOrThrow();
  const counts = await scopeSweepCounts(trx, s);
  const perId = s.asked ? { gone: s.asked.gone.length, present: s.asked.present.length } : null;
  const decision = decideSweep({ ...s.policy, ...counts, perId, totalMax: w.total_max, unidentified: w.unidentified, incomplete: s.incomplete ?? null });
  let marked: SweepCounts = { missing: 0, deleted: 0, deletedIds: [] };
  switch (decision.outcome) {
    case 'swept':
      // Nothing unseen (every first sync, most resyncs): no statement that would rescan the scope.
      if (counts.unseen > 0) marked = await sweepDeleted(trx, s, { deletes: s.policy.deletes, walkStartedAt: w.started_at, asked: s.asked });
      await dropHeldSweep(trx, walk.source_id, walk.resource, walk.scope);
      break;
    case 'applied':
      // Two complete walks missed the same rows: that is the confirmation `confirm` asks for
      // where the vendor has no per-id GET; where it has one, only its 404/410 deletes.
      marked = await sweepDeleted(trx, s, s.asked ? { deletes: 'confirm', walkStartedAt: w.started_at, asked: s.asked } : { deletes: 'immediate', walkStartedAt: w.started_at });
      await dropHeldSweep(trx, walk.source_id, walk.resource, walk.scope);
      break;
    case 'held':
      await recordHeldSweep(trx, walk, { table, present: counts.present, ids: await unseenRows(trx, s), message: decision.reason });
      break;
    case 'inconsistent':
    case 'skipped':
      // It cannot vouch for its misses, but the rows it listed exist: never confirm those.
      await pruneHeldSweep(trx, walk);
      break;
  }
  // History: a deleted row's open version ends now (docs/warehouse.md, History).
  await closeHistory(trx, table, walk.source_id, marked.deletedIds);
  await trx
    .updateTable('sync_walks')
    .set({ sweep: decision.outcome, sweep_reason: decision.reason ?? (decision.outcome === 'swept' ? askedNote(s.asked) : null), seen_ids: counts.seen, deleted: marked.deleted, missing: marked.missing })
    .where('id', '=', walk.id)
    .execute();
  return decision;
}

/** What a swept walk says about rows the vendor was asked about but did not answer (null when none). */
function askedNote(asked: MissedAnswers | undefined): string | null {
  if (!asked || asked.unknown === 0) return null;
  return `${asked.unknown} missed row${asked.unknown === 1 ? '' : 's'} not confirmed by the vendor (${asked.problem ?? 'not asked'}): kept as missing, asked again by the next walk`;
}
