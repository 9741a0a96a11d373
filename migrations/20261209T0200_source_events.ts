import { sql, type Kysely } from 'kysely';

// Vendor events between walks (docs/freshness.md):
// - source_events: per source and resource, the newest event applied (the vendor's time and ours)
//   and how many, for freshness (fleetsync_freshness_seconds) and status;
// - source_event_rows: the rows an event wrote or deleted, with the vendor's time of the newest
//   event applied to each: a walk running meanwhile leaves rows changed after its start out of its
//   sweep, and an older event never undoes a newer one. Kept while a walk may need them (a day at least);
// - source_event_cursors: how far a polled feed (Automox `/events`) was read, per source, feed and scope.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE source_events (
    source_id text NOT NULL,
    resource text NOT NULL,
    last_event_at timestamptz NOT NULL,
    last_applied_at timestamptz NOT NULL,
    events_applied bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (source_id, resource))`.execute(db);
  await sql`CREATE TABLE source_event_rows (
    source_id text NOT NULL,
    resource text NOT NULL,
    external_id text NOT NULL,
    event_at timestamptz NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    action text NOT NULL,
    PRIMARY KEY (source_id, resource, external_id))`.execute(db);
  await sql`CREATE INDEX source_event_rows_applied_idx ON source_event_rows (source_id, resource, applied_at)`.execute(db);
  await sql`CREATE TABLE source_event_cursors (
    source_id text NOT NULL,
    feed text NOT NULL,
    scope text NOT NULL,
    read_to timestamptz NOT NULL,
    polled_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_id, feed, scope))`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE source_event_cursors, source_event_rows, source_events`.execute(db);
}
