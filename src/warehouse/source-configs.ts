import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './db.js';

/** A source stored in Postgres, as read back: its configuration object (unvalidated) and when it last changed. */
export interface StoredSource {
  id: string;
  vendor: string;
  tags: string[];
  config: unknown;
  updatedAt: Date;
}

/** The sources stored in Postgres that are not removed, by id. */
export async function storedSources(db: Kysely<Database>): Promise<StoredSource[]> {
  const rows = await db.selectFrom('source_configs').select(['id', 'vendor', 'tags', 'config', 'updated_at']).where('removed_at', 'is', null).orderBy('id').execute();
  return rows.map((r) => ({ id: r.id, vendor: r.vendor, tags: r.tags, config: r.config, updatedAt: r.updated_at }));
}

/** The latest change to any stored source (added, updated or removed) and how many there are, as one mark: a cheap "anything new?" check. */
export async function lastSourceChange(db: Kysely<Database>): Promise<string> {
  // As text: microseconds, which two changes within one millisecond still tell apart.
  const row = await db
    .selectFrom('source_configs')
    .select([sql<string | null>`max(greatest(updated_at, coalesce(removed_at, updated_at)))::text`.as('at'), sql<string>`count(*)`.as('count')])
    .executeTakeFirstOrThrow();
  return `${row.at ?? '-'}/${row.count}`;
}

/** Inserts or replaces a stored source (a removed one comes back). Returns whether it existed (and was not removed) before. */
export async function putStoredSource(db: Kysely<Database> | Transaction<Database>, src: { id: string; vendor: string; tags: string[]; config: unknown }): Promise<boolean> {
  const before = await db.selectFrom('source_configs').select('removed_at').where('id', '=', src.id).executeTakeFirst();
  const config = JSON.stringify(src.config);
  await db
    .insertInto('source_configs')
    .values({ id: src.id, vendor: src.vendor, tags: src.tags, config: sql`${config}::jsonb`, removed_at: null })
    .onConflict((oc) => oc.column('id').doUpdateSet({ vendor: src.vendor, tags: src.tags, config: sql`${config}::jsonb`, removed_at: null, updated_at: sql`now()` }))
    .execute();
  return before !== undefined && before.removed_at === null;
}

/** Marks a stored source removed (its row stays). Returns false when there was none to remove. */
export async function removeStoredSource(db: Kysely<Database>, id: string): Promise<boolean> {
  const res = await db.updateTable('source_configs').set({ removed_at: sql`now()`, updated_at: sql`now()` }).where('id', '=', id).where('removed_at', 'is', null).executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** One stored source by id (removed or not), or undefined. */
export async function storedSource(db: Kysely<Database>, id: string): Promise<(StoredSource & { removed: boolean }) | undefined> {
  const r = await db.selectFrom('source_configs').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? { id: r.id, vendor: r.vendor, tags: r.tags, config: r.config, updatedAt: r.updated_at, removed: r.removed_at !== null } : undefined;
}
