/** The `loader` workload: fleetsync against a hand-tuned loader, per shape, on the same simulator. */
import { sql } from 'kysely';
import { runLoader } from './loader.js';
import { API_KEY, automoxSource, deleteRedisPrefix, freshDb, newPrefix, postgresPids, startCpuMeter, startSim, type SimHandle } from './lib.js';
import { SETTINGS, log, type Figures } from './settings.js';
import { cpuText, detailedCount, deviceCount, devicesLane, median, perThousand, sync } from './sync-run.js';

type CpuPerK = Record<string, number>;

/** Each shape (BENCH_LOADER_SHAPES organizations over BENCH_LOADER_DEVICES devices): both sides, BENCH_LOADER_REPEATS times. */
export async function loaderWorkload(figures: Figures): Promise<void> {
  const shapes: Array<Record<string, unknown>> = [];
  for (const orgs of SETTINGS.loaderShapes) shapes.push(await loaderShape(orgs));
  figures.loader = shapes;
}

async function loaderShape(orgs: number): Promise<Record<string, unknown>> {
  const perShapeOrg = Math.ceil(SETTINGS.loaderDevices / orgs);
  const devices = perShapeOrg * orgs;
  const sim = await startSim({ generated: { seed: SETTINGS.seed, orgs, devicesPerOrg: perShapeOrg } });
  const fs: number[] = [];
  const rs: number[] = [];
  const ld: number[] = [];
  const rss: number[] = [];
  // CPU ms per 1,000 rows of each run, by process group: where the two sides' costs differ.
  const cpu: Array<Record<string, CpuPerK>> = [];
  try {
    for (let rep = 0; rep < SETTINGS.loaderRepeats; rep++) {
      log(`loader shape ${orgs} org(s) x ${perShapeOrg}: fleetsync (run ${rep + 1})`);
      const ours = await fleetsyncSide(sim, orgs, devices);
      fs.push(ours.first);
      rs.push(ours.again);
      rss.push(ours.peakRssMb);
      // The loader must load the warehouse fleetsync loads: the same columns filled.
      const theirs = await loaderSide(sim, orgs, devices, ours.detailed);
      ld.push(theirs.rowsPerSec);
      cpu.push({ fleetsync: ours.cpu, resync: ours.resyncCpu, loader: theirs.cpu });
    }
  } finally {
    await sim.stop();
  }
  return { orgs, devices, fleetsync: fs, resync: rs, loader: ld, peakRssMb: rss, cpuMsPerThousandRows: cpu, fleetsyncMedian: median(fs), resyncMedian: median(rs), loaderMedian: median(ld) };
}

/** fleetsync's first sync and its unchanged resync, in a fresh database. */
async function fleetsyncSide(sim: SimHandle, orgs: number, devices: number) {
  const bench = await freshDb(SETTINGS.dbName);
  const prefix = newPrefix();
  try {
    const cfg = { sources: [automoxSource('bench-a', sim.origin, devicesLane())] };
    const first = await sync(cfg, { bench, prefix, simPid: sim.pid });
    const landed = await deviceCount(bench);
    if (landed !== devices) throw new Error(`loader shape ${orgs}: ${landed} devices landed, expected ${devices}`);
    const detailed = await detailedCount(bench);
    await sql`VACUUM (ANALYZE) devices`.execute(bench.db);
    const again = await sync(cfg, { bench, prefix, simPid: sim.pid });
    const cpu = perThousand(first.cpuMs!, first.rows);
    const resyncCpu = perThousand(again.cpuMs!, again.rows);
    log(`  fleetsync ${first.rowsPerSec.toFixed(0)} rows/s, resync ${again.rowsPerSec.toFixed(0)} rows/s`);
    log(`  CPU ms per 1,000 rows: first sync ${cpuText(cpu)}; resync ${cpuText(resyncCpu)}`);
    return { first: first.rowsPerSec, again: again.rowsPerSec, peakRssMb: first.peakRssMb[0]!, detailed, cpu, resyncCpu };
  } finally {
    await bench.drop();
    await deleteRedisPrefix(prefix);
  }
}

/** The hand-tuned loader in this process, in a fresh database; it must fill model and serial for `detailed` devices as fleetsync did. */
async function loaderSide(sim: SimHandle, orgs: number, devices: number, detailed: number): Promise<{ rowsPerSec: number; cpu: CpuPerK }> {
  const bench = await freshDb(SETTINGS.dbName);
  try {
    const orgIds = Array.from({ length: orgs }, (_, i) => 10_001 + i);
    // The loader runs in this process: its CPU is this process's over the run.
    const own0 = process.cpuUsage();
    const meter = await startCpuMeter({ postgres: () => postgresPids(bench.db), simulator: () => [sim.pid] });
    const r = await runLoader({ databaseUrl: bench.url, origin: sim.origin, apiKey: API_KEY, sourceId: 'bench-a', orgIds });
    const measured = await meter.stop();
    const used = Object.keys(measured).length === 0 ? {} : { ...measured, loader: (({ user, system }) => (user + system) / 1000)(process.cpuUsage(own0)) };
    if (r.rows !== devices) throw new Error(`loader: ${r.rows} rows, expected ${devices}`);
    const loaderDetailed = await detailedCount(bench);
    if (loaderDetailed !== detailed) throw new Error(`loader: ${loaderDetailed} devices with a model and serial, fleetsync ${detailed}: the two did not load the same columns`);
    const rowsPerSec = r.rows / (r.ms / 1000);
    const cpu = perThousand(used, r.rows);
    log(`  loader ${rowsPerSec.toFixed(0)} rows/s; CPU ms per 1,000 rows ${cpuText(cpu)}`);
    return { rowsPerSec, cpu };
  } finally {
    await bench.drop();
  }
}
