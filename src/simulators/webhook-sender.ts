/**
 * How the simulators deliver events to a receiver: one HTTP request per attempt, built anew each
 * time (a fresh send time and signature, as the vendors do), retried with exponential backoff
 * until a 2xx or the give-up time. Used by the Toggl webhooks and the Izuma notification channel.
 */

/** A vendor's redelivery schedule. */
export interface RetrySchedule {
  /** Wait before the first retry; doubled after each failure. */
  firstDelayMs: number;
  /** Longest wait between two attempts. */
  maxDelayMs: number;
  /** After this long since the first attempt, the vendor gives up. */
  giveUpAfterMs: number;
}

/** One request of a delivery. */
export interface OutgoingRequest {
  url: string;
  method: 'POST' | 'PUT';
  headers: Record<string, string>;
  body: string;
}

/** One attempt as the simulator saw it: its answer's status, or `network` when no answer came. */
export interface Attempt {
  key: string;
  url: string;
  status: number | 'network';
  at: number;
  attempt: number;
}

/** Sends one request; resolves with its status and text, or `network` when no answer came within 10 s. */
export async function sendOnce(req: OutgoingRequest): Promise<{ status: number | 'network'; text: string }> {
  try {
    const res = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body, signal: AbortSignal.timeout(10_000), redirect: 'manual' });
    return { status: res.status, text: await res.text() };
  } catch {
    return { status: 'network', text: '' };
  }
}

/** The wait before retry number `failures` (1 = after the first failure) (pure). */
export function retryDelay(schedule: RetrySchedule, failures: number): number {
  return Math.min(schedule.maxDelayMs, schedule.firstDelayMs * 2 ** Math.max(0, failures - 1));
}

/** Deliveries with retries; `stop()` drops what is still pending (the simulator went away). */
export class WebhookSender {
  /** Every attempt, in order. */
  readonly attempts: Attempt[] = [];
  /** Keys of deliveries answered 2xx, and of those given up. */
  readonly delivered: string[] = [];
  readonly givenUp: string[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly active = new Set<string>();
  private stopped = false;

  constructor(
    public schedule: RetrySchedule,
    private readonly now: () => number = Date.now,
  ) {}

  /** Deliveries not answered 2xx yet (in flight or waiting for a retry). */
  get pending(): number {
    return this.active.size;
  }

  /**
   * Delivers `make()` (called for every attempt) until a 2xx; `onEnd` learns whether it was
   * delivered or given up. Resolves after the first attempt with its answer.
   */
  async deliver(key: string, make: () => OutgoingRequest | null, onEnd?: (delivered: boolean) => void): Promise<{ status: number | 'network'; text: string } | null> {
    this.active.add(key);
    const started = this.now();
    let failures = 0;
    const attempt = async (): Promise<{ status: number | 'network'; text: string } | null> => {
      const req = this.stopped ? null : make();
      if (req === null) return this.end(key, false, onEnd);
      const answer = await sendOnce(req);
      this.attempts.push({ key, url: req.url, status: answer.status, at: this.now(), attempt: failures + 1 });
      if (typeof answer.status === 'number' && answer.status >= 200 && answer.status < 300) return this.end(key, true, onEnd, answer);
      failures++;
      const wait = retryDelay(this.schedule, failures);
      if (this.stopped || this.now() + wait - started > this.schedule.giveUpAfterMs) return this.end(key, false, onEnd, answer);
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        void attempt();
      }, wait);
      this.timers.add(timer);
      return answer;
    };
    return await attempt();
  }

  private end<T>(key: string, delivered: boolean, onEnd: ((delivered: boolean) => void) | undefined, answer: T | null = null): T | null {
    this.active.delete(key);
    (delivered ? this.delivered : this.givenUp).push(key);
    onEnd?.(delivered);
    return answer;
  }

  /** Stops: no more attempts; pending deliveries are dropped. */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
