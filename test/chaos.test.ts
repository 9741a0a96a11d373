import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHAOS_STYLES } from '../src/simulators/chaos-styles.js';
import { createTestEnv, type TestEnv } from './helpers.js';
import { runChaosSeed } from './helpers/chaos.js';

// docs/reliability.md, "Chaos": a few fixed seeds per pagination style; `npm run chaos` runs
// many (CHAOS_SEEDS per style) and prints the replay command of any failure.

const SEEDS = [1, 2, 3];

describe('seeded vendor chaos', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(async () => {
    await env.cleanup();
  });

  for (const style of CHAOS_STYLES) {
    for (const seed of SEEDS) {
      it(`${style}, seed ${seed}: no walk marks a listed record deleted, and the quiet walks end exact`, async () => {
        const outcome = await runChaosSeed(env, style, seed);
        expect(outcome.violations, `replay: CHAOS_SEED=${seed} CHAOS_STYLE=${style} npm run chaos\nwalks: ${outcome.walks.join(' | ')}`).toEqual([]);
        // The seed did what it is for: data changed and faults were injected.
        expect(outcome.counts.inserts + outcome.counts.deletes + outcome.counts.updates).toBeGreaterThan(0);
        expect(Object.keys(outcome.counts.faults).length).toBeGreaterThan(0);
      });
    }
  }
});
