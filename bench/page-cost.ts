/**
 * What one page of 500 devices costs, step by step, in CPU rather than wall time (the machine's
 * speed moves wall-time figures by a third from run to run; CPU per page moves far less):
 * - the worker's steps, in this process: parsing the answer's text, normalizing the records
 *   (validation, mapping, text checks), serializing and hashing the payload;
 * - the Postgres backend's CPU (read from /proc) for fleetsync's first-sync statement (history
 *   versions opened in it), for the resync's hash lookup of the same pages, and for the loader's
 *   statement (bench/loader.ts) writing the same pages into a second empty table.
 * Generated Automox devices, one connection, pages one after another, nothing else running.
 */
import { CompiledQuery, sql } from 'kysely';
import { automox } from '../jobs/automox.js';
import { generateAutomoxData, generatedAutomoxServer } from '../src/simulators/automox.js';
import { rememberBodyText } from '../src/http/body-text.js';
import { normalizePage } from '../src/sync/normalize-page.js';
import { recordTexts } from '../src/sync/record-texts.js';
import { createDb } from '../src/warehouse/db.js';
import { payloadRecords, type PagePayload, type RowToUpsert } from '../src/warehouse/payload.js';
import { upsertRows } from '../src/warehouse/upsert.js';
import { unnestArrays, unnestUpsert } from './ceiling.js';
import { freshDb, processCpuMs } from './lib.js';

export interface PageCost {
  pages: number;
  /** Worker CPU ms per page. */
  worker: { parse: number; normalize: number; payload: number };
  /** Postgres backend CPU ms per page. */
  postgres: { firstSync: number; resyncLookup: number; loader: number };
}

const DEVICES = automox.resources.find((r) => r.name === 'devices')!;

const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Measures `pages` pages of 500 (database `dbName`, dropped afterwards). Reads /proc: Linux only. */
export async function runPageCost(pages: number, dbName: string): Promise<PageCost> {
  const bodies = generatedBodies(pages);
  const worker = { parse: 0, normalize: 0, payload: 0 };
  const postgres = { firstSync: 0, resyncLookup: 0, loader: 0 };
  const bench = await freshDb(dbName);
  // One connection, so that one backend does all the work measured.
  const db = createDb(bench.url, { max: 1, applicationName: 'fleetsync-bench-page-cost' });
  const backendCpu = async () => processCpuMs((await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(db)).rows[0]!.pid) ?? Number.NaN;
  /** Adds the backend's CPU over `fn` to `key`. */
  const onBackend = async <T>(key: keyof typeof postgres, fn: () => Promise<T>): Promise<T> => {
    const c = await backendCpu();
    const result = await fn();
    postgres[key] += (await backendCpu()) - c;
    return result;
  };
  try {
    await sql`CREATE TABLE loader_devices (LIKE devices INCLUDING ALL)`.execute(db);
    const loader = unnestUpsert('devices');
    const loaderText = loader.text.replace('INSERT INTO devices', 'INSERT INTO loader_devices');
    const written: Array<{ rows: RowToUpsert[]; payload: PagePayload }> = [];
    for (const body of bodies) {
      const page = preparePageTimed(body, worker);
      await onBackend('firstSync', () => db.transaction().execute((trx) => upsertRows(trx, { table: 'devices', sourceId: 'bench-a' }, page.payload, { lookUpHashes: false, openHistory: true })));
      written.push(page);
    }
    // The resync's lookups run against the whole table with fresh statistics, as after a first sync.
    await sql`VACUUM (ANALYZE) devices`.execute(db);
    for (const [page, { rows, payload }] of written.entries()) {
      const again = await onBackend('resyncLookup', () => db.transaction().execute((trx) => upsertRows(trx, { table: 'devices', sourceId: 'bench-a' }, payload, { lookUpHashes: true })));
      if (again.unchanged !== rows.length) throw new Error(`page cost: page ${page} was not unchanged on its second write`);
    }
    for (const body of bodies) {
      const arrays = unnestArrays(JSON.parse(body) as unknown[], '10001', 'bench-a', loader.names);
      await onBackend('loader', () => db.executeQuery(CompiledQuery.raw(loaderText, ['bench-a', ...arrays])));
    }
  } finally {
    await db.destroy();
    await bench.drop();
  }
  const per = <T extends Record<string, number>>(o: T): T => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round((10 * v) / pages) / 10])) as T;
  return { pages, worker: per(worker), postgres: per(postgres) };
}

/** `pages` answers of 500 generated devices each, as the vendor's text. */
function generatedBodies(pages: number): string[] {
  const gen = { seed: 1, orgs: 1, devicesPerOrg: pages * 500 };
  const groups = generateAutomoxData({ seed: 1, orgs: 1, devicesPerOrg: 0, packagesPerDevice: 0 }).groups;
  const bodies: string[] = [];
  for (let p = 0; p < pages; p++) {
    const page: unknown[] = [];
    for (let d = p * 500; d < (p + 1) * 500; d++) page.push(generatedAutomoxServer(gen, groups, 0, d));
    bodies.push(JSON.stringify(page));
  }
  return bodies;
}

/** The worker's steps for one answer, each step's CPU added to `worker`. */
function preparePageTimed(body: string, worker: PageCost['worker']): { rows: RowToUpsert[]; payload: PagePayload } {
  let t = cpuNow();
  const records = JSON.parse(body) as unknown[];
  // As the HTTP client does: the body's text stays with it, for each record's raw.
  rememberBodyText(records, body);
  worker.parse += cpuNow() - t;
  t = cpuNow();
  const texts = recordTexts(records, records);
  worker.payload += cpuNow() - t;
  t = cpuNow();
  const normalized = normalizePage(DEVICES, records, { sourceId: 'bench-a', scope: '10001', where: 'page cost' }, texts);
  worker.normalize += cpuNow() - t;
  t = cpuNow();
  const payload = payloadRecords(normalized.rows);
  worker.payload += cpuNow() - t;
  return { rows: normalized.rows, payload };
}
