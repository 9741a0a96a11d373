import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { createRng, type RequestLogEntry } from '../src/simulators/http-sim.js';
import { generateIzumaData, IzumaSimulator } from '../src/simulators/izuma.js';
import { waitFor } from './helpers.js';
import { automoxSource, izumaSource, SLOW, testConfig } from './helpers/config.js';
import { exited, startWorker, useWorkerFixture } from './helpers/worker.js';

// SIGKILL of the worker at ten moments of a two-source sync, each after a seeded number of
// committed pages: the warehouse ends exact, nothing is written twice, and each kill costs at
// most the one page each lane had in flight.

const SEED = Number(process.env.KILL_MATRIX_SEED ?? 7);
const KILLS = 10;
const KEYS = { AX_KEY: 'kill-matrix-ax', IZ_KEY: 'ak_killmatrix0123456789abcdef0123' };

describe(`a worker SIGKILLed at ${KILLS} moments of a two-source sync (seed ${SEED})`, () => {
  let ax: AutomoxSimulator;
  let iz: IzumaSimulator;
  const fx = useWorkerFixture({
    dirPrefix: 'fleetsync-kills-',
    start: async () => {
      ax = new AutomoxSimulator({ apiKey: KEYS.AX_KEY, data: generateAutomoxData({ seed: SEED, orgs: 3, devicesPerOrg: [45, 30, 25], packagesPerDevice: 1, groupsPerOrg: 2 }) });
      iz = new IzumaSimulator({ apiKey: KEYS.IZ_KEY, data: generateIzumaData({ seed: SEED, devices: 120 }) });
      const [axOrigin, izOrigin] = [await ax.start(), await iz.start()];
      // One page in flight per lane, so "at most one refetched page per kill" is per lane.
      const config = testConfig([
        automoxSource('ax', `${axOrigin}/api`, 'AX_KEY', { rateLimits: { api: { ...SLOW, concurrency: 1 }, servers: { ...SLOW, concurrency: 1 } } }),
        izumaSource('iz', izOrigin, 'IZ_KEY', { rateLimits: { api: { ...SLOW, concurrency: 1 } } }),
      ]);
      const stop = async () => {
        await ax.stop();
        await iz.stop();
      };
      return { config, keys: KEYS, stop };
    },
  });

  const committed = async (runIds: string[]) =>
    Number((await sql<{ n: string }>`select coalesce(sum(pages), 0) as n from sync_walks where run_id = any(${runIds})`.execute(fx.env.db)).rows[0]!.n);

  it('ends exact, writes nothing twice and refetches at most one page per lane per kill', async () => {
    const { env, app, configFile, children } = fx;
    const runIds = [(await app.engine.startRun('ax', { trigger: 'test' })).runId, (await app.engine.startRun('iz', { trigger: 'test' })).runId];
    const rng = createRng(SEED);
    let kills = 0;
    for (; kills < KILLS; kills++) {
      const target = (await committed(runIds)) + rng.int(1, 6);
      const worker = startWorker(configFile, env, KEYS);
      children.push(worker);
      await waitFor(async () => (await committed(runIds)) >= target, `${target} committed pages before kill ${kills + 1}`, 120_000, 10);
      worker.kill('SIGKILL');
      expect((await exited(worker)).signal).toBe('SIGKILL');
      const running = await env.db.selectFrom('sync_runs').select('id').where('id', 'in', runIds).where('status', '=', 'running').execute();
      if (running.length === 0) break;
    }
    // Enough kills landed mid-run to mean something.
    expect(kills).toBeGreaterThanOrEqual(KILLS - 1);

    const last = startWorker(configFile, env, KEYS);
    children.push(last);
    for (const id of runIds) expect((await app.engine.waitForRun(id, { pollMs: 100 })).status).toBe('succeeded');
    last.kill('SIGTERM');
    expect((await exited(last)).code).toBe(0);

    // Exact: every device of each vendor once, as the vendor has it, nothing marked deleted.
    for (const [source, ids] of [
      ['ax', ax.data.servers.map((s) => String(s.id))],
      ['iz', iz.data.devices.map((d) => d.id)],
    ] as const) {
      const rows = await env.db.selectFrom('devices').select(['external_id', 'deleted_at']).where('source_id', '=', source).orderBy('external_id').execute();
      expect(rows.map((r) => r.external_id)).toEqual([...ids].sort());
      expect(rows.filter((r) => r.deleted_at !== null)).toEqual([]);
    }
    // Nothing twice: every walk inserted exactly what it read and updated nothing.
    const walks = await env.db.selectFrom('sync_walks').selectAll().where('run_id', 'in', runIds).execute();
    for (const w of walks) expect([w.resource, w.scope, w.status, w.inserted, w.updated]).toEqual([w.resource, w.scope, 'succeeded', w.records, 0]);

    // Refetched pages per lane: answered page requests beyond the pages committed.
    const answered = (log: RequestLogEntry[], match: (path: string) => boolean) => log.filter((r) => r.status === 200 && match(r.path)).length;
    const pages = (source: string, resources: string[]) => walks.filter((w) => w.source_id === source && resources.includes(w.resource)).reduce((n, w) => n + w.pages, 0);
    const lanes = [
      { lane: 'ax servers', answered: answered(ax.requests, (p) => /^\/api\/servers\/?$/.test(p)), committed: pages('ax', ['devices']) },
      { lane: 'ax api', answered: answered(ax.requests, (p) => !/^\/api\/servers\/?$/.test(p)), committed: pages('ax', ['organizations', 'device_groups', 'packages']) },
      { lane: 'iz api', answered: answered(iz.requests, () => true), committed: pages('iz', ['organizations', 'device_groups', 'devices', 'firmware_images']) },
    ];
    // KILL_MATRIX_REPORT=1 prints the figures docs/reliability.md quotes.
    if (process.env.KILL_MATRIX_REPORT) console.log(JSON.stringify({ seed: SEED, kills, lanes }));
    for (const l of lanes) {
      expect(l.answered - l.committed, `${l.lane}: ${l.answered} answered, ${l.committed} committed`).toBeGreaterThanOrEqual(0);
      expect(l.answered - l.committed, `${l.lane}: ${l.answered} answered, ${l.committed} committed`).toBeLessThanOrEqual(kills);
    }
  });
});
