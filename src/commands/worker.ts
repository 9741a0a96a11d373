import type { App } from '../app.js';
import { metricsPort } from '../env.js';
import { postgresConnectionReason } from '../infra-errors.js';
import type { Logger } from '../logger.js';
import { checkReadiness } from '../health.js';
import { startMetricsServer } from '../metrics.js';
import { logIf, shutdownTimedOut, stoppingWithRedisDown } from '../pages-in-hand.js';
import { notifierFor } from '../notify/notifier.js';
import { Reconciler } from '../queue/reconciler.js';
import { resolveSchedules } from '../queue/schedules.js';
import { SourceWatch } from '../queue/source-watch.js';
import { requireCredentials } from '../sources.js';
import type { Scheduler } from '../queue/schedules.js';
import { lastSucceededWalks } from '../warehouse/run-history.js';
import { startWebhookReceiver } from '../webhooks/start.js';
import { boundHeapGrowth, collect, onShutdown, requireSource, schedulerFor, untilAborted, withApp, type CommandContext } from './common.js';

/**
 * Runs one start-up step of the worker until it succeeds: a Postgres that is away (restarting,
 * failing over, its backends terminated) is waited for at start as it is during work, with one
 * log line, instead of ending the process. Any other error, or an abort, ends it.
 */
export async function untilPostgres<T>(what: string, step: () => Promise<T>, signal: AbortSignal, logger: Logger): Promise<T> {
  let told = false;
  for (let waitMs = 250; ; waitMs = Math.min(waitMs * 2, 5_000)) {
    try {
      return await step();
    } catch (err) {
      const reason = postgresConnectionReason(err);
      if (reason === null || signal.aborted) throw err;
      // Info, not a warning: a refused or lost connection already has the pool's one outage line,
      // and a single terminated query is retried like any page job's query, without a warning.
      if (!told) logger.info({ component: 'postgres', step: what }, `worker start: ${what} waits for Postgres (${reason})`);
      told = true;
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}

/**
 * The hard bound of a shutdown: a page stuck past it is left to its lock expiring, and another
 * worker redoes it. With Redis down at the signal, says the stop will not wait for Redis.
 */
function exitAfterShutdownTimeout(signal: AbortSignal, timeoutMs: number, logger: Logger, app: App): void {
  const inHand = app.engine.pagesInHand;
  signal.addEventListener('abort', () => logIf(logger, stoppingWithRedisDown(inHand.count, app.redis.status === 'ready')), { once: true });
  const exit = () => {
    logger.error({ timeoutMs, pagesInHand: inHand.count }, shutdownTimedOut(inHand.count));
    process.exit(1);
  };
  signal.addEventListener('abort', () => setTimeout(exit, timeoutMs).unref(), { once: true });
}

/** Reads the sources stored in Postgres every worker.sourceRefreshMs and applies what changed (not started yet). */
function watchSources(app: App, logger: Logger, scheduler: () => Scheduler | null): SourceWatch {
  return new SourceWatch({
    sources: app.sources,
    logger,
    intervalMs: app.config.worker.sourceRefreshMs,
    onChange: async (ids) => {
      app.engine.sourcesChanged(ids);
      await app.events.syncPolls(ids);
      // Schedules that select sources pick up the change at their next firing; their recorded lists now.
      scheduler()?.setSchedules(resolveSchedules(app.config.schedules, app.sources));
      await scheduler()?.sync();
    },
  });
}

/** `fleetsync worker`: works every lane and fires the schedules until SIGTERM/SIGINT. */
export function registerWorker(ctx: CommandContext): void {
  const { logger, env } = ctx;
  ctx.program
    .command('worker')
    .description(
      'process every lane of every configured source and fire the configured schedules until SIGTERM/SIGINT ' +
        '(finishes and commits the pages in hand, then exits 0; exits 1 if that takes longer than worker.shutdownTimeoutMs)',
    )
    .option('--source <id>', 'only this source (repeatable)', collect, [] as string[])
    .option('--no-schedules', 'do not register or fire schedules in this process')
    .action(async (opts: { source: string[]; schedules: boolean }) => {
      boundHeapGrowth(env.nodeOptions);
      await withApp(ctx, async (app) => {
        for (const id of opts.source) requireSource(app, id);
        const sourceIds = () => (opts.source.length ? opts.source : app.sources.ids());
        const signal = onShutdown(logger);
        exitAfterShutdownTimeout(signal, app.config.worker.shutdownTimeoutMs, logger, app);
        const port = metricsPort(env, app.config.worker.metricsPort);
        // Freshness survives a restart: the gauge starts from the last succeeded walks in Postgres.
        if (port > 0) app.metrics.seedLastSuccess(await untilPostgres('reading the last succeeded walks', () => lastSucceededWalks(app.db, sourceIds()), signal, logger));
        const metricsServer = port > 0 ? await startMetricsServer(app.metrics, { port, host: env.metricsHost, ready: () => checkReadiness(app) }) : null;
        // Off unless configured: vendor events received here are queued for the event workers (src/events/).
        const listen = app.config.webhooks.listen;
        const receiver = listen ? await startWebhookReceiver(app, listen) : null;
        let scheduler: Scheduler | null = null;
        let reconciler: Reconciler | null = null;
        const watch = watchSources(app, logger, () => scheduler);
        const notifier = notifierFor(app, logger, sourceIds);
        try {
          // The stored sources before any page job: a worker that started without them would pass their jobs on.
          await untilPostgres('reading the stored sources', () => watch.once(), signal, logger);
          watch.start();
          if (opts.schedules) {
            scheduler = schedulerFor(app, logger);
            const s = scheduler;
            await untilPostgres('registering the schedules', () => s.sync(), signal, logger);
            scheduler.start();
          }
          reconciler = new Reconciler({ engine: app.engine, scheduler, logger, intervalMs: app.config.worker.reconcileIntervalMs, syncPolls: () => app.events.syncPolls(sourceIds()) });
          // The first pass re-queues the running runs (a crash, a lost Redis); a failed one is retried.
          const first = await reconciler.start();
          app.engine.startWorkers(opts.source.length ? opts.source : undefined);
          app.events.startWorkers(opts.source.length ? opts.source : undefined);
          notifier?.start();
          logger.info({ sources: sourceIds().length, queues: app.engine.queues().map((q) => q.name), resumedRuns: first?.runs ?? [], schedules: app.config.schedules.map((s) => s.name), metricsPort: metricsServer?.port }, 'worker started');
          await untilAborted(signal);
        } finally {
          // No more deliveries (the vendors send them again), firings and reconciling next (they
          // queue work), then the lanes finish their pages in app.close().
          await receiver?.close();
          await watch.close();
          await notifier?.close();
          await reconciler?.close();
          await scheduler?.close();
          await metricsServer?.close();
        }
      }, { whenDown: 'wait', beforeConnect: (config) => requireCredentials(config, process.env) });
      logger.info('worker stopped');
    });
}
