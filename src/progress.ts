import { sql, type Kysely } from 'kysely';
import { formatDuration } from './time-text.js';
import type { Logger } from './logger.js';
import type { Terminal } from './terminal.js';
import type { Database } from './warehouse/db.js';

/** The progress of one walk, as read from sync_walks. */
export interface WalkProgress {
  id: string;
  /** The run the walk belongs to (absent in callers that show one run). */
  runId?: string;
  sourceId?: string;
  resource: string;
  scope: string;
  status: string;
  pages: number;
  records: number;
  /** The vendor's total, when it reports one. */
  total: number | null;
  /** Without a vendor total: what the last complete full walk of the same scope listed (one that listed anything). */
  estimate?: number | null;
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
  /** Until when the walk's lane waits (its rate limit or the vendor's), and why. */
  waitingUntil?: Date | null;
  waitingReason?: string | null;
  /** "servers lane (100/min)": the lane the walk's pages go through, for the waiting text. */
  lane?: string;
}

/** Rows per second and seconds left (null without a total or an estimate, or when nothing moved yet). */
export function walkRate(w: WalkProgress, now = Date.now()): { rate: number; etaSeconds: number | null } {
  const end = w.finishedAt ? w.finishedAt.getTime() : Math.max(now, w.updatedAt.getTime());
  const secs = Math.max(0.001, (end - w.startedAt.getTime()) / 1000);
  const rate = w.records / secs;
  const target = w.total ?? w.estimate ?? null;
  const etaSeconds = w.status === 'running' && target !== null && rate > 0 ? Math.max(0, (target - w.records) / rate) : null;
  return { rate, etaSeconds };
}

/**
 * "waiting 40 s for the servers lane (100/min)", with the vendor's reason when it made the lane
 * wait ("...: 429 from vendor"); null when the walk is not waiting at `now`.
 */
export function formatWait(w: WalkProgress, now = Date.now()): string | null {
  if (w.status !== 'running' || !w.waitingUntil || w.waitingUntil.getTime() <= now) return null;
  const secs = Math.max(1, Math.ceil((w.waitingUntil.getTime() - now) / 1000));
  const why = w.waitingReason && w.waitingReason !== 'lane rate limit' ? `: ${w.waitingReason}` : '';
  return `waiting ${secs} s for the ${w.lane ?? 'lane'}${why}`;
}

/**
 * One line for a walk: "devices 42  [########------] 120/300 rows  7 pages  35.2 rows/s  ETA 5s".
 * Without a vendor total the bar and ETA come from the last complete walk's count
 * ("120/~300 rows"); without either, only counts and rate. A waiting walk says what it waits for.
 */
export function formatWalkLine(w: WalkProgress, now = Date.now(), width = 20): string {
  const { rate, etaSeconds } = walkRate(w, now);
  const label = `${w.resource}${w.scope === '-' ? '' : ` ${w.scope}`}`.padEnd(24);
  const target = w.total ?? w.estimate ?? null;
  let bar = '';
  if (target !== null && target > 0) {
    const filled = Math.min(width, Math.round((w.records / target) * width));
    bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] `;
  }
  const rows = w.total !== null ? `${w.records}/${w.total} rows` : target !== null ? `${w.records}/~${target} rows` : `${w.records} rows`;
  const wait = formatWait(w, now);
  const state = w.status === 'running' ? (wait ?? (etaSeconds !== null ? `ETA ${formatDuration(etaSeconds)}` : '')) : w.status;
  return `${label} ${bar}${rows}  ${w.pages} pages  ${rate.toFixed(1)} rows/s  ${state}`.trimEnd();
}

/** Options of RunProgress. */
export interface RunProgressOptions {
  /** The terminal to draw bars on (they stay below its log lines); null: log progress lines instead. */
  terminal: Terminal | null;
  /** Where progress lines go without a terminal. */
  logger: Logger;
  /** "servers lane (100/min)" for a resource of a source, for the waiting text. */
  laneOf?: (sourceId: string, resource: string) => string | undefined;
  /** Least time between two logged lines of one walk. */
  logEveryMs?: number;
  /** Most walk lines drawn in a terminal; the rest are summed up in one line. */
  maxLines?: number;
}

/**
 * Shows the progress of one or more runs' walks: in a terminal, a block of bars in the
 * Terminal's live area (log lines go above it); otherwise one log line per walk whenever it moved
 * (at most every logEveryMs), started waiting, or ended. Reads sync_walks only; call update() on
 * a timer and finish() at the end (the last frame stays on screen).
 */
export class RunProgress {
  private readonly runIds: string[];
  private readonly lastLogged = new Map<string, { at: number; pages: number; status: string; waitingUntil: number | null }>();
  /** Estimates by "resource\u0000scope", looked up once per scope (a finished walk does not change). */
  private readonly estimates = new Map<string, number | null>();

  constructor(
    private readonly db: Kysely<Database>,
    runId: string | readonly string[],
    private readonly opts: RunProgressOptions,
  ) {
    this.runIds = typeof runId === 'string' ? [runId] : [...runId];
  }

  /** Reads the runs' walks, with estimates for walks whose vendor gives no total. */
  async read(): Promise<WalkProgress[]> {
    const rows = await this.db
      .selectFrom('sync_walks')
      .select(['id', 'run_id', 'source_id', 'resource', 'scope', 'status', 'pages', 'records', 'total', 'started_at', 'updated_at', 'finished_at', 'waiting_until', 'waiting_reason'])
      .where('run_id', 'in', this.runIds)
      .orderBy('id')
      .execute();
    await this.lookUpEstimates(rows.filter((r) => r.total === null));
    return rows.map((r) => ({
      id: r.id,
      runId: r.run_id,
      sourceId: r.source_id,
      resource: r.resource,
      scope: r.scope,
      status: r.status,
      pages: r.pages,
      records: r.records,
      total: r.total,
      estimate: r.total === null ? (this.estimates.get(estimateKey(r.source_id, r.resource, r.scope)) ?? null) : null,
      startedAt: new Date(r.started_at),
      updatedAt: new Date(r.updated_at),
      finishedAt: r.finished_at ? new Date(r.finished_at) : null,
      waitingUntil: r.waiting_until ? new Date(r.waiting_until) : null,
      waitingReason: r.waiting_reason,
      ...(this.opts.laneOf ? { lane: this.opts.laneOf(r.source_id, r.resource) } : {}),
    }));
  }

  private async lookUpEstimates(walks: ReadonlyArray<{ run_id: string; source_id: string; resource: string; scope: string }>): Promise<void> {
    const missing = walks.filter((w) => !this.estimates.has(estimateKey(w.source_id, w.resource, w.scope)));
    if (missing.length === 0) return;
    // The last complete full walk of each scope, from an earlier run: what the vendor listed then.
    // One that listed nothing says nothing about the size (a glitch the guard held, or a new scope).
    const keys = missing.map((w) => sql`(${w.source_id}, ${w.resource}, ${w.scope})`);
    const found = await sql<{ source_id: string; resource: string; scope: string; records: number }>`
      select distinct on (source_id, resource, scope) source_id, resource, scope, records
      from sync_walks
      where status = 'succeeded' and mode = 'full' and records > 0 and run_id <> all(${this.runIds}::bigint[])
        and (source_id, resource, scope) in (${sql.join(keys)})
      order by source_id, resource, scope, finished_at desc`.execute(this.db);
    for (const w of missing) this.estimates.set(estimateKey(w.source_id, w.resource, w.scope), null);
    for (const r of found.rows) this.estimates.set(estimateKey(r.source_id, r.resource, r.scope), r.records);
  }

  /** Draws or logs the current state once. */
  async update(now = Date.now()): Promise<void> {
    const walks = await this.read();
    if (this.opts.terminal) this.opts.terminal.setLive(this.frame(walks, now));
    else this.log(walks, now);
  }

  /** The lines of one terminal frame: per run a header, then its running walks. */
  frame(walks: readonly WalkProgress[], now = Date.now()): string[] {
    const max = this.opts.maxLines ?? 15;
    const lines: string[] = [];
    let shown = 0;
    for (const runId of this.runIds) {
      const mine = walks.filter((w) => (w.runId ?? runId) === runId);
      const running = mine.filter((w) => w.status === 'running');
      const done = mine.filter((w) => w.status !== 'running');
      const failed = done.filter((w) => w.status !== 'succeeded').length;
      const rows = done.reduce((n, w) => n + w.records, 0);
      const source = mine[0]?.sourceId ? ` of ${mine[0].sourceId}` : '';
      lines.push(`run ${runId}${source}: ${done.length}/${mine.length} walks done${failed ? ` (${failed} failed)` : ''}, ${rows} rows in finished walks`);
      for (const w of running) {
        if (shown++ < max) lines.push(`  ${formatWalkLine(w, now)}`);
      }
    }
    if (shown > max) lines.push(`  ... and ${shown - max} more running walks`);
    return lines;
  }

  private log(walks: WalkProgress[], now: number): void {
    const every = this.opts.logEveryMs ?? 5000;
    for (const w of walks) {
      const last = this.lastLogged.get(w.id);
      const ended = w.status !== 'running' && last?.status !== w.status;
      const moved = w.status === 'running' && w.pages !== (last?.pages ?? -1) && now - (last?.at ?? 0) >= every;
      const wait = formatWait(w, now);
      const waitingUntil = wait !== null && w.waitingUntil ? w.waitingUntil.getTime() : null;
      const startedWaiting = waitingUntil !== null && waitingUntil !== (last?.waitingUntil ?? null);
      if (!ended && !moved && !startedWaiting) continue;
      const { rate, etaSeconds } = walkRate(w, now);
      this.opts.logger.info(
        {
          source: w.sourceId,
          runId: w.runId ?? this.runIds[0],
          resource: w.resource,
          scope: w.scope,
          status: w.status,
          pages: w.pages,
          rows: w.records,
          total: w.total,
          estimate: w.estimate ?? undefined,
          rate: Number(rate.toFixed(1)),
          etaSeconds: etaSeconds === null ? undefined : Math.round(etaSeconds),
          waitingUntil: waitingUntil === null ? undefined : new Date(waitingUntil).toISOString(),
        },
        `progress ${formatWalkLine(w, now)}`,
      );
      this.lastLogged.set(w.id, { at: now, pages: w.pages, status: w.status, waitingUntil });
    }
  }

  /** Draws or logs the final state; in a terminal the last frame stays on screen as text. */
  async finish(): Promise<void> {
    await this.update();
    this.opts.terminal?.endLive();
  }

  /** Ends the terminal's live area without a last read (after an error). */
  abandon(): void {
    this.opts.terminal?.endLive();
  }
}

function estimateKey(sourceId: string, resource: string, scope: string): string {
  return `${sourceId}\u0000${resource}\u0000${scope}`;
}
