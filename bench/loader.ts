/**
 * The simple hand-tuned loader the `loader` workload compares fleetsync with, with its HTTP: one sequential page loop per org that
 * requests page N+1 while page N commits, and one `INSERT ... SELECT FROM unnest($typed[]...) ON
 * CONFLICT DO UPDATE ... WHERE IS DISTINCT FROM` per page (the ceiling's statement, same
 * conflict rule as fleetsync). keep-alive axios, JSON.parse, the Automox connector's mapping,
 * `raw` re-serialized. No queue, no cursor, no seen ids, no deletion sweep.
 * It asks `/servers` for what the connector asks (`include_details=1`): without it the answer has
 * no `detail`, so the model and serial columns stay empty and each record is ~650 bytes shorter,
 * a smaller warehouse that is no measure of loading the same one (docs/performance.md).
 */
import http from 'node:http';
import axios from 'axios';
import pg from 'pg';
import { unnestArrays, unnestUpsert } from './ceiling.js';

export interface LoaderOptions {
  databaseUrl: string;
  origin: string;
  apiKey: string;
  sourceId: string;
  orgIds: readonly number[];
  pageSize?: number;
}

/** Loads every device of the orgs, one org after the other. Returns rows written and elapsed ms. */
export async function runLoader(opts: LoaderOptions): Promise<{ rows: number; ms: number }> {
  const agent = new http.Agent({ keepAlive: true });
  const client = axios.create({ baseURL: `${opts.origin}/api`, httpAgent: agent, headers: { Authorization: `Bearer ${opts.apiKey}` } });
  const { text, names } = unnestUpsert('devices');
  const conn = new pg.Client({ connectionString: opts.databaseUrl });
  await conn.connect();
  const limit = opts.pageSize ?? 500;
  const fetchPage = async (org: number, page: number) => (await client.get<unknown[]>('/servers', { params: { o: org, include_details: '1', limit, page } })).data;
  let rows = 0;
  const t0 = performance.now();
  try {
    for (const org of opts.orgIds) {
      const scope = String(org);
      let next: Promise<unknown[]> | null = fetchPage(org, 0);
      for (let page = 0; next !== null; page++) {
        const records: unknown[] = await next;
        // The next request goes out before this page is mapped and written.
        next = records.length === limit ? fetchPage(org, page + 1) : null;
        next?.catch(() => undefined);
        const arrays = unnestArrays(records, scope, opts.sourceId, names);
        await conn.query({ name: 'loader-upsert', text, values: [opts.sourceId, ...arrays] });
        rows += records.length;
      }
    }
  } finally {
    await conn.end();
    agent.destroy();
  }
  return { rows, ms: performance.now() - t0 };
}
