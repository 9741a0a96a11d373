import { requireSource, withApp, type CommandContext } from './common.js';

/** `fleetsync resume`: lifts a pause (the command's or a 402's); the held run goes on. */
export function registerResume(ctx: CommandContext): void {
  ctx.program
    .command('resume')
    .description('resume a paused source (after `pause` or a 402 Payment Required)')
    .requiredOption('--source <id>', 'source id')
    .action(async (opts: { source: string }) => {
      await withApp(ctx, async (app) => {
        requireSource(app, opts.source);
        await app.engine.resumeSource(opts.source);
        console.log(`resumed ${opts.source}`);
      });
    });
}
