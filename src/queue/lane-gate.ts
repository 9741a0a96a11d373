import type { RedisClient } from '../redis.js';
import type { RateWindow, TokenBucket } from '../config.js';

// Sliding-log check of every window at once, plus an optional token bucket (last key): either
// a slot is taken in all of them, or none is taken and the shortest sure wait is returned.
// Vendors throttle with sliding logs (DRF's history list, Famoco); BullMQ's limiter is a
// window that starts at its first job, which can put 2x the limit into one vendor window.
// A request is counted from the moment its slot is granted until one window after its answer
// came back (KEYS[1] holds the requests in flight, by grant time; each window's log their answer
// times). The vendor counts the request's arrival, which lies between the two, so however long
// a starved machine holds a granted request before sending it, or the vendor's side before
// counting it, the requests that reach any vendor window were all counted at one instant, which
// never holds more than `max`. A request that never reports back (its worker killed) stops
// counting `hold` ms after its grant.
// The bucket is a hash {tokens, ts} refilled continuously from the time elapsed, so a burst of
// `capacity` goes at once and the steady rate is exactly refillPerMs afterwards. It never holds
// more than `capacity` minus the requests in flight: the vendor's bucket, full while they have
// not yet arrived, loses the refill of that time, and takes their tokens when they arrive. So the
// vendor's bucket always holds at least ours plus the granted requests yet to arrive, and none
// arrives to an empty bucket, however long a starved machine held it.
// `now` is Redis's clock, not the caller's: workers on several machines share one timeline.
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local member = ARGV[1] .. '-' .. now
local nwin = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
local perMs = tonumber(ARGV[4])
local hold = tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - hold)
local flying = redis.call('ZCARD', KEYS[1])
local wait = 0
for i = 1, nwin do
  local max = tonumber(ARGV[5 + i * 2 - 1])
  local dur = tonumber(ARGV[5 + i * 2])
  local key = KEYS[1 + i]
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - dur)
  local answered = redis.call('ZCARD', key)
  if answered + flying >= max then
    -- A request in flight stops counting a window after its answer, so not before now + dur;
    -- an answered one at its answer + dur: the earliest the count can fall below max.
    local w = dur
    local k = answered + flying - max
    if k < answered then
      local nth = redis.call('ZRANGE', key, k, k, 'WITHSCORES')
      w = math.max(1, tonumber(nth[2]) + dur - now)
    end
    if w > wait then wait = w end
  end
end
local tokens = 0
if cap > 0 then
  local bkey = KEYS[nwin + 2]
  local st = redis.call('HMGET', bkey, 'tokens', 'ts')
  tokens = tonumber(st[1] or cap)
  local ts = tonumber(st[2] or now)
  if now > ts then tokens = tokens + (now - ts) * perMs end
  tokens = math.min(tokens, math.max(0, cap - flying))
  if tokens < 1 then
    local w = math.ceil((1 - tokens) / perMs)
    if w > wait then wait = w end
  end
  -- Persist the refill even when waiting, so time is never counted twice.
  redis.call('HSET', bkey, 'tokens', tostring(tokens), 'ts', tostring(math.max(now, ts)))
  redis.call('PEXPIRE', bkey, math.ceil(cap / perMs) + 60000)
end
if wait > 0 then return {wait, ''} end
redis.call('ZADD', KEYS[1], now, member)
redis.call('PEXPIRE', KEYS[1], hold)
if cap > 0 then redis.call('HSET', KEYS[nwin + 2], 'tokens', tostring(tokens - 1)) end
return {0, member}
`;

// A granted request's answer is in: it leaves the requests in flight and enters every window's
// log at the answer's time (Redis's clock), where it counts one window more. The bucket is first
// brought up to now with this request still in flight, since the cap on its tokens (capacity
// minus the requests in flight) held until this instant and is looser from it on.
const ANSWERED = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nwin = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
if cap > 0 then
  local bkey = KEYS[nwin + 2]
  local st = redis.call('HMGET', bkey, 'tokens', 'ts')
  if st[1] then
    local tokens = tonumber(st[1])
    local ts = tonumber(st[2])
    if now > ts then tokens = tokens + (now - ts) * tonumber(ARGV[4]) end
    tokens = math.min(tokens, math.max(0, cap - redis.call('ZCARD', KEYS[1])))
    redis.call('HSET', bkey, 'tokens', tostring(tokens), 'ts', tostring(math.max(now, ts)))
  end
end
redis.call('ZREM', KEYS[1], ARGV[1])
for i = 1, nwin do
  redis.call('ZADD', KEYS[1 + i], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[1 + i], ARGV[4 + i])
end
return 0
`;

/** A slot of the gate: granted (`answered` to call once the request's answer or failure is in), or the wait. */
export type GateSlot = { waitMs: number; answered: null } | { waitMs: 0; answered: () => Promise<void> };

/** How long a granted request that never reports its answer counts, by default: 10 minutes. */
export const DEFAULT_IN_FLIGHT_MS = 600_000;

/**
 * The lane's gate in Redis, shared by every worker process: exact sliding windows, an optional
 * token bucket (burst then steady rate), and a
 * "paused until" set from vendor feedback (429, X-RateLimit-Remaining: 0) that every job of the
 * lane checks right before calling the vendor, including jobs that were already active when
 * another job hit the limit (BullMQ's limiter alone does not stop those, taskforcesh/bullmq#2193).
 */
export class LaneGate {
  private readonly pauseKey: string;

  /**
   * `inFlightMs`: how long a granted request that never reports its answer counts (its worker
   * killed): at least the longest a request may take, retries included.
   */
  constructor(
    private readonly redis: RedisClient,
    private readonly keyBase: string,
    private readonly windows: readonly RateWindow[],
    private readonly bucket?: TokenBucket,
    private readonly inFlightMs = DEFAULT_IN_FLIGHT_MS,
  ) {
    this.pauseKey = `${keyBase}:paused-until`;
  }

  /**
   * Takes one request slot that counts as answered at once (a request made and answered now).
   * Returns 0 when it was taken, else the milliseconds to wait (nothing is taken then).
   */
  async take(): Promise<number> {
    const slot = await this.slot();
    await slot.answered?.();
    return slot.waitMs;
  }

  /**
   * Takes one request slot for a request about to be sent, or says how long to wait (nothing is
   * taken then). A granted slot counts until one window after `answered()` is called, which the
   * caller must do once the answer (or the failure) is in. Never throws on a full window.
   */
  async slot(): Promise<GateSlot> {
    const now = Date.now();
    const pausedUntil = Number((await this.redis.get(this.pauseKey)) ?? 0);
    if (pausedUntil > now) return { waitMs: pausedUntil - now, answered: null };
    if (this.windows.length === 0 && !this.bucket) return { waitMs: 0, answered: async () => undefined };
    const flying = `${this.keyBase}:in-flight`;
    const windows = this.windows.map((w) => `${this.keyBase}:win:${w.max}:${w.durationMs}`);
    const b = this.bucket;
    const keys = [flying, ...windows, ...(b ? [`${this.keyBase}:bucket:${b.capacity}:${b.refillPerMinute}`] : [])];
    const bucketArgs = [b?.capacity ?? 0, b ? b.refillPerMinute / 60_000 : 0];
    const args: Array<string | number> = [Math.random().toString(36).slice(2), this.windows.length, ...bucketArgs, this.inFlightMs];
    for (const w of this.windows) args.push(w.max, w.durationMs);
    const [wait, member] = (await this.redis.eval(TAKE, keys.length, ...keys, ...args)) as [number, string];
    if (Number(wait) > 0) return { waitMs: Number(wait), answered: null };
    const answerArgs = [member, this.windows.length, ...bucketArgs, ...this.windows.map((w) => w.durationMs)];
    return { waitMs: 0, answered: async () => void (await this.redis.eval(ANSWERED, keys.length, ...keys, ...answerArgs)) };
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
    const from = Date.now() - w.durationMs;
    const [used, oldest] = await Promise.all([this.redis.zcount(key, from, '+inf'), this.redis.zrangebyscore(key, from, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)]);
    return { used, oldestAt: oldest[1] === undefined ? null : Number(oldest[1]) };
  }

  /** Epoch ms until which the lane is paused by vendor feedback, or null. */
  async pausedUntil(): Promise<number | null> {
    const v = Number((await this.redis.get(this.pauseKey)) ?? 0);
    return v > Date.now() ? v : null;
  }
}
