import { VENDORS } from '../../jobs/index.js';
import { checkFailed, checkJson, formatCheck, problemsOf } from '../check/report.js';
import { runCheck } from '../check/run.js';
import { configEntries, type SourceEntry } from '../check/sources.js';
import { ConfigError, loadConfig, parseDuration, type FleetsyncConfig } from '../config.js';
import { EXIT_FAILED, EXIT_USAGE } from '../exit-codes.js';
import { unknownSourceText } from '../source-registry.js';
import { collect, CommandError, type CommandContext } from './common.js';

interface CheckOptions {
  source: string[];
  configOnly: boolean;
  timeout: string;
  json: boolean;
}

/** The check's wait for each answer: a duration of at least 100 ms. Throws CommandError (exit 2). */
function timeoutOf(text: string): number {
  const ms = parseDuration(/^\d+$/.test(text) ? Number(text) : text);
  if (ms === null || ms < 100) throw new CommandError(`--timeout ${text}: expected a duration of at least 100ms, like 5s or 1500ms`, EXIT_USAGE);
  return ms;
}

/** The config stage: parse, schema, every source's settings (no credentials). Prints a failed one as JSON with --json; throws ConfigError (exit 2). */
async function configStage(file: string | undefined, json: boolean): Promise<{ config: FleetsyncConfig; entries: SourceEntry[] }> {
  try {
    const config = await loadConfig(file);
    try {
      return { config, entries: configEntries(config, { vendors: VENDORS, env: process.env }) };
    } catch (err) {
      if (err instanceof ConfigError) throw new ConfigError(`${file ?? 'fleetsync.yaml'}: ${err.message}`);
      throw err;
    }
  } catch (err) {
    if (json && err instanceof ConfigError) console.log(JSON.stringify({ ok: false, config: { file: file ?? 'fleetsync.yaml', valid: false, problems: err.message } }, null, 2));
    throw err;
  }
}

async function check(ctx: CommandContext, opts: CheckOptions): Promise<void> {
  const timeoutMs = timeoutOf(opts.timeout);
  const file = ctx.program.opts<{ config?: string }>().config ?? ctx.env.configFile;
  const { config, entries } = await configStage(file, opts.json);
  const ran = await runCheck({ config, file: file ?? 'fleetsync.yaml', entries, env: ctx.env, processEnv: process.env, logger: ctx.logger, only: opts.source, requests: !opts.configOnly, timeoutMs });
  if ('unknown' in ran) {
    const note = ran.stored === null ? '' : ` (sources stored in Postgres were not read: ${ran.stored})`;
    throw new CommandError(`${ran.unknown.map((id) => unknownSourceText(id, ran.known)).join('; ')}${note}`, EXIT_USAGE);
  }
  const { report } = ran;
  console.log(opts.json ? JSON.stringify(checkJson(report), null, 2) : formatCheck(report));
  if (!checkFailed(report)) return;
  const failing = report.sources.filter((s) => problemsOf(s, report.requests).length > 0).map((s) => s.id);
  const infra = [report.redis, report.requests && !report.stored.read ? report.stored.problem : null].filter((x): x is string => x !== null);
  throw new CommandError(`check found a problem: ${[failing.join(', '), ...infra].filter((p) => p !== '').join('; ')}`, EXIT_FAILED);
}

/** `fleetsync check`: the config without credentials, then one cheap authenticated request per source. */
export function registerCheck(ctx: CommandContext): void {
  ctx.program
    .command('check')
    .description('validate the config and every source without credentials, then send one cheap authenticated request per source (through its lane) and report auth, reachability and rate-limit headroom; exits 1 on any problem')
    .option('--source <id>', 'only this source (repeatable)', collect, [] as string[])
    .option('--config-only', 'validate the config and the sources stored in Postgres and name unset references; send no vendor request', false)
    .option('--timeout <duration>', 'longest wait for each vendor answer and for a free slot of its lane', '5s')
    .option('--json', 'print the result as JSON on stdout', false)
    .action(async (opts: CheckOptions) => await check(ctx, opts));
}
