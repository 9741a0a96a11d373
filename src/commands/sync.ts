import { Option } from 'commander';
import { planDryRun } from '../sync/dry-run.js';
import { pausedResourcesNotice, pausedSourceNotice } from './paused-source.js';
import { formatDryRun } from './sync-dry-run.js';
import { announceRun } from './run-output.js';
import { boundHeapGrowth, collect, onShutdown, reportRunEnd, requireSource, waitWithProgress, withApp, workHereIfAble, type CommandContext } from './common.js';

/** `fleetsync sync`: starts (or joins) a run of a source; with --wait, works it here. */
export function registerSync(ctx: CommandContext): void {
  ctx.program
    .command('sync')
    .description('start a run of a source (or join the one already running); with --wait, process it here with live progress and print a summary')
    .requiredOption('--source <id>', 'source id from the config')
    .option('--resource <name>', 'only this resource (repeatable); parents it is nested under are walked too', collect, [] as string[])
    .addOption(new Option('--mode <mode>', 'full walk, or incremental where the vendor allows').choices(['full', 'incremental']).default('full'))
    .option('--wait', 'process the run in this process until it ends; exit non-zero unless it succeeded', false)
    .option('--json', 'print the run (with --wait: its summary) as JSON on stdout', false)
    .option('--dry-run', 'print what would be walked and the requests and least time that takes, from the last walks; start nothing', false)
    .action(async (opts: { source: string; resource: string[]; mode: 'full' | 'incremental'; wait: boolean; json: boolean; dryRun: boolean }) => {
      await withApp(ctx, async (app) => {
        const src = requireSource(app, opts.source);
        if (opts.dryRun) {
          const plan = await planDryRun(app.db, src, { resources: opts.resource, mode: opts.mode });
          console.log(opts.json ? JSON.stringify(plan, null, 2) : formatDryRun(plan));
          return;
        }
        const paused = await pausedSourceNotice(app.db, opts.source, opts.wait);
        const skipped = await pausedResourcesNotice(app.db, src, opts.resource);
        const { runId, resumed } = await app.engine.startRun(opts.source, { resources: opts.resource, trigger: 'sync', mode: opts.mode });
        const note = [paused, skipped].filter((n) => n !== null).join('; ') || null;
        announceRun({ runId, resumed, source: opts.source, label: 'run', note, json: opts.json, wait: opts.wait });
        if (!opts.wait) return;
        boundHeapGrowth(ctx.env.nodeOptions);
        const signal = onShutdown(ctx.logger);
        workHereIfAble(app, opts.source, ctx.logger);
        const [run] = await waitWithProgress(app, ctx.logger, [runId], signal);
        await reportRunEnd(app, runId, run!, 'run', { json: opts.json });
      });
    });
}
