/**
 * Page jobs in hand in this process, per lane, and the jobs waiting here for a slot. Page jobs of
 * every source of a vendor share one BullMQ queue, so the queue's concurrency is no lane's limit:
 * a lane's `concurrency` is held here. A job that finds its lane full waits in line here while the
 * line is shorter than the lane's concurrency (a freed slot goes straight to the first in line, no
 * Redis round trip), else it is put back on the queue for a moment (src/queue/page-admission.ts).
 * The head start counts these slots too before it fetches a page ahead.
 */
export class LaneSlots {
  private readonly inHand = new Map<string, number>();
  private readonly line = new Map<string, Array<(release: () => void) => void>>();

  /** Page jobs of `lane` in hand now. */
  count(lane: string): number {
    return this.inHand.get(lane) ?? 0;
  }

  /** Page jobs waiting here for a slot of `lane`. */
  waiting(lane: string): number {
    return this.line.get(lane)?.length ?? 0;
  }

  /** Counts a page job of `lane` in hand until the returned function is called (idempotent). */
  enter(lane: string): () => void {
    this.inHand.set(lane, this.count(lane) + 1);
    return this.releaser(lane);
  }

  /** A slot of `lane` now when fewer than `concurrency` are in hand, else when one is freed; resolves with its release. */
  take(lane: string, concurrency: number): Promise<() => void> {
    if (this.count(lane) < concurrency) return Promise.resolve(this.enter(lane));
    return new Promise((resolve) => {
      const line = this.line.get(lane) ?? [];
      line.push(resolve);
      this.line.set(lane, line);
    });
  }

  private releaser(lane: string): () => void {
    let left = false;
    return () => {
      if (left) return;
      left = true;
      // The slot passes to the first in line as it is: nobody can take it in between.
      const next = this.line.get(lane)?.shift();
      if (this.waiting(lane) === 0) this.line.delete(lane);
      if (next) return next(this.releaser(lane));
      const n = this.count(lane) - 1;
      if (n > 0) this.inHand.set(lane, n);
      else this.inHand.delete(lane);
    };
  }
}
