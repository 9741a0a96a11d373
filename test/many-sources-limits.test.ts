import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RateWindow } from '../src/config.js';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { createRng, type HttpSimulator } from '../src/simulators/http-sim.js';
import { generateIzumaData, IzumaSimulator } from '../src/simulators/izuma.js';
import { automoxSource, izumaSource, testConfig } from './helpers/config.js';
import { exited, MANY_SOURCES_TIMEOUT_MS, startWorker, useWorkerFixture } from './helpers/worker.js';
import { busiestWindow } from './helpers/windows.js';

// The three-worker limit test (test/lane-limit.test.ts) on fifty sources whose page jobs share
// their vendor's queue: every source has limits of its own (one to four requests a second, some with a
// second, longer window), every vendor answers every fifth request 503 (so the HTTP client
// retries in process, and each retry is one more request the vendor counts), and each vendor
// logs what it received. No source's vendor may count more in any window than that source's
// limit allows, and every source's run ends exact.

const SEED = 31;
const AUTOMOX = 30;
const IZUMA = 20;
const WORKERS = 3;
/** Every n-th request a vendor receives answers 503. */
const FAULT_EVERY = 5;

/** One lane of one source as its vendor sees it: the requests that count against it, and its limits. */
interface LaneProbe {
  lane: string;
  sim: HttpSimulator;
  match: (path: string) => boolean;
  windows: RateWindow[];
}

/** A source's windows of one lane: `max` a second, and for some a second window over 3 s of less than 3 x max. */
function windowsOf(rng: ReturnType<typeof createRng>, min: number, max: number): RateWindow[] {
  const perSecond = rng.int(min, max);
  return rng.bool(0.4) ? [{ max: perSecond, durationMs: 1000 }, { max: 2 * perSecond, durationMs: 3000 }] : [{ max: perSecond, durationMs: 1000 }];
}

/** Makes every FAULT_EVERY-th request the simulator receives answer 503, from now on. */
function failEveryFifth(sim: HttpSimulator): void {
  let n = 0;
  sim.inject({ kind: 'status', status: 503, times: Infinity, match: () => ++n % FAULT_EVERY === 0 });
}

describe(`${AUTOMOX + IZUMA} sources with limits of their own on ${WORKERS} worker processes`, () => {
  const ax: AutomoxSimulator[] = [];
  const iz: IzumaSimulator[] = [];
  const probes: LaneProbe[] = [];
  const fx = useWorkerFixture({
    dirPrefix: 'fleetsync-many-limits-',
    start: async () => {
      const rng = createRng(SEED);
      const keys: Record<string, string> = {};
      const sources = [];
      for (let i = 0; i < AUTOMOX; i++) {
        const sim = new AutomoxSimulator({ apiKey: `lim-ax-${i}`, data: generateAutomoxData({ seed: SEED * 100 + i, orgs: 2, devicesPerOrg: [10 + (i % 6), 6], packagesPerDevice: 1, groupsPerOrg: 1 }) });
        ax.push(sim);
        failEveryFifth(sim);
        keys[`AX_${i}`] = `lim-ax-${i}`;
        const api = windowsOf(rng, 2, 4);
        const servers = windowsOf(rng, 1, 3);
        probes.push({ lane: `ax${i}.api`, sim, match: (p) => !p.startsWith('/api/servers'), windows: api }, { lane: `ax${i}.servers`, sim, match: (p) => p.startsWith('/api/servers'), windows: servers });
        sources.push(automoxSource(`ax${i}`, `${await sim.start()}/api`, `AX_${i}`, { rateLimits: { api: { windows: api, concurrency: rng.int(2, 3) }, servers: { windows: servers, concurrency: 2 } } }));
      }
      for (let i = 0; i < IZUMA; i++) {
        const key = `ak_manylimits${String(i).padStart(2, '0')}0123456789abcdef0`;
        const sim = new IzumaSimulator({ apiKey: key, data: generateIzumaData({ seed: SEED * 100 + 50 + i, devices: 20 + (i % 9) }) });
        iz.push(sim);
        failEveryFifth(sim);
        keys[`IZ_${i}`] = key;
        const api = windowsOf(rng, 2, 4);
        probes.push({ lane: `iz${i}.api`, sim, match: () => true, windows: api });
        sources.push(izumaSource(`iz${i}`, await sim.start(), `IZ_${i}`, { rateLimits: { api: { windows: api, concurrency: rng.int(2, 3) } } }));
      }
      const stop = async () => {
        for (const s of [...ax, ...iz]) await s.stop();
      };
      return { config: testConfig(sources), keys, stop };
    },
  });

  beforeAll(() => {
    for (let i = 0; i < WORKERS; i++) fx.children.push(startWorker(fx.configFile, fx.env, fx.keys));
  });

  it("never lets any source's vendor count more in a window than that source's limit, in-process retries included, and lands every source exact", async () => {
    const { env, app, children } = fx;
    const started = Date.now();
    const ids = [...ax.map((_, i) => `ax${i}`), ...iz.map((_, i) => `iz${i}`)];
    const runIds = await Promise.all(ids.map(async (id) => (await app.engine.startRun(id, { trigger: 'test' })).runId));
    for (const runId of runIds) expect((await app.engine.waitForRun(runId, { pollMs: 200 })).status).toBe('succeeded');
    const seconds = Math.round((Date.now() - started) / 1000);

    const seen = probes.map((p) => {
      const arrivals = p.sim.requests.filter((r) => p.match(r.path)).map((r) => r.at);
      return { lane: p.lane, requests: arrivals.length, windows: p.windows.map((w) => ({ ...w, busiest: busiestWindow(arrivals, w.durationMs) })) };
    });
    const sims = [...ax, ...iz];
    const atLimit = seen.filter((s) => s.windows.some((w) => w.busiest === w.max)).length;
    // MANY_SOURCES_REPORT=1 prints the figures docs/reliability.md quotes.
    if (process.env.MANY_SOURCES_REPORT) {
      const requests = sims.reduce((n, s) => n + s.requests.length, 0);
      const faults = sims.reduce((n, s) => n + s.requests.filter((r) => r.status === 503).length, 0);
      const share = Math.max(...seen.flatMap((s) => s.windows.map((w) => w.busiest / w.max)));
      console.log(JSON.stringify({ sources: ids.length, lanes: probes.length, workers: WORKERS, requests, faults, atLimit, highestShareOfLimit: share, seconds }));
    }
    const over = seen.flatMap((s) => s.windows.filter((w) => w.busiest > w.max).map((w) => `${s.lane}: ${w.busiest} requests in ${w.durationMs} ms, limit ${w.max}`));
    expect(over).toEqual([]);
    // Enough traffic that the limits were reached, not merely respected by idle lanes.
    expect(atLimit).toBeGreaterThanOrEqual(probes.length / 4);
    // The faults were met and retried: every fifth request answered 503.
    expect(sims.every((s) => s.requests.some((r) => r.status === 503))).toBe(true);
    expect(sims.flatMap((s) => s.requests.filter((r) => r.status === 429))).toEqual([]);

    for (const [i, sim] of ax.entries()) {
      const devices = await env.db.selectFrom('devices').select(['external_id', 'deleted_at']).where('source_id', '=', `ax${i}`).orderBy('external_id').execute();
      expect(devices.map((d) => d.external_id), `ax${i}`).toEqual(sim.data.servers.map((s) => String(s.id)).sort());
      const packages = await env.db.selectFrom('packages').select(sql<number>`count(*)::int`.as('n')).where('source_id', '=', `ax${i}`).where('deleted_at', 'is', null).executeTakeFirstOrThrow();
      expect(packages.n, `ax${i} packages`).toBe(sim.data.packages.length);
    }
    for (const [i, sim] of iz.entries()) {
      const devices = await env.db.selectFrom('devices').select('external_id').where('source_id', '=', `iz${i}`).where('deleted_at', 'is', null).orderBy('external_id').execute();
      expect(devices.map((d) => d.external_id), `iz${i}`).toEqual(sim.data.devices.map((d) => d.id).sort());
    }
    for (const c of children) c.kill('SIGTERM');
    for (const c of children) expect((await exited(c)).code).toBe(0);
  }, MANY_SOURCES_TIMEOUT_MS);
});
