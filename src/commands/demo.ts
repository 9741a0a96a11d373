import { stderrTerm } from '../terminal.js';
import { CommandError, type CommandContext } from './common.js';

/** `fleetsync demo`: syncs the built-in simulators into the local database and shows what landed. */
export function registerDemo({ program, logger, env }: CommandContext): void {
  program
    .command('demo')
    .description('start the vendor simulators on loopback, migrate, sync them into Postgres and show what landed')
    .option('--devices <n>', 'devices per organization', (v) => Number.parseInt(v, 10), 120)
    .action(async (opts: { devices: number }) => {
      // Loaded on use: the simulators are only needed here.
      const { runDemo } = await import('../demo.js');
      // The demo shows its summary and sample rows; the engine's info lines would bury them.
      // A level asked for explicitly (anything but the default info) is kept.
      const quiet = env.logLevel === 'info' ? logger.child({}, { level: 'warn' }) : logger;
      const ok = await runDemo({ logger: quiet, devicesPerOrg: opts.devices, env, terminal: stderrTerm() });
      if (!ok) throw new CommandError('demo sync did not succeed');
    });
}
