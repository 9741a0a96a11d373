import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { startDashboard } from '../src/dashboard.js';
import { createLogger } from '../src/logger.js';
import { SCHEDULES_QUEUE } from '../src/queue/schedules.js';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { createTestEnv, type TestEnv } from './helpers.js';
import { automoxSource, FAST, tempDir, testConfig, type TempDir } from './helpers/config.js';
import { syncOnce } from './helpers/sync.js';

// Debian's chromium (apt-get install chromium); npm never downloads a browser for this test.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const API_KEY = 'dash-test-key';

describe('dashboard in headless Chromium', () => {
  let env: TestEnv;
  let sim: AutomoxSimulator;
  let app: App;
  let browser: Browser | undefined;
  let dir: TempDir | undefined;
  let dash: Awaited<ReturnType<typeof startDashboard>>;
  let control: Queue;
  let runId: string;
  let failedOrg: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's package (apt-get update && apt-get install -y --no-install-recommends chromium) or set CHROMIUM_PATH`);
    }
    env = await createTestEnv();
    dir = await tempDir('fleetsync-dash-');
    sim = new AutomoxSimulator({ apiKey: API_KEY, data: generateAutomoxData({ seed: 51, orgs: 2, devicesPerOrg: [6, 3], packagesPerDevice: 1 }) });
    const origin = await sim.start();
    app = await env.open(testConfig([automoxSource('automox-dash', `${origin}/api`, 'DASH_KEY', { rateLimits: { servers: FAST } })]), { ...process.env, DASH_KEY: API_KEY });
    app.engine.startWorkers();
    failedOrg = String(sim.data.orgs[1]!.id);
    sim.inject({ kind: 'status', status: 422, body: { errors: ['o is not a valid organization'] }, match: (r) => r.path === '/api/servergroups' && r.query.get('o') === failedOrg });
    runId = (await syncOnce(app, 'automox-dash')).runId;
    control = new Queue(SCHEDULES_QUEUE, { connection: app.redis, prefix: app.prefix });
    dash = await startDashboard({ db: app.db, queues: [...[...app.engine.lanes.values()].map((l) => l.queue), control], logger: createLogger({ level: 'silent' }), port: 0 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await dash?.close();
    await control?.close();
    await sim?.stop();
    await env?.cleanup();
    await dir?.remove();
  });

  it('shows the recent runs with per-resource counts and the vendor failure with its request id', async () => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`http://127.0.0.1:${dash.port}/`);
    const run = await app.db.selectFrom('sync_runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
    expect(run.status).toBe('partial');
    const section = page.locator(`section[data-run-id="${runId}"]`);
    await expect(section.locator('h2').textContent()).resolves.toContain(`run ${runId} · automox-dash · test · full · partial`);
    const devicesRow = section.locator('tr', { hasText: /^devices/ }).first();
    const cells = await devicesRow.locator('td').allTextContents();
    // resource, walks, pages, records, inserted, ...
    expect(cells[0]).toBe('devices');
    expect(Number(cells[4])).toBe(sim.data.servers.length);
    const body = await page.textContent('body');
    expect(body).toContain(`automox-dash/device_groups org ${failedOrg} page 0: 422 o is not a valid organization`);
    expect(run.error_request_id).toMatch(/^[0-9a-f]{32}$/);
    expect(body).toContain(run.error_request_id!);
    expect(body).not.toContain(API_KEY);
    const shot = join(dir!.path, 'runs.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect((await stat(shot)).size).toBeGreaterThan(5000);
    await page.close();
  });

  it('shows Bull Board with the real lane queues and the schedules queue', async () => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`http://127.0.0.1:${dash.port}/queues`);
    for (const name of ['automox-dash.api', 'automox-dash.servers', SCHEDULES_QUEUE]) {
      await page.getByText(name, { exact: true }).first().waitFor({ timeout: 20_000 });
    }
    // Bull Board's own API sees the same queues with their real counts.
    const api = (await (await fetch(`http://127.0.0.1:${dash.port}/queues/api/queues`)).json()) as { queues: Array<{ name: string; counts: Record<string, number> }> };
    const servers = api.queues.find((q) => q.name === 'automox-dash.servers')!;
    expect(servers.counts.completed).toBeGreaterThan(0);
    const shot = join(dir!.path, 'lanes.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect((await stat(shot)).size).toBeGreaterThan(5000);
    if (process.env.DASHBOARD_SCREENSHOT_DIR) {
      await page.screenshot({ path: join(process.env.DASHBOARD_SCREENSHOT_DIR, 'lanes.png'), fullPage: true });
      await page.goto(`http://127.0.0.1:${dash.port}/`);
      await page.screenshot({ path: join(process.env.DASHBOARD_SCREENSHOT_DIR, 'runs.png'), fullPage: true });
    }
    await page.close();
  });
});
