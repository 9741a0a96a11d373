import { requireSource, withApp, type CommandContext } from './common.js';

/** `fleetsync pause`: no worker takes the source's jobs until `resume`. */
export function registerPause(ctx: CommandContext): void {
  ctx.program
    .command('pause')
    .description('pause a source: no worker takes its jobs until `resume`')
    .requiredOption('--source <id>', 'source id')
    .action(async (opts: { source: string }) => {
      await withApp(ctx, async (app) => {
        requireSource(app, opts.source);
        await app.engine.pauseSource(opts.source, 'paused by command');
        console.log(`paused ${opts.source}`);
      });
    });
}
