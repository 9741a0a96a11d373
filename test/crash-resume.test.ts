import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { App } from '../src/app.js';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { finishWithNewWorker, killMidWalk } from './child-worker.js';
import { createTestEnv, TEST_WORKER, type TestEnv } from './helpers.js';

const API_KEY = 'crash-test-key';



describe('a worker killed with SIGKILL mid-walk', () => {
  let env: TestEnv;
  let sim: AutomoxSimulator;
  let dir: string;
  let configFile: string;
  let app: App;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    env = await createTestEnv();
    sim = new AutomoxSimulator({ apiKey: API_KEY, data: generateAutomoxData({ seed: 5, orgs: 3, devicesPerOrg: [40, 35, 25], packagesPerDevice: 2 }) });
    const origin = await sim.start();
    dir = await mkdtemp(join(tmpdir(), 'fleetsync-crash-'));
    configFile = join(dir, 'fleetsync.yaml');
    const cfg = {
      sources: [
        {
          id: 'automox-crash',
          vendor: 'automox',
          baseUrl: `${origin}/api`,
          credentials: { apiKey: '${CRASH_KEY}' },
          pageSize: 5,
          // Slow enough that the kill lands mid-walk, fast enough for a test.
          rateLimits: { api: { windows: [{ max: 20, durationMs: 1000 }], concurrency: 3 }, servers: { windows: [{ max: 20, durationMs: 1000 }], concurrency: 2 } },
        },
      ],
      worker: TEST_WORKER,
    };
    await writeFile(configFile, stringify(cfg));
    // The test process only starts runs and reads; it runs no worker.
    app = await env.open(cfg, { ...process.env, CRASH_KEY: API_KEY });
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await sim.stop();
    await env.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('is picked up by a new worker and ends with exactly the simulator data', async () => {
    const { runId } = await app.engine.startRun('automox-crash', { trigger: 'test' });
    const atKill = await killMidWalk(configFile, env, runId, 12, { CRASH_KEY: API_KEY }, children);
    await finishWithNewWorker(configFile, env, app, runId, atKill, { CRASH_KEY: API_KEY }, children);

    // Exactly the simulator's data: nothing missing, nothing twice, nothing marked deleted.
    const devices = await env.db.selectFrom('devices').select(['external_id', 'name', 'raw', 'deleted_at']).orderBy('external_id').execute();
    expect(devices.map((d) => d.external_id)).toEqual(sim.data.servers.map((s) => String(s.id)).sort());
    for (const d of devices) {
      const s = sim.data.servers.find((x) => String(x.id) === d.external_id)!;
      expect(d.raw).toEqual(s);
      expect(d.deleted_at).toBeNull();
    }
    const packages = await env.db.selectFrom('packages').select(sql<number>`count(*)::int`.as('n')).where('deleted_at', 'is', null).executeTakeFirstOrThrow();
    expect(packages.n).toBe(sim.data.packages.length);
    // Each page was committed once: per walk, inserted == records and nothing was updated.
    const walks = await env.db.selectFrom('sync_walks').selectAll().where('run_id', '=', runId).execute();
    for (const w of walks) {
      expect(w.status).toBe('succeeded');
      expect([w.resource, w.scope, w.inserted, w.updated]).toEqual([w.resource, w.scope, w.records, 0]);
    }
    const pageLog = await sql<{ n: string }>`select count(*) as n from sync_walk_pages`.execute(env.db);
    expect(Number(pageLog.rows[0]!.n)).toBe(0);
  });
});
