import type { Kysely } from 'kysely';
import type { Engine } from './queue/engine.js';
import { formatQuota, quotaState } from './queue/quota.js';
import type { Database } from './warehouse/db.js';

/** One lane of a source as `status` shows it. */
export interface LaneStatus {
  name: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  paused: boolean;
  pausedUntil: string | null;
  limit: string;
  /** "quota: 12 of 30 requests left this hour, resumes 14:00" for a lane whose source has a quota, else null. */
  quota: string | null;
}

/**
 * The lanes of a source with their page jobs by state. Page queues are shared by every source of a
 * vendor, so a source's jobs are found from its running walks (each has at most its current page's
 * job), not by counting a queue: the cost is one lookup per running walk, none for an idle source.
 */
export async function laneStatus(db: Kysely<Database>, engine: Engine, sourceId: string, opts: { paused: boolean; limitText: (l: ReturnType<Engine['lanesOf']>[number]) => string }): Promise<LaneStatus[]> {
  const lanes = engine.lanesOf(sourceId);
  const counts = new Map(lanes.map((l) => [l.laneClass, { waiting: 0, active: 0, delayed: 0, failed: 0 }]));
  const walks = await db.selectFrom('sync_walks').selectAll().where('source_id', '=', sourceId).where('status', '=', 'running').execute();
  for (const w of walks) {
    const c = counts.get(engine.laneOf(sourceId, w.resource)?.laneClass ?? '');
    const state = c ? await engine.jobState(w) : null;
    if (!c || state === null) continue;
    if (state === 'waiting' || state === 'prioritized' || state === 'waiting-children') c.waiting++;
    else if (state === 'active') c.active++;
    else if (state === 'delayed') c.delayed++;
    else if (state === 'failed') c.failed++;
  }
  const out: LaneStatus[] = [];
  for (const lane of lanes) {
    const until = await lane.gate.pausedUntil();
    const c = counts.get(lane.laneClass)!;
    const quota = lane.quotaPerHour ? formatQuota(await quotaState(lane.gate, lane.quotaPerHour)) : null;
    out.push({ name: lane.name, ...c, paused: opts.paused, pausedUntil: until ? new Date(until).toISOString() : null, limit: opts.limitText(lane), quota });
  }
  return out;
}
