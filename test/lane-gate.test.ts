import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { LaneGate } from '../src/queue/lane-gate.js';
import { deleteRedisPrefix, REDIS_URL, waitFor } from './helpers.js';

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

  it('counts a granted request until a window after its answer: in flight, it holds its slot however long it takes', async () => {
    const gate = new LaneGate(redis, `${prefix}:flight`, [{ max: 3, durationMs: 60_000 }]);
    const slots = [await gate.slot(), await gate.slot(), await gate.slot()];
    expect(slots.map((s) => s.waitMs)).toEqual([0, 0, 0]);
    // Three in flight: none can stop counting before a whole window from now.
    expect((await gate.slot()).waitMs).toBe(60_000);
    expect(await redis.zcard(`${prefix}:flight:in-flight`)).toBe(3);
    // Answered, a request moves to the window's log and counts one window from its answer.
    await slots[0]!.answered?.();
    expect([await redis.zcard(`${prefix}:flight:in-flight`), await redis.zcard(`${prefix}:flight:win:3:60000`)]).toEqual([2, 1]);
    const wait = (await gate.slot()).waitMs;
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(60_000);
  });

  it('lets a request that never reports back stop counting after the in-flight bound', async () => {
    const gate = new LaneGate(redis, `${prefix}:lost`, [{ max: 1, durationMs: 60_000 }], undefined, 1);
    expect((await gate.slot()).waitMs).toBe(0);
    await waitFor(async () => (await gate.slot()).waitMs === 0, 'the lost request to stop counting');
  });

  it('answers the vendor pause to every taker until it is cleared', async () => {
    const gate = new LaneGate(redis, `${prefix}:pause`, [{ max: 100, durationMs: 1000 }]);
    await gate.pauseUntil(Date.now() + 60_000);
    expect(await gate.take()).toBeGreaterThan(30_000);
    await gate.clearPause();
    expect(await gate.take()).toBe(0);
  });
});
