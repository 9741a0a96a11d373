import { get } from 'node:http';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard } from '../src/dashboard.js';
import { createLogger } from '../src/logger.js';
import { createTestEnv, REDIS_URL, type TestEnv } from './helpers.js';

// Bull Board behind the dashboard (src/dashboard.ts): read-only without a token (any local user
// reaches a loopback dashboard), its actions with one; a CSP on every response, fragments and
// Bull Board's own included. Plain HTTP requests as a local process would send them.

const TOKEN = 'board-token-0123456789abcdef';
let env: TestEnv;
let redis: Redis;
let queue: Queue;

beforeAll(async () => {
  env = await createTestEnv();
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  queue = new Queue('board.lane', { connection: redis, prefix: env.prefix });
  await queue.add('devices', { walkId: '1', page: 0 }, { jobId: 'board-job-1' });
});
afterAll(async () => {
  await queue.close();
  redis.disconnect();
  await env.cleanup();
});

async function dashboard(token?: string) {
  const dash = await startDashboard({ db: env.db, queues: [queue], logger: createLogger({ level: 'silent' }), port: 0, ...(token ? { token } : {}) });
  return { dash, url: `http://127.0.0.1:${dash.port}` };
}

/** A Bull Board action as its UI sends it: same Origin. */
function act(url: string, path: string, method: 'PUT' | 'POST' | 'DELETE', headers: Record<string, string> = {}) {
  return fetch(`${url}/queues/api/queues/${path}`, { method, headers: { origin: url, ...headers } });
}

describe('Bull Board on the dashboard', () => {
  it('without a token is read-only: pause, empty, clean and retry are refused and change nothing', async () => {
    const { dash, url } = await dashboard();
    try {
      for (const [path, method] of [['board.lane/pause', 'PUT'], ['board.lane/empty', 'PUT'], ['board.lane/clean/completed', 'PUT'], ['board.lane/board-job-1/clean', 'PUT'], ['pause', 'PUT'], ['board.lane/obliterate', 'PUT']] as const) {
        const res = await act(url, path, method);
        expect([path, res.status]).toEqual([path, 403]);
        expect(await res.text()).toContain('read-only on a dashboard without a token');
      }
      expect(await queue.isPaused()).toBe(false);
      expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
      // Reading still works, and says the board is read-only.
      const api = (await (await fetch(`${url}/queues/api/queues`)).json()) as { queues: Array<{ name: string; readOnlyMode: boolean }> };
      expect(api.queues.map((q) => [q.name, q.readOnlyMode])).toEqual([['board.lane', true]]);
    } finally {
      await dash.close();
    }
  });

  it('with a token its actions work for a request that carries it', async () => {
    const { dash, url } = await dashboard(TOKEN);
    try {
      expect((await act(url, 'board.lane/pause', 'PUT')).status).toBe(401);
      expect(await queue.isPaused()).toBe(false);
      const auth = { authorization: `Bearer ${TOKEN}` };
      expect((await act(url, 'board.lane/pause', 'PUT', auth)).status).toBeLessThan(300);
      expect(await queue.isPaused()).toBe(true);
      expect((await act(url, 'board.lane/resume', 'PUT', auth)).status).toBeLessThan(300);
      expect(await queue.isPaused()).toBe(false);
    } finally {
      await dash.close();
    }
  });

  it('every response carries a Content-Security-Policy: pages, fragments, Bull Board, its API and static files, errors', async () => {
    const { dash, url } = await dashboard();
    try {
      for (const path of ['/', '/?fragment=1', '/runs/1?fragment=1', '/runs/x', '/queues', '/queues/', '/queues/api/queues', '/queues/static/images/logo.svg', '/nowhere']) {
        const res = await fetch(`${url}${path}`);
        // Express's own 404 keeps its stricter "default-src 'none'".
        expect([path, res.headers.get('content-security-policy')]).toEqual([path, expect.stringMatching(/^default-src '(self|none)'/)]);
      }
      // A refused Host (DNS rebinding) too; fetch cannot set Host, node:http can.
      const refused = await new Promise<{ status: number; csp: unknown }>((resolve, reject) => {
        get(`${url}/`, { headers: { host: 'evil.example' } }, (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, csp: res.headers['content-security-policy'] });
        }).on('error', reject);
      });
      expect(refused).toEqual({ status: 403, csp: expect.stringMatching(/^default-src 'self'/) });
    } finally {
      await dash.close();
    }
  });
});
