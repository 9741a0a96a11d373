import { beforeAll, describe, expect, it } from 'vitest';
import { CHAOS_STYLES, type ChaosCounts } from '../src/simulators/chaos.js';
import { CHAOS_TOKEN, chaosSource, chaosSourceConfig, walkChaosSource, type ChaosSource } from './helpers/chaos.js';
import { exited, MANY_SOURCES_TIMEOUT_MS, startWorker, useWorkerFixture } from './helpers/worker.js';

// The chaos property (docs/reliability.md, "Chaos") on fifty sources at once, ten of each
// pagination style, whose page jobs share one queue (`pages.rest`) worked by three worker
// processes: each source's walks under the seeded chaos (data changing mid-walk, transport
// faults, records without an id), then two quiet walks. Every source must end exact, and no row
// the vendor listed throughout a walk may be marked deleted.

const PER_STYLE = 10;
const WORKERS = 3;
/** Walks with chaos per source before its two quiet ones (the in-process property runs 6). */
const CHAOS_WALKS = 3;
/**
 * Requests of worker processes on a busy machine time out at 1.5 s (300 ms in process): a timeout
 * that fires only because the machine is slow would be a fault the seed did not inject. A stall
 * lasts past it.
 */
const REQUEST_TIMEOUT_MS = 1_500;
const WORKER = { lockDurationMs: 10_000, backoffMs: 50, attempts: 8, maxInProcessWaitMs: 50, requestTimeoutMs: REQUEST_TIMEOUT_MS, concurrency: 16 };

describe(`the chaos property on ${PER_STYLE * CHAOS_STYLES.length} sources sharing ${WORKERS} worker processes`, () => {
  // Seeds 101 and up: other scenarios than test/chaos.test.ts's 1 to 3; 12 to 21 records each.
  const sources: ChaosSource[] = CHAOS_STYLES.flatMap((style) => Array.from({ length: PER_STYLE }, (_, i) => chaosSource(style, 101 + i, { stallMs: REQUEST_TIMEOUT_MS + 500, records: 12 + i })));
  const fx = useWorkerFixture({
    dirPrefix: 'fleetsync-many-chaos-',
    start: async () => {
      const config = { sources: [] as Array<Record<string, unknown>>, worker: WORKER };
      for (const src of sources) config.sources.push(chaosSourceConfig(src, await src.sim.start(), '${CHAOS_TOKEN}'));
      const stop = async () => {
        for (const src of sources) await src.sim.stop();
      };
      return { config, keys: { CHAOS_TOKEN }, stop };
    },
  });

  beforeAll(() => {
    for (let i = 0; i < WORKERS; i++) fx.children.push(startWorker(fx.configFile, fx.env, fx.keys));
  });

  it('ends every source exact and marks no listed record deleted', async () => {
    const started = Date.now();
    const outcomes = await Promise.all(sources.map((src) => walkChaosSource(fx.env, fx.app, src, { chaosWalks: CHAOS_WALKS, attempts: WORKER.attempts })));
    const seconds = Math.round((Date.now() - started) / 1000);
    // MANY_SOURCES_REPORT=1 prints the figures docs/reliability.md quotes.
    if (process.env.MANY_SOURCES_REPORT) {
      const outcomesOfWalks: Record<string, number> = {};
      for (const w of outcomes.flatMap((o) => o.walks)) {
        const k = / failed: /.test(w) ? 'failed' : (/\) (\w+)/.exec(w)?.[1] ?? /^walk \d+ (\w+)/.exec(w)?.[1] ?? w);
        outcomesOfWalks[k] = (outcomesOfWalks[k] ?? 0) + 1;
      }
      console.log(JSON.stringify({ sources: sources.length, workers: WORKERS, seconds, walks: outcomesOfWalks, ...sumCounts(sources.map((s) => s.sim.counts)) }));
    }
    const violations = outcomes.flatMap((o, i) => o.violations.map((v) => `${sources[i]!.id}: ${v} (walks: ${o.walks.join(' | ')})`));
    expect(violations).toEqual([]);
    // The chaos did what it is for, in every style: data changed and faults were injected.
    for (const style of CHAOS_STYLES) {
      const c = sumCounts(sources.filter((s) => s.style === style).map((s) => s.sim.counts));
      expect(c.inserts + c.deletes + c.updates, style).toBeGreaterThan(0);
      expect(Object.keys(c.faults).length, style).toBeGreaterThan(0);
    }
    for (const c of fx.children) c.kill('SIGTERM');
    for (const c of fx.children) expect((await exited(c)).code).toBe(0);
  }, MANY_SOURCES_TIMEOUT_MS);
});

/** The chaos counts of many simulators added up. */
function sumCounts(all: ChaosCounts[]): ChaosCounts {
  const out: ChaosCounts = { requests: 0, inserts: 0, deletes: 0, updates: 0, moves: 0, faults: {}, glitches: 0 };
  for (const c of all) {
    out.requests += c.requests;
    out.inserts += c.inserts;
    out.deletes += c.deletes;
    out.updates += c.updates;
    out.moves += c.moves;
    out.glitches += c.glitches;
    for (const [k, n] of Object.entries(c.faults)) out.faults[k] = (out.faults[k] ?? 0) + n;
  }
  return out;
}
