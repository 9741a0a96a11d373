import { spawn } from 'node:child_process';
import { REDIS_URL, type TestEnv } from './helpers.js';

/** Output of one `fleetsync` command run as its own process. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `fleetsync <args>` as a separate process (tsx, no build) against a test env, so that what
 * a command changes is seen by the test's workers only through Postgres and Redis.
 */
export function runCli(env: TestEnv, configFile: string, args: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--config', configFile, ...args], {
      env: { ...process.env, DATABASE_URL: env.databaseUrl, REDIS_URL, FLEETSYNC_QUEUE_PREFIX: env.prefix, FLEETSYNC_LOG_LEVEL: 'warn', ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
