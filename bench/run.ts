/**
 * `npm run bench`: the performance workloads (docs/performance.md). Prints a table with each
 * target's pass/fail and writes bench/results.json. Never part of the test suite.
 *
 * Environment (defaults in brackets):
 *   BENCH_DEVICES [1000000]        devices of the throughput/resync/ceiling workloads (20 orgs)
 *   BENCH_BASELINE_DEVICES [50000] rows the baseline loads (its rate is what is compared)
 *   BENCH_SCALE_DEVICES [200000]   devices per process-count step of `scale` (over 4 sources)
 *   BENCH_RATE_DEVICES [12000]     devices of `rate-limited` (page size 10: ~1,200 requests)
 *   BENCH_LANE_CONCURRENCY [4]     page jobs in flight per worker process on the devices lane
 *   BENCH_LOADER_DEVICES [200000]  devices of each `loader` shape (1 org, then 20 orgs)
 *   BENCH_LOADER_REPEATS [1]       runs of each side per shape (medians are compared)
 *   BENCH_LOADER_SHAPES [1,20]     org counts of the `loader` workload
 *   BENCH_PAGE_COST_PAGES [60]     pages of 500 that `page-cost` measures
 *   BENCH_ONLY                     comma list of workloads (throughput,loader,page-cost,ceiling,baseline,memory,scale,rate-limited,reporting);
 *                                  `reporting` runs only when named (it generates its own warehouse)
 *   BENCH_REPORTING_DEVICES [1000000] devices of `reporting` (5 packages each), generated with SQL
 *   BENCH_REPORTING_RESYNC [1]     0: skip the resyncs of `reporting` (history growth)
 *   BENCH_REPORTING_KEEP=1         keep the `reporting` database (fleetsync_bench_reporting) afterwards
 *   BENCH_CPU_PROF=dir             worker processes write V8 CPU profiles there
 *   BENCH_NO_RESYNC=1              throughput without the resync that follows it
 *   BENCH_WORKER=tsx               run the worker from source under tsx instead of the build
 *   BENCH_FETCH_AHEAD=0            workers do not fetch a walk's next page ahead (worker.fetchAhead)
 *   BENCH_LOG_LEVEL [warn]         worker log lines shown (on stderr); BENCH_WORKER_STDOUT=1 shows their stdout
 */
import { cpus } from 'node:os';
import { buildWorker, startSim, type SimHandle } from './lib.js';
import { loaderWorkload } from './loader-shapes.js';
import { SETTINGS, want, type Figures } from './settings.js';
import { judge, report, type Target } from './targets.js';
import { baseline, ceiling, memory, pageCost, rateLimited, reporting, scale, throughput } from './workloads.js';

/** The simulator of BENCH_DEVICES devices that throughput and baseline share, started when first asked for. */
function sharedSim(start: () => Promise<SimHandle>) {
  let handle: Promise<SimHandle> | null = null;
  return {
    get: () => (handle ??= start()),
    stop: async () => {
      if (handle) await (await handle).stop();
    },
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const { devices, orgs, seed, only } = SETTINGS;
  const perOrg = Math.ceil(devices / orgs);
  const figures: Figures = {};
  const targets: Target[] = [];
  figures.config = { devices: perOrg * orgs, orgs, pageSize: 500, seed, laneConcurrency: SETTINGS.laneConcurrency, baselineDevices: SETTINGS.baselineDevices, scaleDevices: SETTINGS.scaleDevices, rateDevices: SETTINGS.rateDevices, cpus: cpus().length, node: process.version };
  // Only the sync workloads need the built worker.
  if (only === null || [...only].some((w) => w !== 'reporting')) await buildWorker();
  const sim = sharedSim(() => startSim({ generated: { seed, orgs, devicesPerOrg: perOrg } }));
  if (want('throughput')) await throughput(figures, await sim.get(), perOrg * orgs);
  if (want('loader')) await loaderWorkload(figures);
  if (want('page-cost')) await pageCost(figures);
  if (want('ceiling')) await ceiling(figures, perOrg);
  if (want('baseline')) await baseline(figures, await sim.get());
  await sim.stop();
  if (want('memory')) await memory(figures);
  if (want('scale')) await scale(figures);
  if (want('rate-limited')) await rateLimited(figures);
  if (only?.has('reporting')) await reporting(figures, (t) => targets.push(t));
  judge(figures, targets);
  figures.elapsedSec = Math.round((Date.now() - started) / 1000);
  await report(figures, targets);
}

await main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
