import { sql, type Kysely } from 'kysely';

// Sources kept in Postgres beside the YAML file (`fleetsync sources add|update|remove|import`):
// workers read them at runtime. `config` is the source's configuration as the YAML would hold it,
// credentials as references only (`${VAR}`, `${file:/path}`), never values. A removed source
// keeps its row (removed_at) so its warehouse rows stay explained.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE source_configs (
      id text PRIMARY KEY,
      vendor text NOT NULL,
      tags text[] NOT NULL DEFAULT '{}',
      config jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      removed_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX source_configs_updated ON source_configs (updated_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE source_configs`.execute(db);
}
