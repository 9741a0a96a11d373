import { createLogUpdate } from 'log-update';

/** The part of a terminal stream the live area needs (process.stderr, or a test's fake). */
export interface TerminalStream {
  write(chunk: string): boolean;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
}

/**
 * One terminal shared by the log and the progress display: a live area at the bottom (progress
 * bars, redrawn in place by log-update) and everything else written above it. Every write to the
 * terminal goes through here while a live area is shown, so a log line never lands inside a frame
 * and no stale frame is left behind.
 */
export class Terminal {
  private readonly update: ReturnType<typeof createLogUpdate>;
  private live: string | null = null;

  constructor(readonly stream: TerminalStream) {
    // log-update only reads write/columns/rows/isTTY from its stream.
    this.update = createLogUpdate(stream as NodeJS.WritableStream & TerminalStream);
  }

  /** Writes text (one or more whole lines) above the live area, which is redrawn below it. */
  write(text: string): void {
    if (this.live === null) {
      this.stream.write(text);
      return;
    }
    this.update.persist(text.endsWith('\n') ? text.slice(0, -1) : text);
    this.update(this.live);
  }

  /** Shows these lines as the live area, replacing the previous frame in place. */
  setLive(lines: readonly string[]): void {
    const width = this.stream.columns ?? 80;
    // Cut rather than wrap: a wrapped line would make every frame taller than it looks.
    this.live = lines.map((l) => (l.length >= width ? `${l.slice(0, Math.max(1, width - 2))}…` : l)).join('\n');
    this.update(this.live);
  }

  /**
   * Ends the live area: its last frame stays on screen as ordinary text (or is erased with
   * `keep: false`), the cursor is shown again, and later writes go straight to the stream.
   */
  endLive(opts: { keep?: boolean } = {}): void {
    if (this.live === null) return;
    if (opts.keep === false) this.update.clear();
    else this.update.persist(this.live);
    this.update.done();
    this.live = null;
  }
}

let stderrTerminal: Terminal | null | undefined;

/** The process's stderr as a Terminal, or null when stderr is not a terminal. One per process. */
export function stderrTerm(): Terminal | null {
  if (stderrTerminal === undefined) stderrTerminal = process.stderr.isTTY === true ? new Terminal(process.stderr) : null;
  return stderrTerminal;
}
