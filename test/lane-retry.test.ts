import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpClient } from '../src/http/client.js';
import { VendorError } from '../src/http/errors.js';
import { LaneGate } from '../src/queue/lane-gate.js';
import { Lane } from '../src/queue/lanes.js';
import type { RateWindow } from '../src/config.js';
import { deleteRedisPrefix, REDIS_URL } from './helpers.js';
import { busiestWindow } from './helpers/windows.js';

// An in-process retry of the HTTP client (a 5xx, a reset, a broken body) is one more request the
// vendor counts: it goes only with a gate slot of its own (src/queue/lanes.ts, Lane.request), so
// what the vendor counts in a window never exceeds the lane's limit, retries included.

const prefix = `fst-retry-${randomBytes(4).toString('hex')}`;
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });

/** A vendor that answers 503 to the first request of every path and `[]` to the later ones, and logs every arrival. */
const arrivals: Array<{ path: string; at: number }> = [];
let server: Server;
let origin = '';

beforeAll(async () => {
  const asked = new Set<string>();
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    arrivals.push({ path, at: Date.now() });
    res.setHeader('content-type', 'application/json');
    if (!asked.has(path)) {
      asked.add(path);
      res.statusCode = 503;
      return res.end('{"error":"try again"}');
    }
    res.end('[]');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  redis.disconnect();
  await deleteRedisPrefix(prefix);
});

function laneOf(name: string, windows: RateWindow[], concurrency: number, retryWaitMs = 0): Lane {
  return new Lane({
    sourceId: name,
    laneClass: 'api',
    limit: { windows, concurrency },
    gate: new LaneGate(redis, `${prefix}:${name}`, windows),
    http: createHttpClient({ baseUrl: origin, authHeaders: {}, readError: () => ({}), timeoutMs: 10_000, retries: 3, maxInProcessWaitMs: 10 }),
    rateLimitBackoffMs: 1000,
    retryWaitMs,
  });
}

const sentTo = (path: string) => arrivals.filter((a) => a.path === path).length;

describe('in-process retries through a lane', () => {
  it('sends no retry the gate has no room for: the vendor sees one request and the 503 is handed on', async () => {
    const lane = laneOf('full', [{ max: 1, durationMs: 60_000 }], 1);
    const err = await lane.request({ path: '/full' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VendorError);
    expect((err as VendorError).status).toBe(503);
    expect(sentTo('/full')).toBe(1);
  });

  it('sends a retry with a slot of its own: the window holds both requests', async () => {
    const lane = laneOf('room', [{ max: 2, durationMs: 60_000 }], 1);
    const reply = await lane.request({ path: '/room' });
    expect(reply.sent && reply.page.status).toBe(200);
    expect(sentTo('/room')).toBe(2);
    expect((await lane.gate.windowUse({ max: 2, durationMs: 60_000 })).used).toBe(2);
    expect((await lane.gate.slot()).waitMs).toBeGreaterThan(0);
  });

  it('keeps what the vendor counts within the limit while 20 callers hold the lane at it and every first request fails', async () => {
    const limit = { max: 6, durationMs: 1000 };
    const lane = laneOf('busy', [limit], 20, 1000);
    let next = 0;
    const caller = async () => {
      for (let n = next++; n < 24; n = next++) {
        for (;;) {
          // A failure handed on is asked again, as the page job's next attempt would.
          const reply = await lane.request({ path: `/busy/${n}` }).catch((err: unknown) => {
            if (!(err instanceof VendorError)) throw err;
            return null;
          });
          if (reply?.sent) break;
          await new Promise((r) => setTimeout(r, reply ? Math.min(reply.waitMs, 50) : 10));
        }
      }
    };
    await Promise.all(Array.from({ length: 20 }, caller));
    const busy = arrivals.filter((a) => a.path.startsWith('/busy/'));
    // Every path was asked twice (the 503, then the 200), and each time through the gate.
    expect(busy.length).toBe(48);
    expect(busiestWindow(busy.map((a) => a.at), limit.durationMs)).toBeLessThanOrEqual(limit.max);
  });
});
