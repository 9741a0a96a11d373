import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { VENDORS } from '../../jobs/index.js';
import type { App } from '../app.js';
import { sourcesFromText, storeSources } from '../source-store.js';
import { table } from '../status.js';
import { completes } from '../completion.js';
import { removeStoredSource, storedSource } from '../warehouse/source-configs.js';
import { collect, CommandError, withApp, type CommandContext } from './common.js';

/** `key=value` pairs of repeatable options into an object. */
function pairs(list: readonly string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const at = item.indexOf('=');
    if (at <= 0) throw new CommandError(`--${what} ${item}: expected key=value`, 2);
    out[item.slice(0, at)] = item.slice(at + 1);
  }
  return out;
}

interface SourceFlags {
  vendor?: string;
  baseUrl?: string;
  credential: string[];
  tag: string[];
  resource: string[];
}

/** A source definition from flags, over `base` (update) or from nothing (add). */
function fromFlags(id: string, flags: SourceFlags, base: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base, id };
  if (flags.vendor !== undefined) out.vendor = flags.vendor;
  if (flags.baseUrl !== undefined) out.baseUrl = flags.baseUrl;
  if (flags.credential.length) out.credentials = { ...((base.credentials as Record<string, string> | undefined) ?? {}), ...pairs(flags.credential, 'credential') };
  if (flags.tag.length) out.tags = flags.tag;
  if (flags.resource.length) out.resources = flags.resource;
  return out;
}

async function store(app: App, raws: unknown[]): Promise<void> {
  const { added, updated } = await storeSources(app.db, raws, { vendors: VENDORS, yamlIds: new Set(app.config.sources.map((s) => s.id)) });
  if (added.length) console.log(`added ${added.length}: ${added.slice(0, 20).join(', ')}${added.length > 20 ? ', …' : ''}`);
  if (updated.length) console.log(`updated ${updated.length}: ${updated.slice(0, 20).join(', ')}${updated.length > 20 ? ', …' : ''}`);
  console.log(`running workers pick this up within worker.sourceRefreshMs (${app.config.worker.sourceRefreshMs / 1000} s)`);
}

function sourceOptions(cmd: Command): Command {
  return cmd
    .addOption(completes(new Option('--vendor <name>', `vendor (${Object.keys(VENDORS).join(', ')})`), Object.keys(VENDORS)))
    .option('--base-url <url>', "the vendor API's base URL")
    .option('--credential <key=ref>', 'a credential as a reference: apiKey=${ENV_VAR} or apiKey=${file:/run/secrets/x} (repeatable)', collect, [] as string[])
    .option('--tag <tag>', 'a tag schedules can select by (repeatable; replaces the tags)', collect, [] as string[])
    .option('--resource <name>', 'only these resources (repeatable)', collect, [] as string[])
    .option('--file <yaml>', 'the whole source definition from a YAML file (as one entry of the config file)');
}

async function definitionFrom(file: string | undefined): Promise<Record<string, unknown> | null> {
  if (file === undefined) return null;
  const text = await readFile(file, 'utf8');
  const parsed: unknown = (() => {
    try {
      return sourcesFromText(text, file);
    } catch {
      // One source written as a single mapping, not a list.
      return [parseYaml(text) as unknown];
    }
  })();
  const list = parsed as unknown[];
  const one = list.length === 1 ? list[0] : null;
  if (one === null || typeof one !== 'object') throw new CommandError(`${file}: expected exactly one source`, 2);
  return one as Record<string, unknown>;
}

/** `fleetsync sources`: sources kept in Postgres beside the config file, picked up by running workers. */
export function registerSources(ctx: CommandContext): void {
  const cmd = ctx.program.command('sources').description('list sources, and add, update, remove or import sources kept in Postgres (running workers pick them up without a restart)');
  cmd
    .command('list')
    .description('every source: the config file\'s and those in Postgres')
    .option('--json', 'machine-readable output', false)
    .action(async (opts: { json: boolean }) => {
      await withApp(ctx, async (app) => {
        const list = app.sources.list();
        if (opts.json) console.log(JSON.stringify(list, null, 2));
        else console.log(list.length ? table([['source', 'vendor', 'tags', 'kept in'], ...list.map((s) => [s.id, s.vendor, s.tags.join(',') || '-', s.origin === 'config' ? 'config file' : 'postgres'])]).join('\n') : 'no sources (add one: fleetsync sources add, or list them in the config file)');
      });
    });
  sourceOptions(cmd.command('add <id>').description('store a new source in Postgres (credentials as references only)')).action(async (id: string, flags: SourceFlags & { file?: string }) => {
    await withApp(ctx, async (app) => {
      if (await existing(app, id)) throw new CommandError(`source "${id}" is stored already: fleetsync sources update ${id}`, 2);
      await store(app, [fromFlags(id, flags, (await definitionFrom(flags.file)) ?? {})]);
    });
  });
  sourceOptions(cmd.command('update <id>').description('change a source stored in Postgres (only the options given)')).action(async (id: string, flags: SourceFlags & { file?: string }) => {
    await withApp(ctx, async (app) => {
      const base = await existing(app, id);
      if (!base) throw new CommandError(`source "${id}" is not stored in Postgres${app.config.sources.some((s) => s.id === id) ? ' (it is in the config file: change it there)' : ''}`, 2);
      await store(app, [fromFlags(id, flags, (await definitionFrom(flags.file)) ?? base)]);
    });
  });
  cmd
    .command('remove <id>')
    .description("remove a source stored in Postgres: its running runs end (cancelled), its queued page jobs are dropped, its warehouse rows are kept")
    .action(async (id: string) => {
      await withApp(ctx, async (app) => {
        if (!(await removeStoredSource(app.db, id))) throw new CommandError(`source "${id}" is not stored in Postgres${app.config.sources.some((s) => s.id === id) ? ' (it is in the config file: remove it there)' : ''}`, 2);
        const runs = await app.engine.cancelSource(id, `source ${id} was removed (fleetsync sources remove)`);
        console.log(`removed ${id}${runs.length ? `; cancelled run ${runs.join(', ')}` : ''}; its rows stay in the warehouse`);
      });
    });
  cmd
    .command('import <file>')
    .description('add or update every source of a YAML file (a `sources:` list as in the config file); all or nothing')
    .action(async (file: string) => {
      await withApp(ctx, async (app) => store(app, sourcesFromText(await readFile(file, 'utf8'), file)));
    });
}

async function existing(app: App, id: string): Promise<Record<string, unknown> | null> {
  const row = await storedSource(app.db, id);
  return row && !row.removed ? (row.config as Record<string, unknown>) : null;
}
