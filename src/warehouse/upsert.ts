import { hash } from 'node:crypto';
import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import { CLOSE_BRACE, CLOSE_BRACKET, COMMA, OPEN_BRACKET, QUOTE } from '../json-chars.js';
import { DATA_TABLES, type DataTableName } from './tables.js';
import type { SweepRange } from '../connector.js';
import type { Database } from './db.js';

/** One normalized record ready to land. */
export interface RowToUpsert {
  externalId: string;
  scope: string;
  columns: Record<string, unknown>;
  raw: unknown;
  /** The JSON text `raw` was parsed from (src/sync/record-texts.ts): sent as it is instead of serializing `raw`. */
  rawText?: string;
}

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
  /** payloadRecords(rows), when already made (a page prepared ahead, src/queue/page-prepare.ts); the rows are then not read. */
  payload?: PagePayload;
}

type UpsertRow = { inserted: number; updated: number; ids: string[] };
const statements = new Map<DataTableName, (json: Buffer, sourceId: string) => RawBuilder<UpsertRow>>();

/** The column lists both page statements are made of, for one data table. */
function statementParts(table: DataTableName) {
  const columns = Object.entries(DATA_TABLES[table]) as Array<[string, string]>;
  const names = columns.map(([c]) => c);
  const compared = ['scope', ...names, 'raw'];
  return {
    names,
    recordDef: ['external_id text', 'scope text', ...columns.map(([c, t]) => `${c} ${t}`), 'raw jsonb', 'row_hash uuid'].join(', '),
    insertCols: ['source_id', 'external_id', 'scope', ...names, 'raw', 'row_hash'].join(', '),
    selectCols: ['external_id', 'scope', ...names, 'raw', 'row_hash'].join(', '),
    setList: [...['scope', ...names, 'raw', 'row_hash'].map((c) => `${c} = EXCLUDED.${c}`), 'last_seen_at = now()', 'deleted_at = NULL', 'missing_since = NULL'].join(', '),
    /** The values a row is compared on, with two more (its deletion marks) after them. */
    tuple: (alias: string, marks: string) => `(${compared.map((c) => `${alias}.${c}`).join(', ')}, ${marks})`,
  };
}

function statementFor(table: DataTableName) {
  const cached = statements.get(table);
  if (cached) return cached;
  const { recordDef, insertCols, selectCols, setList, tuple } = statementParts(table);
  // Unchanged rows are dropped before the INSERT (`changed`): an ON CONFLICT DO UPDATE whose
  // WHERE is false still locks the existing row, and that lock is a WAL record plus, first time
  // after a checkpoint, a full-page image: a re-sync of unchanged data wrote ~85% of the first
  // sync's WAL. The WHERE of the DO UPDATE stays for rows changed between the two steps.
  // A deleted (or missing) row that comes back differs in deleted_at (missing_since) and is
  // revived; first_seen_at is never written by the update.
  const stored = tuple('t', 't.deleted_at, t.missing_since');
  const head = `WITH input AS (SELECT * FROM jsonb_to_recordset(`;
  // A row whose values match but whose row_hash does not (written before row hashes existed, or a
  // vendor that reorders an object's keys) gets only its hash (`rehash`): not a change, no history.
  const tail = `::jsonb) AS x(${recordDef})),
joined AS (
  SELECT x.*, t.row_hash AS stored_hash,
    t.external_id IS NULL OR ${stored} IS DISTINCT FROM ${tuple('x', 'NULL::timestamptz, NULL::timestamptz')} AS differs
  FROM input AS x
  LEFT JOIN ${table} AS t ON t.source_id = `;
  const tail1 = `::text AND t.external_id = x.external_id
),
changed AS (SELECT * FROM joined WHERE differs),
rehash AS (
  UPDATE ${table} AS t SET row_hash = j.row_hash FROM joined AS j
  WHERE NOT j.differs AND j.stored_hash IS DISTINCT FROM j.row_hash AND t.source_id = `;
  const tail1b = `::text AND t.external_id = j.external_id
  RETURNING 1
),
up AS (
  INSERT INTO ${table} AS t (${insertCols})
  SELECT `;
  const tail2 = `::text, ${selectCols} FROM changed
  ON CONFLICT (source_id, external_id) DO UPDATE SET ${setList}
  WHERE ${stored} IS DISTINCT FROM ${tuple('EXCLUDED', 'NULL::timestamptz, NULL::timestamptz')}
  RETURNING (xmax = 0) AS inserted, t.external_id
)
SELECT (count(*) FILTER (WHERE inserted))::int AS inserted, (count(*) FILTER (WHERE NOT inserted))::int AS updated,
  coalesce(array_agg(external_id), '{}') AS ids FROM up`;
  const build = (json: Buffer, sourceId: string) =>
    sql<UpsertRow>`${sql.raw(head)}${json}${sql.raw(tail)}${sourceId}${sql.raw(tail1)}${sourceId}${sql.raw(tail1b)}${sourceId}${sql.raw(tail2)}`;
  statements.set(table, build);
  return build;
}

type FreshRow = { inserted: number; updated: number; ids: string[]; updated_ids: string[]; opened: number | null };
const freshStatements = new Map<string, (json: Buffer, sourceId: string) => RawBuilder<FreshRow>>();

/**
 * The page statement of a fresh walk, where the rows met so far were all new: the records go
 * straight into INSERT ... ON CONFLICT, without comparing each with its stored row first (that
 * join, and the CTE it needs, were ~15% of a first sync's Postgres time per page). A row that does
 * exist is still rewritten only when it differs (the DO UPDATE's WHERE); what is lost on such a
 * row is the cheaper WAL of an unchanged one and a hash filled in for a row written before hashes
 * existed, which the next walk's compared statement does. With `history`, the versions of the
 * inserted rows are opened in the same statement (one round trip and one index scan fewer).
 */
function freshStatementFor(table: DataTableName, history: boolean) {
  const key = `${table}:${history}`;
  const cached = freshStatements.get(key);
  if (cached) return cached;
  const { names, recordDef, insertCols, selectCols, setList, tuple } = statementParts(table);
  const versioned = ['scope', ...names];
  const returned = history ? `, ${versioned.map((c) => `t.${c}`).join(', ')}` : '';
  const head = `WITH up AS (
  INSERT INTO ${table} AS t (${insertCols})
  SELECT `;
  const mid = `::text, ${selectCols} FROM jsonb_to_recordset(`;
  const tail = `::jsonb) AS x(${recordDef})
  ON CONFLICT (source_id, external_id) DO UPDATE SET ${setList}
  WHERE ${tuple('t', 't.deleted_at, t.missing_since')} IS DISTINCT FROM ${tuple('EXCLUDED', 'NULL::timestamptz, NULL::timestamptz')}
  RETURNING (xmax = 0) AS inserted, t.external_id${returned}
)${
    history
      ? `, opened AS (
  INSERT INTO ${table}_history (source_id, external_id, ${versioned.join(', ')}, valid_from)
  SELECT `
      : ''
  }`;
  const historyTail = history
    ? `::text, external_id, ${versioned.join(', ')}, now() FROM up WHERE inserted
  ON CONFLICT DO NOTHING
  RETURNING 1
)`
    : '';
  const select = `
SELECT (count(*) FILTER (WHERE inserted))::int AS inserted, (count(*) FILTER (WHERE NOT inserted))::int AS updated,
  coalesce(array_agg(external_id), '{}') AS ids, coalesce(array_agg(external_id) FILTER (WHERE NOT inserted), '{}') AS updated_ids,
  ${history ? '(SELECT count(*) FROM opened)::int' : 'NULL::int'} AS opened FROM up`;
  const build = (json: Buffer, sourceId: string) =>
    history
      ? sql<FreshRow>`${sql.raw(head)}${sourceId}${sql.raw(mid)}${json}${sql.raw(tail)}${sourceId}${sql.raw(historyTail + select)}`
      : sql<FreshRow>`${sql.raw(head)}${sourceId}${sql.raw(mid)}${json}${sql.raw(tail + select)}`;
  freshStatements.set(key, build);
  return build;
}

/**
 * The hash of one payload record's JSON text (its scope, normalized columns and raw): an md5 in
 * 32 hex digits, a form Postgres's uuid input takes as it is, so 16 bytes are compared instead of
 * the whole row. It only detects change; it secures nothing. The text may be given as its UTF-8
 * bytes: the hash is the same.
 */
export function rowHash(recordJson: string | Uint8Array): string {
  return hash('md5', recordJson, 'hex');
}

/** One row of a PagePayload: its id, its rowHash, and where its JSON text (row_hash included) lies in the payload's bytes. */
export interface PayloadRecord {
  id: string;
  hash: string;
  /** Byte offset of the record's text in PagePayload.bytes. */
  start: number;
  /** Byte offset just past it. */
  end: number;
}

/**
 * A page's rows as the upsert's jsonb parameter, in Postgres's binary jsonb format (a version
 * byte, then the text of a JSON array of the records), with each record's place in it.
 */
export interface PagePayload {
  bytes: Buffer;
  records: PayloadRecord[];
}

/** jsonb's binary input format: this version byte, then the JSON text. */
const JSONB_VERSION = 1;
const HASH_KEY = Buffer.from(',"row_hash":"', 'latin1');
const RAW_KEY = Buffer.from(',"raw":', 'latin1');

/**
 * The payload of a page's rows, in order. Takes ownership of each row's `columns` object: it
 * becomes the record (external_id, scope and raw are added to it; a row's `rawText` goes in as
 * its raw, as it is).
 * Each record is serialized once and encoded to UTF-8 once, straight into the one buffer that
 * goes to Postgres, and hashed from those bytes: a string per record, its re-encoding by the
 * hash, a joined page string and its re-encoding by the driver cost ~5 ms of worker CPU a page of
 * 500 devices more (scratch measure, 16.4 against 11.3 ms per page).
 */
export function payloadRecords(rows: readonly RowToUpsert[]): PagePayload {
  // The columns objects become the payload records in place: a spread copy per row cost ~3% of
  // the worker's CPU at a million rows. A row with its raw text gets that text after its other
  // keys (`,"raw":` and the text, over the closing brace): its raw is not serialized again.
  const texts = rows.map((r) => {
    const rec = r.columns;
    rec.external_id = r.externalId;
    rec.scope = r.scope;
    if (r.rawText === undefined) rec.raw = r.raw;
    return JSON.stringify(rec);
  });
  // Each record grows by `,"row_hash":"<32 hex digits>"` and the comma after it: ASCII, 47 bytes.
  const EXTRA = HASH_KEY.length + 32 + 1 + 1;
  let size = 3;
  for (let i = 0; i < texts.length; i++) size += texts[i]!.length + EXTRA + (rows[i]!.rawText?.length ?? 0) + RAW_KEY.length;
  // As many bytes as characters while the text is ASCII; more room is made when it is not.
  let bytes = Buffer.allocUnsafe(size);
  bytes[0] = JSONB_VERSION;
  bytes[1] = OPEN_BRACKET;
  let at = 2;
  const records: PayloadRecord[] = new Array(rows.length);
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i]!;
    const rawText = rows[i]!.rawText;
    const chars = text.length + (rawText === undefined ? 0 : rawText.length + RAW_KEY.length);
    // A character takes at most 3 bytes: count the exact bytes only when that worst case does not fit.
    if (bytes.length - at < chars * 3 + EXTRA) {
      const need = Buffer.byteLength(text) + (rawText === undefined ? 0 : Buffer.byteLength(rawText) + RAW_KEY.length) + EXTRA;
      if (bytes.length - at < need) {
        const grown = Buffer.allocUnsafe(Math.max(bytes.length * 2, at + need + 1));
        bytes.copy(grown, 0, 0, at);
        bytes = grown;
      }
    }
    const start = at;
    at += bytes.write(text, at);
    if (rawText !== undefined) {
      at--;
      for (let k = 0; k < RAW_KEY.length; k++) bytes[at++] = RAW_KEY[k]!;
      at += bytes.write(rawText, at);
      bytes[at++] = CLOSE_BRACE;
    }
    const h = rowHash(bytes.subarray(start, at));
    // The record's text is an object: its hash goes in as one more key, over its closing brace.
    // Byte by byte: a Buffer.write per record for so few bytes cost more than the loop.
    at--;
    for (let k = 0; k < HASH_KEY.length; k++) bytes[at++] = HASH_KEY[k]!;
    for (let k = 0; k < 32; k++) bytes[at++] = h.charCodeAt(k);
    bytes[at++] = QUOTE;
    bytes[at++] = CLOSE_BRACE;
    records[i] = { id: rows[i]!.externalId, hash: h, start, end: at };
    bytes[at++] = COMMA;
  }
  // The last comma becomes the closing bracket; an empty page gets one after its opening one.
  if (records.length === 0) at++;
  bytes[at - 1] = CLOSE_BRACKET;
  return { bytes: bytes.subarray(0, at), records };
}

/**
 * The jsonb parameter (binary format) of some of a payload's records, in the order given; for all
 * of them, the payload's own bytes without a copy.
 */
export function payloadOf(payload: PagePayload, records: readonly PayloadRecord[]): Buffer {
  if (records.length === payload.records.length) return payload.bytes;
  const parts: Buffer[] = [Buffer.from([JSONB_VERSION, OPEN_BRACKET])];
  const comma = Buffer.from([COMMA]);
  records.forEach((r, i) => {
    if (i > 0) parts.push(comma);
    parts.push(payload.bytes.subarray(r.start, r.end));
  });
  parts.push(Buffer.from([CLOSE_BRACKET]));
  return Buffer.concat(parts);
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

/**
 * Upserts one page of rows into a data table.
 * With `lookUpHashes` (UpsertOptions) it first asks which stored rows already carry each
 * record's hash (present, not missing): those are unchanged and are neither sent nor parsed
 * again, which is what makes a resync of unchanged data cheap. The rest goes in one statement,
 * where rows whose normalized columns, raw and scope are unchanged are still not written; the
 * ids of the rows it wrote come back as `changedIds` (for the history step,
 * src/warehouse/history.ts). A row edited in the warehouse by hand keeps its hash and is not
 * rewritten until the vendor's record changes.
 * Takes ownership of each row's `columns` object (payloadRecords), unless `payload` is given:
 * then `rows` are not read (a prepared page passes none, its payload holds them).
 * The caller passes the transaction that also advances the walk's cursor. Duplicate ids within
 * `rows` must already be removed (Postgres refuses to update one row twice in a statement).
 * Without `lookUpHashes` it writes with the fresh walk's statement (freshStatementFor), which
 * with `openHistory` also opens the inserted rows' history versions (`history` in the result).
 */
export async function upsertRows(
  db: Kysely<Database> | Transaction<Database>,
  table: DataTableName,
  sourceId: string,
  rows: readonly RowToUpsert[],
  options: UpsertOptions = {},
): Promise<UpsertResult> {
  const lookUpHashes = options.lookUpHashes ?? true;
  const payload = options.payload ?? payloadRecords(rows);
  const records = payload.records;
  if (records.length === 0) return { inserted: 0, updated: 0, unchanged: 0, changedIds: [] };
  if (!lookUpHashes) {
    const fresh = await freshStatementFor(table, options.openHistory === true)(payload.bytes, sourceId).execute(db);
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
  const result = await statementFor(table)(payloadOf(payload, toSend), sourceId).execute(db);
  const row = result.rows[0] ?? { inserted: 0, updated: 0, ids: [] };
  return { inserted: row.inserted, updated: row.updated, unchanged: records.length - row.inserted - row.updated, changedIds: row.ids };
}

/**
 * Present rows of (source, scope) that a walk's recorded pages did not show, as a subquery of
 * `external_id`. EXCEPT (a hashed or sorted set operation) rather than NOT EXISTS: with the
 * statistics of a table that grew inside this sync the planner picked a nested-loop anti join,
 * O(rows x seen) (8 s for 5,000 rows, hours at 50,000). This form costs O(n) whatever the statistics say.
 */
function unseenIds(table: DataTableName, sourceId: string, scope: string, walkId: string, range: SweepRange | null = null): RawBuilder<{ external_id: string }> {
  return sql<{ external_id: string }>`
    SELECT external_id FROM ${sql.table(table)}
    WHERE source_id = ${sourceId} AND scope = ${scope} AND deleted_at IS NULL ${within(table, range)}
    EXCEPT
    SELECT unnest(ids) FROM sync_walk_pages WHERE walk_id = ${walkId}`;
}

/**
 * The SQL condition that keeps a walk that covered only part of its scope (a date range) to the
 * rows of that part; empty without a range. Throws for a column the table does not have.
 */
function within(table: DataTableName, range: SweepRange | null): RawBuilder<unknown> {
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
 * Counts what a completed full walk saw and missed in its (source, scope), and compares the
 * missed rows with the held sweep of (source, resource, scope), whose row the caller has locked.
 */
export async function scopeSweepCounts(
  trx: Transaction<Database>,
  table: DataTableName,
  walk: { id: string; source_id: string; resource: string; scope: string },
  range: SweepRange | null = null,
): Promise<ScopeSweepCounts> {
  const res = await sql<{ seen: number; present: number; unseen: number; agrees: boolean }>`
    WITH unseen AS (${unseenIds(table, walk.source_id, walk.scope, walk.id, range)})
    SELECT
      (SELECT count(DISTINCT id)::int FROM sync_walk_pages, unnest(ids) AS id WHERE walk_id = ${walk.id}) AS seen,
      (SELECT count(*)::int FROM ${sql.table(table)} WHERE source_id = ${walk.source_id} AND scope = ${walk.scope} AND deleted_at IS NULL ${within(table, range)}) AS present,
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

/**
 * Marks rows of (source, scope) that the walk did not see. `confirm`: a row missed for the first
 * time gets missing_since; one already missing since before `walkStartedAt` (a complete full
 * walk that ended before this one started missed it too) gets deleted_at. `immediate`: every
 * unseen row gets deleted_at (and missing_since if it had none).
 * "Seen" is the union of the ids the walk's pages recorded in sync_walk_pages.
 */
export async function sweepDeleted(
  trx: Transaction<Database>,
  table: DataTableName,
  walk: { id: string; source_id: string; scope: string; started_at: Date },
  deletes: 'confirm' | 'immediate',
  range: SweepRange | null = null,
  asked?: { gone: readonly string[]; present: readonly string[] },
): Promise<SweepCounts> {
  // With the vendor's per-id answers, only a 404/410 deletes, and a row it still has is not missing.
  const deleteIf = deletes === 'immediate' ? sql`true` : asked ? sql`t.external_id = ANY(${[...asked.gone]}::text[])` : sql`t.missing_since <= ${walk.started_at}`;
  const missingSince = asked ? sql`CASE WHEN t.external_id = ANY(${[...asked.present]}::text[]) THEN NULL ELSE coalesce(t.missing_since, now()) END` : sql`coalesce(t.missing_since, now())`;
  const res = await sql<{ external_id: string; deleted: boolean; fresh: boolean }>`
    UPDATE ${sql.table(table)} AS t
    SET missing_since = ${missingSince},
        deleted_at = CASE WHEN ${deleteIf} THEN now() END
    FROM (${unseenIds(table, walk.source_id, walk.scope, walk.id, range)}) AS gone
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
 * Marks the listed rows of (source, scope) deleted, those not deleted already and not written
 * (inserted, changed, revived) after `notWrittenAfter`; returns the ids it marked.
 */
export async function markDeleted(trx: Transaction<Database>, table: DataTableName, sourceId: string, scope: string, ids: readonly string[], notWrittenAfter: Date): Promise<string[]> {
  if (ids.length === 0) return [];
  const res = await sql<{ external_id: string }>`
    UPDATE ${sql.table(table)} SET deleted_at = now(), missing_since = coalesce(missing_since, now())
    WHERE source_id = ${sourceId} AND scope = ${scope} AND deleted_at IS NULL AND last_seen_at <= ${notWrittenAfter}
      AND external_id = ANY(${ids as string[]}::text[])
    RETURNING external_id`.execute(trx);
  return res.rows.map((r) => r.external_id);
}

/**
 * Before a walk's last page commits: the present rows of (source, scope) that neither its
 * committed pages nor `alsoSeen` (the last page's ids) listed, in id order, and how many rows
 * of the scope are present. What a full walk's sweep would consider missing.
 */
export async function missedRows(
  db: Kysely<Database>,
  table: DataTableName,
  walk: { id: string; source_id: string; scope: string },
  alsoSeen: readonly string[],
  range: SweepRange | null = null,
): Promise<{ present: number; ids: string[] }> {
  const res = await sql<{ external_id: string }>`
    SELECT external_id FROM (${unseenIds(table, walk.source_id, walk.scope, walk.id, range)}) AS u
    WHERE external_id <> ALL(${[...alsoSeen]}::text[]) ORDER BY 1`.execute(db);
  const present = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM ${sql.table(table)} WHERE source_id = ${walk.source_id} AND scope = ${walk.scope} AND deleted_at IS NULL ${within(table, range)}`.execute(db);
  return { present: present.rows[0]!.n, ids: res.rows.map((r) => r.external_id) };
}

/** The present rows of (source, scope) that a completed walk did not see, in id order. */
export async function unseenRows(trx: Transaction<Database>, table: DataTableName, sourceId: string, scope: string, walkId: string, range: SweepRange | null = null): Promise<string[]> {
  const res = await sql<{ external_id: string }>`SELECT external_id FROM (${unseenIds(table, sourceId, scope, walkId, range)}) AS u ORDER BY 1`.execute(trx);
  return res.rows.map((r) => r.external_id);
}
