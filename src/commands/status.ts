import { sql } from 'kysely';
import { collectStatus, formatStatus } from '../status.js';
import { collectSummary, formatSummary, STATUS_SUMMARY_ABOVE } from '../status-summary.js';
import { collect, requireSource, withApp, type CommandContext } from './common.js';

/** `fleetsync status`: per source, lanes, pauses, disabled resources and last runs; a summary over many sources. */
export function registerStatus(ctx: CommandContext): void {
  ctx.program
    .command('status')
    .description(`per source: lanes, pauses, disabled resources, and the last run of each resource with its cursor (above ${STATUS_SUMMARY_ABOVE} sources: a summary and the sources that need attention, unless --source or --all)`)
    .option('--json', 'machine-readable output', false)
    .option('--source <id>', 'only this source (repeatable)', collect, [] as string[])
    .option('--all', 'every source in full, however many', false)
    .option('--limit <n>', 'sources needing attention shown in the summary', (v) => Number.parseInt(v, 10), 20)
    .action(async (opts: { json: boolean; source: string[]; all: boolean; limit: number }) => {
      await withApp(ctx, async (app) => {
        await sql`select 1`.execute(app.db);
        if (opts.source.length === 0 && !opts.all && app.sources.size > STATUS_SUMMARY_ABOVE) {
          const summary = await collectSummary(app.db, app.sources.list());
          console.log(opts.json ? JSON.stringify(summary, null, 2) : formatSummary(summary, opts.limit));
          return;
        }
        const ids = opts.source.length ? opts.source : app.sources.ids();
        const sources = new Map(ids.map((id) => [id, requireSource(app, id)]));
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
