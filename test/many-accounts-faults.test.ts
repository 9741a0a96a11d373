import type { ChildProcess } from 'node:child_process';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers.js';
import { automoxSource, tempDir, testConfig, type TempDir } from './helpers/config.js';
import { exited, killAll, startWorker } from './helpers/worker.js';
import { busiestWindow } from './helpers/windows.js';

// Fifty accounts sharing three worker processes, one of them SIGKILLed mid-sync: every account's
// limits hold as its vendor counts them, every row lands once, nothing is marked deleted.

const ACCOUNTS = 50;
const API = { max: 5, durationMs: 1000 };
const SERVERS = { max: 3, durationMs: 1000 };

describe(`${ACCOUNTS} accounts on three worker processes, one killed mid-sync`, () => {
  let env: TestEnv;
  let dir: TempDir;
  let app: App;
  let file: string;
  const sims: AutomoxSimulator[] = [];
  const children: ChildProcess[] = [];
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    env = await createTestEnv();
    dir = await tempDir('fleetsync-accounts-kill-');
    const sources = [];
    for (let i = 0; i < ACCOUNTS; i++) {
      const sim = new AutomoxSimulator({ apiKey: `k-${i}`, data: generateAutomoxData({ seed: 500 + i, orgs: 2, devicesPerOrg: 8 + (i % 5), packagesPerDevice: 1, groupsPerOrg: 1 }) });
      sims.push(sim);
      keys[`K_${i}`] = `k-${i}`;
      sources.push(automoxSource(`a${i}`, `${await sim.start()}/api`, `K_${i}`, { rateLimits: { api: { windows: [API], concurrency: 2 }, servers: { windows: [SERVERS], concurrency: 2 } } }));
    }
    const cfg = testConfig(sources);
    file = await dir.writeYaml('fleetsync.yaml', cfg);
    app = await env.open(cfg, { ...process.env, ...keys });
    for (let i = 0; i < 3; i++) children.push(startWorker(file, env, keys));
  });

  afterAll(async () => {
    killAll(children);
    for (const s of sims) await s.stop();
    await env.cleanup();
    await dir.remove();
  });

  it('holds every account to its limits, lands every row once and deletes nothing', async () => {
    const runs = await Promise.all(sims.map(async (_, i) => (await app.engine.startRun(`a${i}`, { trigger: 'test' })).runId));
    const pages = async () => Number((await sql<{ n: string }>`select coalesce(sum(pages), 0) as n from sync_walks`.execute(env.db)).rows[0]!.n);
    await waitFor(async () => (await pages()) >= 60, 'the workers to be well into the sync', 120_000, 20);
    children[0]!.kill('SIGKILL');
    expect((await exited(children[0]!)).signal).toBe('SIGKILL');
    children.push(startWorker(file, env, keys));
    for (const runId of runs) expect((await app.engine.waitForRun(runId, { pollMs: 200 })).status).toBe('succeeded');
    for (const [i, sim] of sims.entries()) {
      const servers = sim.requests.filter((r) => r.path.startsWith('/api/servers')).map((r) => r.at);
      const others = sim.requests.filter((r) => !r.path.startsWith('/api/servers')).map((r) => r.at);
      expect(busiestWindow(servers, SERVERS.durationMs), `a${i} /servers`).toBeLessThanOrEqual(SERVERS.max);
      expect(busiestWindow(others, API.durationMs), `a${i} api`).toBeLessThanOrEqual(API.max);
      expect(sim.requests.filter((r) => r.status === 429)).toEqual([]);
      const devices = await env.db.selectFrom('devices').select(['external_id', 'deleted_at', 'missing_since']).where('source_id', '=', `a${i}`).orderBy('external_id').execute();
      expect(devices.map((d) => d.external_id)).toEqual(sim.data.servers.map((s) => String(s.id)).sort());
      expect(devices.filter((d) => d.deleted_at !== null || d.missing_since !== null)).toEqual([]);
      const packages = await env.db.selectFrom('packages').select(sql<number>`count(*)::int`.as('n')).where('source_id', '=', `a${i}`).where('deleted_at', 'is', null).executeTakeFirstOrThrow();
      expect(packages.n).toBe(sim.data.packages.length);
    }
    // Written once: each walk inserted exactly what it recorded, updated nothing.
    const twice = await env.db.selectFrom('sync_walks').select(['id']).where(sql<boolean>`updated > 0 or inserted <> records`).execute();
    expect(twice).toEqual([]);
    for (const c of children.slice(1)) c.kill('SIGTERM');
    for (const c of children.slice(1)) expect((await exited(c)).code).toBe(0);
  });
});
