import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { REDIS_URL, type TestEnv } from '../helpers.js';

/** Output of one `fleetsync` command run as its own process. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The process environment that points a `fleetsync` process at a test env's database and queue prefix. */
export function cliEnv(env: TestEnv, extraEnv: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, DATABASE_URL: env.databaseUrl, REDIS_URL, FLEETSYNC_QUEUE_PREFIX: env.prefix, FLEETSYNC_LOG_LEVEL: 'warn', ...extraEnv };
}

/** Spawns `fleetsync <args>` from the sources (tsx, no build needed). */
export function spawnFleetsync(args: string[], processEnv: NodeJS.ProcessEnv, stdio: StdioOptions): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env: processEnv, stdio });
}

/** Runs `fleetsync <args>` in a given process environment and collects its output; rejects only when it cannot start. */
export function runFleetsync(args: string[], processEnv: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnFleetsync(args, processEnv, ['ignore', 'pipe', 'pipe']);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Runs `fleetsync --config <configFile> <args>` as a separate process against a test env, so that
 * what a command changes is seen by the test's workers only through Postgres and Redis.
 */
export function runCli(env: TestEnv, configFile: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runFleetsync(['--config', configFile, ...args], cliEnv(env, extraEnv));
}
