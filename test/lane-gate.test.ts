import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { LaneGate } from '../src/queue/lane-gate.js';
import { deleteRedisPrefix, REDIS_URL } from './helpers.js';

// The gate's decisions against the real Redis, without a clock in the assertions: a window or a
// bucket that is full answers a wait, one with room answers 0.

const prefix = `fst-gate-${randomBytes(4).toString('hex')}`;
const redis = new Redis(REDIS_URL);

afterAll(async () => {
  redis.disconnect();
  await deleteRedisPrefix(prefix);
});

describe('LaneGate', () => {
  it('lets a token bucket burst its whole capacity at once, then makes the next request wait', async () => {
    const gate = new LaneGate(redis, `${prefix}:bucket`, [], { capacity: 5, refillPerMinute: 1 });
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) waits.push(await gate.take());
    expect(waits.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    // One token per minute: the sixth waits for most of a minute.
    expect(waits[5]).toBeGreaterThan(30_000);
  });

  it('fills a window to its max and takes nothing when it answers a wait', async () => {
    const gate = new LaneGate(redis, `${prefix}:window`, [{ max: 3, durationMs: 60_000 }]);
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) waits.push(await gate.take());
    expect(waits.slice(0, 3)).toEqual([0, 0, 0]);
    expect(waits[3]).toBeGreaterThan(0);
    expect(waits[4]).toBeGreaterThan(0);
    expect(await redis.zcard(`${prefix}:window:win:3:60000`)).toBe(3);
  });

  it('answers the vendor pause to every taker until it is cleared', async () => {
    const gate = new LaneGate(redis, `${prefix}:pause`, [{ max: 100, durationMs: 1000 }]);
    await gate.pauseUntil(Date.now() + 60_000);
    expect(await gate.take()).toBeGreaterThan(30_000);
    await gate.clearPause();
    expect(await gate.take()).toBe(0);
  });
});
