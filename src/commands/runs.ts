import { EXIT_USAGE } from '../exit-codes.js';
import { formatDuration, formatInstant } from '../time-text.js';
import { table } from '../status.js';
import { listRuns, runWalks, type RunListing, type WalkListing } from '../warehouse/run-history.js';
import type { Command } from 'commander';
import { registerRunControl, wantsJson } from './runs-control.js';
import { CommandError, requireSource, withApp, type CommandContext } from './common.js';

/** The `runs` table: one line per run, newest first. */
export function formatRuns(runs: readonly RunListing[]): string {
  if (runs.length === 0) return 'no runs yet';
  const head = ['id', 'source', 'trigger', 'mode', 'status', 'started', 'duration', 'walks', 'records', 'failures'];
  const rows = runs.map((r) => [r.id, r.sourceId, r.trigger, r.mode, r.status, formatInstant(r.startedAt), formatDuration(r.seconds), String(r.walks), String(r.records), String(r.failures)]);
  return table([head, ...rows]).join('\n');
}

/** The `runs show` text: the run, then one line per walk, then each failure with its vendor message and request id. */
export function formatRunWalks(run: RunListing | undefined, header: string, walks: readonly WalkListing[]): string {
  const head = ['resource', 'scope', 'mode', 'status', 'duration', 'pages', 'records', 'total', 'inserted', 'updated', 'unchanged', 'deleted', 'quarantined'];
  const rows = walks.map((w) => [
    w.resource,
    w.scope,
    w.mode,
    w.status,
    formatDuration(w.seconds),
    String(w.pages),
    String(w.records),
    w.total === null ? '-' : String(w.total),
    String(w.inserted),
    String(w.updated),
    String(w.unchanged),
    String(w.deleted),
    String(w.quarantined),
  ]);
  const lines = [header];
  if (run) lines.push(`started ${formatInstant(run.startedAt)}, finished ${formatInstant(run.finishedAt)}, ${formatDuration(run.seconds)}; ${run.walks} walks, ${run.records} records, ${run.failures} failed`);
  lines.push(...(walks.length ? table([head, ...rows]) : ['no walks']));
  const failures = walks.filter((w) => w.error);
  if (failures.length) {
    lines.push('failures:');
    for (const w of failures) lines.push(`  ${w.resource} ${w.scope}: ${w.error!.status ?? '-'} ${w.error!.message}${w.error!.requestId ? ` [request ${w.error!.requestId}]` : ''}`);
  }
  return lines.join('\n');
}

/** `fleetsync runs [--source S] [--limit N]` and `fleetsync runs show ID`: the run history from Postgres. */
export function registerRuns(ctx: CommandContext): void {
  const runs = ctx.program
    .command('runs')
    .description('run history, newest first: id, source, trigger, mode, status, started, duration, walks, records, failures (`runs show ID` for one run; `runs cancel`, `runs retry`, `runs logs`)')
    .option('--source <id>', 'only runs of this source')
    .option('--limit <n>', 'how many runs', (v) => Number.parseInt(v, 10), 20)
    .option('--json', 'machine-readable output', false)
    .action(async (opts: { source?: string; limit: number; json: boolean }) => {
      if (!Number.isInteger(opts.limit) || opts.limit < 1) throw new CommandError('--limit must be a positive whole number', EXIT_USAGE);
      await withApp(ctx, async (app) => {
        if (opts.source !== undefined) requireSource(app, opts.source);
        const list = await listRuns(app.db, { sourceId: opts.source, limit: opts.limit });
        console.log(opts.json ? JSON.stringify(list, null, 2) : formatRuns(list));
      });
    });
  runs
    .command('show <id>')
    .description('one run: its walks with durations, pages and counts, and failures with the vendor message and request id')
    .option('--json', 'machine-readable output', false)
    .action(async (id: string, own: { json: boolean }, cmd: Command) => {
      const opts = { json: wantsJson(own, cmd) };
      if (!/^\d{1,18}$/.test(id)) throw new CommandError(`run id must be a number, got "${id}"`, EXIT_USAGE);
      await withApp(ctx, async (app) => {
        const run = await app.db.selectFrom('sync_runs').selectAll().where('id', '=', id).executeTakeFirst();
        if (!run) throw new CommandError(`no run ${id} (fleetsync runs lists them)`, EXIT_USAGE);
        const [listing] = await listRuns(app.db, { runId: id, limit: 1 });
        const walks = await runWalks(app.db, id);
        if (opts.json) {
          console.log(JSON.stringify({ run: listing, error: run.error_message ? { status: run.error_status, message: run.error_message, requestId: run.error_request_id } : null, walks }, null, 2));
          return;
        }
        const error = run.error_message ? ` · ${run.error_status ?? '-'} ${run.error_message}${run.error_request_id ? ` [request ${run.error_request_id}]` : ''}` : '';
        console.log(formatRunWalks(listing, `run ${id} of ${run.source_id} (${run.trigger}, ${run.mode}): ${run.status}${error}`, walks));
      });
    });
  registerRunControl(runs, ctx);
}
