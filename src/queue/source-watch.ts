import { postgresConnectionReason } from '../infra-errors.js';
import type { Logger } from '../logger.js';
import type { SourceRegistry } from '../source-registry.js';
import { Periodic } from './periodic.js';

/** What a SourceWatch reads and tells. */
export interface SourceWatchOptions {
  sources: SourceRegistry;
  logger: Logger;
  intervalMs: number;
  /** Called with the ids added, changed or removed since the last read (never with none). */
  onChange: (ids: string[]) => Promise<void> | void;
}

/**
 * Reads the sources stored in Postgres every `intervalMs` in a running worker, so a source added,
 * changed or removed with `fleetsync sources` is worked, reopened or left within one interval,
 * without a restart. A failed read (Postgres away) is tried again at the next one.
 */
export class SourceWatch {
  private readonly periodic: Periodic;

  constructor(private readonly opts: SourceWatchOptions) {
    this.periodic = new Periodic(opts.intervalMs, () =>
      this.once()
        .then(() => undefined)
        .catch((err: unknown) => opts.logger[postgresConnectionReason(err) ? 'debug' : 'warn']({ err: (err as Error).message }, 'reading the stored sources failed; trying again at the next interval')),
    );
  }

  start(): void {
    this.periodic.start();
  }

  /** One read now; resolves with the ids that changed. */
  async once(): Promise<string[]> {
    const before = new Set(this.opts.sources.ids());
    const changed = await this.opts.sources.refresh();
    if (changed.length > 0) {
      const added = changed.filter((id) => !before.has(id)).length;
      const removed = changed.filter((id) => !this.opts.sources.has(id)).length;
      this.opts.logger.info({ added, removed, changed: changed.length - added - removed, sources: this.opts.sources.size }, 'sources changed in Postgres; picked up');
      await this.opts.onChange(changed);
    }
    return changed;
  }

  /** Stops reading; waits for a read in flight. */
  async close(): Promise<void> {
    await this.periodic.close();
  }
}
