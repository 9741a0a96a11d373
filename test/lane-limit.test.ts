import { beforeAll, describe, expect, it } from 'vitest';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { automoxSource, testConfig } from './helpers/config.js';
import { expectAutomoxLandedOnce } from './helpers/warehouse.js';
import { exited, startWorker, useWorkerFixture } from './helpers/worker.js';
import { busiestWindow } from './helpers/windows.js';

const API_KEY = 'lane-limit-key';
const LIMIT = { max: 20, durationMs: 1000 };

describe('three worker processes on one source', () => {
  let sim: AutomoxSimulator;
  const fx = useWorkerFixture({
    dirPrefix: 'fleetsync-lanes-',
    start: async () => {
      sim = new AutomoxSimulator({ apiKey: API_KEY, data: generateAutomoxData({ seed: 21, orgs: 2, devicesPerOrg: [150, 120], packagesPerDevice: 1, groupsPerOrg: 2 }) });
      const origin = await sim.start();
      // Each lane at exactly the vendor's documented limit, with every worker taking 3 jobs at once.
      const config = testConfig([automoxSource('automox-lanes', `${origin}/api`, 'LANES_KEY', { rateLimits: { api: { windows: [LIMIT], concurrency: 3 }, servers: { windows: [LIMIT], concurrency: 3 } } })]);
      return { config, keys: { LANES_KEY: API_KEY }, stop: () => sim.stop() };
    },
  });

  beforeAll(() => {
    for (let i = 0; i < 3; i++) fx.children.push(startWorker(fx.configFile, fx.env, { LANES_KEY: API_KEY }));
  });

  it('never puts more requests into any vendor window of a lane than the lane allows', async () => {
    const { env, app, children } = fx;
    const { runId } = await app.engine.startRun('automox-lanes', { trigger: 'test' });
    const run = await app.engine.waitForRun(runId, { pollMs: 100 });
    expect(run.status).toBe('succeeded');
    await expectAutomoxLandedOnce(env, sim.data, runId);
    const servers = sim.requests.filter((r) => r.path.startsWith('/api/servers')).map((r) => r.at);
    const others = sim.requests.filter((r) => !r.path.startsWith('/api/servers')).map((r) => r.at);
    // Enough traffic that the limit was reached, not merely respected by an idle lane.
    expect(servers.length + others.length).toBeGreaterThan(3 * LIMIT.max);
    const span = LIMIT.durationMs;
    expect(busiestWindow(servers, span)).toBeLessThanOrEqual(LIMIT.max);
    expect(busiestWindow(others, span)).toBeLessThanOrEqual(LIMIT.max);
    expect(sim.requests.filter((r) => r.status === 429)).toEqual([]);
    for (const c of children) c.kill('SIGTERM');
    for (const c of children) expect((await exited(c)).code).toBe(0);
  });

  it('counts windows as a sliding log', () => {
    expect(busiestWindow([0, 500, 999, 1000, 2100], 1000)).toBe(3);
    expect(busiestWindow([0, 999, 1000, 1001, 1998], 1000)).toBe(4);
    expect(busiestWindow([], 1000)).toBe(0);
  });
});
