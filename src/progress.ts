import type { Kysely } from 'kysely';
import type { Logger } from './logger.js';
import type { Database } from './warehouse/db.js';

/** The progress of one walk, as read from sync_walks. */
export interface WalkProgress {
  id: string;
  resource: string;
  scope: string;
  status: string;
  pages: number;
  records: number;
  total: number | null;
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

/** Rows per second and seconds left (null when the vendor gives no total or nothing moved yet). */
export function walkRate(w: WalkProgress, now = Date.now()): { rate: number; etaSeconds: number | null } {
  const end = w.finishedAt ? w.finishedAt.getTime() : Math.max(now, w.updatedAt.getTime());
  const secs = Math.max(0.001, (end - w.startedAt.getTime()) / 1000);
  const rate = w.records / secs;
  const etaSeconds = w.status === 'running' && w.total !== null && rate > 0 ? Math.max(0, (w.total - w.records) / rate) : null;
  return { rate, etaSeconds };
}

function formatSeconds(s: number): string {
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * One line for a walk: "devices 42  [########------] 120/300 rows  7 pages  35.2 rows/s  ETA 5s".
 * Without a total there is no bar and no ETA, only counts and rate.
 */
export function formatWalkLine(w: WalkProgress, now = Date.now(), width = 20): string {
  const { rate, etaSeconds } = walkRate(w, now);
  const label = `${w.resource}${w.scope === '-' ? '' : ` ${w.scope}`}`.padEnd(24);
  let bar = '';
  if (w.total !== null && w.total > 0) {
    const filled = Math.min(width, Math.round((w.records / w.total) * width));
    bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] `;
  }
  const rows = w.total !== null ? `${w.records}/${w.total} rows` : `${w.records} rows`;
  const state = w.status === 'running' ? (etaSeconds !== null ? `ETA ${formatSeconds(etaSeconds)}` : '') : w.status;
  return `${label} ${bar}${rows}  ${w.pages} pages  ${rate.toFixed(1)} rows/s  ${state}`.trimEnd();
}

/** Options of RunProgress. */
export interface RunProgressOptions {
  /** Redraw in place with ANSI codes (a terminal) or log progress lines (anything else). */
  tty: boolean;
  /** Where terminal frames go (default process.stdout.write). */
  write?: (s: string) => void;
  /** Where progress lines go without a terminal. */
  logger: Logger;
  /** Least time between two logged lines of one walk. */
  logEveryMs?: number;
  /** Most walk lines drawn in a terminal; the rest are summed up in one line. */
  maxLines?: number;
}

/**
 * Shows the progress of a run's walks: in a terminal, a block of bars redrawn in place; otherwise
 * one log line per walk whenever it moved (at most every logEveryMs) and when it ends.
 * Reads sync_walks only; call update() on a timer and finish() at the end.
 */
export class RunProgress {
  private drawn = 0;
  private readonly lastLogged = new Map<string, { at: number; pages: number; status: string }>();
  private readonly write: (s: string) => void;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly runId: string,
    private readonly opts: RunProgressOptions,
  ) {
    this.write = opts.write ?? ((s) => process.stdout.write(s));
  }

  /** Reads the run's walks. */
  async read(): Promise<WalkProgress[]> {
    const rows = await this.db
      .selectFrom('sync_walks')
      .select(['id', 'resource', 'scope', 'status', 'pages', 'records', 'total', 'started_at', 'updated_at', 'finished_at'])
      .where('run_id', '=', this.runId)
      .orderBy('id')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      resource: r.resource,
      scope: r.scope,
      status: r.status,
      pages: r.pages,
      records: r.records,
      total: r.total,
      startedAt: new Date(r.started_at),
      updatedAt: new Date(r.updated_at),
      finishedAt: r.finished_at ? new Date(r.finished_at) : null,
    }));
  }

  /** Draws or logs the current state once. */
  async update(now = Date.now()): Promise<void> {
    const walks = await this.read();
    if (this.opts.tty) this.draw(walks, now);
    else this.log(walks, now);
  }

  private draw(walks: WalkProgress[], now: number): void {
    const max = this.opts.maxLines ?? 15;
    const running = walks.filter((w) => w.status === 'running');
    const done = walks.filter((w) => w.status !== 'running');
    const rows = done.reduce((n, w) => n + w.records, 0);
    const lines = [`run ${this.runId}: ${done.length}/${walks.length} walks done, ${rows} rows in finished walks`];
    for (const w of running.slice(0, max)) lines.push(`  ${formatWalkLine(w, now)}`);
    if (running.length > max) lines.push(`  ... and ${running.length - max} more running walks`);
    // Move up over the previous frame and clear it, then draw the new one.
    const up = this.drawn > 0 ? `\x1b[${this.drawn}F\x1b[0J` : '';
    this.write(`${up}${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }

  private log(walks: WalkProgress[], now: number): void {
    const every = this.opts.logEveryMs ?? 5000;
    for (const w of walks) {
      const last = this.lastLogged.get(w.id);
      const ended = w.status !== 'running' && last?.status !== w.status;
      const moved = w.status === 'running' && w.pages !== (last?.pages ?? -1) && now - (last?.at ?? 0) >= every;
      if (!ended && !moved) continue;
      const { rate, etaSeconds } = walkRate(w, now);
      this.opts.logger.info(
        { runId: this.runId, resource: w.resource, scope: w.scope, status: w.status, pages: w.pages, rows: w.records, total: w.total, rate: Number(rate.toFixed(1)), etaSeconds: etaSeconds === null ? undefined : Math.round(etaSeconds) },
        `progress ${formatWalkLine(w, now)}`,
      );
      this.lastLogged.set(w.id, { at: now, pages: w.pages, status: w.status });
    }
  }

  /** Draws or logs the final state. */
  async finish(): Promise<void> {
    await this.update();
  }
}
