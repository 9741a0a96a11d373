import { DEFAULT_FULL_WALK_EVERY_MS } from '../config.js';
import type { App } from '../app.js';
import type { ResourceDefinition } from '../connector.js';
import { table } from '../status.js';
import { DEFAULT_OVERLAP_MS, planWalks } from '../sync/walk-plan.js';
import { readState, resetState, type ScopeState } from '../warehouse/walk-state.js';
import { previewStateReset } from './state-reset-preview.js';
import { EXIT_USAGE } from '../exit-codes.js';
import { CommandError, requireSource, withApp, type CommandContext } from './common.js';

interface StateOptions {
  source: string;
  resource: string;
  scope?: string;
  json?: boolean;
}

function when(d: Date | null | undefined): string {
  return d ? d.toISOString().replace(/\.\d+Z$/, 'Z') : '-';
}

function resolve(app: App, opts: StateOptions): ResourceDefinition {
  const src = requireSource(app, opts.source);
  const def = src.vendor.resources.find((r) => r.name === opts.resource);
  if (!def) throw new CommandError(`${opts.source} has no resource "${opts.resource}" (resources: ${src.vendor.resources.map((r) => r.name).join(', ')})`, EXIT_USAGE);
  return def;
}

/** What the next incremental run does with each scope, by the same planning the engine uses. */
function nextRun(app: App, opts: StateOptions, def: ResourceDefinition, states: readonly ScopeState[]): Map<string, string> {
  const src = requireSource(app, opts.source);
  const plans = planWalks({
    scopes: states.map((s) => s.scope),
    runMode: 'incremental',
    runSince: null,
    incremental: def.incremental !== undefined,
    overlapMs: def.incremental?.overlapMs ?? DEFAULT_OVERLAP_MS,
    fullWalkEveryMs: src.config.fullWalkEvery ?? DEFAULT_FULL_WALK_EVERY_MS,
    now: Date.now(),
    history: states.map((s) => ({ scope: s.scope, mark: s.mark, lastFull: s.lastFull })),
  });
  return new Map(states.map((s) => [s.scope, plans.get(s.scope)?.mode === 'incremental' ? `incremental since ${when(plans.get(s.scope)!.since)}` : 'full']));
}

/** `fleetsync state show|reset`: inspect or forget the cursor and high-water mark of a source's resource. */
export function registerState(ctx: CommandContext): void {
  const state = ctx.program.command('state').description('inspect (show) or forget (reset) what the next run of a resource starts from: high-water marks, last full walk, running cursors');
  const keyOptions = (c: typeof state) =>
    c
      .requiredOption('--source <id>', 'source id from the config')
      .requiredOption('--resource <name>', 'resource name')
      .option('--scope <scope>', 'only this scope (an organization id, workspace id, ...; "-" for a global list)');
  keyOptions(state.command('show'))
    .description('per scope: the high-water mark, the last full walk, the last succeeded walk, the cursor of a running walk, and what the next incremental run does')
    .option('--json', 'machine-readable output', false)
    .action(async (opts: StateOptions) => {
      await withApp(ctx, async (app) => {
        const def = resolve(app, opts);
        const states = await readState(app.db, { sourceId: opts.source, resource: opts.resource, scope: opts.scope });
        const next = nextRun(app, opts, def, states);
        if (opts.json) {
          console.log(JSON.stringify({ source: opts.source, resource: opts.resource, incremental: def.incremental !== undefined, scopes: states.map((s) => ({ ...s, nextIncrementalRun: next.get(s.scope) })) }, null, 2));
          return;
        }
        const lines = [
          `${opts.source}/${opts.resource}${opts.scope !== undefined ? ` scope ${opts.scope}` : ''}: ${
            def.incremental ? 'incremental runs fetch only what changed since the high-water mark' : 'every run walks it fully from the first page (the vendor has no changed-since filter)'
          }`,
        ];
        if (states.length === 0) lines.push('no walks yet: the next run walks it fully from the first page');
        else {
          const head = ['scope', 'high-water mark', 'last full walk', 'last succeeded', 'running walk', 'next incremental run'];
          const rows = states.map((s) => [
            s.scope,
            when(s.mark),
            when(s.lastFull),
            s.lastSucceeded ? `run ${s.lastSucceeded.runId} at ${when(s.lastSucceeded.finishedAt)}` : '-',
            s.running ? `run ${s.running.runId}, ${s.running.pages} pages, cursor ${JSON.stringify(s.running.cursor)}` : '-',
            next.get(s.scope) ?? 'full',
          ]);
          lines.push(...table([head, ...rows]));
        }
        console.log(lines.join('\n'));
      });
    });
  keyOptions(state.command('reset'))
    .description('forget the high-water marks so the next run walks the resource fully from the first page (refused while a run of the source is running)')
    .option('--dry-run', 'print what the reset would clear (and what it keeps) without clearing it', false)
    .option('--json', 'with --dry-run: machine-readable output', false)
    .action(async (opts: StateOptions & { dryRun: boolean }) => {
      await withApp(ctx, async (app) => {
        const def = resolve(app, opts);
        const what = `${opts.source}/${opts.resource}${opts.scope !== undefined ? ` scope ${opts.scope}` : ''}`;
        if (opts.dryRun) return await previewStateReset(app, { ...opts, def, what });
        const res = await resetState(app.db, { sourceId: opts.source, resource: opts.resource, scope: opts.scope });
        if ('refused' in res) {
          throw new CommandError(`not reset: run ${res.refused.join(', ')} of ${opts.source} is running; wait for it to end (or cancel it), then reset`);
        }
        if (!def.incremental) console.log(`nothing to reset: ${what} has no high-water mark, every run walks it fully from the first page`);
        else if (res.cleared === 0) console.log(`nothing to reset: ${what} has no high-water mark; its next run walks it fully from the first page`);
        else console.log(`reset ${what}: cleared the high-water mark of ${res.cleared} succeeded walk${res.cleared === 1 ? '' : 's'}; the next run walks it fully from the first page`);
      });
    });
}
