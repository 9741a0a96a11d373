import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpClient } from '../src/http/client.js';
import { VendorError } from '../src/http/errors.js';

// A 3xx answer is never followed (src/http/client.ts, maxRedirects 0); its failure says where it
// pointed and that redirects are not followed, without the target's query.

let server: Server;
let origin: string;
let requests = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    requests++;
    if (req.url?.startsWith('/api/moved')) res.writeHead(302, { location: 'https://login.example.com/sso/start?session=s3cr3t' }).end();
    else if (req.url?.startsWith('/api/relative')) res.writeHead(301, { location: '/v2/devices' }).end();
    else res.writeHead(307).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function failure(path: string): Promise<VendorError> {
  const get = createHttpClient({ baseUrl: `${origin}/api`, authHeaders: { Authorization: 'Bearer k' }, readError: () => ({}), timeoutMs: 2000, maxInProcessWaitMs: 10 });
  const err: unknown = await get({ path }).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(VendorError);
  return err as VendorError;
}

describe('redirects', () => {
  it('fail the request once, saying where they pointed and that they are not followed', async () => {
    const before = requests;
    const moved = await failure('/moved');
    expect([moved.kind, moved.status, moved.message]).toEqual(['invalid_request', 302, "302 redirect to https://login.example.com/sso/start?…; redirects are not followed: check the source's baseUrl (scheme, host, path)"]);
    expect(moved.message).not.toContain('s3cr3t');
    expect(requests).toBe(before + 1);
    expect((await failure('/relative')).message).toBe(`301 redirect to ${origin}/v2/devices; redirects are not followed: check the source's baseUrl (scheme, host, path)`);
    expect((await failure('/other')).message).toBe("307 redirect without a Location; redirects are not followed: check the source's baseUrl (scheme, host, path)");
  });
});
