import { sql } from 'kysely';
import { collectStatus, formatStatus } from '../status.js';
import { collect, requireSource, withApp, type CommandContext } from './common.js';

/** `fleetsync status`: per source, lanes, pauses, disabled resources and last runs. */
export function registerStatus(ctx: CommandContext): void {
  ctx.program
    .command('status')
    .description('per source: lanes, pauses, disabled resources, and the last run of each resource with its cursor')
    .option('--json', 'machine-readable output', false)
    .option('--source <id>', 'only this source (repeatable)', collect, [] as string[])
    .action(async (opts: { json: boolean; source: string[] }) => {
      await withApp(ctx, async (app) => {
        const ids = opts.source.length ? opts.source : [...app.sources.keys()];
        const sources = new Map(ids.map((id) => [id, requireSource(app, id)]));
        await sql`select 1`.execute(app.db);
        const status = await collectStatus(
          app.db,
          app.engine,
          ids,
          (id) => sources.get(id)!.vendor.vendor,
          (id) => sources.get(id)!.vendor.resources.map((r) => r.name),
        );
        console.log(opts.json ? JSON.stringify(status, null, 2) : formatStatus(status));
      });
    });
}
