/**
 * The chaos's random numbers: every generator is derived from a text naming what it decides
 * (seed, style, walk, page request, how often that request came), never from one shared stream,
 * so a seed replays the same chaos whatever the engine's timing.
 */
import { createRng, type Rng } from './sim-data.js';
import type { ChaosStyle } from './chaos-styles.js';

function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A generator for `what` of one (seed, style): the same numbers on every replay. */
export function createRngForSeed(seed: number, style: ChaosStyle, what: string): Rng {
  return createRng(hash32(`${seed}|${style}|${what}`));
}

/** A generator for `what` during walk number `walkNo` of one (seed, style). */
export function walkRng(walk: { seed: number; style: ChaosStyle; walkNo: number }, what: string): Rng {
  return createRng(hash32(`${walk.seed}|${walk.style}|${walk.walkNo}|${what}`));
}
