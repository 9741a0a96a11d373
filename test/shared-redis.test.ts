import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { createTestEnv, type TestEnv } from './helpers.js';
import { automoxSource, testConfig } from './helpers/config.js';

const KEY = 'shared-redis-key';

// Two warehouses (or one recreated database) on the same Redis and queue prefix: their walk
// ids repeat (both start at 1), and BullMQ ignores a job whose id already exists.
describe('two databases sharing one Redis and queue prefix', () => {
  let first: TestEnv;
  let second: TestEnv;
  let sim: AutomoxSimulator;
  let origin: string;

  beforeAll(async () => {
    first = await createTestEnv();
    second = await createTestEnv();
    sim = new AutomoxSimulator({ apiKey: KEY, data: generateAutomoxData({ seed: 21, orgs: 2, devicesPerOrg: [7, 3] }) });
    origin = await sim.start();
  });
  afterAll(async () => {
    await sim.stop();
    await second.cleanup();
    await first.cleanup();
  });

  it('both sync to the end with their own data', async () => {
    const cfg = testConfig([automoxSource('ax', `${origin}/api`, 'K')]);
    for (const env of [first, second]) {
      const app = await env.open(cfg, { ...process.env, K: KEY }, first.prefix);
      app.engine.startWorkers();
      const { runId } = await app.engine.startRun('ax', { trigger: 'test' });
      const run = await app.engine.waitForRun(runId, { pollMs: 50 });
      expect([runId, run.status]).toEqual(['1', 'succeeded']);
      const devices = await env.db.selectFrom('devices').select('external_id').execute();
      expect(devices.length).toBe(sim.data.servers.length);
      await app.close();
    }
  }, 60_000);
});
