import type { Logger } from './logger.js';

/**
 * Logs a dependency's outages as two lines: one when it goes away, one when it is back, however
 * many connections or queries fail in between (a lost Postgres fails every query in flight; a
 * lost Redis errors on every reconnect attempt of every connection).
 */
export class OutageLog {
  private downSince: number | null = null;

  /** `what` names the dependency with its endpoint, e.g. `Postgres at 127.0.0.1:5432`; `component` goes into every line. */
  constructor(
    private readonly log: Logger | undefined,
    private readonly component: 'postgres' | 'redis',
    private readonly what: string,
  ) {}

  /** Whether the dependency is currently considered down. */
  get isDown(): boolean {
    return this.downSince !== null;
  }

  /** Records a failure; logs `<what> is unreachable (<reason>)` when it was up. */
  down(reason: string): void {
    if (this.downSince !== null) return;
    this.downSince = Date.now();
    this.log?.error({ component: this.component, reason }, `${this.what} is unreachable (${reason}); waiting for it to come back`);
  }

  /** Records a success; logs `<what> is back` with how long it was away when it was down. */
  up(): void {
    if (this.downSince === null) return;
    const downMs = Date.now() - this.downSince;
    this.downSince = null;
    this.log?.info({ component: this.component, downMs }, `${this.what} is back after ${downMs} ms`);
  }
}
