import type { Command } from 'commander';
import { formatInstant } from '../time-text.js';
import { EXIT_FAILED, EXIT_USAGE } from '../exit-codes.js';
import { fieldsText } from '../log-line.js';
import { cancelRun, retryRun, RunControlError, type RunControlDeps } from '../run-control.js';
import type { App } from '../app.js';
import { readRunLogs, RUN_LOG_LIMIT, type RunLogLine } from '../warehouse/run-logs.js';
import { CommandError, onShutdown, reportRunEnd, waitWithProgress, withApp, workHereIfAble, type CommandContext } from './common.js';

/** What run control needs from an open app. */
export function runControlDeps(app: App): RunControlDeps {
  return { db: app.db, engine: app.engine, describe: (id) => app.sources.describe(id), logger: app.logger };
}

/** A RunControlError as the CLI reports it: an unknown run is a usage error (2), a refusal a failure (1). */
function asCommandError(err: unknown): unknown {
  return err instanceof RunControlError ? new CommandError(err.message, err.kind === 'unknown' ? EXIT_USAGE : EXIT_FAILED) : err;
}

/**
 * Whether a `runs` subcommand was asked for JSON. `runs` has a --json of its own, and commander
 * gives an option both define to the parent wherever it is written (`runs show 5 --json`).
 */
export function wantsJson(own: { json?: boolean }, cmd: Command): boolean {
  return own.json === true || cmd.parent?.opts<{ json?: boolean }>().json === true;
}

/** One stored log line as `runs logs` prints it: time, level, message, fields. */
export function formatRunLogLine(l: RunLogLine): string {
  const fields = fieldsText(l.fields);
  return `${formatInstant(l.at)} ${l.level.toUpperCase().padEnd(5)} ${l.msg}${fields ? ` ${fields}` : ''}`;
}

/** `runs cancel ID`, `runs retry ID [--wait]`, `runs logs ID`, under `fleetsync runs`. */
export function registerRunControl(runs: Command, ctx: CommandContext): void {
  runs
    .command('cancel <id>')
    .description("stop a running run: its walks end as cancelled and their queued pages are dropped; what committed stays, and nothing is swept")
    .option('--json', 'machine-readable output', false)
    .action(async (id: string, own: { json: boolean }, cmd: Command) => {
      const opts = { json: wantsJson(own, cmd) };
      await withApp(ctx, async (app) => {
        const done = await cancelRun(runControlDeps(app), id, 'fleetsync runs cancel').catch((err: unknown) => Promise.reject(asCommandError(err)));
        console.log(opts.json ? JSON.stringify(done, null, 2) : `cancelled run ${done.runId} of ${done.sourceId}: ${done.walks} running walk${done.walks === 1 ? '' : 's'} stopped; committed pages stay`);
      });
    });
  runs
    .command('retry <id>')
    .description('walk again, as a new run, only the walks of a finished run that failed or were cancelled (each from its first page); with --wait, work it here like sync --wait')
    .option('--wait', 'process the new run in this process until it ends; exit non-zero unless it succeeded', false)
    .option('--json', 'machine-readable output (with --wait: the new run\'s summary)', false)
    .action(async (id: string, own: { wait: boolean; json: boolean }, cmd: Command) => {
      const opts = { ...own, json: wantsJson(own, cmd) };
      await withApp(ctx, async (app) => {
        const started = await retryRun(runControlDeps(app), id).catch((err: unknown) => Promise.reject(asCommandError(err)));
        const what = started.targets.map((t) => `${t.resource} ${t.scope}`).join(', ');
        if (!opts.json) console.log(`started run ${started.runId} of ${started.sourceId}: retrying ${started.targets.length} walk${started.targets.length === 1 ? '' : 's'} of run ${id} (${what})`);
        else if (!opts.wait) console.log(JSON.stringify(started, null, 2));
        if (!opts.wait) return;
        const signal = onShutdown(ctx.logger);
        workHereIfAble(app, started.sourceId, ctx.logger);
        const [run] = await waitWithProgress(app, ctx.logger, [started.runId], signal);
        await reportRunEnd(app, started.runId, run!, 'run', { json: opts.json });
      });
    });
  runs
    .command('logs <id>')
    .description(`the log lines of one run (info and above, from every process that worked it; at most ${RUN_LOG_LIMIT} per run)`)
    .option('--tail <n>', 'only the last n lines', (v) => Number.parseInt(v, 10))
    .option('--json', 'machine-readable output', false)
    .action(async (id: string, own: { tail?: number; json: boolean }, cmd: Command) => {
      const opts = { ...own, json: wantsJson(own, cmd) };
      if (!/^\d{1,18}$/.test(id)) throw new CommandError(`run id must be a number, got "${id}"`, EXIT_USAGE);
      if (opts.tail !== undefined && (!Number.isInteger(opts.tail) || opts.tail < 1)) throw new CommandError('--tail must be a positive whole number', EXIT_USAGE);
      await withApp(ctx, async (app) => {
        const run = await app.db.selectFrom('sync_runs').select('id').where('id', '=', id).executeTakeFirst();
        if (!run) throw new CommandError(`no run ${id} (fleetsync runs lists them)`, EXIT_USAGE);
        const lines = await readRunLogs(app.db, id, opts.tail !== undefined ? { limit: opts.tail, tail: true } : {});
        if (opts.json) console.log(JSON.stringify(lines, null, 2));
        else console.log(lines.length ? lines.map(formatRunLogLine).join('\n') : `no log lines stored for run ${id}`);
      });
    });
}
