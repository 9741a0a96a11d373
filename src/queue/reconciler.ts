import { postgresConnectionReason } from '../infra-errors.js';
import type { Logger } from '../logger.js';
import type { Engine } from './engine.js';
import { Periodic } from './periodic.js';
import type { Scheduler } from './schedules.js';

/**
 * Periodic passes leave alone walks changed within this long: a run being started or a page
 * being committed in another process queues its own job a moment after the walk row changes.
 */
export const SETTLED_MS = 2_000;

/** What one reconciliation pass found and repaired. */
export interface ReconcileResult {
  /** Running runs of the configured sources. */
  runs: string[];
  /** Page jobs added for running walks that had none waiting, delayed, prioritized or active. */
  requeued: number;
  /** Configured schedules whose job scheduler was missing from Redis and was re-created. */
  restoredSchedules: string[];
}

/** Options of Reconciler. */
export interface ReconcilerOptions {
  engine: Engine;
  /** The worker's scheduler; null when this process fires no schedules. */
  scheduler: Scheduler | null;
  logger: Logger;
  /** Pause between the end of one pass and the start of the next. */
  intervalMs: number;
  /** Makes the event-feed polls' job schedulers match the config (EventCore.syncPolls), every pass; none: not here. */
  syncPolls?: () => Promise<void>;
}

/**
 * Re-derives what Redis should hold from Postgres and the config, in every worker, at start and
 * then every `intervalMs` (docs/design.md, Postgres is the source of truth): running walks
 * without a page job get it back, and missing job schedulers are re-created. A Redis restarted
 * without persistence, or one restored from an old snapshot, then only delays work, without a
 * worker restart. A pass that fails (Postgres or Redis away) is logged and tried again next time.
 */
export class Reconciler {
  private running: Promise<unknown> | null = null;
  private readonly periodic: Periodic;

  constructor(private readonly opts: ReconcilerOptions) {
    this.periodic = new Periodic(opts.intervalMs, async () => void (await this.pass(SETTLED_MS)));
  }

  /**
   * One pass: re-queue stranded walks (with `settledMs`, only those unchanged for that long),
   * restore missing schedulers. Throws what Postgres or Redis throws.
   */
  async runOnce(settledMs = 0): Promise<ReconcileResult> {
    const { runs, requeued } = await this.opts.engine.requeueStranded({ settledMs });
    const restoredSchedules = (await this.opts.scheduler?.restoreMissing()) ?? [];
    await this.opts.syncPolls?.();
    if (requeued > 0) this.opts.logger.warn({ runs, requeued }, `re-queued ${requeued} page job(s) of running walks that had none (Redis lost them)`);
    if (restoredSchedules.length > 0) this.opts.logger.warn({ schedules: restoredSchedules }, `re-created ${restoredSchedules.length} missing job scheduler(s) from the config`);
    return { runs, requeued, restoredSchedules };
  }

  /**
   * Runs a first pass now and returns its result (null when it failed; the periodic passes go
   * on), then keeps passing every `intervalMs` until close().
   */
  async start(): Promise<ReconcileResult | null> {
    // At start every running walk counts: a crashed worker's walks may have changed a moment ago.
    const first = await this.pass(0);
    this.periodic.start();
    return first;
  }

  private async pass(settledMs: number): Promise<ReconcileResult | null> {
    const p = this.runOnce(settledMs).catch((err: unknown) => {
      // A Postgres outage is logged once by the pool (db.ts); anything else is worth a warning.
      const level = postgresConnectionReason(err) ? 'debug' : 'warn';
      this.opts.logger[level]({ err: err instanceof Error ? err.message : String(err) }, 'reconciling queued jobs with the running runs failed; trying again at the next pass');
      return null;
    });
    this.running = p;
    try {
      return await p;
    } finally {
      this.running = null;
    }
  }

  /** Stops the periodic passes and waits for the one in flight. */
  async close(): Promise<void> {
    await this.periodic.close();
    await this.running;
  }
}
