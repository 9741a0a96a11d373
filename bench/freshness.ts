/**
 * `npm run bench:freshness`: how old the warehouse is after a change at the vendor (never part of
 * the test suite; docs/freshness.md). Each case runs two sources on two simulators of its vendor
 * side by side, each seeded and synced once: `events` applies the vendor's events between walks,
 * `walks` sees changes only through walks, started every interval. The same changes (additions
 * and removals) are made to both at random moments, and for each the time from the change at the
 * simulator to its row in Postgres (`first_seen_at` of an addition, `deleted_at` of a removal) is
 * measured; p50, p99 and max per case and mode, and the 429s the simulators answered.
 *
 * A case per vendor (FreshnessCase): Automox here, Toggl and Izuma (webhooks, a receiver on
 * loopback) in bench/freshness-webhooks.ts. An edit lands when the table's history has a version
 * with the new value (Toggl time entries keep theirs for it; devices always do).
 *
 * Environment (defaults in brackets):
 *   BENCH_EVERY [5m]       the events poll interval (`events.every`), and the walk interval of `walks`
 *   BENCH_CHANGES [24]     changes per case, half additions, half removals
 *   BENCH_SPREAD [10m]     the changes are made at random moments over this long
 *   BENCH_CASES [automox]  which cases run: automox, toggl, izuma
 */
import { sql, type Kysely } from 'kysely';
import { openApp, type App } from '../src/app.js';
import { parseConfig, parseDuration } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { AUTOMOX_RATE_LIMIT, AutomoxSimulator, generateAutomoxData, type AutomoxServer } from '../src/simulators/automox.js';
import type { Database } from '../src/warehouse/db.js';
import { izumaCase, togglCase } from './freshness-webhooks.js';
import { deleteRedisPrefix, freshDb, newPrefix, REDIS_URL, sleep } from './lib.js';

const EVERY_MS = parseDuration(process.env.BENCH_EVERY ?? '5m') ?? 300_000;
const CHANGES = Number(process.env.BENCH_CHANGES ?? 24);
const SPREAD_MS = parseDuration(process.env.BENCH_SPREAD ?? '10m') ?? 600_000;
const CASES = (process.env.BENCH_CASES ?? 'automox').split(',');

/** One change made at the vendor: an addition or removal of a row of `table`, or an edit setting `column` to `value`. */
export interface Change {
  kind: 'add' | 'remove' | 'edit';
  table: string;
  id: string;
  column?: string;
  value?: string;
}

/** One vendor's pair of simulators and sources. */
export interface FreshnessCase {
  vendor: string;
  /** Starts both simulators; returns the sources (`events` on for the one whose id ends in `-events`) and a stop. */
  start(): Promise<{ sources: Array<Record<string, unknown>>; env: NodeJS.ProcessEnv; stop(): Promise<void>; config?: Record<string, unknown> }>;
  /** After both sources' first sync, before the changes (a webhook case starts its receiver and subscribes). */
  afterSync?(app: App): Promise<void>;
  /** Makes change number `n` at both simulators at once; returns it. */
  change(n: number): Change;
  /** 429s the simulators answered so far, per source id. */
  rateLimited(): Record<string, number>;
  /** Requests the simulators answered since the changes began, per source id (what each mode costs). */
  requests?(): Record<string, number>;
}

/** Automox: devices added and removed, `/events` polled every interval; `/servers` limited as documented (under 30/min). */
function automoxCase(): FreshnessCase {
  const KEY = 'bench-freshness-automox-key';
  const sims: Record<string, AutomoxSimulator> = {};
  const ids = ['ax-events', 'ax-walks'];
  let nextId = 1_800_001;
  let changesFrom = Number.POSITIVE_INFINITY;
  return {
    vendor: 'automox',
    async start() {
      const sources = [];
      for (const id of ids) {
        const sim = new AutomoxSimulator({ apiKey: KEY, data: generateAutomoxData({ seed: 21, orgs: 3, devicesPerOrg: 150, packagesPerDevice: 0 }), rateLimit: [{ max: 30, windowMs: 60_000 }, AUTOMOX_RATE_LIMIT], rateLimitPath: /^\/api\/servers/ });
        sims[id] = sim;
        const origin = await sim.start();
        sources.push({ id, vendor: 'automox', baseUrl: `${origin}/api`, credentials: { apiKey: '${BENCH_AUTOMOX_KEY}' }, resources: ['organizations', 'devices'], ...(id.endsWith('-events') ? { events: { every: EVERY_MS } } : {}) });
      }
      return { sources, env: { ...process.env, BENCH_AUTOMOX_KEY: KEY }, stop: async () => void (await Promise.all(Object.values(sims).map((s) => s.stop()))) };
    },
    change(n) {
      if (n === 0) changesFrom = Date.now();
      const add = n % 2 === 0;
      let id = '';
      for (const sim of Object.values(sims)) {
        if (add) {
          const like = sim.data.servers[n % sim.data.servers.length]!;
          const server: AutomoxServer = { ...like, id: nextId, name: `FRESH-${nextId}`, display_name: `FRESH-${nextId}` };
          sim.addServer(server);
          id = String(nextId);
        } else {
          // The same device at both: the n-th of the seeded ones.
          const victim = sim.data.servers.find((s) => s.id === 1_000_001 + n * 7)!;
          sim.removeServer(victim.id);
          id = String(victim.id);
        }
      }
      if (add) nextId++;
      return { kind: add ? 'add' : 'remove', table: 'devices', id };
    },
    rateLimited: () => Object.fromEntries(Object.entries(sims).map(([id, s]) => [id, s.rateLimited])),
    requests: () => Object.fromEntries(Object.entries(sims).map(([id, s]) => [id, s.requests.filter((r) => r.at >= changesFrom).length])),
  };
}

const ALL_CASES: Record<string, () => FreshnessCase> = { automox: automoxCase, toggl: togglCase, izuma: izumaCase };

/**
 * When a change's row landed (its first_seen_at or deleted_at in Postgres, ms; for an edit the
 * first history version with the new value written after the change), or null while it has not.
 */
async function landedAt(db: Kysely<Database>, sourceId: string, c: Change, madeAt: number): Promise<number | null> {
  if (c.kind === 'edit') {
    const res = await sql<{ at: Date | null }>`SELECT min(valid_from) AS at FROM ${sql.table(`${c.table}_history`)} WHERE source_id = ${sourceId} AND external_id = ${c.id} AND ${sql.ref(c.column!)} = ${c.value!} AND valid_from >= ${new Date(madeAt - 50)}`.execute(db);
    const at = res.rows[0]?.at;
    return at ? new Date(at).getTime() : null;
  }
  const col = c.kind === 'add' ? sql`first_seen_at` : sql`deleted_at`;
  const res = await sql<{ at: Date | null }>`SELECT ${col} AS at FROM ${sql.table(c.table)} WHERE source_id = ${sourceId} AND external_id = ${c.id}`.execute(db);
  const at = res.rows[0]?.at;
  return at ? new Date(at).getTime() : null;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/** Runs one case: both sources synced once, changes at random moments, walks of `-walks` every interval; the latencies per source. */
async function runCase(fc: FreshnessCase): Promise<Record<string, unknown>> {
  const started = await fc.start();
  const dbName = `fleetsync_bench_fresh_${fc.vendor}`;
  const bench = await freshDb(dbName);
  const prefix = newPrefix();
  const config = parseConfig({ sources: started.sources, worker: { metricsPort: 0 }, ...(started.config ?? {}) }, started.env);
  const app: App = await openApp({ config, env: started.env, logger: createLogger({ level: process.env.BENCH_LOG_LEVEL ?? 'warn' }), databaseUrl: bench.url, redisUrl: REDIS_URL, prefix });
  const ids = started.sources.map((s) => String(s.id));
  const timers: NodeJS.Timeout[] = [];
  try {
    app.engine.startWorkers();
    for (const id of ids) await app.engine.waitForRun((await app.engine.startRun(id, { trigger: 'bench' })).runId);
    app.events.startWorkers();
    await app.events.syncPolls(ids);
    await fc.afterSync?.(app);
    const walks = ids.filter((id) => !id.endsWith('-events'));
    timers.push(setInterval(() => void Promise.all(walks.map((id) => app.engine.startRun(id, { trigger: 'bench' }))).catch(() => undefined), EVERY_MS));
    const t0 = Date.now();
    const moments = Array.from({ length: CHANGES }, () => t0 + Math.random() * SPREAD_MS).sort((a, b) => a - b);
    const made: Array<{ change: Change; at: number }> = [];
    for (const [n, at] of moments.entries()) {
      await sleep(Math.max(0, at - Date.now()));
      made.push({ change: fc.change(n), at: Date.now() });
    }
    // Every change lands within two intervals of its moment, or it is counted as not landed.
    const deadline = Date.now() + 2 * EVERY_MS + 60_000;
    const out: Record<string, unknown> = {};
    for (const id of ids) {
      const lat: number[] = [];
      let missing = 0;
      for (const m of made) {
        let at: number | null = null;
        while ((at = await landedAt(app.db, id, m.change, m.at)) === null && Date.now() < deadline) await sleep(1000);
        if (at === null) missing++;
        else lat.push(at - m.at);
      }
      lat.sort((a, b) => a - b);
      out[id] = { changes: made.length, landed: lat.length, notLanded: missing, p50s: quantile(lat, 0.5) / 1000, p99s: quantile(lat, 0.99) / 1000, maxS: (lat.at(-1) ?? Number.NaN) / 1000, status429: fc.rateLimited()[id] ?? 0, requests: fc.requests?.()[id] };
    }
    return { vendor: fc.vendor, everyS: EVERY_MS / 1000, spreadS: SPREAD_MS / 1000, sources: out };
  } finally {
    for (const t of timers) clearInterval(t);
    await app.close();
    await started.stop();
    await bench.drop();
    await deleteRedisPrefix(prefix);
  }
}

const results = [];
for (const name of CASES) {
  const make = ALL_CASES[name];
  if (!make) throw new Error(`unknown case "${name}" (known: ${Object.keys(ALL_CASES).join(', ')})`);
  const r = await runCase(make());
  console.log(JSON.stringify(r));
  results.push(r);
}
console.log(JSON.stringify({ freshness: results }, null, 2));
