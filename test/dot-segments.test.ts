import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpClient, type HttpGet } from '../src/http/client.js';
import { encodeDotSegments, hasDotSegment } from '../src/http/request-path.js';

// A vendor id of `.` or `..` never moves a request's path (src/http/request-path.ts): what reaches
// the server, byte for byte, for walk paths and per-id GETs built from such ids.

let server: Server;
let origin: string;
const seen: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function client(): HttpGet {
  return createHttpClient({ baseUrl: `${origin}/hostile/api/`, authHeaders: {}, readError: () => ({}), timeoutMs: 2000, maxInProcessWaitMs: 10 });
}

/** What the server saw for one request. */
async function sent(get: HttpGet, req: Parameters<HttpGet>[0]): Promise<string> {
  const from = seen.length;
  await get(req);
  expect(seen.length).toBe(from + 1);
  return seen[from]!;
}

describe('dot segments in request paths', () => {
  it('encodes a parent id of ".." or "." so the walk asks under it, never above', async () => {
    const get = client();
    expect(await sent(get, { path: `/sites/${encodeURIComponent('..')}/devices`, params: { page: 2 } })).toBe('/hostile/api/sites/%2E%2E/devices?page=2');
    expect(await sent(get, { path: `/sites/${encodeURIComponent('.')}/devices` })).toBe('/hostile/api/sites/%2E/devices');
  });

  it('sends a per-id GET for id ".." to that id, not to the list above it', async () => {
    const get = client();
    expect(await sent(get, { path: `/servers/${encodeURIComponent('..')}`, params: { o: '7' } })).toBe('/hostile/api/servers/%2E%2E?o=7');
  });

  it('leaves paths without dot segments as they were', async () => {
    const get = client();
    expect(await sent(get, { path: '/servers/a.b/..x', params: { o: '7' } })).toBe('/hostile/api/servers/a.b/..x?o=7');
  });
});

describe('encodeDotSegments', () => {
  it('encodes whole "." and ".." segments only', () => {
    expect(encodeDotSegments('/a/../b/./c/.../d.')).toBe('/a/%2E%2E/b/%2E/c/.../d.');
    expect([hasDotSegment('/a/../b'), hasDotSegment('/a/./b'), hasDotSegment('/a/.../b.')]).toEqual([true, true, false]);
  });
});
