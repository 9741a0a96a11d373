import { spawn, type ChildProcess } from 'node:child_process';
import { REDIS_URL, type TestEnv } from './helpers.js';

/** Starts `fleetsync worker` as a real child process (tsx, no build needed) over a test env. */
export function startWorker(configFile: string, env: TestEnv, extraEnv: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--config', configFile, 'worker'], {
    env: { ...process.env, DATABASE_URL: env.databaseUrl, REDIS_URL, FLEETSYNC_QUEUE_PREFIX: env.prefix, FLEETSYNC_LOG_LEVEL: 'warn', ...extraEnv },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (d: Buffer) => process.env.TEST_LOG_LEVEL && process.stderr.write(d));
  return child;
}

/** Resolves when a child process has exited, with its code or signal. */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}
