import type { ChildProcess } from 'node:child_process';
import { sql } from 'kysely';
import { expect } from 'vitest';
import type { App } from '../../src/app.js';
import { waitFor, type TestEnv } from '../helpers.js';
import { cliEnv, spawnFleetsync } from './cli.js';

/** Starts `fleetsync worker` as a real child process (tsx, no build needed) over a test env. */
export function startWorker(configFile: string, env: TestEnv, extraEnv: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawnFleetsync(['--config', configFile, 'worker'], cliEnv(env, extraEnv), ['ignore', 'ignore', 'pipe']);
  child.stderr?.on('data', (d: Buffer) => process.env.TEST_LOG_LEVEL && process.stderr.write(d));
  return child;
}

/** Resolves when a child process has exited, with its code or signal. */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** SIGKILLs every child still running (a failed test must not leave workers behind). */
export function killAll(children: readonly ChildProcess[]): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** Pages committed so far by a run's walks. */
export async function pagesOf(env: TestEnv, runId: string): Promise<number> {
  return Number((await sql<{ n: string }>`select coalesce(sum(pages), 0) as n from sync_walks where run_id = ${runId}`.execute(env.db)).rows[0]!.n);
}

/**
 * Starts a worker process on a run, SIGKILLs it once `minPages` pages are committed, and returns
 * the committed page count at the kill. The run must still be running then.
 */
export async function killMidWalk(configFile: string, env: TestEnv, runId: string, minPages: number, extraEnv: NodeJS.ProcessEnv, children: ChildProcess[]): Promise<number> {
  const first = startWorker(configFile, env, extraEnv);
  children.push(first);
  await waitFor(async () => (await pagesOf(env, runId)) >= minPages, `the first worker to commit ${minPages} pages`, 60_000, 20);
  first.kill('SIGKILL');
  expect((await exited(first)).signal).toBe('SIGKILL');
  const run = await env.db.selectFrom('sync_runs').select('status').where('id', '=', runId).executeTakeFirstOrThrow();
  expect(run.status).toBe('running');
  return pagesOf(env, runId);
}

/**
 * Starts a second worker process, waits for the run to succeed past `pagesAtKill`, and stops the
 * worker with SIGTERM (which must exit 0).
 */
export async function finishWithNewWorker(configFile: string, env: TestEnv, app: App, runId: string, pagesAtKill: number, extraEnv: NodeJS.ProcessEnv, children: ChildProcess[]): Promise<void> {
  const second = startWorker(configFile, env, extraEnv);
  children.push(second);
  const run = await app.engine.waitForRun(runId, { pollMs: 100 });
  second.kill('SIGTERM');
  expect((await exited(second)).code).toBe(0);
  expect(run.status).toBe('succeeded');
  expect(await pagesOf(env, runId)).toBeGreaterThan(pagesAtKill);
}
