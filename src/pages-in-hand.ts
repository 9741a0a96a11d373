/**
 * What a stopping process holds, and closing BullMQ workers when Redis is down. BullMQ's
 * `Worker.close()` quits its connections with QUIT, which ioredis queues until Redis answers
 * again, so with Redis down a shutdown would wait for Redis (or the shutdown timeout) even with
 * nothing in hand. Page jobs commit to Postgres, not Redis: once none is running, there is
 * nothing left to finish and the connections can be dropped (a job whose completion Redis never
 * heard of is redelivered later and finds its page committed).
 */

import type { Logger } from './logger.js';

/** Counts the page jobs this process is working on (their handlers have not returned yet). */
export class PagesInHand {
  private n = 0;
  private waiters: Array<() => void> = [];

  /** Pages being worked now. */
  get count(): number {
    return this.n;
  }

  /** Counts `work` as in hand until it settles; returns it unchanged. */
  track<T>(work: Promise<T>): Promise<T> {
    this.n += 1;
    const done = () => {
      this.n -= 1;
      if (this.n === 0) for (const w of this.waiters.splice(0)) w();
    };
    work.then(done, done);
    return work;
  }

  /** Resolves once no page is in hand (at once when none is). Never rejects. */
  drained(): Promise<void> {
    return this.n === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}

/** Something BullMQ-like to close: `close(true)` drops its connections instead of quitting them. */
export interface Closable {
  close(force?: boolean): Promise<void>;
}

/**
 * Closes workers after the pages in hand: while Redis answers, BullMQ's own close (it waits for
 * the jobs and quits its connections); when it does not, waits for `inHand` to drain, then closes
 * them with force, which disconnects without asking Redis.
 */
export async function closeAfterPagesInHand(workers: readonly Closable[], redisUp: boolean, inHand?: PagesInHand): Promise<void> {
  if (redisUp) {
    await Promise.all(workers.map((w) => w.close()));
    return;
  }
  await inHand?.drained();
  await Promise.all(workers.map((w) => w.close(true)));
}

/** The line of a shutdown that ran out of time, saying what it leaves behind. */
export function shutdownTimedOut(pages: number): string {
  return pages === 0
    ? 'shutdown timed out with no page in hand; exiting'
    : `shutdown timed out; exiting with ${pages} page${pages === 1 ? '' : 's'} in hand (they are redelivered)`;
}

/** The line a worker logs when told to stop while Redis is down: it stops without waiting for Redis. Null while Redis answers. */
export function stoppingWithRedisDown(pages: number, redisUp: boolean): string | null {
  if (redisUp) return null;
  return `Redis is down: stopping ${pages === 0 ? 'with no page in hand' : `after the ${pages} page${pages === 1 ? '' : 's'} in hand`}, without waiting for Redis`;
}

/** Logs `line` at info when there is one. */
export function logIf(logger: Logger, line: string | null): void {
  if (line !== null) logger.info(line);
}
