import { Command } from 'commander';
import { registerBackfill } from './commands/backfill.js';
import { registerCheck } from './commands/check.js';
import { registerCompletion } from './commands/completion.js';
import { registerDashboard } from './commands/dashboard.js';
import { registerDemo } from './commands/demo.js';
import { registerEnable } from './commands/enable.js';
import { registerMigrate } from './commands/migrate.js';
import { registerPause } from './commands/pause.js';
import { registerReport } from './commands/report.js';
import { registerResume } from './commands/resume.js';
import { registerRuns } from './commands/runs.js';
import { registerSchedules } from './commands/schedules.js';
import { registerSimulate } from './commands/simulate.js';
import { registerSources } from './commands/sources.js';
import { registerState } from './commands/state.js';
import { registerStatus } from './commands/status.js';
import { registerSweep } from './commands/sweep.js';
import { registerSync } from './commands/sync.js';
import { registerWebhooks } from './commands/webhooks.js';
import { registerWorker } from './commands/worker.js';
import { readEnv, type FleetsyncEnv } from './env.js';
import type { Logger } from './logger.js';
import type { RunLogSink } from './run-log-sink.js';
import { fleetsyncVersion } from './version.js';

/** Builds the fleetsync command line; parses nothing and opens nothing until a command runs. */
export function buildProgram(logger: Logger, env: FleetsyncEnv = readEnv(), runLogs?: RunLogSink): Command {
  const program = new Command();
  program
    .name('fleetsync')
    .description('Sync device-management and SaaS vendor APIs into a Postgres warehouse through rate-limited BullMQ page jobs.')
    .version(`fleetsync ${fleetsyncVersion()}`, '-V, --version', 'print the version and exit')
    .option('-c, --config <file>', 'config file (default: $FLEETSYNC_CONFIG or ./fleetsync.yaml)')
    .showHelpAfterError()
    // Usage errors exit 2 like every other one (src/exit-codes.ts): main() decides the code.
    // Set before the commands are added, which inherit it.
    .exitOverride();
  const ctx = { program, logger, env, ...(runLogs ? { runLogs } : {}) };
  for (const register of [registerMigrate, registerWorker, registerSchedules, registerBackfill, registerDashboard, registerSync, registerStatus, registerReport, registerRuns, registerState, registerSweep, registerPause, registerResume, registerEnable, registerDemo, registerSimulate, registerSources, registerCheck, registerWebhooks, registerCompletion]) {
    register(ctx);
  }
  return program;
}
