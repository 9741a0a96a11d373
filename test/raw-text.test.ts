import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, TEST_WORKER, type TestEnv } from './helpers.js';
import { syncOnce } from './helpers/sync.js';

// A record's raw is stored from the text the vendor sent, not from JSON.stringify of the parsed
// record: what a JS number loses (an integer above 2^53, a decimal's written scale) is kept, and a
// body laid out with spaces and newlines, escaped quotes and brackets inside strings is cut right.
const BODY = `{
  "data" : [
    { "id": "d-1", "name": "first", "counter": 12345678901234567890123, "price": 1.50,
      "nested": { "q": "say \\"hi\\" \\\\ ]}", "list": [1, [2, { "k": "],[" }]] } } ,
    {"id":"d-2","name":"nul\\u0000here","counter":7}
  ],
  "data": [
    { "id": "d-1", "name": "first", "counter": 12345678901234567890123, "price": 1.50,
      "nested": { "q": "say \\"hi\\" \\\\ ]}", "list": [1, [2, { "k": "],[" }]] } } ,
    {"id":"d-2","name":"nul\\u0000here","counter":7},
    {"id":"d-3","name":"third","counter":3}
  ],
  "more": false
}
`;

const YAML_SOURCE = (origin: string) => ({
  sources: [
    {
      id: 'texts',
      vendor: 'rest',
      baseUrl: `${origin}/v1`,
      credentials: { apiKey: 'k-1' },
      rest: {
        auth: { type: 'apiKey' },
        resources: [{ name: 'devices', path: '/devices', table: 'devices', pagination: { type: 'none', records: 'data' }, map: { name: 'name' } }],
      },
    },
  ],
  worker: TEST_WORKER,
});

describe('raw as the vendor wrote it', () => {
  let env: TestEnv;
  let server: Server;
  let origin: string;

  beforeAll(async () => {
    env = await createTestEnv();
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(BODY);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await env.cleanup();
  });

  it('keeps numbers exactly as sent, reads the last of a repeated key, and still repairs what Postgres refuses', async () => {
    const app = await env.open(YAML_SOURCE(origin));
    app.engine.startWorkers();
    const { run } = await syncOnce(app, 'texts');
    expect(run.status).toBe('succeeded');
    const rows = await sql<{ external_id: string; name: string; counter: string; price: string; q: string; k: string; raw_name: string }>`
      SELECT external_id, name, raw->>'counter' AS counter, raw->>'price' AS price, raw->'nested'->>'q' AS q,
        raw->'nested'->'list'->1->1->>'k' AS k, raw->>'name' AS raw_name
      FROM devices WHERE source_id = 'texts' ORDER BY external_id`.execute(env.db);
    expect(rows.rows).toEqual([
      { external_id: 'd-1', name: 'first', counter: '12345678901234567890123', price: '1.50', q: 'say "hi" \\ ]}', k: '],[', raw_name: 'first' },
      // NUL is stripped (Postgres refuses it), so this record is stored from its repaired value.
      { external_id: 'd-2', name: 'nulhere', counter: '7', price: null, q: null, k: null, raw_name: 'nulhere' },
      { external_id: 'd-3', name: 'third', counter: '3', price: null, q: null, k: null, raw_name: 'third' },
    ]);
    // An unchanged resync finds every row unchanged by its hash.
    const again = await syncOnce(app, 'texts');
    const walk = await env.db.selectFrom('sync_walks').select(['unchanged', 'updated', 'inserted']).where('run_id', '=', again.runId).where('resource', '=', 'devices').executeTakeFirstOrThrow();
    expect(walk).toEqual({ unchanged: 3, updated: 0, inserted: 0 });
  });
});
