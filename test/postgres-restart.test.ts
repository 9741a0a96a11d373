import { describe, expect, it } from 'vitest';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { createTestEnv, waitFor } from './helpers.js';
import { automoxSource, SLOW, testConfig } from './helpers/config.js';
import { startPostgres, type OwnedPostgres } from './helpers/servers.js';
import { expectAutomoxLandedOnce } from './helpers/warehouse.js';
import { exited, pagesOf, startWorker, useWorkerFixture } from './helpers/worker.js';

// Postgres stopped (immediate shutdown, as a crash or failover) and started again mid-run, on a
// server the test creates: the worker process stays up, and the run ends exact.

const API_KEY = 'pg-restart-key';

describe('Postgres stopped and started mid-run', () => {
  let server: OwnedPostgres;
  let sim: AutomoxSimulator;
  const fx = useWorkerFixture({
    dirPrefix: 'fleetsync-pgrestart-',
    env: async () => {
      server = await startPostgres();
      const env = await createTestEnv({ adminUrl: server.adminUrl });
      return { ...env, cleanup: () => env.cleanup().catch(() => undefined) };
    },
    start: async () => {
      sim = new AutomoxSimulator({ apiKey: API_KEY, data: generateAutomoxData({ seed: 3, orgs: 2, devicesPerOrg: [60, 40], packagesPerDevice: 1, groupsPerOrg: 2 }) });
      const origin = await sim.start();
      const config = testConfig([automoxSource('automox-pg', `${origin}/api`, 'PG_KEY', { rateLimits: { api: { ...SLOW, concurrency: 2 }, servers: { ...SLOW, concurrency: 2 } } })], {
        // A reconciler that looks often, so a job that gave up while Postgres was away comes back soon.
        worker: { lockDurationMs: 2000, backoffMs: 50, attempts: 6, maxInProcessWaitMs: 200, reconcileIntervalMs: 1000 },
      });
      return { config, keys: { PG_KEY: API_KEY }, stop: () => sim.stop() };
    },
    teardown: () => server.remove(),
  });

  it('keeps the worker up through the outage and ends with exactly the vendor data', async () => {
    const { env, app, configFile, children } = fx;
    const { runId } = await app.engine.startRun('automox-pg', { trigger: 'test' });
    const worker = startWorker(configFile, env, { PG_KEY: API_KEY, FLEETSYNC_LOG_LEVEL: 'info' });
    children.push(worker);
    let log = '';
    worker.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    await waitFor(async () => (await pagesOf(env, runId)) >= 6, 'six committed pages', 60_000, 20);

    const before = log.length;
    await server.stop();
    // The worker has met the outage once it logs that Postgres went away.
    await waitFor(() => /Postgres/.test(log.slice(before)), 'the worker to log the Postgres outage', 60_000, 50);
    expect(worker.exitCode).toBeNull();
    await server.start();

    const run = await app.engine.waitForRun(runId, { pollMs: 200 });
    expect(run.status, run.error_message ?? '').toBe('succeeded');
    expect(worker.exitCode).toBeNull();
    await expectAutomoxLandedOnce(env, sim.data, runId);
    // One line when Postgres went, one when it came back: no line per failed query.
    const lines = log.slice(before).split('\n').filter((l) => /Postgres/.test(l));
    expect(lines.length, lines.join('\n')).toBeLessThanOrEqual(4);
    worker.kill('SIGTERM');
    expect((await exited(worker)).code).toBe(0);
  });
});
