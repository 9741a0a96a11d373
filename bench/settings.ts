/** The bench's settings, read once from the environment (bench/run.ts lists them). */
const env = process.env;
const only = env.BENCH_ONLY ? new Set(env.BENCH_ONLY.split(',')) : null;

export const SETTINGS = {
  devices: Number(env.BENCH_DEVICES ?? 1_000_000),
  orgs: 20,
  seed: 6,
  baselineDevices: Number(env.BENCH_BASELINE_DEVICES ?? 50_000),
  scaleDevices: Number(env.BENCH_SCALE_DEVICES ?? 200_000),
  rateDevices: Number(env.BENCH_RATE_DEVICES ?? 12_000),
  laneConcurrency: Number(env.BENCH_LANE_CONCURRENCY ?? 4),
  loaderDevices: Number(env.BENCH_LOADER_DEVICES ?? 200_000),
  loaderRepeats: Number(env.BENCH_LOADER_REPEATS ?? 1),
  loaderShapes: (env.BENCH_LOADER_SHAPES ?? '1,20').split(',').map(Number),
  only,
  dbName: 'fleetsync_bench',
};

/** Whether workload `w` runs (BENCH_ONLY names it, or names nothing). */
export const want = (w: string): boolean => only === null || only.has(w);

/** A progress line on stderr with the time of day. */
export const log = (msg: string): void => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);

/** What the run measured, by workload: printed and written to bench/results.json. */
export type Figures = Record<string, unknown>;
