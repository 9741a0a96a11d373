import { sql } from 'kysely';
import { openApp, type App } from '../src/app.js';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { API_KEY, automoxSource, deleteRedisPrefix, freshDb, newPrefix, REDIS_URL, sleep, startSim, startWorker, UNLIMITED, writeConfigFile } from './lib.js';

// The fairness workload of bench/many-sources.ts: one huge source beside 100 small ones on the
// same worker process. A small run should end within a minute of its time alone, and the huge
// source keep at least 80 % of its solo rows per second.

const SMALL = 100;

interface Phase {
  bigRowsPerS: number | null;
  smallMaxS: number | null;
  smallP50S: number | null;
}

async function durations(app: App, runIds: readonly string[]): Promise<number[]> {
  if (runIds.length === 0) return [];
  const r = await sql<{ s: number }>`select extract(epoch from finished_at - started_at)::float8 as s from sync_runs where id = any(${runIds}::bigint[]) order by 1`.execute(app.db);
  return r.rows.map((x) => x.s);
}

async function phase(opts: { big: boolean; small: boolean; bigOrigin: string; smallOrigin: string; devices: number }): Promise<Phase> {
  const db = await freshDb('fleetsync_bench_fair');
  const prefix = newPrefix();
  const sources = [automoxSource('big', opts.bigOrigin, { windows: UNLIMITED, concurrency: 4 }), ...Array.from({ length: SMALL }, (_, i) => automoxSource(`s${i}`, opts.smallOrigin, { windows: UNLIMITED, concurrency: 2 }))];
  const raw = { sources };
  const worker = startWorker(await writeConfigFile(raw), db.url, prefix);
  const app = await openApp({ config: parseConfig(raw, { BENCH_KEY: API_KEY }), env: { ...process.env, BENCH_KEY: API_KEY }, logger: createLogger({ level: 'warn' }), databaseUrl: db.url, redisUrl: REDIS_URL, prefix });
  try {
    await worker.ready;
    const t0 = Date.now();
    const bigRun = opts.big ? (await app.engine.startRun('big', { trigger: 'bench' })).runId : null;
    // The small ones start once the big walk is under way, as a nightly firing would meet it.
    if (bigRun) while (Number((await sql<{ n: string }>`select coalesce(sum(pages),0) as n from sync_walks where run_id = ${bigRun}`.execute(app.db)).rows[0]!.n) < 2) await sleep(100);
    const small = opts.small ? await Promise.all(Array.from({ length: SMALL }, async (_, i) => (await app.engine.startRun(`s${i}`, { trigger: 'bench' })).runId)) : [];
    for (const id of small) await app.engine.waitForRun(id, { pollMs: 250 });
    if (bigRun) await app.engine.waitForRun(bigRun, { pollMs: 500 });
    const bigS = (Date.now() - t0) / 1000;
    const d = await durations(app, small);
    return { bigRowsPerS: bigRun ? Math.round(opts.devices / bigS) : null, smallMaxS: d.length ? d[d.length - 1]! : null, smallP50S: d.length ? d[Math.floor(d.length / 2)]! : null };
  } finally {
    await app.close();
    await worker.stop();
    await db.drop();
    await deleteRedisPrefix(prefix);
  }
}

/** Runs the huge source alone, the small ones alone, then both together; prints one line each and the verdict. */
export async function runFairness(devices: number): Promise<void> {
  const bigSim = await startSim({ generated: { seed: 11, orgs: 1, devicesPerOrg: devices } });
  const smallSim = await startSim({ generated: { seed: 12, orgs: 1, devicesPerOrg: 50 } });
  try {
    const o = { bigOrigin: bigSim.origin, smallOrigin: smallSim.origin, devices };
    const bigAlone = await phase({ ...o, big: true, small: false });
    const smallAlone = await phase({ ...o, big: false, small: true });
    const mixed = await phase({ ...o, big: true, small: true });
    const share = mixed.bigRowsPerS !== null && bigAlone.bigRowsPerS ? mixed.bigRowsPerS / bigAlone.bigRowsPerS : null;
    const lateS = mixed.smallMaxS !== null && smallAlone.smallMaxS !== null ? mixed.smallMaxS - smallAlone.smallMaxS : null;
    console.log(JSON.stringify({ workload: 'fairness', devices, small: SMALL, bigAlone, smallAlone, mixed, bigShareOfSolo: share, smallLaterThanAloneS: lateS, pass: share !== null && share >= 0.8 && lateS !== null && lateS <= 60 }));
  } finally {
    await bigSim.stop();
    await smallSim.stop();
  }
}
