import { sql, type Kysely } from 'kysely';
import type { Database } from './db.js';

/** What sync_schedules keeps of one configured schedule. */
export interface ScheduleRecord {
  name: string;
  cron: string;
  timeZone: string;
  sources: string[];
  resources: string[];
  mode: string;
  /** The schedule's next fire time from now. */
  nextFireAt: Date | null;
}

/**
 * Records the configured schedules in sync_schedules (what reporting.sync_health measures lag
 * against) and removes the ones no longer configured. A recorded schedule keeps last_fired_at
 * and its next_fire_at, even one that has passed unfired (a worker was down: the lag shows it);
 * a new schedule, or one whose cron or time zone changed, takes `nextFireAt`.
 */
export async function recordSchedules(db: Kysely<Database>, schedules: readonly ScheduleRecord[]): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('sync_schedules').where('name', 'not in', schedules.length ? schedules.map((s) => s.name) : ['']).execute();
    for (const s of schedules) {
      const values = { name: s.name, cron: s.cron, time_zone: s.timeZone, sources: s.sources, resources: s.resources, mode: s.mode, next_fire_at: s.nextFireAt };
      await trx
        .insertInto('sync_schedules')
        .values(values)
        .onConflict((oc) =>
          oc.column('name').doUpdateSet({
            cron: s.cron,
            time_zone: s.timeZone,
            sources: s.sources,
            resources: s.resources,
            mode: s.mode,
            // A changed pattern starts over; otherwise a missed firing stays visible until the next one.
            next_fire_at: sql`CASE WHEN sync_schedules.cron IS DISTINCT FROM EXCLUDED.cron OR sync_schedules.time_zone IS DISTINCT FROM EXCLUDED.time_zone OR sync_schedules.next_fire_at IS NULL THEN EXCLUDED.next_fire_at ELSE sync_schedules.next_fire_at END`,
            updated_at: sql`now()`,
          }),
        )
        .execute();
    }
  });
}

/** Records that a schedule fired now and when it fires next. */
export async function recordFiring(db: Kysely<Database>, name: string, nextFireAt: Date | null): Promise<void> {
  await db.updateTable('sync_schedules').set({ last_fired_at: sql`now()`, next_fire_at: nextFireAt, updated_at: sql`now()` }).where('name', '=', name).execute();
}

/**
 * Of the named schedules, those whose recorded next firing is due by `now` and has not happened
 * (last_fired_at before it): a firing missed while nothing could fire it, with its due time.
 */
export async function missedFirings(db: Kysely<Database>, names: readonly string[], now: Date): Promise<Array<{ name: string; due: Date }>> {
  if (names.length === 0) return [];
  const rows = await db
    .selectFrom('sync_schedules')
    .select(['name', 'next_fire_at'])
    .where('name', 'in', [...names])
    .where('next_fire_at', '<=', now)
    .where((eb) => eb.or([eb('last_fired_at', 'is', null), eb('last_fired_at', '<', eb.ref('next_fire_at'))]))
    .execute();
  return rows.flatMap((r) => (r.next_fire_at ? [{ name: r.name, due: r.next_fire_at }] : []));
}
