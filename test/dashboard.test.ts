import { pageQueueName } from '../src/queue/page-queue.js';
import { existsSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { laneLabeller } from '../src/commands/common.js';
import { DashboardConfigError, startDashboard } from '../src/dashboard.js';
import { createLogger } from '../src/logger.js';
import { SCHEDULES_QUEUE } from '../src/queue/schedules.js';
import { AutomoxSimulator, generateAutomoxData, type AutomoxServer } from '../src/simulators/automox.js';
import { createTestEnv, type TestEnv } from './helpers.js';
import { automoxSource, tempDir, testConfig, type TempDir } from './helpers/config.js';
import { syncOnce } from './helpers/sync.js';

// Debian's chromium (apt-get install chromium); npm never downloads a browser for this test.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const API_KEY = 'dash-test-key';
// A long source id: Bull Board's default menu cut lane names like this one.
const SOURCE = 'automox-dashboard-prod';
const TOKEN = 'dash-token-0123456789abcdef';

/** A GET with a Host header of our choosing (fetch does not let a caller set Host). */
function getWithHost(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', reject);
    req.end();
  });
}

function deepObject(depth: number): Record<string, unknown> {
  let o: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < depth; i++) o = { d: o };
  return o;
}

describe('dashboard in headless Chromium', () => {
  let env: TestEnv;
  let sim: AutomoxSimulator;
  let app: App;
  let browser: Browser | undefined;
  let dir: TempDir | undefined;
  let shots: string;
  let dash: Awaited<ReturnType<typeof startDashboard>>;
  let control: Queue;
  let failedRun: string;
  let heldRun: string;
  let failedOrg: string;
  let bigOrg: string;
  let base: string;

  const shoot = async (page: Page, name: string) => {
    const file = join(shots, name);
    await page.screenshot({ path: file, fullPage: true });
    expect((await stat(file)).size).toBeGreaterThan(5000);
  };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's package (apt-get update && apt-get install -y --no-install-recommends chromium) or set CHROMIUM_PATH`);
    }
    env = await createTestEnv();
    dir = await tempDir('fleetsync-dash-');
    shots = process.env.DASHBOARD_SCREENSHOT_DIR ?? dir.path;
    await mkdir(shots, { recursive: true });
    sim = new AutomoxSimulator({ apiKey: API_KEY, data: generateAutomoxData({ seed: 51, orgs: 2, devicesPerOrg: [40, 6], packagesPerDevice: 1 }) });
    const origin = await sim.start();
    // Ten /servers pages a second: the run started from the page lasts a few seconds.
    app = await env.open(testConfig([automoxSource(SOURCE, `${origin}/api`, 'DASH_KEY', { rateLimits: { servers: { windows: [{ max: 10, durationMs: 1000 }] } } })]), {
      ...process.env,
      DASH_KEY: API_KEY,
    });
    app.engine.startWorkers();
    bigOrg = String(sim.data.orgs[0]!.id);
    failedOrg = String(sim.data.orgs[1]!.id);
    // Run 1: the vendor refuses one org's groups: a partial run with the vendor's message and request id.
    sim.inject({ kind: 'status', status: 422, body: { errors: ['o is not a valid organization'] }, match: (r) => r.path === '/api/servergroups' && r.query.get('o') === failedOrg });
    failedRun = (await syncOnce(app, SOURCE)).runId;
    // Run 2: the big org is listed empty (the mass-delete guard holds its sweep) and one record nests too deep (quarantined).
    const kept: AutomoxServer[] = sim.data.servers;
    sim.data.servers = kept.filter((s) => String(s.organization_id) !== bigOrg);
    const odd = sim.data.servers[0]!;
    sim.data.servers = sim.data.servers.map((s) => (s === odd ? ({ ...s, custom_fields: deepObject(100) } as AutomoxServer) : s));
    heldRun = (await syncOnce(app, SOURCE, ['devices'])).runId;
    sim.data.servers = kept;
    control = new Queue(SCHEDULES_QUEUE, { connection: app.redis, prefix: app.prefix });
    dash = await startDashboard({
      db: app.db,
      queues: [...app.engine.queues(), control],
      logger: createLogger({ level: 'silent' }),
      port: 0,
      refreshSeconds: 1,
      sources: [{ id: SOURCE, vendor: 'automox' }],
      startRun: (id) => app.engine.startRun(id, { trigger: 'dashboard' }),
      laneOf: laneLabeller(app),
    });
    base = `http://127.0.0.1:${dash.port}`;
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

  it('the overview lists the sources with a sync button, held sweeps and the recent runs with durations', async () => {
    const page = await browser!.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${base}/`);
    const source = page.locator(`tr.source[data-source="${SOURCE}"]`);
    await expect(source.locator('td').nth(2).textContent()).resolves.toBe('succeeded');
    await expect(source.getByRole('button', { name: 'sync now' }).count()).resolves.toBe(1);
    const failed = await page.locator(`tr.run-row[data-run-id="${failedRun}"] td`).allTextContents();
    expect(failed.slice(0, 5)).toEqual([failedRun, SOURCE, 'test', 'full', 'partial']);
    expect(failed[6]).toMatch(/^\d+(ms|s)$/);
    expect(await page.locator('section.held-sweeps').textContent()).toContain(`held: would delete 40 of 40 devices of org ${bigOrg} (listed empty)`);
    expect(await page.textContent('body')).not.toContain(API_KEY);
    await shoot(page, 'overview.png');
    await page.close();
  });

  it('a run page shows every walk with its duration and counts, and the vendor failure with its request id', async () => {
    const page = await browser!.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${base}/`);
    await page.locator(`tr.run-row[data-run-id="${failedRun}"] a`).click();
    await page.waitForURL(`${base}/runs/${failedRun}`);
    const run = await app.db.selectFrom('sync_runs').selectAll().where('id', '=', failedRun).executeTakeFirstOrThrow();
    expect(run.status).toBe('partial');
    const section = page.locator(`section[data-run-id="${failedRun}"]`);
    await expect(section.locator('h2').textContent()).resolves.toContain(`run ${failedRun} · ${SOURCE} · test · full · partial`);
    const devices = await section.locator('tr', { hasText: /^devices/ }).first().locator('td').allTextContents();
    expect([devices[0], Number(devices[4])]).toEqual(['devices', sim.data.servers.length]);
    expect(run.error_request_id).toMatch(/^[0-9a-f]{32}$/);
    const failure = await section.locator('tr.err').first().locator('td').allTextContents();
    expect(failure).toEqual(['device_groups', failedOrg, '422', `${SOURCE}/device_groups org ${failedOrg} page 0: 422 o is not a valid organization`, run.error_request_id]);
    const walks = await app.db.selectFrom('sync_walks').selectAll().where('run_id', '=', failedRun).orderBy('id').execute();
    const rows = page.locator('tr.walk');
    await expect(rows.count()).resolves.toBe(walks.length);
    for (const [i, w] of walks.entries()) {
      const cells = await rows.nth(i).locator('td').allTextContents();
      expect([cells[0], cells[1], cells[2], cells[4], Number(cells[7]), Number(cells[8])]).toEqual([w.id, w.resource, w.scope, w.status, w.pages, w.records]);
      expect(cells[6]).toMatch(/^\d+(ms|s)$/);
    }
    expect(await page.locator('tr.walk[data-status="failed"] td').nth(17).textContent()).toBe(`422 ${SOURCE}/device_groups org ${failedOrg} page 0: 422 o is not a valid organization [request ${run.error_request_id}]`);
    await shoot(page, 'run-failed.png');
    await page.close();
  });

  it('a run page shows its held sweep, its sweep outcomes and samples of its quarantined records', async () => {
    const page = await browser!.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${base}/runs/${heldRun}`);
    const held = `held: would delete 40 of 40 devices of org ${bigOrg} (listed empty)`;
    expect(await page.locator('section.held-sweeps').textContent()).toContain(held);
    await expect(page.locator('tr.sweep.held td').allTextContents()).resolves.toEqual(['devices', bigOrg, 'held', held]);
    const q = await page.locator('tr.quarantine td').allTextContents();
    expect(q.slice(0, 2)).toEqual(['devices', failedOrg]);
    expect(q[4]).toMatch(/deeper than 64/);
    await shoot(page, 'run-held.png');
    await page.close();
  });

  it('"sync now" starts a run; its page refreshes itself with live progress, the lane wait, and the end', async () => {
    // The vendor asks for a pause mid-walk: the live progress says what the walk waits for.
    sim.inject({ kind: 'status', status: 429, headers: { 'retry-after': '5' }, match: (r) => r.path === '/api/servers' && r.query.get('o') === bigOrg && r.query.get('page') === '3' });
    const before = await app.db.selectFrom('sync_runs').select('id').execute();
    const page = await browser!.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${base}/`);
    await page.locator(`tr.source[data-source="${SOURCE}"]`).getByRole('button', { name: 'sync now' }).click();
    await page.waitForURL(/\/runs\/\d+\?started=new$/);
    const runId = /\/runs\/(\d+)/.exec(page.url())![1]!;
    expect(before.map((r) => r.id)).not.toContain(runId);
    await expect(page.locator('p.flash').textContent()).resolves.toBe(`started run ${runId}`);
    const run = await app.db.selectFrom('sync_runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
    expect(run.trigger).toBe('dashboard');
    // No reload: the page's own refresh brings the waiting walk in.
    const waiting = page.locator('tr.walk-progress', { hasText: `waiting` });
    await waiting.first().waitFor({ timeout: 60_000 });
    const cells = await waiting.first().locator('td').allTextContents();
    expect([cells[0], cells[1], cells[2], cells[3]]).toEqual([runId, SOURCE, 'devices', bigOrg]);
    // Automox reports no total: the bar is the last complete walk's count of that org.
    expect(cells[5]).toMatch(/^\d+ \/ ~40$/);
    expect(cells[8]).toMatch(/^waiting \d s for the servers lane \(10\/s\): 429 from vendor/);
    await shoot(page, 'run-live.png');
    await page.locator(`section[data-run-id="${runId}"] h2`, { hasText: 'succeeded' }).waitFor({ timeout: 60_000 });
    expect(Number(await page.locator('#updated').getAttribute('data-refreshes'))).toBeGreaterThan(0);
    await expect(page.locator('tr.walk-progress').count()).resolves.toBe(0);
    await page.close();
  });

  it('refuses a state change that does not come from its own page: no CSRF token, no cookie, another origin', async () => {
    const home = await fetch(`${base}/`);
    const cookie = home.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^fleetsync_csrf=[0-9a-f]{64}; Path=\/; HttpOnly; SameSite=Strict$/);
    const csrf = /name="csrf" value="([0-9a-f]{64})"/.exec(await home.text())![1]!;
    const runs = async () => (await app.db.selectFrom('sync_runs').select('id').execute()).length;
    const count = await runs();
    const post = (headers: Record<string, string>, body: string) =>
      fetch(`${base}/sources/${SOURCE}/sync`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
    const jar = cookie.split(';')[0]!;
    const self = base;
    expect((await post({ origin: self, cookie: jar }, '')).status).toBe(403);
    expect((await post({ origin: self }, `csrf=${csrf}`)).status).toBe(403);
    expect((await post({ origin: self, cookie: jar }, `csrf=${'0'.repeat(64)}`)).status).toBe(403);
    expect((await post({ origin: 'http://evil.example', cookie: jar }, `csrf=${csrf}`)).status).toBe(403);
    expect((await post({ cookie: jar }, `csrf=${csrf}`)).status).toBe(403);
    expect(await runs()).toBe(count);
    // DNS rebinding: another name pointed at 127.0.0.1 is refused.
    expect(await getWithHost(dash.port, `evil.example:${dash.port}`)).toBe(403);
    expect(await getWithHost(dash.port, `localhost:${dash.port}`)).toBe(200);
    // The same request from the page's own origin, with token and cookie, goes through.
    const ok = await post({ origin: self, cookie: jar }, `csrf=${csrf}`);
    expect([ok.status, ok.headers.get('location')]).toEqual([303, expect.stringMatching(/^\/runs\/\d+\?started=(new|joined)$/)]);
    const started = /\/runs\/(\d+)/.exec(ok.headers.get('location')!)![1]!;
    expect((await app.engine.waitForRun(started)).status).toBe('succeeded');
  });

  it('off loopback it refuses to start without a token; with one, every request must carry it', async () => {
    const logger = createLogger({ level: 'silent' });
    await expect(startDashboard({ db: app.db, queues: [], logger, port: 0, host: '0.0.0.0' })).rejects.toThrow(DashboardConfigError);
    await expect(startDashboard({ db: app.db, queues: [], logger, port: 0, host: '0.0.0.0' })).rejects.toThrow(
      'the dashboard has no token: listening on 0.0.0.0 (not loopback) needs --token or FLEETSYNC_DASHBOARD_TOKEN',
    );
    const locked = await startDashboard({ db: app.db, queues: [control], logger, port: 0, token: TOKEN });
    try {
      const url = `http://127.0.0.1:${locked.port}`;
      expect((await fetch(`${url}/`)).status).toBe(401);
      expect((await fetch(`${url}/queues`)).status).toBe(401);
      expect((await fetch(`${url}/?token=wrong-token-0123456789`, { redirect: 'manual' })).status).toBe(401);
      expect((await fetch(`${url}/`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
      // In a browser: ?token= once sets a Strict cookie and drops the token from the address.
      const page = await browser!.newPage();
      const res = await page.goto(`${url}/runs/${failedRun}?token=${TOKEN}`);
      expect(res?.status()).toBe(200);
      expect(page.url()).toBe(`${url}/runs/${failedRun}`);
      const cookies = await page.context().cookies();
      expect(cookies.find((c) => c.name === 'fleetsync_dashboard')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
      await page.goto(`${url}/`);
      expect(await page.locator('h1').textContent()).toBe('fleetsync');
      await page.close();
    } finally {
      await locked.close();
    }
  });

  it('shows Bull Board with the real page queue and the schedules queue, names in full', async () => {
    const page = await browser!.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${base}/queues`);
    for (const name of [pageQueueName('automox'), SCHEDULES_QUEUE]) {
      const item = page.getByText(name, { exact: true }).first();
      await item.waitFor({ timeout: 20_000 });
      // Not cut with an ellipsis: the text fits its box.
      expect(await item.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
    }
    // Bull Board's own API sees the same queues with their real counts.
    const api = (await (await fetch(`${base}/queues/api/queues`)).json()) as { queues: Array<{ name: string; counts: Record<string, number> }> };
    const pages = api.queues.find((q) => q.name === pageQueueName('automox'))!;
    expect(pages.counts.completed).toBeGreaterThan(0);
    await shoot(page, 'lanes.png');
    await page.close();
  });
});
