import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { generateTogglData, TogglSimulator } from '../src/simulators/toggl.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers.js';
import { runCli } from './helpers/cli.js';
import { tempDir, testConfig, type TempDir } from './helpers/config.js';

// Toggl's hourly request quota (docs/toggl.md, "Quota"): the source's `quota` is one more window
// of its lane, and a 402 that says the quota is spent pauses the lane, not the source.

const TOKEN = 'toggl-quota-token-7c2a';
const HOUR = 3_600_000;

function source(id: string, baseUrl: string, extra: Record<string, unknown> = {}) {
  return { id, vendor: 'toggl', baseUrl, credentials: { apiToken: '${TEST_TOGGL_TOKEN}' }, pageSize: 2, rateLimits: { api: { windows: [{ max: 200, durationMs: 1000 }], concurrency: 1 } }, ...extra };
}

describe('Toggl quota', () => {
  let env: TestEnv;
  let sim: TogglSimulator;
  let app: App;
  let dir: TempDir;
  let configFile: string;

  beforeAll(async () => {
    env = await createTestEnv();
    sim = new TogglSimulator({ apiToken: TOKEN, data: generateTogglData({ seed: 9, workspaces: 2, projectsPerWorkspace: [7, 5] }) });
    const origin = await sim.start();
    const cfg = testConfig([source('tg-free', `${origin}/api/v9`, { quota: 4 }), source('tg-402', `${origin}/api/v9`)]);
    dir = await tempDir('fleetsync-toggl-quota-');
    configFile = await dir.writeYaml('fleetsync.yaml', cfg);
    app = await env.open(cfg, { ...process.env, TEST_TOGGL_TOKEN: TOKEN });
    app.engine.startWorkers();
  });
  afterAll(async () => {
    await sim.stop();
    await env.cleanup();
    await dir.remove();
  });

  const waiting = (runId: string) => env.db.selectFrom('sync_walks').select(['resource', 'waiting_until', 'waiting_reason']).where('run_id', '=', runId).where('status', '=', 'running').where('waiting_reason', 'is not', null).execute();

  it('a quota of 4 requests an hour: the lane gate sends 4, then the walk waits, and status says how much is left and when it resumes', async () => {
    const mark = sim.requests.length;
    const { runId } = await app.engine.startRun('tg-free', { trigger: 'test', resources: ['workspaces', 'projects'] });
    await waitFor(async () => (await waiting(runId)).some((w) => w.waiting_reason?.startsWith('quota:')), 'a walk to wait for the quota');
    // Workspaces (1) and projects of two workspaces in pages of 2 need 9 requests: 4 went.
    expect(sim.requests.slice(mark).length).toBe(4);
    const [w] = (await waiting(runId)).filter((x) => x.waiting_reason?.startsWith('quota:'));
    expect(w!.waiting_reason).toMatch(/^quota: 0 of 4 requests left this hour, resumes \d\d:\d\d$/);
    expect(w!.waiting_until!.getTime()).toBeGreaterThan(Date.now() + HOUR - 10 * 60_000);
    const status = await runCli(env, configFile, ['status', '--source', 'tg-free'], { TEST_TOGGL_TOKEN: TOKEN });
    expect(status.stdout).toMatch(/tg-free\.api\s+200\/s \+ 4\/h\s/);
    expect(status.stdout).toMatch(/tg-free\.api quota: 0 of 4 requests left this hour, resumes \d\d:\d\d/);
    expect(await env.db.selectFrom('sync_sources').selectAll().where('source_id', '=', 'tg-free').where('paused_at', 'is not', null).execute()).toEqual([]);
    await app.engine.cancelSource('tg-free', 'test over');
  });

  it('a 402 that says the quota is spent, without quota headers, pauses the lane until the next hour boundary, not the source', async () => {
    sim.quota = { remaining: 0, resetAt: Date.now() + 2 * HOUR, headers: false, max: 30 };
    const { runId } = await app.engine.startRun('tg-402', { trigger: 'test', resources: ['workspaces'] });
    await waitFor(async () => (await waiting(runId)).some((w) => w.waiting_reason?.startsWith('402')), 'the walk to wait for the quota');
    const [w] = await waiting(runId);
    expect(w!.waiting_reason).toMatch(/^402 quota: 0 requests left this hour, resumes \d\d:00 \(request [0-9a-f]+\)$/);
    // Until the next hour boundary (the 402 named no reset).
    expect(w!.waiting_until!.getTime() % HOUR).toBeLessThan(5000);
    expect(w!.waiting_until!.getTime()).toBeLessThanOrEqual(Date.now() + HOUR + 5000);
    expect(await env.db.selectFrom('sync_sources').selectAll().where('paused_at', 'is not', null).execute()).toEqual([]);
    const reqs = sim.requests.filter((r) => r.status === 402);
    expect(reqs.length).toBe(1);
    await app.engine.cancelSource('tg-402', 'test over');
    sim.quota = null;
  });
});
