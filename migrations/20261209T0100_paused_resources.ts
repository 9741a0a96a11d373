import { sql, type Kysely } from 'kysely';

// Issue 28: a 402 that is a plan restriction (Toggl: the workspace's plan lacks the feature an
// endpoint needs) pauses that resource of the source, not the whole source: one row per paused
// (source, resource) with the failure that paused it (the vendor's message in `reason`), until
// `fleetsync resume`. A run that skips a paused resource records it in `sync_runs.paused_resources`
// (resource -> reason), so its summary says why the resource was not walked, also after the resume.
// Docs: docs/toggl.md, docs/design.md (errors), src/warehouse/resource-pauses.ts.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE sync_paused_resources (
  source_id text NOT NULL,
  resource text NOT NULL,
  paused_at timestamptz NOT NULL DEFAULT now(),
  status integer,
  reason text NOT NULL,
  request_id text,
  run_id bigint,
  PRIMARY KEY (source_id, resource)
)`.execute(db);
  // A constant default: no table rewrite, instant on a large sync_runs.
  await sql`ALTER TABLE sync_runs ADD COLUMN paused_resources jsonb NOT NULL DEFAULT '{}'::jsonb`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE sync_runs DROP COLUMN paused_resources`.execute(db);
  await sql`DROP TABLE sync_paused_resources`.execute(db);
}
