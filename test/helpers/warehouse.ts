import { sql } from 'kysely';
import { expect } from 'vitest';
import type { AutomoxData } from '../../src/simulators/automox.js';
import type { TestEnv } from '../helpers.js';

/** The warehouse tables that hold vendor records (they share one row shape). */
export type DataTable = 'organizations' | 'device_groups' | 'devices' | 'packages' | 'patch_categories' | 'firmware_images' | 'projects' | 'clients' | 'users' | 'time_entries' | 'tags' | 'tasks';

/** Rows of `table` not marked deleted, of one source (or all), in external_id order. */
export function liveRows(env: TestEnv, table: DataTable, sourceId?: string) {
  // Every data table has the same columns; naming one keeps Kysely's types concrete.
  let q = env.db.selectFrom(table as 'devices').selectAll().where('deleted_at', 'is', null);
  if (sourceId !== undefined) q = q.where('source_id', '=', sourceId);
  return q.orderBy('external_id').execute();
}

/**
 * Asserts every column in `columns` holds a value in at least one live row of `table` for the
 * source: a sync of the simulators fills every column the docs say a vendor maps.
 */
export async function expectColumnsFilled(env: TestEnv, table: DataTable, sourceId: string, columns: readonly string[]): Promise<void> {
  const counts = await sql<Record<string, number>>`select ${sql.join(columns.map((c) => sql`count(${sql.ref(c)})::int as ${sql.ref(c)}`))} from ${sql.table(table)} where source_id = ${sourceId} and deleted_at is null`.execute(env.db);
  const row = counts.rows[0] ?? {};
  expect(columns.filter((c) => !(Number(row[c]) > 0)), `${table} columns never filled`).toEqual([]);
}

/** A copy of vendor records sorted the way Postgres orders their external ids here (`String(id)`, locale order). */
export function sortById<T extends { id: string | number }>(records: readonly T[]): T[] {
  return [...records].sort((a, b) => String(a.id).localeCompare(String(b.id)));
}

/** Asserts `devices` holds exactly `expected`, in external_id order, each with its record as `raw` and none deleted. */
export async function expectDevicesRaw(env: TestEnv, expected: ReadonlyArray<{ id: string | number }>): Promise<void> {
  const rows = await env.db.selectFrom('devices').select(['external_id', 'raw', 'deleted_at']).orderBy('external_id').execute();
  expect(rows.map((r) => r.external_id)).toEqual(expected.map((d) => String(d.id)));
  for (const [i, r] of rows.entries()) expect([r.raw, r.deleted_at]).toEqual([expected[i], null]);
}

/**
 * Asserts an Automox run interrupted by a stopped worker still landed exactly the simulator's
 * data, with every page committed once: nothing missing, nothing twice, nothing marked deleted.
 */
export async function expectAutomoxLandedOnce(env: TestEnv, data: AutomoxData, runId: string): Promise<void> {
  const devices = await env.db.selectFrom('devices').select(['external_id', 'raw', 'deleted_at']).orderBy('external_id').execute();
  expect(devices.map((d) => d.external_id)).toEqual(data.servers.map((s) => String(s.id)).sort());
  for (const d of devices) {
    expect(d.raw).toEqual(data.servers.find((x) => String(x.id) === d.external_id));
    expect(d.deleted_at).toBeNull();
  }
  const packages = await env.db.selectFrom('packages').select(sql<number>`count(*)::int`.as('n')).where('deleted_at', 'is', null).executeTakeFirstOrThrow();
  expect(packages.n).toBe(data.packages.length);
  // Per walk, inserted == records and nothing was updated.
  const walks = await env.db.selectFrom('sync_walks').selectAll().where('run_id', '=', runId).execute();
  for (const w of walks) {
    expect(w.status).toBe('succeeded');
    expect([w.resource, w.scope, w.inserted, w.updated]).toEqual([w.resource, w.scope, w.records, 0]);
  }
}

