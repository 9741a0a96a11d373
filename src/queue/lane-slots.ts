/**
 * Page jobs in hand in this process, per lane. Page jobs of every source of a vendor share one
 * BullMQ queue, so the queue's concurrency is no lane's limit: a lane's `concurrency` is held here
 * (a job finding its lane full in this process waits a moment: src/queue/page-admission.ts), and
 * the head start counts these slots too before it fetches a page ahead.
 */
export class LaneSlots {
  private readonly inHand = new Map<string, number>();

  /** Page jobs of `lane` in hand now. */
  count(lane: string): number {
    return this.inHand.get(lane) ?? 0;
  }

  /** Counts a page job of `lane` in hand until the returned function is called (idempotent). */
  enter(lane: string): () => void {
    this.inHand.set(lane, this.count(lane) + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const n = this.count(lane) - 1;
      if (n > 0) this.inHand.set(lane, n);
      else this.inHand.delete(lane);
    };
  }

  /** Lanes with a job in hand (an idle lane is never pruned while it has one). */
  busy(): Set<string> {
    return new Set(this.inHand.keys());
  }
}
