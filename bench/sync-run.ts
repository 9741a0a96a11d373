/** One fleetsync sync as the bench measures it, and the small figures around it. */
import { sql } from 'kysely';
import { openApp } from '../src/app.js';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { API_KEY, postgresPids, REDIS_URL, startCpuMeter, startWorker, UNLIMITED, walBytes, walMark, writeConfigFile, type BenchDb } from './lib.js';
import { SETTINGS } from './settings.js';

export interface SyncResult {
  rows: number;
  ms: number;
  rowsPerSec: number;
  peakRssMb: number[];
  walBytes: number;
  runs: string[];
  /** CPU ms over the runs (when sync() is given the simulator's pid): the worker processes, Postgres, the simulator. */
  cpuMs?: Record<string, number>;
}

/** Where a sync() runs: the bench database, the queue prefix, how many worker processes, the simulator's pid (for CPU). */
export interface SyncPlace {
  bench: BenchDb;
  prefix: string;
  processes?: number;
  simPid?: number;
}

/**
 * One sync of the given sources by `processes` worker processes: starts the workers, waits until
 * each has started, starts a run per source from this process, waits for all of them. Time =
 * first run start to last run end.
 */
export async function sync(cfg: { sources: Array<{ id: string }>; worker?: unknown }, place: SyncPlace): Promise<SyncResult> {
  const { bench, prefix, processes = 1, simPid } = place;
  const file = await writeConfigFile(cfg);
  const workers = Array.from({ length: processes }, () => startWorker(file, bench.url, prefix));
  const app = await openApp({ config: parseConfig(cfg, { ...process.env, BENCH_KEY: API_KEY }), env: { ...process.env, BENCH_KEY: API_KEY }, logger: createLogger({ level: 'warn' }), databaseUrl: bench.url, redisUrl: REDIS_URL, prefix });
  try {
    // Measured from a started worker: its boot is no part of a sync (the loader's is not counted either).
    await Promise.all(workers.map((w) => w.ready));
    const wal0 = await walMark(bench.db);
    const meter = simPid === undefined ? null : await startCpuMeter({ worker: () => workers.map((w) => w.child.pid!), postgres: () => postgresPids(bench.db), simulator: () => [simPid] });
    const runIds: string[] = [];
    for (const s of cfg.sources) runIds.push((await app.engine.startRun(s.id, { resources: ['devices'], trigger: 'bench' })).runId);
    for (const id of runIds) {
      const run = await app.engine.waitForRun(id, { pollMs: 250 });
      if (run.status !== 'succeeded') throw new Error(`run ${id} ${run.status}: ${run.error_message ?? ''}`);
    }
    const cpuMs = await meter?.stop();
    const wal = await walBytes(bench.db, wal0);
    const { rows, ms } = await timeOfRuns(bench, runIds);
    const peak: number[] = [];
    for (const w of workers) peak.push(await w.stop());
    return { rows, ms, rowsPerSec: rows / (ms / 1000), peakRssMb: peak, walBytes: wal, runs: runIds, ...(cpuMs ? { cpuMs } : {}) };
  } finally {
    for (const w of workers) await w.stop();
    await app.close();
  }
}

/** Devices records of the runs and their time, first start to last end, as the engine wrote them. */
async function timeOfRuns(bench: BenchDb, runIds: string[]): Promise<{ rows: number; ms: number }> {
  const t = await sql<{ ms: number; rows: string }>`
    select extract(epoch from max(r.finished_at) - min(r.started_at)) * 1000 as ms,
      (select sum(records)::text from sync_walks w where w.run_id = any(${runIds}::bigint[]) and w.resource = 'devices') as rows
    from sync_runs r where r.id = any(${runIds}::bigint[])`.execute(bench.db);
  return { rows: Number(t.rows[0]!.rows), ms: Number(t.rows[0]!.ms) };
}

/** CPU ms per 1,000 rows of each process group, rounded to 0.1 ms. */
export const perThousand = (cpuMs: Record<string, number>, rows: number): Record<string, number> =>
  Object.fromEntries(Object.entries(cpuMs).map(([k, ms]) => [k, Math.round((10_000 * ms) / rows) / 10]));

export const cpuText = (perK: Record<string, number>): string => {
  if (Object.keys(perK).length === 0) return 'not measured (no /proc)';
  const total = Object.values(perK).reduce((a, b) => a + b, 0);
  return `${Object.entries(perK).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')} (total ${total.toFixed(0)})`;
};

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The devices lane without a rate limit, `concurrency` page jobs per process. */
export function devicesLane(concurrency = SETTINGS.laneConcurrency) {
  return { windows: UNLIMITED, concurrency };
}

export async function deviceCount(bench: BenchDb): Promise<number> {
  return Number((await sql<{ n: string }>`select count(*)::text as n from devices where deleted_at is null`.execute(bench.db)).rows[0]!.n);
}

/** Devices with a model and a serial: what only the records' `detail` fills (both sides must load it). */
export async function detailedCount(bench: BenchDb): Promise<number> {
  return Number((await sql<{ n: string }>`select count(*)::text as n from devices where model is not null and serial_number is not null`.execute(bench.db)).rows[0]!.n);
}
