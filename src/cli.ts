#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';
import { Queue } from 'bullmq';
import { Command, Option } from 'commander';
import { sql } from 'kysely';
import { openApp, type App } from './app.js';
import { ConfigError, loadConfig, serviceUrls } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { startMetricsServer } from './metrics.js';
import { RunProgress } from './progress.js';
import { resolveSchedules, Scheduler, SCHEDULES_QUEUE } from './queue/schedules.js';
import { collectStatus, formatRunSummary, formatStatus, summarizeRun, table } from './status.js';
import { createDb, ensureDatabase, migrateToLatest } from './warehouse/db.js';

interface GlobalOpts {
  config?: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Exit code for a command that failed for a reason the user can act on. */
class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

async function withApp<T>(program: Command, logger: Logger, fn: (app: App) => Promise<T>): Promise<T> {
  const { config: file } = program.opts<GlobalOpts>();
  const config = await loadConfig(file);
  const app = await openApp({ config, logger });
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}

/** Runs fn until it ends or SIGINT/SIGTERM arrives; a second signal exits at once. */
function onShutdown(logger: Logger): AbortSignal {
  const ctl = new AbortController();
  const handler = (sig: string) => {
    if (ctl.signal.aborted) {
      logger.warn({ signal: sig }, 'second signal: exiting without waiting');
      process.exit(130);
    }
    logger.info({ signal: sig }, 'stopping after the pages in hand');
    ctl.abort();
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
  return ctl.signal;
}

/**
 * Bounds the heap of a process that works pages. A page job allocates ~10 MB that dies within the
 * job (response text, parsed records, the upsert payload) but lives long enough to be promoted,
 * so V8's default old-space growth (up to 4x the live heap before a full GC) let a worker with
 * ~30 MB live sit at 230-270 MB RSS. Growth 2x keeps it under ~190 MB; 1.5x (~165 MB) cost ~15%
 * of throughput in GC
 * (docs/performance.md). A --heap-growing-percent given in NODE_OPTIONS or on the command line wins.
 */
function boundHeapGrowth(): void {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((f) => f.startsWith('--heap-growing-percent'));
  if (!given) setFlagsFromString('--heap-growing-percent=100');
}

/** Builds the fleetsync command line. Exported for tests. */
export function buildProgram(logger: Logger): Command {
  const program = new Command();
  program
    .name('fleetsync')
    .description('Sync device-management and SaaS vendor APIs into a Postgres warehouse through rate-limited BullMQ page jobs.')
    .option('-c, --config <file>', 'config file (default: $FLEETSYNC_CONFIG or ./fleetsync.yaml)')
    .showHelpAfterError();

  program
    .command('migrate')
    .description('create the database if missing and apply all migrations (idempotent); uses DATABASE_URL')
    .action(async () => {
      const { databaseUrl } = serviceUrls();
      const created = await ensureDatabase(databaseUrl);
      const db = createDb(databaseUrl, { max: 2 });
      try {
        const applied = await migrateToLatest(db);
        const name = new URL(databaseUrl).pathname.slice(1);
        console.log(`${created ? `created database ${name}; ` : ''}${applied.length ? `applied ${applied.join(', ')}` : 'schema is up to date'}`);
      } finally {
        await db.destroy();
      }
    });

  program
    .command('worker')
    .description(
      'process every lane of every configured source and fire the configured schedules until SIGTERM/SIGINT ' +
        '(finishes and commits the pages in hand, then exits 0; exits 1 if that takes longer than worker.shutdownTimeoutMs)',
    )
    .option('--source <id>', 'only this source (repeatable)', collect, [] as string[])
    .option('--no-schedules', 'do not register or fire schedules in this process')
    .action(async (opts: { source: string[]; schedules: boolean }) => {
      boundHeapGrowth();
      await withApp(program, logger, async (app) => {
        for (const id of opts.source) if (!app.sources.has(id)) throw new CommandError(`unknown source "${id}"`);
        const signal = onShutdown(logger);
        // The hard bound: a page stuck past it is left to its lock expiring, and another worker redoes it.
        signal.addEventListener(
          'abort',
          () =>
            setTimeout(() => {
              logger.error({ timeoutMs: app.config.worker.shutdownTimeoutMs }, 'shutdown timed out; exiting with pages in hand (they are redelivered)');
              process.exit(1);
            }, app.config.worker.shutdownTimeoutMs).unref(),
          { once: true },
        );
        const metricsPort = process.env.FLEETSYNC_METRICS_PORT ? Number(process.env.FLEETSYNC_METRICS_PORT) : app.config.worker.metricsPort;
        if (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535) throw new CommandError(`FLEETSYNC_METRICS_PORT must be a port number`);
        const metricsServer = metricsPort > 0 ? await startMetricsServer(app.metrics, { port: metricsPort, host: process.env.FLEETSYNC_METRICS_HOST }) : null;
        let scheduler: Scheduler | null = null;
        try {
          if (opts.schedules) {
            scheduler = new Scheduler({ redis: app.redis, prefix: app.prefix, engine: app.engine, sources: app.sources, schedules: resolveSchedules(app.config.schedules, app.sources), logger });
            await scheduler.sync();
            scheduler.start();
          }
          const resumed = await app.engine.resumeRunningRuns();
          app.engine.startWorkers(opts.source.length ? opts.source : undefined);
          logger.info({ lanes: [...app.engine.lanes.keys()], resumedRuns: resumed, schedules: app.config.schedules.map((s) => s.name), metricsPort: metricsServer?.port }, 'worker started');
          await new Promise<void>((resolve) => {
            if (signal.aborted) resolve();
            signal.addEventListener('abort', () => resolve(), { once: true });
          });
        } finally {
          // Firings first (they start runs), then the lanes finish their pages in app.close().
          await scheduler?.close();
          await metricsServer?.close();
        }
      });
      logger.info('worker stopped');
    });

  program
    .command('schedules')
    .description('list the configured schedules with their next fire times and whether a worker has registered them')
    .option('--json', 'machine-readable output', false)
    .option('--count <n>', 'next fire times to show', (v) => Number.parseInt(v, 10), 3)
    .action(async (opts: { json: boolean; count: number }) => {
      await withApp(program, logger, async (app) => {
        const scheduler = new Scheduler({ redis: app.redis, prefix: app.prefix, engine: app.engine, sources: app.sources, schedules: resolveSchedules(app.config.schedules, app.sources), logger });
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

  program
    .command('backfill')
    .description(
      'full re-walk of a source, ignoring saved cursors and high-water marks, at lower priority than scheduled syncs; ' +
        'processes it here with live progress unless --detach',
    )
    .requiredOption('--source <id>', 'source id from the config')
    .option('--resource <name>', 'only this resource (repeatable); parents it is nested under are walked too', collect, [] as string[])
    .option('--since <date>', 'only records changed since this date, where the vendor filters by date (ISO 8601)')
    .option('--detach', 'only start the run; the workers process it', false)
    .action(async (opts: { source: string; resource: string[]; since?: string; detach: boolean }) => {
      let since: Date | null = null;
      if (opts.since !== undefined) {
        since = new Date(opts.since);
        if (Number.isNaN(since.getTime())) throw new CommandError(`--since: "${opts.since}" is not a date (use ISO 8601, e.g. 2026-01-31 or 2026-01-31T12:00:00Z)`);
      }
      await withApp(program, logger, async (app) => {
        if (!app.sources.has(opts.source)) throw new CommandError(`unknown source "${opts.source}" (configured: ${[...app.sources.keys()].join(', ')})`);
        const { runId, resumed } = await app.engine.startRun(opts.source, { resources: opts.resource, trigger: 'backfill', mode: 'full', since });
        console.log(`${resumed ? 'joined running' : 'started'} backfill run ${runId} of ${opts.source}${since ? ` since ${since.toISOString()}` : ''}`);
        if (opts.detach) return;
        const signal = onShutdown(logger);
        app.engine.startWorkers([opts.source]);
        const progress = new RunProgress(app.db, runId, { tty: process.stdout.isTTY === true, logger });
        let last = 0;
        const run = await app.engine.waitForRun(runId, {
          signal,
          pollMs: 250,
          onPoll: async () => {
            // Terminal redraws twice a second; the logged variant throttles itself per walk.
            if (Date.now() - last < 500) return;
            last = Date.now();
            await progress.update();
          },
        });
        await progress.finish();
        console.log(formatRunSummary(await summarizeRun(app.db, runId)));
        if (run.status === 'running') throw new CommandError(`interrupted; backfill run ${runId} goes on with the next worker`, 130);
        if (run.status !== 'succeeded') throw new CommandError(`backfill run ${runId} ${run.status}: ${run.error_message ?? 'see fleetsync status'}`);
      });
    });

  program
    .command('dashboard')
    .description('serve a web page with the lanes (Bull Board on the real queues) and the recent runs with counts and failures')
    .option('--port <n>', 'port to listen on', (v) => Number.parseInt(v, 10), 3300)
    .option('--host <addr>', 'interface to listen on (the dashboard has no login: keep it on loopback or behind a proxy)', '127.0.0.1')
    .action(async (opts: { port: number; host: string }) => {
      const { startDashboard } = await import('./dashboard.js');
      await withApp(program, logger, async (app) => {
        const signal = onShutdown(logger);
        const control = new Queue(SCHEDULES_QUEUE, { connection: app.redis, prefix: app.prefix });
        const dash = await startDashboard({ db: app.db, queues: [...[...app.engine.lanes.values()].map((l) => l.queue), control], logger, port: opts.port, host: opts.host });
        console.log(`dashboard on http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${dash.port}/ (lanes at /queues)`);
        await new Promise<void>((resolve) => {
          if (signal.aborted) resolve();
          signal.addEventListener('abort', () => resolve(), { once: true });
        });
        await dash.close();
        await control.close();
      });
    });

  program
    .command('sync')
    .description('start a run of a source (or join the one already running); with --wait, process it here and print a summary')
    .requiredOption('--source <id>', 'source id from the config')
    .option('--resource <name>', 'only this resource (repeatable); parents it is nested under are walked too', collect, [] as string[])
    .addOption(new Option('--mode <mode>', 'full walk, or incremental where the vendor allows').choices(['full', 'incremental']).default('full'))
    .option('--wait', 'process the run in this process until it ends; exit non-zero unless it succeeded', false)
    .action(async (opts: { source: string; resource: string[]; mode: 'full' | 'incremental'; wait: boolean }) => {
      await withApp(program, logger, async (app) => {
        if (!app.sources.has(opts.source)) throw new CommandError(`unknown source "${opts.source}" (configured: ${[...app.sources.keys()].join(', ')})`);
        const { runId, resumed } = await app.engine.startRun(opts.source, { resources: opts.resource, trigger: 'sync', mode: opts.mode });
        console.log(`${resumed ? 'joined running' : 'started'} run ${runId} of ${opts.source}`);
        if (!opts.wait) return;
        boundHeapGrowth();
        const signal = onShutdown(logger);
        app.engine.startWorkers([opts.source]);
        const run = await app.engine.waitForRun(runId, { signal });
        const summary = await summarizeRun(app.db, runId);
        console.log(formatRunSummary(summary));
        if (run.status === 'running') throw new CommandError(`interrupted; run ${runId} goes on with the next worker`, 130);
        if (run.status !== 'succeeded') throw new CommandError(`run ${runId} ${run.status}: ${run.error_message ?? 'see fleetsync status'}`);
      });
    });

  program
    .command('status')
    .description('per source: lanes, pauses, disabled resources, and the last run of each resource with its cursor')
    .option('--json', 'machine-readable output', false)
    .option('--source <id>', 'only this source (repeatable)', collect, [] as string[])
    .action(async (opts: { json: boolean; source: string[] }) => {
      await withApp(program, logger, async (app) => {
        const ids = opts.source.length ? opts.source : [...app.sources.keys()];
        for (const id of ids) if (!app.sources.has(id)) throw new CommandError(`unknown source "${id}"`);
        await sql`select 1`.execute(app.db);
        const status = await collectStatus(
          app.db,
          app.engine,
          ids,
          (id) => app.sources.get(id)!.vendor.vendor,
          (id) => app.sources.get(id)!.vendor.resources.map((r) => r.name),
        );
        console.log(opts.json ? JSON.stringify(status, null, 2) : formatStatus(status));
      });
    });

  program
    .command('pause')
    .description('pause a source: no worker takes its jobs until `resume`')
    .requiredOption('--source <id>', 'source id')
    .action(async (opts: { source: string }) => {
      await withApp(program, logger, async (app) => {
        if (!app.sources.has(opts.source)) throw new CommandError(`unknown source "${opts.source}"`);
        await app.db
          .insertInto('sync_sources')
          .values({ source_id: opts.source, paused_at: new Date(), paused_reason: 'paused by command' })
          .onConflict((oc) => oc.column('source_id').doUpdateSet({ paused_at: new Date(), paused_reason: 'paused by command' }))
          .execute();
        await app.engine.pauseSourceQueues(opts.source);
        console.log(`paused ${opts.source}`);
      });
    });

  program
    .command('resume')
    .description('resume a paused source (after `pause` or a 402 Payment Required)')
    .requiredOption('--source <id>', 'source id')
    .action(async (opts: { source: string }) => {
      await withApp(program, logger, async (app) => {
        if (!app.sources.has(opts.source)) throw new CommandError(`unknown source "${opts.source}"`);
        await app.engine.resumeSource(opts.source);
        console.log(`resumed ${opts.source}`);
      });
    });

  program
    .command('enable')
    .description('re-enable a resource that a 410 Gone disabled for a source')
    .requiredOption('--source <id>', 'source id')
    .requiredOption('--resource <name>', 'resource name')
    .action(async (opts: { source: string; resource: string }) => {
      await withApp(program, logger, async (app) => {
        const res = await app.db.deleteFrom('sync_disabled_resources').where('source_id', '=', opts.source).where('resource', '=', opts.resource).executeTakeFirst();
        console.log(Number(res.numDeletedRows) > 0 ? `enabled ${opts.source}/${opts.resource}` : `${opts.source}/${opts.resource} was not disabled`);
      });
    });

  program
    .command('demo')
    .description('start the vendor simulators on loopback, migrate, sync them into Postgres and show what landed')
    .option('--devices <n>', 'devices per organization', (v) => Number.parseInt(v, 10), 120)
    .action(async (opts: { devices: number }) => {
      const { runDemo } = await import('./demo.js');
      const ok = await runDemo({ logger, devicesPerOrg: opts.devices });
      if (!ok) throw new CommandError('demo sync did not succeed');
    });

  return program;
}

async function main(): Promise<void> {
  const logger = createLogger();
  const program = buildProgram(logger);
  try {
    await program.parseAsync(process.argv);
    process.exit(0);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof CommandError) {
      console.error(`fleetsync: ${err.message}`);
      process.exit(err instanceof CommandError ? err.exitCode : 2);
    }
    const e = err as Error & { code?: string };
    // Only name and message: an error object may carry connection strings or request configs.
    console.error(`fleetsync: ${e.code ? `${e.code} ` : ''}${e.message}`);
    process.exit(1);
  }
}

await main();
