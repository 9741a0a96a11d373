import type { ChildProcess } from 'node:child_process';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, type App } from '../src/app.js';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { createTestEnv, TEST_WORKER, waitFor, type TestEnv } from './helpers.js';
import { runCli } from './helpers/cli.js';
import { automoxSource, FAST, SLOW, tempDir, testConfig, type TempDir } from './helpers/config.js';
import { freePort } from './helpers/ports.js';
import { TestRedis } from './helpers/redis-server.js';
import { expectAutomoxLandedOnce } from './helpers/warehouse.js';
import { killAll, pagesOf, startWorker } from './helpers/worker.js';

const API_KEY = 'redis-fault-key';
const keys = { RF_KEY: API_KEY };

/** The lines of a worker's log, each parsed as JSON (a line that is not JSON fails the test). */
function jsonLines(log: string): Array<{ msg: string; level: number }> {
  return log
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      expect(() => JSON.parse(l), `a log line that is not JSON: ${l}`).not.toThrow();
      return JSON.parse(l) as { msg: string; level: number };
    });
}

describe('Redis faults', () => {
  let env: TestEnv;
  let sim: AutomoxSimulator;
  let dir: TempDir;
  let configFile: string;
  let redis: TestRedis;
  let app: App;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    env = await createTestEnv();
    sim = new AutomoxSimulator({ apiKey: API_KEY, data: generateAutomoxData({ seed: 17, orgs: 3, devicesPerOrg: [45, 40, 35], packagesPerDevice: 2 }) });
    const origin = await sim.start();
    redis = new TestRedis(await freePort());
    await redis.start();
    dir = await tempDir('fleetsync-redisfault-');
    const cfg = testConfig(
      [
        automoxSource('automox-rr', `${origin}/api`, 'RF_KEY', { rateLimits: { api: { ...SLOW, concurrency: 3 }, servers: { ...SLOW, concurrency: 2 } } }),
        // A second source the schedule fires every 2 s, to see schedules fire again after the restart.
        automoxSource('automox-tick', `${origin}/api`, 'RF_KEY', { rateLimits: { api: FAST, servers: FAST } }),
        // A source whose run the `status` test strands (no worker runs before the last test).
        automoxSource('automox-idle', `${origin}/api`, 'RF_KEY', { rateLimits: { api: FAST, servers: FAST } }),
      ],
      {
        // Two page jobs in hand per process: the other walks' jobs wait in Redis, and are lost with it.
        worker: { ...TEST_WORKER, attempts: 20, reconcileIntervalMs: 300, concurrency: 2 },
        schedules: [{ name: 'tick', cron: '*/2 * * * * *', sources: ['automox-tick'], resources: ['organizations'] }],
      },
    );
    configFile = await dir.writeYaml('fleetsync.yaml', cfg);
    app = await openApp({
      config: parseConfig(cfg, { ...process.env, ...keys }),
      env: { ...process.env, ...keys },
      logger: createLogger({ level: 'silent' }),
      databaseUrl: env.databaseUrl,
      redisUrl: redis.url,
      prefix: env.prefix,
      whenDown: 'wait',
    });
  });

  afterAll(async () => {
    killAll(children);
    await app.close();
    redis.kill();
    await sim.stop();
    await env.cleanup();
    await dir.remove();
  });

  it('one-shot commands fail at once with one line naming Redis and its address when nothing listens there', async () => {
    const port = await freePort();
    for (const args of [['status'], ['schedules'], ['pause', '--source', 'automox-rr'], ['sync', '--source', 'automox-rr']]) {
      const res = await runCli(env, configFile, args, { ...keys, REDIS_URL: `redis://:hunter2secret@127.0.0.1:${port}` });
      expect({ args, code: res.code, stderr: res.stderr.trim() }).toEqual({ args, code: 1, stderr: `fleetsync: Redis at 127.0.0.1:${port} is unreachable (ECONNREFUSED)` });
    }
  });

  it('status flags a running run whose jobs Redis lost; `sync` joining the run queues them again', async () => {
    const { runId } = await app.engine.startRun('automox-idle', { trigger: 'test', resources: ['organizations'] });
    const statusOf = async () => {
      const r = await runCli(env, configFile, ['status', '--json', '--source', 'automox-idle'], { ...keys, REDIS_URL: redis.url });
      expect(r.code).toBe(0);
      return (JSON.parse(r.stdout) as Array<{ nothingQueued: string[]; lanes: Array<{ waiting: number }> }>)[0]!;
    };
    expect((await statusOf()).nothingQueued).toEqual([]);
    await redis.stop();
    await redis.start();
    expect((await statusOf()).nothingQueued).toEqual([runId]);
    const text = await runCli(env, configFile, ['status', '--source', 'automox-idle'], { ...keys, REDIS_URL: redis.url });
    expect(text.stdout).toContain(`! run ${runId}: running, nothing queued`);

    const join = await runCli(env, configFile, ['sync', '--source', 'automox-idle', '--resource', 'organizations'], { ...keys, REDIS_URL: redis.url });
    expect({ code: join.code, stdout: join.stdout.trim() }).toEqual({ code: 0, stdout: `joined running run ${runId} of automox-idle` });
    const after = await statusOf();
    expect(after.nothingQueued).toEqual([]);
    expect(after.lanes.reduce((n, l) => n + l.waiting, 0)).toBe(1);
  });

  it('a worker rides out a Redis restarted without persistence: the run finishes exactly, schedules fire again, one log line each way', async () => {
    const worker = startWorker(configFile, env, { ...keys, REDIS_URL: redis.url, FLEETSYNC_LOG_LEVEL: 'info' });
    children.push(worker);
    let log = '';
    worker.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    await waitFor(() => jsonLines(log).some((l) => l.msg === 'worker started'), 'the worker to start', 60_000);
    await waitFor(async () => (await env.db.selectFrom('sync_runs').select('id').where('source_id', '=', 'automox-tick').executeTakeFirst()) !== undefined, 'the schedule to fire once');

    const { runId } = await app.engine.startRun('automox-rr', { trigger: 'test' });
    await waitFor(async () => (await pagesOf(env, runId)) >= 8, 'the run to commit 8 pages', 60_000, 20);

    // Redis goes away with every queued job and job scheduler in it.
    await redis.stop();
    // Meanwhile a one-shot command says so in one line, and the worker is still there.
    const status = await runCli(env, configFile, ['status'], { ...keys, REDIS_URL: redis.url });
    expect({ code: status.code, stderr: status.stderr.trim() }).toEqual({ code: 1, stderr: `fleetsync: Redis at 127.0.0.1:${redis.port} is unreachable (ECONNREFUSED)` });
    await waitFor(() => jsonLines(log).some((l) => l.msg.startsWith(`Redis at 127.0.0.1:${redis.port} is unreachable`)), 'the worker to log the outage');
    await redis.start();
    const restartedAt = new Date();

    const run = await waitFor(
      async () => {
        const r = await env.db.selectFrom('sync_runs').select(['status']).where('id', '=', runId).executeTakeFirstOrThrow();
        return r.status === 'running' ? null : r;
      },
      'the run to end without restarting the worker',
      90_000,
    );
    expect(run.status).toBe('succeeded');
    await expectAutomoxLandedOnce(env, sim.data, runId);
    await waitFor(
      async () => (await sql<{ n: number }>`select count(*)::int as n from sync_runs where source_id = 'automox-tick' and started_at > ${restartedAt}`.execute(env.db)).rows[0]!.n > 0,
      'the schedule to fire again after the restart',
    );
    expect({ exitCode: worker.exitCode, signal: worker.signalCode }).toEqual({ exitCode: null, signal: null });

    // One line when Redis went, one when it came back; no stack, no line that is not JSON.
    const lines = jsonLines(log);
    const about = lines.filter((l) => l.msg.startsWith(`Redis at 127.0.0.1:${redis.port}`)).map((l) => l.msg);
    expect(about).toHaveLength(2);
    expect(about[0]).toMatch(/ is unreachable \((ECONNREFUSED|ECONNRESET|Connection is closed)\)/);
    expect(about[1]).toMatch(/ is back after \d+ ms$/);
    expect(lines.some((l) => l.msg.startsWith('re-queued '))).toBe(true);
    expect(lines.some((l) => l.msg.startsWith('re-created 1 missing job scheduler'))).toBe(true);
    expect(log).not.toMatch(/\n\s+at /);
  });
});
