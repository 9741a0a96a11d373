import type { ResolvedSource } from '../sources.js';
import type { LaneSlots } from './lane-slots.js';
import { laneName, openLane, type Lane, type LaneOptions } from './lanes.js';

/** A lane unused this long (no request, no job in hand) is closed; the next page of its source opens it again. */
export const LANE_IDLE_MS = 5 * 60_000;

interface Open {
  lane: Lane;
  src: ResolvedSource;
  usedAt: number;
}

/**
 * The lanes this process has open, opened on a source's first page and closed when idle, so an
 * idle source holds no lane, client or socket here. A lane's limits live in its gate in Redis,
 * shared by every process: closing and opening it again loses nothing.
 */
export class LaneRegistry {
  private readonly open = new Map<string, Open>();

  constructor(
    private readonly opts: LaneOptions,
    private readonly slots: LaneSlots,
    private readonly now: () => number = Date.now,
  ) {}

  /** The lane of a resolved source's lane class, opened now if it is not (or if the source changed since). Throws when the source has no such lane. */
  lane(src: ResolvedSource, laneClass: string): Lane {
    const name = laneName(src.id, laneClass);
    const hit = this.open.get(name);
    if (hit && hit.src === src) {
      hit.usedAt = this.now();
      return hit.lane;
    }
    const lane = openLane(src, laneClass, this.opts);
    this.open.set(name, { lane, src, usedAt: this.now() });
    return lane;
  }

  /** The open lanes, of one source when given. */
  opened(sourceId?: string): Lane[] {
    return [...this.open.values()].filter((o) => sourceId === undefined || o.lane.sourceId === sourceId).map((o) => o.lane);
  }

  /** Closes the lanes of these sources (changed or removed): the next page opens them from the new configuration. */
  forget(sourceIds: Iterable<string>): void {
    const ids = new Set(sourceIds);
    for (const [name, o] of this.open) if (ids.has(o.lane.sourceId) && this.slots.count(name) === 0) this.open.delete(name);
  }

  /** Closes lanes idle for LANE_IDLE_MS with no job in hand. Returns how many it closed. */
  prune(): number {
    const before = this.now() - LANE_IDLE_MS;
    let closed = 0;
    for (const [name, o] of this.open) {
      if (o.usedAt < before && this.slots.count(name) === 0) {
        this.open.delete(name);
        closed++;
      }
    }
    return closed;
  }
}
