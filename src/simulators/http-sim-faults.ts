/**
 * Fault injection of the loopback simulators: the queue of injected faults, consulted before
 * anything else for every request (HttpSimulator's dispatch step 1).
 */

export interface FaultMatchInput {
  method: string;
  path: string;
  query: URLSearchParams;
}

interface FaultCommon {
  /** Which requests the fault applies to; default: every request. */
  match?: (req: FaultMatchInput) => boolean;
  /** How many matching requests the fault fires for; default 1. `Infinity` is allowed. */
  times?: number;
  /** Optional delay before the fault fires (response sent / socket destroyed). */
  delayMs?: number;
}

export type Fault =
  | (FaultCommon & {
      kind: 'status';
      status: number;
      /** JSON-serialised unless a string (sent verbatim, text/plain unless headers say otherwise)
       *  or a Buffer (sent as bytes, e.g. gzip with `content-encoding` in headers).
       *  When omitted the simulator's vendor-style error body for that status is used. */
      body?: unknown;
      headers?: Record<string, string>;
    })
  | (FaultCommon & { kind: 'drop' })
  /** 200 headers at once, then the body a byte at a time, one every `everyMs`, never ending. */
  | (FaultCommon & { kind: 'trickle'; everyMs: number });

interface ActiveFault {
  fault: Fault;
  remaining: number;
}

/** Injected faults in injection order; the first whose `match` accepts a request fires. */
export class FaultQueue {
  private faults: ActiveFault[] = [];

  inject(fault: Fault): void {
    this.faults.push({ fault, remaining: fault.times ?? 1 });
  }

  clear(): void {
    this.faults = [];
  }

  /** Faults not yet fully consumed. */
  get pending(): number {
    return this.faults.length;
  }

  /** The fault for this request (one of its `times` used up), or null. */
  take(m: FaultMatchInput): Fault | null {
    for (let i = 0; i < this.faults.length; i++) {
      const f = this.faults[i];
      if (!f) continue;
      if (f.fault.match && !f.fault.match(m)) continue;
      f.remaining--;
      if (f.remaining <= 0) this.faults.splice(i, 1);
      return f.fault;
    }
    return null;
  }
}
