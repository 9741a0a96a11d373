import type { ChildProcess } from 'node:child_process';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect } from 'vitest';
import type { App } from '../../src/app.js';
import { createTestEnv, waitFor, type TestEnv } from '../helpers.js';
import { cliEnv, spawnFleetsync } from './cli.js';
import { tempDir, type TempDir } from './config.js';

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
 * What a test of worker processes holds: its env, a temp dir with the config file the workers
 * read, the test's own app (it starts runs and reads; it runs no worker), the credentials the
 * workers get, and the children to kill if the test fails.
 */
export interface WorkerFixture {
  readonly env: TestEnv;
  readonly dir: TempDir;
  readonly configFile: string;
  readonly app: App;
  readonly keys: NodeJS.ProcessEnv;
  readonly children: ChildProcess[];
}

/** What useWorkerFixture() starts: the vendors the workers talk to, and the config over them. */
export interface WorkerFixtureSetup {
  /** Prefix of the temp dir's name. */
  dirPrefix: string;
  /** The test env; default createTestEnv(). */
  env?: () => Promise<TestEnv>;
  /** Starts the simulators (after the env); returns the config, the credentials it reads, and how to stop them. */
  start(env: TestEnv): Promise<{ config: Record<string, unknown>; keys: Record<string, string>; stop(): Promise<void> }>;
  /** Runs last, after the env is dropped and the dir removed (a server of the test's own). */
  teardown?: () => Promise<void>;
}

/**
 * Registers, in the calling describe, a beforeAll that creates the env, starts the simulators and
 * writes the config, and an afterAll that kills the children, stops the simulators, drops the env
 * and removes the dir, then runs `teardown`. The fixture's fields are there from the first test on.
 */
export function useWorkerFixture(setup: WorkerFixtureSetup): WorkerFixture {
  const children: ChildProcess[] = [];
  let state: Omit<WorkerFixture, 'children'> | undefined;
  let stop: () => Promise<void> = async () => {};
  const get = () => {
    if (!state) throw new Error('the worker fixture is read before its beforeAll ran');
    return state;
  };
  beforeAll(async () => {
    const env = await (setup.env ?? createTestEnv)();
    const started = await setup.start(env);
    stop = started.stop;
    const dir = await tempDir(setup.dirPrefix);
    const configFile = await dir.writeYaml('fleetsync.yaml', started.config);
    const app = await env.open(started.config, { ...process.env, ...started.keys });
    state = { env, dir, configFile, app, keys: started.keys };
  });
  afterAll(async () => {
    killAll(children);
    await stop();
    if (state) {
      await state.env.cleanup();
      await state.dir.remove();
    }
    await setup.teardown?.();
  });
  return {
    children,
    get env() {
      return get().env;
    },
    get dir() {
      return get().dir;
    },
    get configFile() {
      return get().configFile;
    },
    get app() {
      return get().app;
    },
    get keys() {
      return get().keys;
    },
  };
}

/**
 * Starts a worker process on a run, SIGKILLs it once `minPages` pages are committed, and returns
 * the committed page count at the kill. The run must still be running then.
 */
export async function killMidWalk(fx: WorkerFixture, runId: string, minPages: number): Promise<number> {
  const { env } = fx;
  const first = startWorker(fx.configFile, env, fx.keys);
  fx.children.push(first);
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
export async function finishWithNewWorker(fx: WorkerFixture, runId: string, pagesAtKill: number): Promise<void> {
  const second = startWorker(fx.configFile, fx.env, fx.keys);
  fx.children.push(second);
  const run = await fx.app.engine.waitForRun(runId, { pollMs: 100 });
  second.kill('SIGTERM');
  expect((await exited(second)).code).toBe(0);
  expect(run.status).toBe('succeeded');
  expect(await pagesOf(fx.env, runId)).toBeGreaterThan(pagesAtKill);
}

/**
 * Timeout of a test that syncs fifty sources on worker processes: its run takes one to two minutes
 * on a busy two-core machine, near the suite's default of 180 s; past this it is stuck, not slow.
 */
export const MANY_SOURCES_TIMEOUT_MS = 420_000;
