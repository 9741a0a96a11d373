/** Plumbing shared by the bench workloads: simulator and worker child processes, databases, WAL, RSS. */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { stringify } from 'yaml';
import type { GeneratedAutomoxOptions } from '../src/simulators/automox.js';
import type { RateWindow } from '../src/simulators/http-sim-windows.js';
import { createDb, ensureDatabase, migrateToLatest, type Database } from '../src/warehouse/db.js';

export const PG_ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const API_KEY = 'bench-key';
export const ROOT = new URL('..', import.meta.url).pathname;

export interface SimStats {
  requests: number;
  rateLimited: number;
  status429: number;
  serverTimes: number[];
}

export interface SimHandle {
  origin: string;
  pid: number;
  stats(): Promise<SimStats>;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the Automox simulator (generated mode) in a child process. */
export async function startSim(spec: { generated: GeneratedAutomoxOptions; rateLimit?: RateWindow[]; rateLimitPath?: string }): Promise<SimHandle> {
  const child = fork(join(ROOT, 'bench/sim-server.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, BENCH_SIM: JSON.stringify({ apiKey: API_KEY, ...spec }) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ask = <T>(cmd: string, key: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const on = (m: Record<string, unknown>) => {
        if (key in m) {
          child.off('message', on);
          resolve(m[key] as T);
        }
      };
      child.on('message', on);
      child.once('exit', () => reject(new Error('simulator exited')));
      if (cmd) child.send({ cmd });
    });
  const origin = await ask<string>('', 'origin');
  return {
    origin,
    pid: child.pid!,
    stats: () => ask<SimStats>('stats', 'stats'),
    reset: async () => void (await ask<boolean>('reset', 'reset')),
    stop: async () => {
      if (child.exitCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.send({ cmd: 'stop' });
      await done;
    },
  };
}

export interface BenchDb {
  url: string;
  db: Kysely<Database>;
  drop(): Promise<void>;
}

/** Drops and recreates database `name`, migrated to the latest schema. */
export async function freshDb(name: string): Promise<BenchDb> {
  await dropDatabase(name);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  await ensureDatabase(url.toString());
  const db = createDb(url.toString(), { max: 4, applicationName: 'fleetsync-bench' });
  await migrateToLatest(db);
  return {
    url: url.toString(),
    db,
    drop: async () => {
      await db.destroy();
      await dropDatabase(name);
    },
  };
}

export async function dropDatabase(name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** Current WAL insert position, after a CHECKPOINT so each measured phase starts alike (full-page images). */
export async function walMark(db: Kysely<Database>, checkpoint = true): Promise<string> {
  if (checkpoint) await sql`CHECKPOINT`.execute(db);
  return (await sql<{ lsn: string }>`select pg_current_wal_lsn()::text as lsn`.execute(db)).rows[0]!.lsn;
}

export async function walBytes(db: Kysely<Database>, from: string): Promise<number> {
  const r = await sql<{ n: string }>`select pg_wal_lsn_diff(pg_current_wal_lsn(), ${from}::pg_lsn)::bigint::text as n`.execute(db);
  return Number(r.rows[0]!.n);
}

/** Deletes every Redis key under a BullMQ prefix. */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export function newPrefix(): string {
  return `fsbench-${randomBytes(4).toString('hex')}`;
}

/** Writes a bench config; BENCH_FETCH_AHEAD=0 turns the workers' fetching ahead off (to measure what it costs and brings). */
export async function writeConfigFile(config: unknown): Promise<string> {
  if (process.env.BENCH_FETCH_AHEAD === '0' && config !== null && typeof config === 'object') {
    const c = config as { worker?: Record<string, unknown> };
    c.worker = { ...c.worker, fetchAhead: false };
  }
  const dir = await mkdtemp(join(tmpdir(), 'fleetsync-bench-'));
  const file = join(dir, 'fleetsync.yaml');
  await writeFile(file, stringify(config, { aliasDuplicateObjects: false }));
  return file;
}

function procStatusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * CPU time (user and system, all threads) a process has used so far, in ms; null when it is gone
 * or there is no /proc (the bench reads the processes of its own machine).
 */
export function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime (fields 14 and 15 of proc(5)), in USER_HZ ticks: 100 a second on Linux.
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return null;
  }
}

/** The CPU of named groups of processes over one phase of a workload. */
export interface CpuMeter {
  /** Stops sampling; returns each group's CPU in ms over the phase. */
  stop(): Promise<Record<string, number>>;
}

/**
 * Starts measuring the CPU of groups of processes: each group's `pids()` is asked every 250 ms
 * (Postgres backends come and go with the pools), and a process counts from its CPU when the
 * meter started, or from zero when it appeared later. A process that exits between two samples
 * loses at most its last 250 ms. Without /proc, stop() returns no groups.
 */
export async function startCpuMeter(groups: Record<string, () => Promise<number[]> | number[]>): Promise<CpuMeter> {
  // Without /proc (not Linux) there is nothing to read: no figures rather than zeros.
  if (processCpuMs(process.pid) === null) return { stop: async () => ({}) };
  const base = new Map<string, Map<number, number>>();
  const last = new Map<string, Map<number, number>>();
  const sample = async (first: boolean) => {
    for (const [name, pids] of Object.entries(groups)) {
      const b = base.get(name) ?? new Map<number, number>();
      const l = last.get(name) ?? new Map<number, number>();
      base.set(name, b);
      last.set(name, l);
      for (const pid of await pids()) {
        const ms = processCpuMs(pid);
        if (ms === null) continue;
        if (!b.has(pid)) b.set(pid, first ? ms : 0);
        l.set(pid, ms);
      }
    }
  };
  await sample(true);
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => void (running = running.then(() => sample(false)).catch(() => undefined)), 250);
  // A run that fails before stop() must not be kept alive by its meter.
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
      await sample(false);
      const out: Record<string, number> = {};
      for (const [name, l] of last) out[name] = [...l].reduce((sum, [pid, ms]) => sum + ms - (base.get(name)!.get(pid) ?? 0), 0);
      return out;
    },
  };
}

/** Pids of the Postgres backends connected to `db`'s database, and of the server's WAL writer, checkpointer and background writer. */
export async function postgresPids(db: Kysely<Database>): Promise<number[]> {
  const res = await sql<{ pid: number }>`
    SELECT pid FROM pg_stat_activity
    WHERE datname = current_database() OR backend_type IN ('walwriter', 'checkpointer', 'background writer')`.execute(db);
  return res.rows.map((r) => r.pid);
}

export interface WorkerHandle {
  child: ChildProcess;
  /** Peak RSS in MB so far (VmHWM of the worker process). */
  peakRssMb(): number;
  /** SIGTERM, wait for exit; returns the peak RSS in MB read just before. */
  stop(): Promise<number>;
  /**
   * Settles once the worker logged that it started (its queues are open): a run started before
   * would count the process's boot (~0.6 s of loading modules) as sync time, which the loader,
   * measured from its first request, never pays. Rejects when the worker exits first.
   */
  ready: Promise<void>;
}

/** Levels at which the worker logs its start (`worker started` is an info line). */
const STARTED_LEVELS = ['trace', 'debug', 'info'];
/** pino's level numbers, as the worker's JSON log lines carry them. */
const LEVEL_NUMBERS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/** Compiles the engine (`npm run build`) so the measured worker runs as deployed: `node dist/src/cli.js`. */
export async function buildWorker(): Promise<void> {
  if (process.env.BENCH_WORKER === 'tsx') return;
  const child = spawn(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`build failed (exit ${code})`);
}

/**
 * Starts `fleetsync worker` as a child process, the process whose RSS is measured: the compiled
 * CLI (see buildWorker), or src/cli.ts under tsx with BENCH_WORKER=tsx (tsx's loader thread
 * adds ~50 MB). BENCH_CPU_PROF=dir adds --cpu-prof into that directory; BENCH_NODE_ARGS adds
 * node flags (e.g. --trace-gc with BENCH_WORKER_STDOUT=1).
 */
export function startWorker(configFile: string, databaseUrl: string, prefix: string): WorkerHandle {
  const prof = process.env.BENCH_CPU_PROF;
  const asked = process.env.BENCH_LOG_LEVEL;
  const level = asked !== undefined && STARTED_LEVELS.includes(asked) ? asked : 'info';
  const shown = LEVEL_NUMBERS[asked ?? 'warn'] ?? LEVEL_NUMBERS.warn!;
  const entry = process.env.BENCH_WORKER === 'tsx' ? ['--import', 'tsx', join(ROOT, 'src/cli.ts')] : [join(ROOT, 'dist/src/cli.js')];
  const child = spawn(
    process.execPath,
    [...(prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : []), ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), ...entry, '--config', configFile, 'worker'],
    {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL, FLEETSYNC_QUEUE_PREFIX: prefix, FLEETSYNC_LOG_LEVEL: level, FLEETSYNC_LOG_FORMAT: 'json', BENCH_KEY: API_KEY },
      stdio: ['ignore', process.env.BENCH_WORKER_STDOUT ? 'inherit' : 'ignore', 'pipe'],
    },
  );
  const ready = new Promise<void>((resolve, reject) => {
    const exited = (code: number | null) => reject(new Error(`the bench worker exited (code ${code}) before it started`));
    child.once('exit', exited);
    // The log (stderr) passes through from the level asked for (warn unless BENCH_LOG_LEVEL).
    createInterface({ input: child.stderr! }).on('line', (line) => {
      const at = /"level":(\d+)/.exec(line);
      if (at === null || Number(at[1]) >= shown) process.stderr.write(`${line}\n`);
      if (line.includes('"msg":"worker started"')) {
        child.off('exit', exited);
        resolve();
      }
    });
  });
  // A worker that dies before the bench waits for it must not be an unhandled rejection.
  ready.catch(() => undefined);
  let peakKb = 0;
  const sample = () => {
    const hwm = procStatusKb(child.pid!, 'VmHWM') ?? procStatusKb(child.pid!, 'VmRSS');
    if (hwm !== null) peakKb = Math.max(peakKb, hwm);
  };
  const timer = setInterval(sample, 250);
  return {
    child,
    ready,
    peakRssMb: () => (sample(), peakKb / 1024),
    stop: async () => {
      sample();
      clearInterval(timer);
      if (child.exitCode === null && child.signalCode === null) {
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await done;
      }
      return peakKb / 1024;
    },
  };
}

/** The bench source config: Automox devices (with their parent orgs), page size 500. */
export function automoxSource(id: string, origin: string, servers: { windows: Array<{ max: number; durationMs: number }>; concurrency: number }, pageSize = 500) {
  return {
    id,
    vendor: 'automox',
    baseUrl: `${origin}/api`,
    credentials: { apiKey: '${BENCH_KEY}' },
    resources: ['devices'],
    pageSize,
    rateLimits: { api: { windows: [{ max: 100, durationMs: 1000 }], concurrency: 4 }, servers },
  };
}

export const UNLIMITED = [{ max: 1_000_000, durationMs: 1000 }];

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
