import type { ChildProcess } from 'node:child_process';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { createTestEnv, type TestEnv } from './helpers.js';
import { automoxSource, SLOW, tempDir, testConfig, type TempDir } from './helpers/config.js';
import { expectAutomoxLandedOnce } from './helpers/warehouse.js';
import { finishWithNewWorker, killAll, killMidWalk } from './helpers/worker.js';

const API_KEY = 'crash-test-key';

describe('a worker killed with SIGKILL mid-walk', () => {
  let env: TestEnv;
  let sim: AutomoxSimulator;
  let dir: TempDir;
  let configFile: string;
  let app: App;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    env = await createTestEnv();
    sim = new AutomoxSimulator({ apiKey: API_KEY, data: generateAutomoxData({ seed: 5, orgs: 3, devicesPerOrg: [40, 35, 25], packagesPerDevice: 2 }) });
    const origin = await sim.start();
    dir = await tempDir('fleetsync-crash-');
    const cfg = testConfig([automoxSource('automox-crash', `${origin}/api`, 'CRASH_KEY', { rateLimits: { api: { ...SLOW, concurrency: 3 }, servers: { ...SLOW, concurrency: 2 } } })]);
    configFile = await dir.writeYaml('fleetsync.yaml', cfg);
    // The test process only starts runs and reads; it runs no worker.
    app = await env.open(cfg, { ...process.env, CRASH_KEY: API_KEY });
  });

  afterAll(async () => {
    killAll(children);
    await sim.stop();
    await env.cleanup();
    await dir.remove();
  });

  it('is picked up by a new worker and ends with exactly the simulator data', async () => {
    const { runId } = await app.engine.startRun('automox-crash', { trigger: 'test' });
    const atKill = await killMidWalk(configFile, env, runId, 12, { CRASH_KEY: API_KEY }, children);
    await finishWithNewWorker(configFile, env, app, runId, atKill, { CRASH_KEY: API_KEY }, children);

    // Exactly the simulator's data: nothing missing, nothing twice, nothing marked deleted.
    await expectAutomoxLandedOnce(env, sim.data, runId);
    const pageLog = await sql<{ n: string }>`select count(*) as n from sync_walk_pages`.execute(env.db);
    expect(Number(pageLog.rows[0]!.n)).toBe(0);
  });
});
