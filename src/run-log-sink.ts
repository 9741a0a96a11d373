import type { Kysely } from 'kysely';
import { postgresConnectionReason } from './infra-errors.js';
import type { Database } from './warehouse/db.js';
import { appendRunLogs, type RunLogLine } from './warehouse/run-logs.js';

/**
 * Keeps the log lines of runs in Postgres (`run_logs`), for `fleetsync runs logs ID` and the
 * dashboard's run page. It reads the JSON lines the logger writes (already sanitized: no secret
 * reaches it), takes those at info and above that carry a `runId` (progress lines excepted: they
 * are a view, not events), and writes them in small batches about once a second once a database
 * is attached. It never throws. While Postgres is away (a lost or refused connection) lines wait,
 * at most MAX_BUFFERED, and are written when it is back; the outage itself is logged once by the
 * Postgres monitor, so the sink adds no warning. A line Postgres refuses (the table not migrated
 * yet) is dropped, and the first such failure is told to `onFirstError`.
 */
export class RunLogSink {
  static readonly MAX_BUFFERED = 1000;
  static readonly BATCH = 200;
  private buffer: RunLogLine[] = [];
  private db: Kysely<Database> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private told = false;

  /** `onFirstError` hears, once per process, why lines could not be stored (it must not log a runId). */
  constructor(private readonly onFirstError?: (message: string) => void) {}

  /** Takes one JSON log line (a pino line); keeps it when it belongs to a run. */
  take(line: string): void {
    if (!line.includes('"runId"')) return;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const level = typeof o.level === 'number' ? o.level : 0;
    const runId = typeof o.runId === 'string' || typeof o.runId === 'number' ? String(o.runId) : null;
    const msg = typeof o.msg === 'string' ? o.msg : '';
    if (level < 30 || runId === null || !/^\d{1,18}$/.test(runId) || msg.startsWith('progress ')) return;
    const { level: _l, time, pid: _p, hostname: _h, name: _n, msg: _m, runId: _r, ...fields } = o;
    if (this.buffer.length >= RunLogSink.MAX_BUFFERED) return;
    this.buffer.push({ runId, at: new Date(typeof time === 'number' ? time : Date.now()), level: levelName(level), msg, fields });
  }

  /** Starts writing to `db` (about once a second). A second attach replaces the first. */
  attach(db: Kysely<Database>): void {
    this.db = db;
    this.timer ??= setInterval(() => void this.flush(), 1000).unref();
  }

  /** Writes what is buffered (in batches). Never rejects. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      while (this.db !== null && this.buffer.length > 0) {
        const batch = this.buffer.splice(0, RunLogSink.BATCH);
        try {
          await appendRunLogs(this.db, batch);
        } catch (err) {
          if (postgresConnectionReason(err) !== null) {
            // Postgres away: keep the batch (oldest first, within the bound) for the next flush.
            this.buffer = batch.concat(this.buffer).slice(0, RunLogSink.MAX_BUFFERED);
            return;
          }
          // The table not migrated yet, or a line Postgres refuses: these lines are lost, the run is not.
          if (!this.told) this.onFirstError?.(`run log lines not stored: ${err instanceof Error ? err.message : String(err)}`);
          this.told = true;
          return;
        }
      }
    });
    return this.flushing;
  }

  /** Writes what is buffered, then stops writing (before the database closes). */
  async detach(): Promise<void> {
    await this.flush();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.db = null;
  }
}

function levelName(level: number): string {
  if (level >= 60) return 'fatal';
  if (level >= 50) return 'error';
  if (level >= 40) return 'warn';
  return 'info';
}
