import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { TEST_WORKER, waitFor } from './helpers.js';
import { automoxSource, testConfig } from './helpers/config.js';
import { expectAutomoxLandedOnce } from './helpers/warehouse.js';
import { exited, pagesOf, startWorker, useWorkerFixture } from './helpers/worker.js';

const API_KEY = 'shutdown-test-key';
// Generous: the test never waits for it unless the worker fails to stop by itself.
const SHUTDOWN_TIMEOUT_MS = 30_000;

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
  let sim: AutomoxSimulator;
  let proxy: Awaited<ReturnType<typeof slowProxy>>;
  const fx = useWorkerFixture({
    dirPrefix: 'fleetsync-term-',
    start: async () => {
      sim = new AutomoxSimulator({ apiKey: API_KEY, data: generateAutomoxData({ seed: 61, orgs: 3, devicesPerOrg: [30, 25, 20], packagesPerDevice: 2 }) });
      proxy = await slowProxy(await sim.start(), 250);
      const lane = { windows: [{ max: 50, durationMs: 1000 }] };
      const config = testConfig([automoxSource('automox-term', `${proxy.origin}/api`, 'SHUT_KEY', { rateLimits: { api: { ...lane, concurrency: 3 }, servers: { ...lane, concurrency: 2 } } })], {
        // Long locks: if SIGTERM abandoned a page, the second worker could not take it for 60 s and the test would time out.
        // Without fetching ahead: the requests in flight at SIGTERM are then exactly the pages in
        // hand. A page's request sent ahead is no page in hand; a stopping worker drops its answer
        // and the next worker asks again (src/queue/head-start/).
        worker: { ...TEST_WORKER, lockDurationMs: 60_000, shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS, fetchAhead: false },
      });
      const stop = async () => {
        await proxy.close();
        await sim.stop();
      };
      return { config, keys: { SHUT_KEY: API_KEY }, stop };
    },
  });

  it('commits the pages in hand, exits 0 within the bound, and a second worker finishes with exact data', async () => {
    const { env, app, configFile, children } = fx;
    const { runId } = await app.engine.startRun('automox-term', { trigger: 'test' });
    const pagesAt = () => pagesOf(env, runId);

    const first = startWorker(configFile, env, { SHUT_KEY: API_KEY });
    children.push(first);
    // Mid-walk, with at least one vendor request in hand.
    await waitFor(async () => (await pagesAt()) >= 8 && proxy.inFlight() > 0, 'the worker to be mid-walk with a request in flight', 60_000, 10);
    const before = await pagesAt();
    const inHand = proxy.inFlight();
    first.kill('SIGTERM');
    const { code, signal } = await exited(first);
    // Exit 0 is the bound: past worker.shutdownTimeoutMs the worker exits 1 without waiting.
    expect({ code, signal }).toEqual({ code: 0, signal: null });

    // Every request in hand was answered and its page committed; nothing is left active in Redis.
    expect(await pagesAt()).toBeGreaterThanOrEqual(before + inHand);
    for (const queue of app.engine.queues()) expect(await queue.getActiveCount()).toBe(0);
    const run0 = await env.db.selectFrom('sync_runs').select('status').where('id', '=', runId).executeTakeFirstOrThrow();
    expect(run0.status).toBe('running');

    const second = startWorker(configFile, env, { SHUT_KEY: API_KEY });
    children.push(second);
    const run = await app.engine.waitForRun(runId, { pollMs: 100 });
    second.kill('SIGTERM');
    expect((await exited(second)).code).toBe(0);
    expect(run.status).toBe('succeeded');

    // Nothing done twice: each walk inserted exactly what it read, and updated nothing.
    await expectAutomoxLandedOnce(env, sim.data, runId);
  });
});
