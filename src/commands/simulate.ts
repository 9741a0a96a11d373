import { stringify } from 'yaml';
import { startTrialSimulator, TRIAL_VENDORS } from '../simulators/trial.js';
import { CommandError, onShutdown, untilAborted, type CommandContext } from './common.js';

/** `fleetsync simulate VENDOR`: serves one loopback vendor simulator for a local trial until Ctrl-C. */
export function registerSimulate(ctx: CommandContext): void {
  ctx.program
    .command('simulate <vendor>')
    .description(`serve a loopback simulator of one vendor for a local trial, and print a config that syncs it (vendors: ${Object.keys(TRIAL_VENDORS).join(', ')})`)
    .option('--port <n>', 'port on 127.0.0.1 (default: a free one)', (v) => Number.parseInt(v, 10), 0)
    .option('--devices <n>', 'records in the first organization or workspace (the others get fewer)', (v) => Number.parseInt(v, 10), 50)
    .action(async (vendor: string, opts: { port: number; devices: number }) => {
      if (!TRIAL_VENDORS[vendor]) throw new CommandError(`no simulator for vendor "${vendor}" (simulators: ${Object.keys(TRIAL_VENDORS).join(', ')})`);
      if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new CommandError('--port must be a port number');
      if (!Number.isInteger(opts.devices) || opts.devices < 1 || opts.devices > 1_000_000) throw new CommandError('--devices must be a whole number from 1 to 1000000');
      let trial;
      try {
        trial = await startTrialSimulator(vendor, opts);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE') throw new CommandError(`port ${opts.port} on 127.0.0.1 is already in use; pick another with --port, or leave it out for a free one`);
        throw err;
      }
      const signal = onShutdown(ctx.logger);
      const env = Object.entries(trial.secrets).map(([k, v]) => `${k}=${v}`);
      console.log(
        [
          `${vendor} simulator on ${trial.baseUrl} (loopback only; Ctrl-C stops it)`,
          '',
          '# throwaway credentials, valid only against this simulator: put them in .env (or export them)',
          ...env,
          '',
          '# a config that syncs it: save as fleetsync.yaml',
          stringify({ sources: [trial.source] }).trimEnd(),
          '',
          `# then: fleetsync sync --source ${String(trial.source.id)} --wait`,
        ].join('\n'),
      );
      await untilAborted(signal);
      await trial.sim.stop();
    });
}
