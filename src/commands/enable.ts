import { withApp, type CommandContext } from './common.js';

/** `fleetsync enable`: re-enables a resource a 410 Gone disabled. */
export function registerEnable(ctx: CommandContext): void {
  ctx.program
    .command('enable')
    .description('re-enable a resource that a 410 Gone disabled for a source')
    .requiredOption('--source <id>', 'source id')
    .requiredOption('--resource <name>', 'resource name')
    .action(async (opts: { source: string; resource: string }) => {
      await withApp(ctx, async (app) => {
        // No requireSource: a source since removed from the config may still have a disabled row to clear.
        const enabled = await app.engine.enableResource(opts.source, opts.resource);
        console.log(enabled ? `enabled ${opts.source}/${opts.resource}` : `${opts.source}/${opts.resource} was not disabled`);
      });
    });
}
