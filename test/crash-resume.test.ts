import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { automoxSource, SLOW, testConfig } from './helpers/config.js';
import { expectAutomoxLandedOnce } from './helpers/warehouse.js';
import { finishWithNewWorker, killMidWalk, useWorkerFixture } from './helpers/worker.js';

const API_KEY = 'crash-test-key';

describe('a worker killed with SIGKILL mid-walk', () => {
  let sim: AutomoxSimulator;
  const fx = useWorkerFixture({
    dirPrefix: 'fleetsync-crash-',
    start: async () => {
      sim = new AutomoxSimulator({ apiKey: API_KEY, data: generateAutomoxData({ seed: 5, orgs: 3, devicesPerOrg: [40, 35, 25], packagesPerDevice: 2 }) });
      const origin = await sim.start();
      const config = testConfig([automoxSource('automox-crash', `${origin}/api`, 'CRASH_KEY', { rateLimits: { api: { ...SLOW, concurrency: 3 }, servers: { ...SLOW, concurrency: 2 } } })]);
      return { config, keys: { CRASH_KEY: API_KEY }, stop: () => sim.stop() };
    },
  });

  it('is picked up by a new worker and ends with exactly the simulator data', async () => {
    const { env, app } = fx;
    const { runId } = await app.engine.startRun('automox-crash', { trigger: 'test' });
    const atKill = await killMidWalk(fx, runId, 12);
    await finishWithNewWorker(fx, runId, atKill);

    // Exactly the simulator's data: nothing missing, nothing twice, nothing marked deleted.
    await expectAutomoxLandedOnce(env, sim.data, runId);
    const pageLog = await sql<{ n: string }>`select count(*) as n from sync_walk_pages`.execute(env.db);
    expect(Number(pageLog.rows[0]!.n)).toBe(0);
  });
});
