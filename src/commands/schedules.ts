import { table } from '../status.js';
import { schedulerFor, withApp, type CommandContext } from './common.js';

/** `fleetsync schedules`: the configured schedules with their next fire times. */
export function registerSchedules(ctx: CommandContext): void {
  ctx.program
    .command('schedules')
    .description('list the configured schedules with their next fire times and whether a worker has registered them')
    .option('--json', 'machine-readable output', false)
    .option('--count <n>', 'next fire times to show', (v) => Number.parseInt(v, 10), 3)
    .action(async (opts: { json: boolean; count: number }) => {
      await withApp(ctx, async (app) => {
        const scheduler = schedulerFor(app, ctx.logger);
        try {
          const list = await scheduler.list(opts.count);
          if (opts.json) {
            console.log(JSON.stringify(list, null, 2));
            return;
          }
          if (list.length === 0) {
            console.log('no schedules configured (add `schedules:` to the config)');
            return;
          }
          console.log(
            table([
              ['name', 'cron', 'time zone', 'mode', 'sources', 'resources', 'registered', 'next fire times (UTC)'],
              ...list.map((s) => [
                s.name,
                s.cron,
                s.timeZone,
                s.mode,
                s.sources.join(','),
                s.resources.length ? s.resources.join(',') : 'all',
                s.stale ? 'stale: removed at next worker start' : s.registered ? 'yes' : 'no (starts with the next worker)',
                s.next.join(', '),
              ]),
            ]).join('\n'),
          );
        } finally {
          await scheduler.close();
        }
      });
    });
}
