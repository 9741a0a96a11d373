import { applyHeldSweeps, listHeldSweeps } from '../warehouse/held-sweeps.js';
import { CommandError, withApp, type CommandContext } from './common.js';

/** `fleetsync sweep`: shows, or with --confirm applies, the sweeps the mass-delete guard held. */
export function registerSweep(ctx: CommandContext): void {
  ctx.program
    .command('sweep')
    .description('show the deletion sweeps the mass-delete guard held for a resource; with --confirm, mark their rows deleted')
    .requiredOption('--source <id>', 'source id')
    .requiredOption('--resource <name>', 'resource name')
    .option('--scope <scope>', 'only this scope (an organization id, a workspace id, ...); default: every held scope of the resource')
    .option('--confirm', 'apply the held sweeps (without it, only show what they would do)', false)
    .option('--json', 'machine-readable output', false)
    .action(async (opts: { source: string; resource: string; scope?: string; confirm: boolean; json: boolean }) => {
      await withApp(ctx, async (app) => {
        // No requireSource: a source since removed from the config may still have a held sweep.
        const what = `${opts.source}/${opts.resource}${opts.scope !== undefined ? ` scope ${opts.scope}` : ''}`;
        if (!opts.confirm) {
          const held = await listHeldSweeps(app.db, { sourceId: opts.source, resource: opts.resource, ...(opts.scope !== undefined ? { scope: opts.scope } : {}) });
          if (held.length === 0) throw new CommandError(`no held sweep for ${what}`);
          if (opts.json) {
            console.log(JSON.stringify(held.map((h) => ({ resource: h.resource, scope: h.scope, walkId: h.walk_id, heldAt: h.held_at.toISOString(), rows: h.ids.length, message: h.message })), null, 2));
            return;
          }
          for (const h of held) console.log(`${h.message} (walk ${h.walk_id}, ${h.held_at.toISOString()}); --confirm marks these ${h.ids.length} rows deleted`);
          return;
        }
        const applied = await applyHeldSweeps(app.db, opts.source, opts.resource, opts.scope);
        if (applied.length === 0) throw new CommandError(`no held sweep for ${what}`);
        if (opts.json) {
          console.log(JSON.stringify(applied.map((a) => ({ resource: opts.resource, scope: a.scope, message: a.message, deleted: a.deleted })), null, 2));
          return;
        }
        for (const a of applied) console.log(`applied: ${a.message.replace(/^held: would delete/, 'deleted').replace(/^held: /, '')}; ${a.deleted} rows marked deleted now`);
      });
    });
}
