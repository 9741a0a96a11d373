import { Argument, Option, type Command } from 'commander';
import { parseAsOf } from '../reporting/as-of.js';
import { formatReport, type ReportFormat } from '../reporting/format.js';
import { REPORTS, runReport, type ReportName } from '../reporting/queries.js';
import { EXIT_USAGE } from '../exit-codes.js';
import { CommandError, collect, withApp, type CommandContext } from './common.js';

/** `fleetsync report <name>`: one of the reporting views, as a table, CSV or JSON; `--as-of` answers from history. */
export function registerReport(ctx: CommandContext): void {
  ctx.program
    .command('report')
    .description('print a report from the reporting schema: inventory, compliance, stale, health or time (docs/warehouse.md)')
    .addArgument(new Argument('<report>', 'which report').choices([...REPORTS]))
    .option('--source <id>', 'only this source (repeatable)', collect, [] as string[])
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'csv', 'json']).default('table'))
    .option('--json', 'same as --format json')
    .option('--as-of <date>', 'the state at the end of this UTC date (YYYY-MM-DD) or just before this time, from history (inventory, compliance, stale)')
    .action(async (report: ReportName, opts: { source: string[]; format: ReportFormat; json?: boolean; asOf?: string }, cmd: Command) => {
      if (opts.json && cmd.getOptionValueSource('format') === 'cli' && opts.format !== 'json') throw new CommandError(`--json and --format ${opts.format} contradict each other; give one`, EXIT_USAGE);
      const format: ReportFormat = opts.json ? 'json' : opts.format;
      let asOf: Date | null = null;
      if (opts.asOf !== undefined) {
        try {
          asOf = parseAsOf(opts.asOf);
        } catch (err) {
          throw new CommandError((err as Error).message, EXIT_USAGE);
        }
      }
      await withApp(ctx, async (app) => {
        let rows;
        try {
          rows = await runReport(app.db, report, { sources: opts.source, asOf });
        } catch (err) {
          if ((err as Error).message.startsWith(`report ${report} has no history`)) throw new CommandError((err as Error).message, EXIT_USAGE);
          throw err;
        }
        console.log(formatReport(rows, format));
      });
    });
}
