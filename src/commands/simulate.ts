import { readFile } from 'node:fs/promises';
import { Argument } from 'commander';
import { completes } from '../completion.js';
import { startTrialSimulator, TRIAL_VENDORS } from '../simulators/trial.js';
import { trialInstructions } from '../trial-instructions.js';
import { EXIT_USAGE } from '../exit-codes.js';
import { CommandError, onShutdown, untilAborted, type CommandContext } from './common.js';

/** `fleetsync simulate VENDOR`: serves one loopback vendor simulator for a local trial until Ctrl-C. */
export function registerSimulate(ctx: CommandContext): void {
  ctx.program
    .command('simulate')
    .addArgument(completes(new Argument('<vendor>', 'the vendor to simulate'), Object.keys(TRIAL_VENDORS)))
    .description(`serve a loopback simulator of one vendor for a local trial, and print a config that syncs it (vendors: ${Object.keys(TRIAL_VENDORS).join(', ')})`)
    .option('--port <n>', 'port on 127.0.0.1 (default: a free one)', (v) => Number.parseInt(v, 10), 0)
    .option('--devices <n>', 'records in the first organization or workspace (the others get fewer)', (v) => Number.parseInt(v, 10), 50)
    .action(async (vendor: string, opts: { port: number; devices: number }) => {
      if (!TRIAL_VENDORS[vendor]) throw new CommandError(`no simulator for vendor "${vendor}" (simulators: ${Object.keys(TRIAL_VENDORS).join(', ')})`, EXIT_USAGE);
      if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new CommandError('--port must be a port number', EXIT_USAGE);
      if (!Number.isInteger(opts.devices) || opts.devices < 1 || opts.devices > 1_000_000) throw new CommandError('--devices must be a whole number from 1 to 1000000', EXIT_USAGE);
      let trial;
      try {
        trial = await startTrialSimulator(vendor, opts);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE') throw new CommandError(`port ${opts.port} on 127.0.0.1 is already in use; pick another with --port, or leave it out for a free one`);
        throw err;
      }
      const signal = onShutdown(ctx.logger);
      const { config } = ctx.program.opts<{ config?: string }>();
      const configFile = config ?? (ctx.env.configFile || 'fleetsync.yaml');
      const around = { configFile, configText: await readIfThere(configFile), dotEnvText: await readIfThere('.env') };
      console.log(trialInstructions({ vendor, baseUrl: trial.baseUrl, secrets: trial.secrets, source: trial.source }, around));
      await untilAborted(signal);
      await trial.sim.stop();
    });
}

/** A file's text, or null when it cannot be read (absent). */
async function readIfThere(path: string): Promise<string | null> {
  return readFile(path, 'utf8').catch(() => null);
}
