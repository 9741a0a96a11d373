/**
 * The chaos vendor's records and how they change: inserts, deletes, updates and moves, placed
 * the way the style's real counterpart places them (see chaos.ts), counted for reports.
 */
import type { Rng } from './sim-data.js';
import { isPositional, type ChaosStyle } from './chaos-styles.js';

/** One vendor record. `attrs` is nested past the engine's depth limit for a "too deep" record. */
export interface ChaosRecord {
  id: string;
  name: string;
  serial: string;
  v: number;
  updated_at: string;
  attrs?: unknown;
}

/** Counts of what the chaos did, for reports. */
export interface ChaosCounts {
  requests: number;
  inserts: number;
  deletes: number;
  updates: number;
  moves: number;
  faults: Record<string, number>;
  glitches: number;
}

const MAX_ID = 9_999_999;
/** Deeper than the engine's record limit (64). */
const DEEP_LEVELS = 80;
/** Changes never bring a scope below this many records, so no walk lists one empty by chaos. */
const MIN_RECORDS = 10;

function deep(levels: number): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
}

export class ChaosStore {
  /** The vendor's records in listing order. */
  readonly items: ChaosRecord[] = [];
  private readonly usedIds = new Set<string>();
  private clock = Date.UTC(2026, 0, 1);
  private readonly style: ChaosStyle;
  private readonly counts: ChaosCounts;
  /** Ids deleted (the caller clears it when a walk begins). */
  private readonly deleted: Set<string>;

  constructor(opts: { style: ChaosStyle; counts: ChaosCounts; deleted: Set<string> }) {
    this.style = opts.style;
    this.counts = opts.counts;
    this.deleted = opts.deleted;
  }

  insert(rng: Rng, bad: boolean): void {
    const id = this.newId(rng);
    const rec: ChaosRecord = { id, name: `item ${id}`, serial: rng.hex(10), v: 0, updated_at: this.stamp() };
    if (bad) rec.attrs = deep(DEEP_LEVELS);
    if (isPositional(this.style) && this.style !== 'next') this.items.splice(rng.int(0, this.items.length), 0, rec);
    else {
      this.items.push(rec);
      this.sortById();
    }
    this.counts.inserts++;
  }

  /** One data change. Keeps at least MIN_RECORDS records. */
  mutate(rng: Rng, mayBeBad: boolean): void {
    const r = rng.next();
    if (r < 0.3 || this.items.length < MIN_RECORDS) {
      this.insert(rng, mayBeBad && rng.bool(0.1));
      return;
    }
    const i = rng.int(0, this.items.length - 1);
    const rec = this.items[i]!;
    if (r < 0.6) {
      this.items.splice(i, 1);
      this.deleted.add(rec.id);
      this.counts.deletes++;
      return;
    }
    this.update(rng, { rec, mayBeBad });
    if ((this.style === 'page' || this.style === 'offset' || this.style === 'envelope') && rng.bool(0.5)) {
      // No documented order: an updated row may come back last.
      this.items.splice(i, 1);
      this.items.push(rec);
      this.counts.moves++;
    }
  }

  private update(rng: Rng, change: { rec: ChaosRecord; mayBeBad: boolean }): void {
    const { rec, mayBeBad } = change;
    rec.v++;
    rec.updated_at = this.stamp();
    // A lone surrogate, which Postgres refuses: the engine stores it repaired (U+FFFD).
    rec.name = mayBeBad && rec.attrs === undefined && rng.bool(0.15) ? `item ${rec.id} \ud800v${rec.v}` : `item ${rec.id} v${rec.v}`;
    this.counts.updates++;
  }

  private sortById(): void {
    this.items.sort((a, b) => Number(a.id) - Number(b.id));
  }

  private newId(rng: Rng): string {
    for (;;) {
      const id = String(rng.int(1, MAX_ID));
      if (!this.usedIds.has(id)) {
        // Ids are never reused: a deleted record does not come back under its id.
        this.usedIds.add(id);
        return id;
      }
    }
  }

  private stamp(): string {
    this.clock += 1000;
    return new Date(this.clock).toISOString();
  }
}
