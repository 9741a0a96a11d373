import { pageQueueName } from '../src/queue/page-queue.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { BACKFILL_PRIORITY } from '../src/queue/engine.js';
import { startMetricsServer } from '../src/metrics.js';
import { createLogger } from '../src/logger.js';
import { RunProgress } from '../src/progress.js';
import { Terminal } from '../src/terminal.js';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers.js';
import { automoxSource, FAST, testConfig } from './helpers/config.js';
import { syncOnce } from './helpers/sync.js';

const API_KEY = 'metrics-test-key';

function config(baseUrl: string) {
  return testConfig([automoxSource('automox-m', baseUrl, 'M_KEY', { rateLimits: { servers: FAST } })]);
}

/** Value of one sample line `name{labels} value` of a Prometheus text page, or null. */
function sample(text: string, name: string, labels: Record<string, string>): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (ok) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return null;
}

describe('metrics and backfill', () => {
  let env: TestEnv;
  let sim: AutomoxSimulator;
  let app: App;

  beforeAll(async () => {
    env = await createTestEnv();
    sim = new AutomoxSimulator({ apiKey: API_KEY, data: generateAutomoxData({ seed: 31, orgs: 2, devicesPerOrg: [8, 3], packagesPerDevice: 2 }) });
    const origin = await sim.start();
    app = await env.open(config(`${origin}/api`), { ...process.env, M_KEY: API_KEY });
  });
  afterAll(async () => {
    await sim.stop();
    await env.cleanup();
  });

  it('serves /metrics with requests by lane and status, rows by table and kind, 429s, waits, walk durations and queue depth', async () => {
    const server = await startMetricsServer(app.metrics, { port: 0, host: '127.0.0.1' });
    try {
      app.engine.startWorkers();
      const org = String(sim.data.orgs[0]!.id);
      sim.inject({ kind: 'status', status: 429, headers: { 'retry-after': '1' }, times: 1, match: (r) => r.path === '/api/servers' && r.query.get('o') === org && r.query.get('page') === '1' });
      const { run } = await syncOnce(app, 'automox-m');
      expect(run.status).toBe('succeeded');
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      expect(res.status).toBe(200);
      const text = await res.text();
      const serverPages = sim.requests.filter((r) => r.path === '/api/servers' && r.status === 200).length;
      expect(sample(text, 'fleetsync_http_requests_total', { source: 'automox-m', lane: 'servers', status: '200' })).toBe(serverPages);
      expect(sample(text, 'fleetsync_http_requests_total', { source: 'automox-m', lane: 'servers', status: '429' })).toBe(1);
      expect(sample(text, 'fleetsync_rate_limited_total', { source: 'automox-m', lane: 'servers' })).toBe(1);
      expect(sample(text, 'fleetsync_lane_waits_total', { source: 'automox-m', lane: 'servers', reason: 'vendor' })).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'fleetsync_rows_written_total', { table: 'devices', kind: 'inserted' })).toBe(sim.data.servers.length);
      expect(sample(text, 'fleetsync_rows_written_total', { table: 'packages', kind: 'inserted' })).toBe(sim.data.packages.length);
      expect(sample(text, 'fleetsync_walk_duration_seconds_count', { source: 'automox-m', resource: 'devices', outcome: 'succeeded' })).toBe(2);
      expect(sample(text, 'fleetsync_queue_jobs', { queue: 'pages.automox', state: 'waiting' })).toBe(0);
      expect(sample(text, 'fleetsync_queue_jobs', { queue: 'pages.automox', state: 'completed' })).toBeNull();

      // A second sync of unchanged data counts unchanged rows, not inserts.
      await syncOnce(app, 'automox-m', ['devices']);
      const text2 = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
      expect(sample(text2, 'fleetsync_rows_written_total', { table: 'devices', kind: 'unchanged' })).toBe(sim.data.servers.length);
      expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
    } finally {
      await server.close();
      await app.engine.close();
    }
  });

  it('backfill runs: a full re-walk whose page jobs queue behind every other job of the lane, with since stored on every walk', async () => {
    const app2 = await env.open(config(`${sim.origin}/api`), { ...process.env, M_KEY: API_KEY });
    const since = new Date('2026-01-01T00:00:00Z');
    const { runId } = await app2.engine.startRun('automox-m', { trigger: 'backfill', mode: 'full', since, resources: ['devices'] });
    const api = { queue: app2.engine.queues().find((q) => q.name === pageQueueName('automox'))! };
    const jobs = await api.queue.getJobs(['prioritized', 'waiting']);
    expect(jobs.length).toBe(1);
    expect(jobs[0]!.opts.priority).toBe(BACKFILL_PRIORITY);
    expect(await jobs[0]!.getState()).toBe('prioritized');
    // A plain job added now (what a scheduled run's page would be) is taken first.
    await api.queue.add('probe', { walkId: '0', page: 0, sourceId: 'automox-m', resource: 'probe', scope: '-' }, { jobId: 'probe-first' });
    const worker = new (await import('bullmq')).Worker(api.queue.name, async () => 'ok', { connection: app2.redis, prefix: app2.prefix, autorun: false });
    const first = await worker.getNextJob('probe-token');
    expect(first?.id).toBe('probe-first');
    await first!.moveToCompleted('ok', 'probe-token', false);
    await worker.close();

    app2.engine.startWorkers();
    const run = await app2.engine.waitForRun(runId);
    expect(run).toMatchObject({ status: 'succeeded', trigger: 'backfill', mode: 'full' });
    const walks = await env.db.selectFrom('sync_walks').select(['resource', 'since', 'mode', 'inserted', 'unchanged', 'records']).where('run_id', '=', runId).execute();
    expect(walks.length).toBe(1 + sim.data.orgs.length);
    for (const w of walks) {
      expect(new Date(w.since as Date).toISOString()).toBe(since.toISOString());
      expect(w.mode).toBe('full');
    }
    // Re-walked everything although the previous runs had it all.
    expect(walks.filter((w) => w.resource === 'devices').reduce((n, w) => n + w.unchanged, 0)).toBe(sim.data.servers.length);
    await waitFor(async () => (await api.queue.getJobCounts('prioritized')).prioritized === 0, 'prioritized jobs to drain');

    // In a terminal the progress block is the Terminal's live area; an unchanged frame is not drawn again.
    const frames: string[] = [];
    const term = new Terminal({ write: (f) => frames.push(f) > 0, isTTY: false, columns: 200, rows: 40 });
    const tty = new RunProgress(env.db, runId, { terminal: term, logger: createLogger({ level: 'silent' }) });
    await tty.update();
    await tty.update();
    expect(frames).toEqual([`run ${runId} of automox-m: ${walks.length}/${walks.length} walks done, ${walks.reduce((n, w) => n + w.records, 0)} rows in finished walks\n`]);
  });
});
