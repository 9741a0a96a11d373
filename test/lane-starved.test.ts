import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpClient } from '../src/http/client.js';
import { LaneGate } from '../src/queue/lane-gate.js';
import { Lane } from '../src/queue/lanes.js';
import { deleteRedisPrefix, REDIS_URL, waitFor } from './helpers.js';
import { freePort } from './helpers/ports.js';
import { busiestWindow, emptyBucketArrivals } from './helpers/windows.js';

// What the vendor counts in any window never exceeds the lane's limit, and no request reaches
// its token bucket empty, also on a starved machine (src/queue/lane-gate.ts): the vendor runs in
// its own process, which is frozen (SIGSTOP) for 500 ms and then counts in one burst the requests
// that queued meanwhile. Counted on the vendor's side: its own arrival log.

const LIMIT = { max: 20, durationMs: 1000 };
const prefix = `fst-starved-${randomBytes(4).toString('hex')}`;
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });

/** A vendor that logs the arrival time of every request and answers `[]`; GET /arrivals returns the log. */
const VENDOR = `
const http = require('node:http');
const at = [];
http.createServer((req, res) => {
  if (req.url === '/arrivals') return res.end(JSON.stringify(at));
  at.push(Date.now());
  res.setHeader('content-type', 'application/json');
  res.end('[]');
}).listen(Number(process.argv[1]), '127.0.0.1', () => process.stdout.write('listening\\n'));
`;

let vendor: ChildProcess;
let origin: string;

beforeAll(async () => {
  const port = await freePort();
  vendor = spawn(process.execPath, ['-e', VENDOR, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  vendor.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => out.includes('listening'), 'the vendor process to listen');
  origin = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  vendor.kill('SIGCONT');
  vendor.kill('SIGKILL');
  redis.disconnect();
  await deleteRedisPrefix(prefix);
});

describe('a lane on a starved machine', () => {
  it('never lets the vendor count more than the limit in any window, when requests reach it in bursts', async () => {
    const windows = [LIMIT];
    const lane = laneOf({ windows, concurrency: 30 }, new LaneGate(redis, `${prefix}:gate`, windows));
    // The vendor's machine is starved: frozen 500 ms of every 1.5 s.
    let frozen = false;
    const freezer = setInterval(() => {
      vendor.kill('SIGSTOP');
      frozen = true;
      setTimeout(() => {
        vendor.kill('SIGCONT');
        frozen = false;
      }, 500);
    }, 1_500);
    try {
      await sendThrough(lane, { requests: 200, callers: 30, pollMs: 50 });
    } finally {
      clearInterval(freezer);
      if (frozen) vendor.kill('SIGCONT');
    }
    const arrivals = await arrivalsSince(0);
    expect(arrivals.length).toBeGreaterThanOrEqual(200);
    expect(busiestWindow(arrivals, LIMIT.durationMs)).toBeLessThanOrEqual(LIMIT.max);
  });

  it('never lets a request reach the vendor\'s token bucket empty, when the requests of a full bucket are held on the way', async () => {
    // A full bucket lets its whole capacity go at once; the vendor is frozen, so they all wait
    // on the way while time passes. The vendor's bucket, full, gains nothing meanwhile; a bucket
    // that refilled on our side would let a second burst go, which the vendor refuses.
    const bucket = { capacity: 10, refillPerMinute: 1_200 };
    const lane = laneOf({ tokenBucket: bucket, concurrency: 30 }, new LaneGate(redis, `${prefix}:bucket`, [], bucket));
    const from = (await arrivalsSince(0)).length;
    for (let round = 0; round < 3; round++) {
      vendor.kill('SIGSTOP');
      const thaw = setTimeout(() => vendor.kill('SIGCONT'), 500);
      try {
        await sendThrough(lane, { requests: 20, callers: 20, pollMs: 20 });
      } finally {
        clearTimeout(thaw);
        vendor.kill('SIGCONT');
      }
    }
    const arrivals = await arrivalsSince(from);
    expect(arrivals.length).toBeGreaterThanOrEqual(60);
    expect(emptyBucketArrivals(arrivals, bucket)).toBe(0);
  });
});

function laneOf(limit: ConstructorParameters<typeof Lane>[0]['limit'], gate: LaneGate): Lane {
  return new Lane({
    sourceId: 'starved',
    laneClass: 'api',
    limit,
    gate,
    http: createHttpClient({ baseUrl: origin, authHeaders: {}, readError: () => ({}), timeoutMs: 10_000, maxInProcessWaitMs: 10 }),
    rateLimitBackoffMs: 1000,
  });
}

/** Sends `requests` requests through the lane from `callers` callers side by side; a caller the gate holds asks again within `pollMs`. */
async function sendThrough(lane: Lane, load: { requests: number; callers: number; pollMs: number }): Promise<void> {
  let sent = 0;
  const caller = async () => {
    while (sent < load.requests) {
      const reply = await lane.request({ path: '/items' });
      if (reply.sent) sent++;
      else await new Promise((r) => setTimeout(r, Math.min(reply.waitMs, load.pollMs)));
    }
  };
  await Promise.all(Array.from({ length: load.callers }, caller));
}

/** The vendor's arrival log from the `from`th request on. */
async function arrivalsSince(from: number): Promise<number[]> {
  return ((await (await fetch(`${origin}/arrivals`)).json()) as number[]).slice(from);
}
