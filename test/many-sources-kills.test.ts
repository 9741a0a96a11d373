import type { ChildProcess } from 'node:child_process';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { createRng, type RequestLogEntry } from '../src/simulators/http-sim.js';
import { generateIzumaData, IzumaSimulator } from '../src/simulators/izuma.js';
import { waitFor } from './helpers.js';
import { automoxSource, izumaSource, SLOW, testConfig } from './helpers/config.js';
import { exited, MANY_SOURCES_TIMEOUT_MS, startWorker, useWorkerFixture } from './helpers/worker.js';

// The kill matrix (test/kill-matrix.test.ts) on fifty sources whose page jobs share their vendor's
// queue, worked by three worker processes: one of them, picked by the seed, is SIGKILLed after a
// seeded number of committed pages and a new one started in its place, again and again. Every
// source ends exact, nothing is written twice, and a kill costs at most the page each lane had in
// flight in the killed process, so at most `worker.concurrency` pages in all.

const SEED = Number(process.env.KILL_MATRIX_SEED ?? 7);
const AUTOMOX = 30;
const IZUMA = 20;
const WORKERS = 3;
const KILLS = 8;
/** Page jobs one process runs at once, over all its sources. */
const CONCURRENCY = 8;
/** One page in flight per lane and process, so "at most one refetched page per kill" is per lane. */
const ONE = { ...SLOW, concurrency: 1 };

/** The lanes of every source: the vendor's answered page requests on it, and the walk resources that commit its pages. */
interface LaneProbe {
  lane: string;
  log: () => RequestLogEntry[];
  match: (path: string) => boolean;
  source: string;
  resources: string[];
}

describe(`${AUTOMOX + IZUMA} sources on ${WORKERS} worker processes, one SIGKILLed at ${KILLS} moments (seed ${SEED})`, () => {
  const ax: AutomoxSimulator[] = [];
  const iz: IzumaSimulator[] = [];
  const keys: Record<string, string> = {};
  const fx = useWorkerFixture({
    dirPrefix: 'fleetsync-many-kills-',
    start: async () => {
      const sources = [];
      for (let i = 0; i < AUTOMOX; i++) {
        const sim = new AutomoxSimulator({ apiKey: `ax-${i}`, data: generateAutomoxData({ seed: SEED * 1000 + i, orgs: 2, devicesPerOrg: [6 + (i % 5), 4 + (i % 3)], packagesPerDevice: 1, groupsPerOrg: 1 }) });
        ax.push(sim);
        keys[`AX_${i}`] = `ax-${i}`;
        sources.push(automoxSource(`ax${i}`, `${await sim.start()}/api`, `AX_${i}`, { rateLimits: { api: ONE, servers: ONE } }));
      }
      for (let i = 0; i < IZUMA; i++) {
        const key = `ak_manykills${String(i).padStart(2, '0')}0123456789abcdef012`;
        const sim = new IzumaSimulator({ apiKey: key, data: generateIzumaData({ seed: SEED * 1000 + 500 + i, devices: 10 + (i % 7) }) });
        iz.push(sim);
        keys[`IZ_${i}`] = key;
        sources.push(izumaSource(`iz${i}`, await sim.start(), `IZ_${i}`, { rateLimits: { api: ONE } }));
      }
      const config = testConfig(sources, { worker: { ...testConfig([]).worker, concurrency: CONCURRENCY } });
      const stop = async () => {
        for (const s of [...ax, ...iz]) await s.stop();
      };
      return { config, keys, stop };
    },
  });

  const committed = async () => Number((await sql<{ n: string }>`select coalesce(sum(pages), 0) as n from sync_walks`.execute(fx.env.db)).rows[0]!.n);
  const running = async (runIds: string[]) => (await fx.env.db.selectFrom('sync_runs').select('id').where('id', 'in', runIds).where('status', '=', 'running').execute()).length;

  /** Worker processes that know when they have started: from "worker started" on, SIGTERM stops them cleanly (one still starting dies of the signal). */
  function workerPool() {
    const workers: ChildProcess[] = [];
    const ready = new Set<ChildProcess>();
    const spawn = () => {
      const w = startWorker(fx.configFile, fx.env, { ...keys, FLEETSYNC_LOG_LEVEL: 'info' });
      fx.children.push(w);
      let log = '';
      const onLog = (d: Buffer) => {
        log += d.toString();
        if (!log.includes('"msg":"worker started"')) return;
        ready.add(w);
        w.stderr?.off('data', onLog);
      };
      w.stderr?.on('data', onLog);
      return w;
    };
    for (let i = 0; i < WORKERS; i++) workers.push(spawn());
    return { workers, spawn, allStarted: () => workers.every((w) => ready.has(w)) };
  }

  /** Up to KILLS times, after a seeded number of committed pages, SIGKILLs a worker the seed picks and starts a new one in its place. Returns the committed pages at each kill. */
  async function killAtSeededMoments(pool: ReturnType<typeof workerPool>, runIds: string[]): Promise<number[]> {
    const rng = createRng(SEED);
    const at: number[] = [];
    while (at.length < KILLS) {
      const target = (await committed()) + rng.int(10, 40);
      await waitFor(async () => (await committed()) >= target || (await running(runIds)) === 0, `${target} committed pages before kill ${at.length + 1}`, 120_000, 10);
      if ((await running(runIds)) === 0) break;
      const victim = rng.int(0, WORKERS - 1);
      pool.workers[victim]!.kill('SIGKILL');
      expect((await exited(pool.workers[victim]!)).signal).toBe('SIGKILL');
      at.push(await committed());
      pool.workers[victim] = pool.spawn();
    }
    return at;
  }

  /** Exact: every device of each vendor once, none missing or deleted, every Automox package. */
  async function expectExact(): Promise<void> {
    const expected: Array<[string, string[]]> = [...ax.map((s, i): [string, string[]] => [`ax${i}`, s.data.servers.map((d) => String(d.id))]), ...iz.map((s, i): [string, string[]] => [`iz${i}`, s.data.devices.map((d) => d.id)])];
    for (const [source, deviceIds] of expected) {
      const rows = await fx.env.db.selectFrom('devices').select(['external_id', 'deleted_at', 'missing_since']).where('source_id', '=', source).orderBy('external_id').execute();
      expect(rows.map((r) => r.external_id), source).toEqual([...deviceIds].sort());
      expect(rows.filter((r) => r.deleted_at !== null || r.missing_since !== null), source).toEqual([]);
    }
    for (const [i, sim] of ax.entries()) {
      const packages = await fx.env.db.selectFrom('packages').select(sql<number>`count(*)::int`.as('n')).where('source_id', '=', `ax${i}`).where('deleted_at', 'is', null).executeTakeFirstOrThrow();
      expect(packages.n, `ax${i} packages`).toBe(sim.data.packages.length);
    }
  }

  /** Per lane: page requests the vendor answered, and how many of them beyond the pages the walks committed. */
  function refetchedPerLane(walks: Array<{ source_id: string; resource: string; pages: number }>) {
    const pages = (source: string, resources: string[]) => walks.filter((w) => w.source_id === source && resources.includes(w.resource)).reduce((n, w) => n + w.pages, 0);
    const probes: LaneProbe[] = [
      ...ax.flatMap((s, i): LaneProbe[] => [
        { lane: `ax${i}.servers`, log: () => s.requests, match: (p) => /^\/api\/servers\/?$/.test(p), source: `ax${i}`, resources: ['devices'] },
        { lane: `ax${i}.api`, log: () => s.requests, match: (p) => !/^\/api\/servers\/?$/.test(p), source: `ax${i}`, resources: ['organizations', 'device_groups', 'packages'] },
      ]),
      ...iz.map((s, i): LaneProbe => ({ lane: `iz${i}.api`, log: () => s.requests, match: () => true, source: `iz${i}`, resources: ['organizations', 'device_groups', 'devices', 'firmware_images'] })),
    ];
    return probes.map((p) => {
      const answered = p.log().filter((r) => r.status === 200 && p.match(r.path)).length;
      return { lane: p.lane, answered, refetched: answered - pages(p.source, p.resources) };
    });
  }

  it('ends every source exact, writes nothing twice and refetches at most one page per lane per kill', async () => {
    const { env, app } = fx;
    const started = Date.now();
    const ids = [...ax.map((_, i) => `ax${i}`), ...iz.map((_, i) => `iz${i}`)];
    const runIds = await Promise.all(ids.map(async (id) => (await app.engine.startRun(id, { trigger: 'test' })).runId));
    const pool = workerPool();
    const at = await killAtSeededMoments(pool, runIds);
    const kills = at.length;
    // Enough kills landed mid-run to mean something.
    expect(kills).toBeGreaterThanOrEqual(KILLS - 1);
    for (const id of runIds) expect((await app.engine.waitForRun(id, { pollMs: 200 })).status).toBe('succeeded');
    const seconds = Math.round((Date.now() - started) / 1000);
    await waitFor(pool.allStarted, 'every worker to have started');
    for (const w of pool.workers) w.kill('SIGTERM');
    for (const w of pool.workers) expect((await exited(w)).code).toBe(0);

    await expectExact();
    // Nothing twice: every walk inserted exactly what it read and updated nothing.
    const walks = await env.db.selectFrom('sync_walks').selectAll().where('run_id', 'in', runIds).execute();
    for (const w of walks) expect([w.source_id, w.resource, w.scope, w.status, w.inserted, w.updated]).toEqual([w.source_id, w.resource, w.scope, 'succeeded', w.records, 0]);
    const lanes = refetchedPerLane(walks);
    const refetched = lanes.reduce((n, l) => n + l.refetched, 0);
    // MANY_SOURCES_REPORT=1 prints the figures docs/reliability.md quotes.
    if (process.env.MANY_SOURCES_REPORT) console.log(JSON.stringify({ seed: SEED, sources: ids.length, workers: WORKERS, kills, killedAtPages: at, pages: walks.reduce((n, w) => n + w.pages, 0), refetched, mostOnALane: Math.max(...lanes.map((l) => l.refetched)), lanesRefetching: lanes.filter((l) => l.refetched > 0).length, seconds }));
    for (const l of lanes) {
      expect(l.refetched, `${l.lane}: ${l.answered} answered`).toBeGreaterThanOrEqual(0);
      expect(l.refetched, `${l.lane}: ${l.answered} answered`).toBeLessThanOrEqual(kills);
    }
    expect(refetched).toBeLessThanOrEqual(kills * CONCURRENCY);
  }, MANY_SOURCES_TIMEOUT_MS);
});
