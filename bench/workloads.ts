/** The bench's sync workloads but `loader` (bench/loader-shapes.ts): each writes its figures. */
import { writeFile } from 'node:fs/promises';
import { sql } from 'kysely';
import { runBaseline } from './baseline.js';
import { runCeiling } from './ceiling.js';
import { automoxSource, deleteRedisPrefix, freshDb, newPrefix, processCpuMs, startSim, walBytes, walMark, API_KEY, type BenchDb, type SimHandle } from './lib.js';
import { runPageCost } from './page-cost.js';
import { runReportingBench } from './reporting.js';
import { SETTINGS, log, type Figures } from './settings.js';
import { deviceCount, devicesLane, sync } from './sync-run.js';
import type { Target } from './targets.js';

const { orgs: ORGS, seed: SEED, dbName: DB_NAME } = SETTINGS;

/** A fresh bench database and queue prefix around `fn`, both removed after. */
async function inFreshDb<T>(fn: (bench: BenchDb, prefix: string) => Promise<T>): Promise<T> {
  const bench = await freshDb(DB_NAME);
  const prefix = newPrefix();
  try {
    return await fn(bench, prefix);
  } finally {
    await bench.drop();
    await deleteRedisPrefix(prefix);
  }
}

/** `throughput`, then its unchanged `resync` (unless BENCH_NO_RESYNC), on the run's simulator. */
export async function throughput(figures: Figures, sim: SimHandle, devices: number): Promise<void> {
  await inFreshDb(async (bench, prefix) => {
    const cfg = { sources: [automoxSource('bench-a', sim.origin, devicesLane())] };
    log(`throughput: ${devices} devices`);
    const first = await sync(cfg, { bench, prefix });
    const landed = await deviceCount(bench);
    if (landed !== devices) throw new Error(`throughput: ${landed} devices landed, expected ${devices}`);
    figures.throughput = first;
    log(`throughput: ${first.rowsPerSec.toFixed(0)} rows/s, peak RSS ${first.peakRssMb[0]!.toFixed(1)} MB, WAL ${(first.walBytes / 1e6).toFixed(0)} MB`);
    if (process.env.BENCH_NO_RESYNC) return;
    // Between two scheduled syncs autovacuum would have processed the first one's inserts (it is
    // off on this server): VACUUM here so its WAL is not counted as the resync's.
    const v0 = await walMark(bench.db, false);
    await sql`VACUUM (ANALYZE) devices`.execute(bench.db);
    figures.vacuumAfterFirstSyncWalBytes = await walBytes(bench.db, v0);
    log('resync: same data again');
    const again = await sync(cfg, { bench, prefix });
    const walk = await sql<{ ins: string; upd: string }>`select sum(inserted)::text as ins, sum(updated)::text as upd from sync_walks where run_id = ${again.runs[0]!}::bigint and resource = 'devices'`.execute(bench.db);
    figures.resync = { ...again, walShare: again.walBytes / first.walBytes, inserted: Number(walk.rows[0]!.ins), updated: Number(walk.rows[0]!.upd) };
    log(`resync: ${again.rowsPerSec.toFixed(0)} rows/s, WAL ${(again.walBytes / 1e6).toFixed(1)} MB (${((100 * again.walBytes) / first.walBytes).toFixed(1)}%)`);
  });
}

/** `page-cost`: CPU per page of 500, step by step (Linux only: it reads /proc). */
export async function pageCost(figures: Figures): Promise<void> {
  const pages = Number(process.env.BENCH_PAGE_COST_PAGES ?? 60);
  if (processCpuMs(process.pid) === null) {
    log("page cost: skipped, it reads the Postgres backend's CPU from /proc (Linux)");
    return;
  }
  log(`page cost: ${pages} pages of 500 devices, CPU per page`);
  const cost = await runPageCost(pages, DB_NAME);
  figures.pageCost = cost;
  log(`  worker: parse ${cost.worker.parse} ms, normalize ${cost.worker.normalize} ms, payload and hashes ${cost.worker.payload} ms`);
  log(`  Postgres backend: first-sync statement ${cost.postgres.firstSync} ms, resync hash lookup ${cost.postgres.resyncLookup} ms, loader statement ${cost.postgres.loader} ms`);
}

/** `ceiling`: the same devices written by unnest upserts, no HTTP, no queue. */
export async function ceiling(figures: Figures, perOrg: number): Promise<void> {
  await inFreshDb(async (bench) => {
    log(`ceiling: ${perOrg * ORGS} rows via unnest upsert`);
    const wal0 = await walMark(bench.db);
    const r = await runCeiling({ databaseUrl: bench.url, sourceId: 'bench-a', generated: { seed: SEED, orgs: ORGS, devicesPerOrg: perOrg } });
    const wal = await walBytes(bench.db, wal0);
    figures.ceiling = { ...r, rowsPerSec: r.rows / (r.ms / 1000), walBytes: wal };
    log(`ceiling: ${(r.rows / (r.ms / 1000)).toFixed(0)} rows/s`);
  });
}

/** `baseline`: a naive per-row loop over the first BENCH_BASELINE_DEVICES devices. */
export async function baseline(figures: Figures, sim: SimHandle): Promise<void> {
  await inFreshDb(async (bench) => {
    log(`baseline: ${SETTINGS.baselineDevices} rows, per-row upserts`);
    const orgIds = Array.from({ length: ORGS }, (_, i) => 10_001 + i);
    const r = await runBaseline({ db: bench.db, origin: sim.origin, apiKey: API_KEY, sourceId: 'bench-a', orgIds, maxRows: SETTINGS.baselineDevices });
    figures.baseline = { ...r, rowsPerSec: r.rows / (r.ms / 1000) };
    log(`baseline: ${(r.rows / (r.ms / 1000)).toFixed(0)} rows/s`);
  });
}

/** `memory`: peak RSS of a 100k sync (the big figure is throughput's). */
export async function memory(figures: Figures): Promise<void> {
  const small = await startSim({ generated: { seed: SEED, orgs: ORGS, devicesPerOrg: 5_000 } });
  try {
    await inFreshDb(async (bench, prefix) => {
      log('memory: 100,000 devices');
      const r = await sync({ sources: [automoxSource('bench-a', small.origin, devicesLane())] }, { bench, prefix });
      figures.memory100k = { rows: r.rows, rowsPerSec: r.rowsPerSec, peakRssMb: r.peakRssMb[0] };
      log(`memory: peak RSS ${r.peakRssMb[0]!.toFixed(1)} MB at 100k`);
    });
  } finally {
    await small.stop();
  }
}

/** `scale`: four sources synced by 1, 2 and 4 worker processes. */
export async function scale(figures: Figures): Promise<void> {
  const perSourceOrg = Math.ceil(SETTINGS.scaleDevices / 4 / ORGS);
  const scaleSim = await startSim({ generated: { seed: SEED, orgs: ORGS, devicesPerOrg: perSourceOrg } });
  const rows: Array<{ processes: number; rows: number; rowsPerSec: number; peakRssMb: number[] }> = [];
  try {
    for (const processes of [1, 2, 4]) {
      await inFreshDb(async (bench, prefix) => {
        log(`scale: ${processes} worker process(es), 4 sources, ${perSourceOrg * ORGS * 4} devices`);
        const cfg = { sources: [1, 2, 3, 4].map((i) => automoxSource(`bench-s${i}`, scaleSim.origin, devicesLane())) };
        const r = await sync(cfg, { bench, prefix, processes });
        rows.push({ processes, rows: r.rows, rowsPerSec: r.rowsPerSec, peakRssMb: r.peakRssMb });
        log(`scale: ${processes} -> ${r.rowsPerSec.toFixed(0)} rows/s`);
      });
    }
  } finally {
    await scaleSim.stop();
  }
  figures.scale = rows;
}

/** Earliest schedule of `n` requests under sliding windows: the duration an ideal client needs. */
export function idealDurationMs(n: number, windows: Array<{ max: number; durationMs: number }>): number {
  const t: number[] = [];
  for (let k = 0; k < n; k++) {
    let at = k === 0 ? 0 : t[k - 1]!;
    for (const w of windows) if (k >= w.max) at = Math.max(at, t[k - w.max]! + w.durationMs);
    t.push(at);
  }
  return t[n - 1]! - t[0]!;
}

/** `rate-limited`: the vendor's two windows at the simulator and in the config; the achieved share of the allowed rate. */
export async function rateLimited(figures: Figures): Promise<void> {
  const env = process.env;
  const windows = [
    { max: 20, durationMs: 1000 },
    { max: Number(env.BENCH_RATE_SECOND_WINDOW ?? 1000), durationMs: 60_000 },
  ];
  const orgs = Number(env.BENCH_RATE_ORGS ?? 4);
  const rateSim = await startSim({
    generated: { seed: SEED, orgs, devicesPerOrg: Math.ceil(SETTINGS.rateDevices / orgs) },
    // The 1 s window is the one reported in x-ratelimit-* (reset as an epoch second): keyed on the
    // clock like a real vendor's. BENCH_RATE_UNALIGNED=1 starts it at the first request instead,
    // so the announced reset is up to 1 s later than the real one (see docs/performance.md).
    rateLimit: windows.map((w, i) => ({ max: w.max, windowMs: w.durationMs, aligned: i === 0 && !env.BENCH_RATE_UNALIGNED })),
    rateLimitPath: '^/api/servers',
  });
  try {
    await inFreshDb(async (bench, prefix) => {
      log(`rate-limited: 20 req/s + ${windows[1]!.max}/min at the simulator and in the config`);
      await sync({ sources: [automoxSource('bench-r', rateSim.origin, { windows, concurrency: Number(env.BENCH_RATE_CONCURRENCY ?? 4) }, 10)] }, { bench, prefix });
      const st = await rateSim.stats();
      const times = [...st.serverTimes].sort((a, b) => a - b);
      const n = times.length;
      const actualMs = times[n - 1]! - times[0]!;
      const idealMs = idealDurationMs(n, windows);
      figures.rateLimited = { requests: n, status429: st.status429, achievedReqPerSec: (n - 1) / (actualMs / 1000), allowedReqPerSec: (n - 1) / (idealMs / 1000), share: idealMs / actualMs, windows };
      log(`rate-limited: ${n} requests in ${(actualMs / 1000).toFixed(1)} s (ideal ${(idealMs / 1000).toFixed(1)} s), ${st.status429} x 429`);
    });
  } finally {
    await rateSim.stop();
  }
}

/** `reporting` (only when named): the reporting views over a generated warehouse; their plans go to bench/reporting-plans.txt. */
export async function reporting(figures: Figures, target: (t: Target) => void): Promise<void> {
  const env = process.env;
  const r = await runReportingBench({ devices: Number(env.BENCH_REPORTING_DEVICES ?? 1_000_000), resync: env.BENCH_REPORTING_RESYNC !== '0', keep: env.BENCH_REPORTING_KEEP === '1', log });
  figures.reporting = { ...r, views: r.views.map(({ plan: _plan, ...v }) => v) };
  const plans = new URL('./reporting-plans.txt', import.meta.url);
  await writeFile(plans, r.views.map((v) => `-- ${v.view}: ${v.query}\n${v.plan}\n`).join('\n'));
  log(`reporting: EXPLAIN ANALYZE plans in ${plans.pathname}`);
  for (const v of r.views) target({ name: `reporting ${v.view} ms at ${r.devices} devices: ${v.query.slice(0, 60)}`, value: v.executionMs, target: '< 1000', pass: v.executionMs < 1000 });
  if (r.resync) target({ name: 'reporting: history rows of an unchanged resync', value: r.resync.unchangedHistoryRowsAdded, target: '= 0', pass: r.resync.unchangedHistoryRowsAdded === 0 });
}
