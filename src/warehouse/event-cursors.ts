import { sql, type Kysely } from 'kysely';
import type { Database } from './db.js';

// How far each polled event feed was read (docs/freshness.md, Automox), per source, feed and
// scope, so a restarted worker resumes where the last poll stopped.

/** Where a feed of a source's scope was read up to (the newest event time it held), or null when never polled. */
export async function feedReadTo(db: Kysely<Database>, at: { sourceId: string; feed: string; scope: string }): Promise<Date | null> {
  const res = await sql<{ read_to: Date }>`
    SELECT read_to FROM source_event_cursors WHERE source_id = ${at.sourceId} AND feed = ${at.feed} AND scope = ${at.scope}`.execute(db);
  const t = res.rows[0]?.read_to;
  return t ? new Date(t) : null;
}

/** Records that a feed of a source's scope was read up to `readTo`; never moves it back. */
export async function saveFeedReadTo(db: Kysely<Database>, at: { sourceId: string; feed: string; scope: string }, readTo: Date): Promise<void> {
  await sql`
    INSERT INTO source_event_cursors (source_id, feed, scope, read_to, polled_at) VALUES (${at.sourceId}, ${at.feed}, ${at.scope}, ${readTo}, now())
    ON CONFLICT (source_id, feed, scope) DO UPDATE
    SET read_to = greatest(source_event_cursors.read_to, EXCLUDED.read_to), polled_at = now()`.execute(db);
}

/** The external ids of a source's present rows of a table: the scopes a feed is read in. */
export async function presentIds(db: Kysely<Database>, table: string, sourceId: string): Promise<string[]> {
  const res = await sql<{ external_id: string }>`
    SELECT external_id FROM ${sql.table(table)} WHERE source_id = ${sourceId} AND deleted_at IS NULL ORDER BY 1`.execute(db);
  return res.rows.map((r) => r.external_id);
}
