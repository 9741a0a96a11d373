/**
 * `npm run chaos`: the seeded vendor chaos property (docs/reliability.md, "Chaos") over many
 * seeds per pagination style, in this process (engine, simulators), against the shared Postgres
 * and Redis in a database and queue prefix of its own.
 *
 *   CHAOS_SEEDS=200        seeds per style (1..N); default 200
 *   CHAOS_STYLE=offset     one style only (default: all five)
 *   CHAOS_SEED=1234        one seed only (a replay)
 *   CHAOS_PARALLEL=2       seeds run side by side; default 2 (the machine is shared)
 *
 * Prints progress and, for any failure, the style, the seed and the command that replays it;
 * exits 1 when any seed failed.
 */
import { CHAOS_STYLES, type ChaosStyle } from '../src/simulators/chaos-styles.js';
import { createTestEnv } from '../test/helpers.js';
import { runChaosSeed, type ChaosOutcome } from '../test/helpers/chaos.js';

function intEnv(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  if (!/^\d+$/.test(v)) throw new Error(`${name} must be a non-negative integer, got "${v}"`);
  return Number(v);
}

type Task = { style: ChaosStyle; seed: number };

/** What the seeds added up to: per style, walk outcomes, injected faults, the failures. */
class Tally {
  readonly perStyle: Map<ChaosStyle, { done: number; failed: number; ms: number }>;
  readonly sweeps = new Map<string, number>();
  readonly injected = new Map<string, number>();
  readonly failures: ChaosOutcome[] = [];
  done = 0;

  constructor(styles: readonly ChaosStyle[]) {
    this.perStyle = new Map(styles.map((s) => [s, { done: 0, failed: 0, ms: 0 }]));
  }

  add(task: Task, outcome: ChaosOutcome, ms: number): void {
    const stat = this.perStyle.get(task.style)!;
    stat.done++;
    stat.ms += ms;
    const c = outcome.counts;
    for (const [k, n] of Object.entries({ requests: c.requests, inserts: c.inserts, deletes: c.deletes, updates: c.updates, moves: c.moves, 'bad-id glitches': c.glitches, ...c.faults })) {
      this.injected.set(k, (this.injected.get(k) ?? 0) + n);
    }
    for (const w of outcome.walks) {
      const k = / failed: /.test(w) ? 'failed' : (/\) (\w+)/.exec(w)?.[1] ?? /^walk \d+ (\w+)/.exec(w)?.[1] ?? w);
      this.sweeps.set(k, (this.sweeps.get(k) ?? 0) + 1);
    }
    this.done++;
    if (outcome.violations.length > 0) {
      stat.failed++;
      this.failures.push(outcome);
    }
  }

  print(started: number): void {
    const secs = ((Date.now() - started) / 1000).toFixed(0);
    console.log(`\nchaos: ${this.done} runs in ${secs} s, ${this.failures.length} failed`);
    for (const [style, s] of this.perStyle) console.log(`  ${style}: ${s.done} seeds, ${s.failed} failed, ${(s.ms / Math.max(1, s.done) / 1000).toFixed(1)} s per seed`);
    console.log(`  walk outcomes: ${[...this.sweeps].map(([k, n]) => `${k} ${n}`).join(', ')}`);
    console.log(`  injected: ${[...this.injected].map(([k, n]) => `${k} ${n}`).join(', ')}`);
    for (const f of this.failures) console.log(`  replay: CHAOS_SEED=${f.seed} CHAOS_STYLE=${f.style} npm run chaos`);
  }
}

async function main(): Promise<number> {
  const styleArg = process.env.CHAOS_STYLE;
  if (styleArg !== undefined && styleArg !== '' && !(CHAOS_STYLES as readonly string[]).includes(styleArg)) {
    console.error(`CHAOS_STYLE must be one of ${CHAOS_STYLES.join(', ')}, got "${styleArg}"`);
    return 2;
  }
  const styles: ChaosStyle[] = styleArg ? [styleArg as ChaosStyle] : [...CHAOS_STYLES];
  const one = process.env.CHAOS_SEED;
  const seeds = one !== undefined && one !== '' ? [intEnv('CHAOS_SEED', 0)] : Array.from({ length: intEnv('CHAOS_SEEDS', 200) }, (_, i) => i + 1);
  const parallel = Math.max(1, intEnv('CHAOS_PARALLEL', 2));
  const tasks: Task[] = styles.flatMap((style) => seeds.map((seed) => ({ style, seed })));
  const env = await createTestEnv();
  const started = Date.now();
  const tally = new Tally(styles);
  let next = 0;
  console.log(`chaos: ${seeds.length} seed(s) x ${styles.join(', ')} (${tasks.length} runs, ${parallel} at a time)`);
  const worker = async () => {
    for (let task = tasks[next++]; task; task = tasks[next++]) {
      const t0 = Date.now();
      const outcome = await runChaosSeed(env, task.style, task.seed);
      tally.add(task, outcome, Date.now() - t0);
      if (outcome.violations.length > 0) {
        console.log(`FAIL ${task.style} seed ${task.seed}: replay with CHAOS_SEED=${task.seed} CHAOS_STYLE=${task.style} npm run chaos`);
        for (const v of outcome.violations) console.log(`  ${v}`);
        console.log(`  walks: ${outcome.walks.join(' | ')}`);
      } else if (tally.done % 10 === 0 || tasks.length <= 10) {
        console.log(`${tally.done}/${tasks.length} done, ${tally.failures.length} failed (last: ${task.style} seed ${task.seed} passed, ${((Date.now() - started) / 1000).toFixed(0)} s)`);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(parallel, tasks.length) }, () => worker()));
  } finally {
    await env.cleanup();
  }
  tally.print(started);
  return tally.failures.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
