import { EXIT_USAGE } from '../exit-codes.js';
import { sinceCoverage, sinceRefusal } from '../sync/backfill-since.js';
import { pausedResourcesNotice } from './paused-source.js';
import { announceRun } from './run-output.js';
import { collect, CommandError, onShutdown, reportRunEnd, requireSource, waitWithProgress, withApp, workHereIfAble, type CommandContext } from './common.js';

/** `fleetsync backfill`: a full re-walk of a source, worked here with live progress unless --detach. */
export function registerBackfill(ctx: CommandContext): void {
  ctx.program
    .command('backfill')
    .description(
      'full re-walk of a source, ignoring saved cursors and high-water marks, at lower priority than scheduled syncs; ' +
        'processes it here with live progress unless --detach',
    )
    .requiredOption('--source <id>', 'source id from the config')
    .option('--resource <name>', 'only this resource (repeatable); parents it is nested under are walked too', collect, [] as string[])
    .option('--since <date>', 'only records changed since this date, where the vendor filters by date (ISO 8601)')
    .option('--detach', 'only start the run; the workers process it', false)
    .option('--json', 'print the run (without --detach: its summary) as JSON on stdout', false)
    .action(async (opts: { source: string; resource: string[]; since?: string; detach: boolean; json: boolean }) => {
      let since: Date | null = null;
      if (opts.since !== undefined) {
        since = new Date(opts.since);
        if (Number.isNaN(since.getTime())) throw new CommandError(`--since: "${opts.since}" is not a date (use ISO 8601, e.g. 2026-01-31 or 2026-01-31T12:00:00Z)`, EXIT_USAGE);
      }
      await withApp(ctx, async (app) => {
        const src = requireSource(app, opts.source);
        const coverage = sinceCoverage(src.vendor.resources, opts.resource.length > 0 ? opts.resource : [...src.resources.keys()]);
        const refusal = since ? sinceRefusal(src.id, src.vendor.vendor, coverage) : null;
        if (refusal !== null) throw new CommandError(refusal, EXIT_USAGE);
        const skipped = await pausedResourcesNotice(app.db, src, opts.resource);
        const { runId, resumed } = await app.engine.startRun(opts.source, { resources: opts.resource, trigger: 'backfill', mode: 'full', since });
        const narrowed = since && coverage.full.length > 0 ? `--since narrows ${coverage.narrowed.join(', ')}; ${coverage.full.join(', ')} walk fully (no filter by update time)` : null;
        const note = [narrowed, skipped].filter((n) => n !== null).join('\n') || null;
        announceRun({ runId, resumed, source: opts.source, label: 'backfill run', since, note, json: opts.json, wait: !opts.detach, separateNote: true });
        if (opts.detach) return;
        const signal = onShutdown(ctx.logger);
        workHereIfAble(app, opts.source, ctx.logger);
        const [run] = await waitWithProgress(app, ctx.logger, [runId], signal);
        await reportRunEnd(app, runId, run!, 'backfill run', { json: opts.json });
      });
    });
}
