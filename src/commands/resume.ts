import { EXIT_USAGE } from '../exit-codes.js';
import { resumeResources } from '../warehouse/resource-pauses.js';
import { sourcePause } from '../warehouse/source-state.js';
import { collect, CommandError, requireSource, withApp, type CommandContext } from './common.js';

/**
 * `fleetsync resume`: lifts a pause (the command's or a 402's). Without --resource: the source's
 * pause (its held run goes on) and every resource of it a plan-restriction 402 paused; with
 * --resource: only those resources, which the next run walks again.
 */
export function registerResume(ctx: CommandContext): void {
  ctx.program
    .command('resume')
    .description('resume a paused source (after `pause` or a 402 Payment Required) and its paused resources; with --resource, only those resources')
    .requiredOption('--source <id>', 'source id')
    .option('--resource <name>', 'only this resource a 402 paused (repeatable); the source itself stays as it is', collect, [] as string[])
    .action(async (opts: { source: string; resource: string[] }) => {
      await withApp(ctx, async (app) => {
        const src = requireSource(app, opts.source);
        const unknown = opts.resource.filter((r) => !src.vendor.resources.some((d) => d.name === r));
        if (unknown.length > 0) throw new CommandError(`${src.id}: vendor ${src.vendor.vendor} has no resource ${unknown.map((r) => `"${r}"`).join(', ')} (known: ${src.vendor.resources.map((d) => d.name).join(', ')})`, EXIT_USAGE);
        if (opts.resource.length === 0) {
          await app.engine.resumeSource(src.id);
          console.log(`resumed ${src.id}`);
        }
        const lifted = await resumeResources(app.db, src.id, opts.resource.length > 0 ? opts.resource : null);
        for (const p of lifted) console.log(`resumed ${src.id}/${p.resource} (paused since ${p.pausedAt.toISOString()}): the next run walks it`);
        for (const r of opts.resource.filter((name) => !lifted.some((p) => p.resource === name))) console.log(`${src.id}/${r} was not paused`);
        if (opts.resource.length > 0 && (await sourcePause(app.db, src.id)) !== null) console.log(`${src.id} itself is still paused: fleetsync resume --source ${src.id}`);
      });
    });
}
