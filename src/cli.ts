#!/usr/bin/env node
import { CommanderError } from 'commander';
import { CommandError } from './commands/common.js';
import { ConfigError } from './config.js';
import { EnvError, loadDotEnv, readEnv } from './env.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import { describeInfraError } from './infra-errors.js';
import { createLogger, type Logger } from './logger.js';
import { describePostgresError } from './postgres-messages.js';
import { buildProgram } from './program.js';
import { RunLogSink } from './run-log-sink.js';

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
  // The lines of runs this process logs, kept in Postgres (`runs logs ID`) once a command opens it.
  const runLogs = new RunLogSink((message) => logger.warn({ component: 'run-logs' }, message));
  let logger: Logger;
  try {
    logger = createLogger({ level: env.logLevel, tee: (line) => runLogs.take(line) });
  } catch (err) {
    console.error(`fleetsync: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  if (fromDotEnv.length) logger.debug({ variables: fromDotEnv }, 'read .env (names only)');
  const program = buildProgram(logger, env, runLogs);
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
