import type { RedisClient } from '../redis.js';
import type { RateWindow, TokenBucket } from '../config.js';

// Sliding-log check of every window at once, plus an optional token bucket (last key): either
// a slot is taken in all of them, or none is taken and the longest wait is returned.
// Vendors throttle with sliding logs (DRF's history list, Famoco); BullMQ's limiter is a
// window that starts at its first job, which can put 2x the limit into one vendor window.
// The bucket is a hash {tokens, ts} refilled continuously from the time elapsed, so a burst of
// `capacity` goes at once and the steady rate is exactly refillPerMs afterwards.
// `now` is Redis's clock, not the caller's: workers on several machines share one timeline.
// Each window is held a little longer than its duration (safetyMarginMs): the slot is
// taken a few milliseconds before the request reaches the vendor, and that delay varies, so a
// window kept to the millisecond would now and then let the vendor count max + 1.
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local member = ARGV[1] .. '-' .. now
local nwin = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
local perMs = tonumber(ARGV[4])
local wait = 0
for i = 1, nwin do
  local max = tonumber(ARGV[4 + i * 2 - 1])
  local dur = tonumber(ARGV[4 + i * 2])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - dur)
  if redis.call('ZCARD', KEYS[i]) >= max then
    local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
    local w = tonumber(oldest[2]) + dur - now
    if w > wait then wait = w end
  end
end
local tokens = 0
if cap > 0 then
  local bkey = KEYS[nwin + 1]
  local st = redis.call('HMGET', bkey, 'tokens', 'ts')
  tokens = tonumber(st[1] or cap)
  local ts = tonumber(st[2] or now)
  if now > ts then tokens = math.min(cap, tokens + (now - ts) * perMs) end
  if tokens < 1 then
    local w = math.ceil((1 - tokens) / perMs)
    if w > wait then wait = w end
  end
  -- Persist the refill even when waiting, so time is never counted twice.
  redis.call('HSET', bkey, 'tokens', tostring(tokens), 'ts', tostring(math.max(now, ts)))
  redis.call('PEXPIRE', bkey, math.ceil(cap / perMs) + 60000)
end
if wait > 0 then return wait end
for i = 1, nwin do
  local dur = tonumber(ARGV[4 + i * 2])
  redis.call('ZADD', KEYS[i], now, member)
  redis.call('PEXPIRE', KEYS[i], dur)
end
if cap > 0 then redis.call('HSET', KEYS[nwin + 1], 'tokens', tostring(tokens - 1)) end
return 0
`;

/**
 * How much longer than its duration a window is held: 10% of it, at most 250 ms. The slot is taken
 * before the request leaves, and under CPU load the gap between the two (another job's parse or
 * commit holding the event loop, a preempted process) varies by tens of milliseconds, so a window
 * kept to 3% let a vendor's sliding window count 21 requests against 20/s with three busy workers.
 * The margin is a time, not a share, beyond short windows: a 1000/h lane loses 0.007%.
 */
export function safetyMarginMs(durationMs: number): number {
  return Math.min(250, Math.ceil(durationMs * 0.1));
}

/**
 * The lane's gate in Redis, shared by every worker process: exact sliding windows, an optional
 * token bucket (burst then steady rate), and a
 * "paused until" set from vendor feedback (429, X-RateLimit-Remaining: 0) that every job of the
 * lane checks right before calling the vendor, including jobs that were already active when
 * another job hit the limit (BullMQ's limiter alone does not stop those, taskforcesh/bullmq#2193).
 */
export class LaneGate {
  private readonly pauseKey: string;

  constructor(
    private readonly redis: RedisClient,
    private readonly keyBase: string,
    private readonly windows: readonly RateWindow[],
    private readonly bucket?: TokenBucket,
  ) {
    this.pauseKey = `${keyBase}:paused-until`;
  }

  /**
   * Takes one request slot. Returns 0 when the request may go now, else the milliseconds to wait
   * (nothing is taken then). Never throws on a full window.
   */
  async take(): Promise<number> {
    const now = Date.now();
    const pausedUntil = Number((await this.redis.get(this.pauseKey)) ?? 0);
    if (pausedUntil > now) return pausedUntil - now;
    if (this.windows.length === 0 && !this.bucket) return 0;
    const keys = this.windows.map((w) => `${this.keyBase}:win:${w.max}:${w.durationMs}`);
    const b = this.bucket;
    if (b) keys.push(`${this.keyBase}:bucket:${b.capacity}:${b.refillPerMinute}`);
    const args: Array<string | number> = [Math.random().toString(36).slice(2), this.windows.length, b?.capacity ?? 0, b ? b.refillPerMinute / 60_000 : 0];
    for (const w of this.windows) args.push(w.max, w.durationMs + safetyMarginMs(w.durationMs));
    const wait = (await this.redis.eval(TAKE, keys.length, ...keys, ...args)) as number;
    return Math.max(0, Number(wait));
  }

  /** Pauses the whole lane until `until` (epoch ms); a later pause wins over an earlier one. */
  async pauseUntil(until: number): Promise<void> {
    const ttl = Math.max(1, until - Date.now());
    // Keep the later of two concurrent pauses.
    await this.redis.eval(
      `local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
       if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
       return 0`,
      1,
      this.pauseKey,
      String(until),
      String(ttl),
    );
  }

  /** Lifts a vendor-feedback pause (a source resumed by command). Never touches the windows. */
  async clearPause(): Promise<void> {
    await this.redis.del(this.pauseKey);
  }

  /**
   * How many requests one of the lane's windows holds now, and when the oldest of them was taken
   * (epoch ms, null when none): what status shows of a quota. Reads only.
   */
  async windowUse(w: RateWindow): Promise<{ used: number; oldestAt: number | null }> {
    const key = `${this.keyBase}:win:${w.max}:${w.durationMs}`;
    const from = Date.now() - w.durationMs - safetyMarginMs(w.durationMs);
    const [used, oldest] = await Promise.all([this.redis.zcount(key, from, '+inf'), this.redis.zrangebyscore(key, from, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)]);
    return { used, oldestAt: oldest[1] === undefined ? null : Number(oldest[1]) };
  }

  /** Epoch ms until which the lane is paused by vendor feedback, or null. */
  async pausedUntil(): Promise<number | null> {
    const v = Number((await this.redis.get(this.pauseKey)) ?? 0);
    return v > Date.now() ? v : null;
  }
}
