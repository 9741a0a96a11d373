import { Queue } from 'bullmq';
import { SCHEDULES_QUEUE } from '../queue/schedules.js';
import { onShutdown, untilAborted, withApp, type CommandContext } from './common.js';

/** `fleetsync dashboard`: serves the lanes and recent runs until SIGTERM/SIGINT. */
export function registerDashboard(ctx: CommandContext): void {
  ctx.program
    .command('dashboard')
    .description('serve a web page with the lanes (Bull Board on the real queues) and the recent runs with counts and failures')
    .option('--port <n>', 'port to listen on', (v) => Number.parseInt(v, 10), 3300)
    .option('--host <addr>', 'interface to listen on (the dashboard has no login: keep it on loopback or behind a proxy)', '127.0.0.1')
    .action(async (opts: { port: number; host: string }) => {
      // Loaded on use: Bull Board and its server are heavy for the other commands.
      const { startDashboard } = await import('../dashboard.js');
      await withApp(ctx, async (app) => {
        const signal = onShutdown(ctx.logger);
        const control = new Queue(SCHEDULES_QUEUE, { connection: app.redis, prefix: app.prefix });
        control.on('error', app.onRedisError);
        const dash = await startDashboard({ db: app.db, queues: [...[...app.engine.lanes.values()].map((l) => l.queue), control], logger: ctx.logger, port: opts.port, host: opts.host });
        console.log(`dashboard on http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${dash.port}/ (lanes at /queues)`);
        await untilAborted(signal);
        await dash.close();
        await control.close();
      });
    });
}
