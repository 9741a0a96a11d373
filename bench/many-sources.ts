/**
 * `npm run bench:many`: what many configured sources cost (never part of the test suite). N small
 * tenants (one org, ~60 rows each) on one simulator, one and three worker processes: Redis
 * connections, RSS and CPU of an idle worker, worker start time, one scheduled run of every
 * source (total time, p50/p99 run duration), and the fairness workload: one huge source beside
 * 100 small ones. Run it alone: it loads the machine.
 *
 * Environment (defaults in brackets):
 *   BENCH_SOURCES [1000,10000]   source counts measured idle (the scheduled run is timed for the first)
 *   BENCH_PROCESSES [1,3]        worker process counts
 *   BENCH_IDLE_MS [20000]        how long idle CPU is measured, after 5 s to settle
 *   BENCH_FAIRNESS_DEVICES [1000000]  devices of the huge source; 0 skips the fairness workload
 *   BENCH_STORED_ABOVE [1000]    more sources than this are stored in Postgres (`fleetsync sources import`), fewer in the config file
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openApp } from '../src/app.js';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { resolveSchedules, Scheduler } from '../src/queue/schedules.js';
import { storeSources } from '../src/source-store.js';
import { VENDORS } from '../jobs/index.js';
import { API_KEY, automoxSource, ROOT, buildWorker, deleteRedisPrefix, dropDatabase, freshDb, newPrefix, processCpuMs, REDIS_URL, sleep, startSim, startWorker, UNLIMITED, writeConfigFile, type WorkerHandle } from './lib.js';

const list = (v: string | undefined, d: number[]) => (v ? v.split(',').map(Number) : d);
const SOURCES = list(process.env.BENCH_SOURCES, [1000, 10_000]);
const PROCESSES = list(process.env.BENCH_PROCESSES, [1, 3]);
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 20_000);
const FAIRNESS_DEVICES = Number(process.env.BENCH_FAIRNESS_DEVICES ?? 1_000_000);
const STORED_ABOVE = Number(process.env.BENCH_STORED_ABOVE ?? 1000);

/** TCP connections of a process to Redis (port 6379): its socket inodes matched in /proc/net/tcp{,6}. */
function redisConnections(pid: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  let n = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && f[2]!.endsWith(':18EB') && f[3] === '01' && inodes.has(f[9]!)) n++;
    }
  }
  return n;
}

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

const tenants = (n: number, origin: string) => Array.from({ length: n }, (_, i) => ({ ...automoxSource(`t${i}`, origin, { windows: UNLIMITED, concurrency: 2 }), tags: ['tenant'] }));

interface IdleFigures {
  sources: number;
  processes: number;
  startS: number;
  redisConnections: number;
  rssMb: number;
  cpuPct: number;
}

/** Starts `processes` workers over `n` sources and measures them idle. Leaves them running for the caller. */
async function idle(n: number, processes: number, file: string, url: string, prefix: string): Promise<{ figures: IdleFigures; workers: WorkerHandle[] }> {
  const t0 = Date.now();
  const workers = Array.from({ length: processes }, () => startWorker(file, url, prefix));
  await Promise.all(workers.map((w) => w.ready));
  const startS = (Date.now() - t0) / 1000;
  await sleep(5_000);
  const pid = workers[0]!.child.pid!;
  const cpu0 = processCpuMs(pid) ?? 0;
  await sleep(IDLE_MS);
  const cpuPct = (((processCpuMs(pid) ?? 0) - cpu0) / IDLE_MS) * 100;
  return { figures: { sources: n, processes, startS, redisConnections: redisConnections(pid), rssMb: Math.round(rssMb(pid)), cpuPct: Math.round(cpuPct * 100) / 100 }, workers };
}

/** Seconds a CLI command takes (the compiled CLI, as deployed), from spawn to exit. */
async function timed(args: string[], file: string, url: string, prefix: string): Promise<number> {
  const t0 = Date.now();
  const child = spawn(process.execPath, [join(ROOT, 'dist/src/cli.js'), '--config', file, ...args], { env: { ...process.env, DATABASE_URL: url, REDIS_URL, FLEETSYNC_QUEUE_PREFIX: prefix, FLEETSYNC_LOG_LEVEL: 'warn' }, stdio: 'ignore' });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`fleetsync ${args.join(' ')} exited ${code}`);
  return (Date.now() - t0) / 1000;
}

/** One firing of a schedule over every source; resolves with the total time and run durations. */
async function scheduledRun(cfg: ReturnType<typeof parseConfig>, url: string, prefix: string): Promise<{ runs: number; succeeded: number; totalS: number; p50S: number; p99S: number }> {
  const app = await openApp({ config: cfg, env: { ...process.env, BENCH_KEY: API_KEY }, logger: createLogger({ level: 'warn' }), databaseUrl: url, redisUrl: REDIS_URL, prefix });
  const scheduler = new Scheduler({ redis: app.redis, prefix: app.prefix, engine: app.engine, sources: app.sources, schedules: resolveSchedules(cfg.schedules, app.sources), logger: app.logger, db: app.db });
  try {
    const t0 = Date.now();
    await scheduler.fire({ schedule: 'nightly', sources: [], resources: [], mode: 'full' }, 'bench');
    const n = app.sources.size;
    for (;;) {
      const r = await sql<{ done: string }>`select count(*) as done from sync_runs where trigger = 'schedule:nightly' and status <> 'running'`.execute(app.db);
      if (Number(r.rows[0]!.done) >= n) break;
      await sleep(250);
    }
    const totalS = (Date.now() - t0) / 1000;
    const d = await sql<{ s: number; status: string }>`select extract(epoch from finished_at - started_at)::float8 as s, status from sync_runs where trigger = 'schedule:nightly' order by 1`.execute(app.db);
    const at = (q: number) => d.rows[Math.min(d.rows.length - 1, Math.floor(q * d.rows.length))]!.s;
    return { runs: d.rows.length, succeeded: d.rows.filter((r) => r.status === 'succeeded').length, totalS, p50S: at(0.5), p99S: at(0.99) };
  } finally {
    await scheduler.close();
    await app.close();
  }
}

async function main(): Promise<void> {
  await buildWorker();
  const sim = await startSim({ generated: { seed: 3, orgs: 1, devicesPerOrg: 59 } });
  try {
    for (const n of SOURCES) {
      for (const processes of PROCESSES) {
        const db = await freshDb(`fleetsync_bench_many`);
        const prefix = newPrefix();
        // Up to STORED_ABOVE sources in the config file; more are stored in Postgres, as an MSP would keep them.
        const stored = n > STORED_ABOVE;
        if (stored) await storeSources(db.db, tenants(n, sim.origin), { vendors: VENDORS, yamlIds: new Set() });
        const raw = { sources: stored ? [] : tenants(n, sim.origin), schedules: [{ name: 'nightly', cron: '0 2 * * *', select: { tags: ['tenant'] } }] };
        const file = await writeConfigFile(raw);
        const { figures, workers } = await idle(n, processes, file, db.url, prefix);
        console.log(JSON.stringify({ workload: 'idle', ...figures, keptIn: stored ? 'postgres' : 'config file', statusS: await timed(['status'], file, db.url, prefix), statusOneS: await timed(['status', '--source', 't0'], file, db.url, prefix) }));
        if (n === SOURCES[0]) console.log(JSON.stringify({ workload: 'scheduled-run', sources: n, processes, ...(await scheduledRun(parseConfig(raw, { BENCH_KEY: API_KEY }), db.url, prefix)) }));
        for (const w of workers) await w.stop();
        await db.db.destroy();
        await dropDatabase('fleetsync_bench_many');
        await deleteRedisPrefix(prefix);
      }
    }
  } finally {
    await sim.stop();
  }
  if (FAIRNESS_DEVICES > 0) await (await import('./many-sources-fairness.js')).runFairness(FAIRNESS_DEVICES);
}

await main();
