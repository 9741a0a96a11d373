import { Queue } from 'bullmq';
import { dashboardAccessProblem } from '../dashboard-access.js';
import { EXIT_USAGE } from '../exit-codes.js';
import { overdueAfterMs, overduePageJobs } from '../overdue-jobs.js';
import { SCHEDULES_QUEUE } from '../queue/schedules.js';
import { runControlDeps } from './runs-control.js';
import { CommandError, laneLabeller, onShutdown, untilAborted, withApp, type CommandContext } from './common.js';

/** `fleetsync dashboard`: serves the overview, run pages, "sync now" and the lanes until SIGTERM/SIGINT. */
export function registerDashboard(ctx: CommandContext): void {
  ctx.program
    .command('dashboard')
    .description('serve a self-refreshing web page: sources with "sync now", live progress, runs with their walks and failures, and the lanes (Bull Board on the real queues)')
    .option('--port <n>', 'port to listen on', (v) => Number.parseInt(v, 10), 3300)
    .option('--host <addr>', 'interface to listen on; anything but loopback needs a token', '127.0.0.1')
    .option('--token <token>', 'access token (at least 16 characters) every request must carry (default: $FLEETSYNC_DASHBOARD_TOKEN); required off loopback')
    .action(async (opts: { port: number; host: string; token?: string }) => {
      // Loaded on use: Bull Board and its server are heavy for the other commands.
      const { DashboardConfigError, startDashboard } = await import('../dashboard.js');
      const token = opts.token ?? ctx.env.dashboardToken;
      // Refused before anything connects: a missing token is a usage error, not worth a Redis wait.
      const problem = dashboardAccessProblem(opts.host, token);
      if (problem !== null) throw new CommandError(problem, EXIT_USAGE);
      await withApp(ctx, async (app) => {
        const signal = onShutdown(ctx.logger);
        const control = new Queue(SCHEDULES_QUEUE, { connection: app.redis, prefix: app.prefix });
        control.on('error', app.onRedisError);
        try {
          const dash = await startDashboard({
            db: app.db,
            queues: [...app.engine.queues(), control],
            logger: ctx.logger,
            port: opts.port,
            host: opts.host,
            ...(token !== undefined ? { token } : {}),
            sources: app.sources.list().map((s) => ({ id: s.id, vendor: s.vendor })),
            // A run started here is worked by the workers (fleetsync worker), like a schedule's.
            startRun: (id) => app.engine.startRun(id, { trigger: 'dashboard' }),
            laneOf: laneLabeller(app),
            overdue: () => overduePageJobs(app.engine.queues(), overdueAfterMs(app.config.worker)),
            // Cancel and retry on the run page; a retried run is worked by the workers too.
            runControl: runControlDeps(app),
            configOf: (id) => app.sources.configOf(id),
          }).catch((err: unknown) => {
            if (err instanceof DashboardConfigError) throw new CommandError(err.message, EXIT_USAGE);
            throw err;
          });
          const shown = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
          console.log(`dashboard on http://${shown}:${dash.port}/ (lanes at /queues)${token !== undefined ? '; open it once with ?token=<token>' : ''}`);
          await untilAborted(signal);
          await dash.close();
        } finally {
          await control.close();
        }
      });
    });
}
