import { databaseNameOf } from '../warehouse/database-url.js';
import { createDb, ensureDatabase, migrateToLatest } from '../warehouse/db.js';
import type { CommandContext } from './common.js';

/** `fleetsync migrate`: creates the database if missing and applies the migrations. */
export function registerMigrate({ program, env }: CommandContext): void {
  program
    .command('migrate')
    .description('create the database if missing and apply all migrations (idempotent); uses DATABASE_URL')
    .action(async () => {
      const { databaseUrl } = env;
      const created = await ensureDatabase(databaseUrl);
      const db = createDb(databaseUrl, { max: 2 });
      try {
        const applied = await migrateToLatest(db);
        const name = databaseNameOf(databaseUrl);
        console.log(`${created ? `created database ${name}; ` : ''}${applied.length ? `applied ${applied.join(', ')}` : 'schema is up to date'}`);
      } finally {
        await db.destroy();
      }
    });
}
