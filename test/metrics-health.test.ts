import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { checkReadiness } from '../src/health.js';
import { Metrics, startMetricsServer } from '../src/metrics.js';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { createDb } from '../src/warehouse/db.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers.js';
import { automoxSource, FAST, tempDir, testConfig, type TempDir } from './helpers/config.js';
import { freePort } from './helpers/ports.js';
import { syncOnce } from './helpers/sync.js';
import { exited, killAll, startWorker } from './helpers/worker.js';
import type { ChildProcess } from 'node:child_process';

const API_KEY = 'metrics-health-key';

/** Value of one sample line `name{labels} value` whose labels include `labels`, or null. */
function sample(text: string, name: string, labels: Record<string, string>): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return null;
}

/** Newest finished_at of the succeeded walks of a source/resource, in Unix seconds. */
async function lastFinished(env: TestEnv, source: string, resource: string): Promise<number> {
  const r = await sql<{ at: Date }>`select max(finished_at) as at from sync_walks where source_id = ${source} and resource = ${resource} and status = 'succeeded'`.execute(env.db);
  return new Date(r.rows[0]!.at).getTime() / 1000;
}

describe('metrics and health endpoints', () => {
  let env: TestEnv;
  let sim: AutomoxSimulator;
  let app: App;
  let dir: TempDir;
  let cfg: ReturnType<typeof testConfig>;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    env = await createTestEnv();
    sim = new AutomoxSimulator({ apiKey: API_KEY, data: generateAutomoxData({ seed: 17, orgs: 2, devicesPerOrg: [6, 2], packagesPerDevice: 1 }) });
    const origin = await sim.start();
    cfg = testConfig([automoxSource('automox-h', `${origin}/api`, 'H_KEY', { rateLimits: { servers: FAST } })]);
    app = await env.open(cfg, { ...process.env, H_KEY: API_KEY });
    dir = await tempDir('fleetsync-health-');
  });
  afterAll(async () => {
    killAll(children);
    await sim.stop();
    await env.cleanup();
    await dir.remove();
  });

  it('after a sync: last success per source/resource, rows by source, process metrics, queue depth by vendor queue; /healthz and /readyz answer 200', async () => {
    const server = await startMetricsServer(app.metrics, { port: 0, host: '127.0.0.1', ready: () => checkReadiness(app) });
    try {
      app.engine.startWorkers();
      const before = Date.now() / 1000;
      expect((await syncOnce(app, 'automox-h')).run.status).toBe('succeeded');
      const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();

      for (const resource of ['organizations', 'devices', 'packages']) {
        const v = sample(text, 'fleetsync_last_success_timestamp_seconds', { source: 'automox-h', resource });
        // Set when the walk succeeded: after the run started, not before its last walk finished.
        expect(v, resource).not.toBeNull();
        expect(v!).toBeGreaterThanOrEqual(Math.floor(before));
        expect(v!).toBeGreaterThanOrEqual(Math.floor(await lastFinished(env, 'automox-h', resource)));
      }
      expect(sample(text, 'fleetsync_rows_written_total', { source: 'automox-h', table: 'devices', kind: 'inserted' })).toBe(sim.data.servers.length);
      expect(sample(text, 'process_cpu_user_seconds_total', {})).not.toBeNull();
      expect(sample(text, 'process_resident_memory_bytes', {})).toBeGreaterThan(0);
      expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
      expect(sample(text, 'fleetsync_queue_jobs', { queue: 'pages.automox', state: 'waiting' })).toBe(0);
      // Queue depth is per vendor queue: no series per source lane (a thousand sources, a thousand series).
      expect(text).not.toContain('queue="automox-h.');
      expect(text).not.toMatch(/fleetsync_queue_jobs\{source=/);

      const health = await fetch(`http://127.0.0.1:${server.port}/healthz`);
      expect([health.status, await health.text()]).toEqual([200, 'ok\n']);
      const ready = await fetch(`http://127.0.0.1:${server.port}/readyz`);
      expect([ready.status, await ready.text()]).toEqual([200, 'ready\npostgres: ok\nredis: ok\n']);
    } finally {
      await server.close();
      await app.engine.close();
    }
  });

  it('/readyz answers 503 naming Redis when Redis is down, and Postgres when Postgres is down', async () => {
    const redisDown = new Redis(`redis://127.0.0.1:${await freePort()}`, { maxRetriesPerRequest: null, lazyConnect: false });
    redisDown.on('error', () => undefined);
    const pgDown = createDb(`postgres://postgres@127.0.0.1:${await freePort()}/fleetsync`, { max: 1 });
    const checks = [
      { name: 'redis', deps: { db: env.db, redis: redisDown } },
      { name: 'postgres', deps: { db: pgDown, redis: app.redis } },
    ];
    try {
      for (const { name, deps } of checks) {
        const server = await startMetricsServer(new Metrics(), { port: 0, host: '127.0.0.1', ready: () => checkReadiness(deps, 1_000) });
        try {
          const res = await fetch(`http://127.0.0.1:${server.port}/readyz`);
          const body = await res.text();
          expect(res.status, body).toBe(503);
          expect(body.split('\n')[0]).toBe(`not ready: ${name} down`);
          expect(body).toMatch(new RegExp(`^${name}: down \\(.+\\)$`, 'm'));
          expect(body).toContain(`${name === 'redis' ? 'postgres' : 'redis'}: ok`);
          // The process itself is fine.
          expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
        } finally {
          await server.close();
        }
      }
    } finally {
      redisDown.disconnect();
      await pgDown.destroy();
    }
  });

  it('a worker started later serves the last success it read from Postgres, and answers /healthz and /readyz', async () => {
    // A source since removed from the config: its last success is history, not something to alert on.
    const gone = await env.db.insertInto('sync_runs').values({ source_id: 'gone-source', trigger: 'test', mode: 'full', resources: ['devices'], status: 'succeeded', finished_at: new Date() }).returning('id').executeTakeFirstOrThrow();
    await env.db.insertInto('sync_walks').values({ run_id: gone.id, source_id: 'gone-source', resource: 'devices', scope: '-', mode: 'full', status: 'succeeded', cursor: null, total: null, since: null, high_water_mark: null, waiting_until: null, waiting_reason: null, error_status: null, error_message: null, error_request_id: null, parent_walk_id: null, finished_at: new Date() }).execute();
    const configFile = await dir.writeYaml('fleetsync.yaml', cfg);
    const port = await freePort();
    const worker = startWorker(configFile, env, { H_KEY: API_KEY, FLEETSYNC_METRICS_PORT: String(port), FLEETSYNC_METRICS_HOST: '127.0.0.1' });
    children.push(worker);
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/healthz`).catch(() => null))?.ok, 'the worker to serve /healthz');
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const text = await (await fetch(`${base}/metrics`)).text();
    // This process walked nothing: the values are exactly the walks' finished_at in Postgres.
    for (const resource of ['organizations', 'devices', 'packages', 'device_groups']) {
      expect(sample(text, 'fleetsync_last_success_timestamp_seconds', { source: 'automox-h', resource }), resource).toBe(await lastFinished(env, 'automox-h', resource));
    }
    expect(text).not.toContain('source="gone-source"');
    worker.kill('SIGTERM');
    expect((await exited(worker)).code).toBe(0);
  });
});
