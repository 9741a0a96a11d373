/**
 * The ceiling: the same normalized device rows written straight into the same table with the
 * fastest method measured from Node: one multi-row upsert per 500 rows through unnest() of typed
 * arrays, two statements in flight on two connections so generation overlaps the writes.
 * Same conflict rule as fleetsync (an identical row is not rewritten). No HTTP, no queue, no
 * cursor, no seen-id bookkeeping: what Postgres can absorb from one Node process.
 */
import pg from 'pg';
import { automox } from '../jobs/automox.js';
import { generateAutomoxData, generatedAutomoxServer, type GeneratedAutomoxOptions } from '../src/simulators/automox.js';
import { DATA_TABLES, type DataTableName } from '../src/warehouse/tables.js';

export interface CeilingOptions {
  databaseUrl: string;
  sourceId: string;
  generated: GeneratedAutomoxOptions;
  pageSize?: number;
  /** Statements in flight (connections); default 2. */
  inFlight?: number;
}

/**
 * The one-statement page upsert of the ceiling and the loader: `$1` the source id, then one typed
 * array per column (external_id, scope, the table's columns, raw as jsonb text); an identical
 * row is not rewritten. `names` are the table's own columns in array order ($4...).
 */
export function unnestUpsert(table: DataTableName): { text: string; names: string[] } {
  const cols = Object.entries(DATA_TABLES[table]) as Array<[string, string]>;
  const names = cols.map(([c]) => c);
  const all = ['external_id', 'scope', ...names, 'raw'];
  const types = ['text', 'text', ...cols.map(([, t]) => t), 'jsonb'];
  const setList = [...['scope', ...names, 'raw'].map((c) => `${c} = EXCLUDED.${c}`), 'last_seen_at = now()', 'deleted_at = NULL'].join(', ');
  const compared = ['scope', ...names, 'raw'];
  const text = `INSERT INTO ${table} AS t (source_id, ${all.join(', ')})
SELECT $1::text, * FROM unnest(${types.map((t, i) => `$${i + 2}::${t}[]`).join(', ')})
ON CONFLICT (source_id, external_id) DO UPDATE SET ${setList}
WHERE (${compared.map((c) => `t.${c}`).join(', ')}, t.deleted_at) IS DISTINCT FROM (${compared.map((c) => `EXCLUDED.${c}`).join(', ')}, NULL::timestamptz)`;
  return { text, names };
}

const devicesDef = automox.resources.find((r) => r.name === 'devices')!;

/**
 * unnestUpsert's arrays (after `$1`) for a page of Automox device records of one scope: ids,
 * scope, the connector mapping's columns in `names` order, and each record's JSON text as raw.
 */
export function unnestArrays(records: readonly unknown[], scope: string, sourceId: string, names: readonly string[]): unknown[][] {
  const arrays: unknown[][] = Array.from({ length: names.length + 3 }, () => []);
  for (const raw of records) {
    const columns = devicesDef.map(raw as never, { sourceId, scope }) as Record<string, unknown>;
    arrays[0]!.push(String((raw as { id: number }).id));
    arrays[1]!.push(scope);
    names.forEach((n, i) => arrays[i + 2]!.push(columns[n] ?? null));
    arrays[names.length + 2]!.push(JSON.stringify(raw));
  }
  return arrays;
}

/** Writes every generated device; returns rows and elapsed ms (generation and mapping included). */
export async function runCeiling(opts: CeilingOptions): Promise<{ rows: number; ms: number }> {
  const groups = generateAutomoxData({ seed: opts.generated.seed, orgs: opts.generated.orgs, devicesPerOrg: 0, packagesPerDevice: 0, groupsPerOrg: opts.generated.groupsPerOrg }).groups;
  const { text, names } = unnestUpsert('devices');
  const inFlight = opts.inFlight ?? 2;
  const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: inFlight });
  const pageSize = opts.pageSize ?? 500;
  const pending = new Set<Promise<unknown>>();
  let rows = 0;
  const t0 = performance.now();
  try {
    for (let o = 0; o < opts.generated.orgs; o++) {
      for (let start = 0; start < opts.generated.devicesPerOrg; start += pageSize) {
        const records: unknown[] = [];
        for (let d = start; d < Math.min(start + pageSize, opts.generated.devicesPerOrg); d++) records.push(generatedAutomoxServer(opts.generated, groups, o, d));
        const arrays = unnestArrays(records, String(10_001 + o), opts.sourceId, names);
        rows += records.length;
        const p = pool.query({ name: 'ceiling-upsert', text, values: [opts.sourceId, ...arrays] });
        pending.add(p);
        void p.finally(() => pending.delete(p)).catch(() => undefined);
        if (pending.size >= inFlight) await Promise.race(pending);
      }
    }
    await Promise.all(pending);
  } finally {
    await pool.end();
  }
  return { rows, ms: performance.now() - t0 };
}
