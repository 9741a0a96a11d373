import { setFlagsFromString } from 'node:v8';
import type { Command } from 'commander';
import { openApp, type App } from '../app.js';
import { ConfigError, loadConfig, type FleetsyncConfig } from '../config.js';
import type { FleetsyncEnv } from '../env.js';
import type { Logger } from '../logger.js';
import { resolveSchedules, Scheduler } from '../queue/schedules.js';
import type { ResolvedSource } from '../sources.js';
import { unknownSourceText } from '../source-registry.js';
import { RunProgress } from '../progress.js';
import type { RunRow } from '../warehouse/walks.js';
import { formatRunSummary, heldInRun, laneLimitText, summarizeRun } from '../status.js';
import { stderrTerm } from '../terminal.js';
import { EXIT_INTERRUPTED, EXIT_SWEEP_HELD, EXIT_USAGE } from '../exit-codes.js';
import type { RunLogSink } from '../run-log-sink.js';

/** What every command is registered with. */
export interface CommandContext {
  /** The root program; its global --config is read when a command runs, after parsing. */
  program: Command;
  logger: Logger;
  env: FleetsyncEnv;
  /** Keeps the log lines of runs in Postgres once withApp opened it (src/run-log-sink.ts). */
  runLogs?: RunLogSink;
}

/** Exit code for a command that failed for a reason the user can act on. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Exit code of a waited-for run that succeeded but held a sweep (docs/reliability.md, Deletes). */
export { EXIT_SWEEP_HELD } from '../exit-codes.js';

/** Commander accumulator for a repeatable option. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * Loads the config (--config, else FLEETSYNC_CONFIG, else ./fleetsync.yaml), opens the app, runs fn
 * and closes the app whatever fn does. Throws ConfigError for a bad config before connecting, and
 * InfraError naming Redis when it cannot be reached, unless `whenDown` is `wait` (the worker).
 */
export async function withApp<T>(ctx: CommandContext, fn: (app: App) => Promise<T>, opts: { whenDown?: 'fail' | 'wait'; beforeConnect?: (config: FleetsyncConfig) => void } = {}): Promise<T> {
  const { config: file } = ctx.program.opts<{ config?: string }>();
  const config = await loadConfig(file ?? ctx.env.configFile);
  try {
    opts.beforeConnect?.(config);
  } catch (err) {
    // Named like loadConfig's own errors: which file the problem is in.
    if (err instanceof ConfigError) throw new ConfigError(`${file ?? ctx.env.configFile ?? 'fleetsync.yaml'}: ${err.message}`);
    throw err;
  }
  const app = await openApp({ config, logger: ctx.logger, databaseUrl: ctx.env.databaseUrl, redisUrl: ctx.env.redisUrl, prefix: ctx.env.queuePrefix, whenDown: opts.whenDown });
  ctx.runLogs?.attach(app.db);
  try {
    return await fn(app);
  } finally {
    await ctx.runLogs?.detach();
    await app.close();
  }
}

/**
 * The configured source with this id (YAML or Postgres), resolved without its credentials: commands
 * send no vendor request, the workers do. Throws CommandError `unknown source "id" (configured:
 * a, b, …)`, so a typo shows the right names; ConfigError for a source that is misconfigured.
 */
export function requireSource(app: Pick<App, 'sources'>, id: string): ResolvedSource {
  const src = app.sources.describe(id);
  if (src) return src;
  throw new CommandError(unknownSourceText(id, app.sources.ids()), EXIT_USAGE);
}

/**
 * Works a source's pages in this process while a command waits for its run, when its credentials
 * resolve here; otherwise the running workers (which hold them) do, and the command only waits.
 */
export function workHereIfAble(app: App, sourceId: string, logger: Logger): void {
  try {
    app.sources.get(sourceId);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    logger.info({ source: sourceId }, `not working ${sourceId} in this process (${err.message.split('\n')[0]}); waiting for a running worker`);
    return;
  }
  app.engine.startWorkers([sourceId]);
}

/** Aborts on the first SIGINT/SIGTERM (callers stop after the pages in hand); a second signal exits at once with 130. */
export function onShutdown(logger: Logger): AbortSignal {
  const ctl = new AbortController();
  const handler = (sig: string) => {
    if (ctl.signal.aborted) {
      logger.warn({ signal: sig }, 'second signal: exiting without waiting');
      process.exit(EXIT_INTERRUPTED);
    }
    logger.info({ signal: sig }, 'stopping after the pages in hand');
    ctl.abort();
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
  return ctl.signal;
}

/** Resolves when the signal aborts (at once if it already has). Never rejects. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** A scheduler over the app's configured schedules; the caller closes it. Throws ConfigError for a schedule naming an unknown source. */
export function schedulerFor(app: App, logger: Logger): Scheduler {
  return new Scheduler({ redis: app.redis, prefix: app.prefix, engine: app.engine, sources: app.sources, schedules: resolveSchedules(app.config.schedules, app.sources), logger, onRedisError: app.onRedisError, db: app.db });
}

/**
 * Bounds the heap of a process that works pages. A page job allocates ~10 MB that dies within the
 * job (response text, parsed records, the upsert payload) but lives long enough to be promoted,
 * so V8's default old-space growth (up to 4x the live heap before a full GC) let a worker with
 * ~30 MB live sit at 230-270 MB RSS. Growth 2x keeps it under ~190 MB; 1.5x (~165 MB) cost ~15%
 * of throughput in GC
 * (docs/performance.md). A --heap-growing-percent given in NODE_OPTIONS or on the command line wins.
 */
export function boundHeapGrowth(nodeOptions: string): void {
  const given = [...process.execArgv, ...nodeOptions.split(/\s+/)].some((f) => f.startsWith('--heap-growing-percent'));
  if (!given) setFlagsFromString('--heap-growing-percent=100');
}

/**
 * Prints the summary of a run a command waited for (as JSON with `json`), then throws CommandError unless it succeeded:
 * exit 130 when the wait was interrupted (the run goes on), 1 when it ended otherwise, 3
 * (EXIT_SWEEP_HELD) when it succeeded but the mass-delete guard held one of its sweeps.
 * `label` names the run in the message ("run", "backfill run").
 */
export async function reportRunEnd(app: App, runId: string, run: { status: string; error_message: string | null }, label: string, opts: { json?: boolean } = {}): Promise<void> {
  const summary = await summarizeRun(app.db, runId);
  console.log(opts.json ? JSON.stringify(summary, null, 2) : formatRunSummary(summary));
  if (run.status === 'running') throw new CommandError(`interrupted; ${label} ${runId} goes on with the next worker`, EXIT_INTERRUPTED);
  if (run.status !== 'succeeded') throw new CommandError(`${label} ${runId} ${run.status}: ${run.error_message ?? 'see fleetsync status'}`);
  const held = heldInRun(summary);
  if (held.length > 0) {
    throw new CommandError(`${label} ${runId} succeeded, but ${held.length} sweep${held.length === 1 ? ' was' : 's were'} held: nothing was marked deleted there; see fleetsync status, apply with fleetsync sweep --confirm`, EXIT_SWEEP_HELD);
  }
}

/** "servers lane (100/min)" for a resource of a configured source; undefined when unknown. */
export function laneLabeller(app: App): (sourceId: string, resource: string) => string | undefined {
  return (sourceId, resource) => {
    const lane = app.engine.laneOf(sourceId, resource);
    if (!lane) return undefined;
    const limit = laneLimitText(lane);
    return `${lane.laneClass} lane${limit ? ` (${limit})` : ''}`;
  };
}

/**
 * Waits for runs while showing their progress: bars on stderr when it is a terminal (log lines
 * stay above them), progress log lines otherwise. Returns each run as the wait left it (still
 * running when the signal aborted); the last frame stays on screen.
 */
export async function waitWithProgress(app: App, logger: Logger, runIds: readonly string[], signal?: AbortSignal): Promise<RunRow[]> {
  const terminal = stderrTerm();
  const progress = new RunProgress(app.db, runIds, { terminal, logger, laneOf: laneLabeller(app) });
  let last = 0;
  const runs: RunRow[] = [];
  try {
    for (const runId of runIds) {
      runs.push(
        await app.engine.waitForRun(runId, {
          ...(signal ? { signal } : {}),
          pollMs: 250,
          onPoll: async () => {
            // Terminal frames twice a second; the logged variant throttles itself per walk.
            if (Date.now() - last < 500) return;
            last = Date.now();
            await progress.update();
          },
        }),
      );
    }
    await progress.finish();
  } catch (err) {
    progress.abandon();
    throw err;
  }
  return runs;
}
