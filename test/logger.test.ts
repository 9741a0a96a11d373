import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import axios, { AxiosError } from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpClient } from '../src/http/client.js';
import { createLogger } from '../src/logger.js';

const SECRET = 'sk-live-SECRET-0123456789abcdef';

/** A logger writing into memory. */
function memoryLogger() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = createLogger({ level: 'trace', destination: stream });
  return { logger, text: () => chunks.join('') };
}

describe('logs never carry credentials', () => {
  let server: Server;
  let origin: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      // Echo nothing secret back; answer 401 like a vendor refusing a key.
      if (req.url?.includes('/nowhere')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
        return;
      }
      res.writeHead(req.url?.startsWith('/fail') ? 401 : 500, { 'content-type': 'application/json', 'x-request-id': 'req-123' }).end('{"message":"nope"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('redacts the Authorization header of a real axios error, however it is logged', async () => {
    let caught: unknown;
    try {
      await axios.get(`${origin}/fail?page=1`, { headers: { Authorization: `Bearer ${SECRET}`, 'X-Api-Key': SECRET }, auth: undefined });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AxiosError);
    // The raw error really does carry the secret (so the test proves something).
    const e = caught as AxiosError;
    expect(JSON.stringify(e.config?.headers)).toContain(SECRET);
    expect(String((e.request as { _header?: string })._header)).toContain(SECRET);

    const { logger, text } = memoryLogger();
    logger.error(e, 'as the object');
    logger.error({ err: e }, 'as err');
    logger.error({ error: e }, 'as error');
    logger.warn({ nested: { deeper: { failure: e } }, list: [e] }, 'nested');
    logger.info({ config: e.config, request: e.request, response: e.response }, 'its parts');
    logger.info({ headers: { Authorization: `Bearer ${SECRET}` }, credentials: { apiKey: SECRET }, apiKey: SECRET, token: SECRET }, 'plain secrets');
    logger.error({ err: new Error('wrapped', { cause: e }) }, 'as a cause');
    const out = text();
    expect(out.split('\n').filter(Boolean).length).toBe(7);
    expect(out).not.toContain(SECRET);
    // What is left is still useful: status, method, path, message.
    const first = JSON.parse(out.split('\n')[0]!) as { err: { status: number; method: string; url: string; message: string } };
    expect(first.err).toMatchObject({ status: 401, method: 'get', message: 'Request failed with status code 401' });
    expect(first.err.url).toBe(`${origin}/fail`);
  });

  it('redacts the failures the HTTP client throws (VendorError) and keeps the request id', async () => {
    const get = createHttpClient({ baseUrl: origin, authHeaders: { Authorization: `Bearer ${SECRET}` }, readError: () => ({}), timeoutMs: 2000, retries: 1, maxInProcessWaitMs: 10 });
    const err = await get({ path: '/boom' }).catch((x: unknown) => x);
    const { logger, text } = memoryLogger();
    logger.error({ err }, 'vendor failure');
    expect(text()).not.toContain(SECRET);
    expect(text()).toContain('req-123');
  });

  it('a 404 names the method and path it asked, without the query string', async () => {
    const get = createHttpClient({ baseUrl: `${origin}/api`, authHeaders: { Authorization: `Bearer ${SECRET}` }, readError: (b) => ({ message: (b as { message: string }).message }), timeoutMs: 2000, retries: 0, maxInProcessWaitMs: 10 });
    const err = await get({ path: '/nowhere/devices', params: { token: 'q-secret' } }).catch((x: unknown) => x);
    expect(err).toMatchObject({ kind: 'invalid_request', status: 404, message: '404 Not Found (GET /api/nowhere/devices)' });
    expect((err as Error).message).not.toContain('q-secret');
    const linked = await get({ url: `${origin}/nowhere/next?page=2` }).catch((x: unknown) => x);
    expect((linked as Error).message).toBe('404 Not Found (GET /nowhere/next)');
  });
});
