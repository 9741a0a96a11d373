#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerBackfill } from './commands/backfill.js';
import { CommandError } from './commands/common.js';
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
import { registerWorker } from './commands/worker.js';
import { ConfigError } from './config.js';
import { EnvError, loadDotEnv, readEnv, type FleetsyncEnv } from './env.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import { describeInfraError } from './infra-errors.js';
import { createLogger, type Logger } from './logger.js';
import { describePostgresError } from './postgres-messages.js';

/** Builds the fleetsync command line; parses nothing and opens nothing until a command runs. */
export function buildProgram(logger: Logger, env: FleetsyncEnv = readEnv()): Command {
  const program = new Command();
  program
    .name('fleetsync')
    .description('Sync device-management and SaaS vendor APIs into a Postgres warehouse through rate-limited BullMQ page jobs.')
    .option('-c, --config <file>', 'config file (default: $FLEETSYNC_CONFIG or ./fleetsync.yaml)')
    .showHelpAfterError()
    // Usage errors exit 2 like every other one (src/exit-codes.ts): main() decides the code.
    // Set before the commands are added, which inherit it.
    .exitOverride();
  const ctx = { program, logger, env };
  for (const register of [registerMigrate, registerWorker, registerSchedules, registerBackfill, registerDashboard, registerSync, registerStatus, registerReport, registerRuns, registerState, registerSweep, registerPause, registerResume, registerEnable, registerDemo, registerSimulate, registerSources]) {
    register(ctx);
  }
  return program;
}

async function main(): Promise<void> {
  let fromDotEnv: string[];
  try {
    // Before anything reads the environment: .env may set DATABASE_URL or a credential.
    fromDotEnv = loadDotEnv();
  } catch (err) {
    console.error(`fleetsync: ${(err as Error).message}`);
    process.exit(1);
  }
  const env = readEnv();
  let logger: Logger;
  try {
    logger = createLogger({ level: env.logLevel });
  } catch (err) {
    console.error(`fleetsync: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  if (fromDotEnv.length) logger.debug({ variables: fromDotEnv }, 'read .env (names only)');
  const program = buildProgram(logger, env);
  try {
    await program.parseAsync(process.argv);
    process.exit(0);
  } catch (err) {
    // Commander printed its own message (or the help, or the version) already.
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? EXIT_OK : EXIT_USAGE);
    if (err instanceof ConfigError || err instanceof CommandError || err instanceof EnvError) {
      console.error(`fleetsync: ${err.message}`);
      process.exit(err instanceof CommandError ? err.exitCode : err instanceof ConfigError ? EXIT_USAGE : EXIT_FAILED);
    }
    // Postgres, Redis or a port: one line naming the part that is down, never the URL's password.
    const infra = describeInfraError(err, { databaseUrl: env.databaseUrl, redisUrl: env.redisUrl }) ?? describePostgresError(err, env.databaseUrl);
    const e = err as Error & { code?: string };
    // Only name and message: an error object may carry connection strings or request configs.
    console.error(`fleetsync: ${infra ?? `${e.code ? `${e.code} ` : ''}${e.message}`}`);
    process.exit(EXIT_FAILED);
  }
}

await main();
