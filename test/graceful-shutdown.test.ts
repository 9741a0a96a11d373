import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { App } from '../src/app.js';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { exited, startWorker } from './child-worker.js';
import { createTestEnv, TEST_WORKER, waitFor, type TestEnv } from './helpers.js';

const API_KEY = 'shutdown-test-key';
const SHUTDOWN_TIMEOUT_MS = 8000;

/** A loopback proxy that holds every request `delayMs` before forwarding it, and counts those in flight. */
async function slowProxy(target: string, delayMs: number): Promise<{ origin: string; inFlight: () => number; close(): Promise<void> }> {
  let inFlight = 0;
  const server: Server = createServer((req, res) => {
    inFlight++;
    setTimeout(() => {
      const up = request(`${target}${req.url ?? '/'}`, { method: req.method, headers: req.headers }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
        upRes.on('end', () => inFlight--);
      });
      up.on('error', () => {
        inFlight--;
        res.destroy();
      });
      req.pipe(up);
    }, delayMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    inFlight: () => inFlight,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}



describe('a worker stopped with SIGTERM mid-walk', () => {
  let env: TestEnv;
  let sim: AutomoxSimulator;
  let proxy: Awaited<ReturnType<typeof slowProxy>>;
  let dir: string;
  let configFile: string;
  let app: App;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    env = await createTestEnv();
    sim = new AutomoxSimulator({ apiKey: API_KEY, data: generateAutomoxData({ seed: 61, orgs: 3, devicesPerOrg: [30, 25, 20], packagesPerDevice: 2 }) });
    proxy = await slowProxy(await sim.start(), 250);
    dir = await mkdtemp(join(tmpdir(), 'fleetsync-term-'));
    configFile = join(dir, 'fleetsync.yaml');
    const cfg = {
      sources: [
        {
          id: 'automox-term',
          vendor: 'automox',
          baseUrl: `${proxy.origin}/api`,
          credentials: { apiKey: '${SHUT_KEY}' },
          pageSize: 5,
          rateLimits: { api: { windows: [{ max: 50, durationMs: 1000 }], concurrency: 3 }, servers: { windows: [{ max: 50, durationMs: 1000 }], concurrency: 2 } },
        },
      ],
      // Long locks: if SIGTERM abandoned a page, the second worker could not take it for 60 s and the test would time out.
      worker: { ...TEST_WORKER, lockDurationMs: 60_000, shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS },
    };
    await writeFile(configFile, stringify(cfg));
    app = await env.open(cfg, { ...process.env, SHUT_KEY: API_KEY });
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await proxy.close();
    await sim.stop();
    await env.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('commits the pages in hand, exits 0 within the bound, and a second worker finishes with exact data', async () => {
    const { runId } = await app.engine.startRun('automox-term', { trigger: 'test' });
    const pagesAt = async () => Number((await sql<{ n: string }>`select coalesce(sum(pages), 0) as n from sync_walks where run_id = ${runId}`.execute(env.db)).rows[0]!.n);

    const first = startWorker(configFile, env, { SHUT_KEY: API_KEY });
    children.push(first);
    // Mid-walk, with at least one vendor request in hand.
    await waitFor(async () => (await pagesAt()) >= 8 && proxy.inFlight() > 0, 'the worker to be mid-walk with a request in flight', 60_000, 10);
    const before = await pagesAt();
    const inHand = proxy.inFlight();
    const t0 = Date.now();
    first.kill('SIGTERM');
    const { code, signal } = await exited(first);
    const took = Date.now() - t0;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(took).toBeLessThan(SHUTDOWN_TIMEOUT_MS);

    // Every request in hand was answered and its page committed; nothing is left active in Redis.
    expect(await pagesAt()).toBeGreaterThanOrEqual(before + inHand);
    for (const lane of app.engine.lanes.values()) expect(await lane.queue.getActiveCount()).toBe(0);
    const run0 = await env.db.selectFrom('sync_runs').select('status').where('id', '=', runId).executeTakeFirstOrThrow();
    expect(run0.status).toBe('running');

    const second = startWorker(configFile, env, { SHUT_KEY: API_KEY });
    children.push(second);
    const run = await app.engine.waitForRun(runId, { pollMs: 100 });
    second.kill('SIGTERM');
    expect((await exited(second)).code).toBe(0);
    expect(run.status).toBe('succeeded');

    const devices = await env.db.selectFrom('devices').select(['external_id', 'raw', 'deleted_at']).orderBy('external_id').execute();
    expect(devices.map((d) => d.external_id)).toEqual(sim.data.servers.map((s) => String(s.id)).sort());
    for (const d of devices) {
      expect(d.raw).toEqual(sim.data.servers.find((x) => String(x.id) === d.external_id));
      expect(d.deleted_at).toBeNull();
    }
    const packages = await env.db.selectFrom('packages').select(sql<number>`count(*)::int`.as('n')).where('deleted_at', 'is', null).executeTakeFirstOrThrow();
    expect(packages.n).toBe(sim.data.packages.length);
    // Nothing done twice: each walk inserted exactly what it read, and updated nothing.
    const walks = await env.db.selectFrom('sync_walks').selectAll().where('run_id', '=', runId).execute();
    for (const w of walks) {
      expect(w.status).toBe('succeeded');
      expect([w.resource, w.scope, w.inserted, w.updated]).toEqual([w.resource, w.scope, w.records, 0]);
    }
  });
});
