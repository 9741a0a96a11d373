import { createServer } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { errorCode, InfraError, metricsListenMessage } from './infra-errors.js';
import { listening, type Listening } from './listening.js';

/** Row counts of one committed page or one finished walk, by kind. */
export interface RowCounts {
  inserted?: number;
  updated?: number;
  unchanged?: number;
  deleted?: number;
}

/** One lane queue's job counts, for the queue-depth gauge. */
export interface QueueDepth {
  /** The page queue (`pages.<vendor>`). */
  queue: string;
  counts: Record<string, number>;
}

/** When a walk of one source and resource last succeeded (the freshness a stale-source alert needs). */
export interface LastSuccess {
  source: string;
  resource: string;
  at: Date;
}

/** What /readyz reports: each dependency by name ("postgres", "redis") and its error when down. */
export type Readiness = Record<string, { ok: true } | { ok: false; error: string }>;

/**
 * What the engine reports. The engine only calls these hooks; it never reads metrics back, so a
 * test or a library user can pass any implementation (or none).
 */
export interface EngineMetrics {
  /** One HTTP response (or network failure) of a source's lane, in-process retries included. */
  request(source: string, lane: string, status: number | 'network'): void;
  /** Rows a source wrote to a warehouse table by one commit (or the deletion sweep of a walk). */
  rows(source: string, table: string, counts: RowCounts): void;
  /** A 429 answered by the vendor. */
  rateLimited(source: string, lane: string): void;
  /** A lane wait: the gate, vendor feedback or a pause made a page job wait `ms`. */
  laneWait(source: string, lane: string, ms: number, reason: 'gate' | 'vendor' | 'paused'): void;
  /** A walk ended; seconds from its start. A succeeded one sets the source/resource's last success to now. */
  walkFinished(source: string, resource: string, outcome: 'succeeded' | 'failed', seconds: number): void;
  /** What the deletion sweep of a completed full walk did (swept, applied, held, inconsistent, skipped). */
  sweep?(source: string, resource: string, outcome: string): void;
  /** Sets where page jobs active far past their request deadline come from (read at scrape time). */
  trackOverdue?(read: () => Promise<ReadonlyArray<{ source: string; queue: string }>>): void;
}

/** Held sweeps per source and resource, for the held-sweeps gauge. */
export interface HeldSweepCount {
  source_id: string;
  resource: string;
  n: number;
}

/**
 * Prometheus metrics of one worker process, in their own registry (no global state, so several
 * engines in one test process never share counters). Implements EngineMetrics.
 */
export class Metrics implements EngineMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'source' | 'lane' | 'status'>;
  private readonly rowsWritten: Counter<'source' | 'table' | 'kind'>;
  private readonly lastSuccess: Gauge<'source' | 'resource'>;
  private readonly tooMany: Counter<'source' | 'lane'>;
  private readonly waits: Counter<'source' | 'lane' | 'reason'>;
  private readonly waitSeconds: Counter<'source' | 'lane' | 'reason'>;
  private readonly walks: Histogram<'source' | 'resource' | 'outcome'>;
  private readonly sweeps: Counter<'source' | 'resource' | 'outcome'>;
  private depthSource: (() => Promise<QueueDepth[]>) | null = null;
  private heldSource: (() => Promise<HeldSweepCount[]>) | null = null;
  private overdueSource: (() => Promise<ReadonlyArray<{ source: string; queue: string }>>) | null = null;
  private readonly lastSuccessValues = new Map<string, number>();
  private freshnessOf: ((source: string, resource: string) => number) | null = null;
  private lastEventsSource: (() => Promise<ReadonlyArray<{ source: string; resource: string; at: Date }>>) | null = null;

  constructor() {
    this.requests = new Counter({ name: 'fleetsync_http_requests_total', help: 'Vendor HTTP responses by source, lane and status ("network" for no response).', labelNames: ['source', 'lane', 'status'], registers: [this.registry] });
    this.rowsWritten = new Counter({ name: 'fleetsync_rows_written_total', help: 'Warehouse rows by source, table and kind (inserted, updated, unchanged, deleted).', labelNames: ['source', 'table', 'kind'], registers: [this.registry] });
    this.tooMany = new Counter({ name: 'fleetsync_rate_limited_total', help: '429 Too Many Requests answers by source and lane.', labelNames: ['source', 'lane'], registers: [this.registry] });
    this.waits = new Counter({ name: 'fleetsync_lane_waits_total', help: 'Page jobs that had to wait for their lane, by reason (gate: our own limit; vendor: 429 or X-RateLimit; paused: source paused).', labelNames: ['source', 'lane', 'reason'], registers: [this.registry] });
    this.waitSeconds = new Counter({ name: 'fleetsync_lane_wait_seconds_total', help: 'Seconds page jobs were told to wait for their lane, by reason.', labelNames: ['source', 'lane', 'reason'], registers: [this.registry] });
    this.walks = new Histogram({
      name: 'fleetsync_walk_duration_seconds',
      help: 'Duration of walks from start to end, by source, resource and outcome.',
      labelNames: ['source', 'resource', 'outcome'],
      buckets: [1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400, 43200],
      registers: [this.registry],
    });
    this.sweeps = new Counter({
      name: 'fleetsync_sweeps_total',
      help: 'Deletion sweeps of completed full walks by outcome (swept, applied, held, inconsistent, skipped).',
      labelNames: ['source', 'resource', 'outcome'],
      registers: [this.registry],
    });
    this.lastSuccess = new Gauge({
      name: 'fleetsync_last_success_timestamp_seconds',
      help: 'Unix time a walk of the source and resource last succeeded (seeded from Postgres at worker start).',
      labelNames: ['source', 'resource'],
      registers: [this.registry],
    });
    this.scrapeGauges();
    // process_* and nodejs_* (CPU, memory, event loop lag, GC), read at scrape time.
    collectDefaultMetrics({ register: this.registry });
  }

  /** Gauges read at scrape time from Postgres and Redis (freshness, held sweeps, queue depth, overdue jobs). */
  private scrapeGauges(): void {
    // Registered in this order, which is the order a scrape lists them in.
    this.freshnessGauges();
    this.backlogGauges();
  }

  /** How old each source and resource is, and how old it may be. */
  private freshnessGauges(): void {
    const self = this;
    new Gauge({
      name: 'fleetsync_freshness_seconds',
      help: 'How old the warehouse is for each source and resource: seconds since the newer of its last succeeded walk and its last vendor event applied (events read from Postgres at scrape time).',
      labelNames: ['source', 'resource'],
      registers: [this.registry],
      async collect() {
        this.reset();
        const newest = new Map(self.lastSuccessValues);
        for (const e of self.lastEventsSource ? await self.lastEventsSource() : []) {
          const key = `${e.source}\u0000${e.resource}`;
          newest.set(key, Math.max(newest.get(key) ?? 0, e.at.getTime() / 1000));
        }
        const now = Date.now() / 1000;
        for (const [key, at] of newest) {
          const [source = '', resource = ''] = key.split('\u0000');
          this.set({ source, resource }, Math.max(0, now - at));
        }
      },
    });
    new Gauge({
      name: 'fleetsync_freshness_threshold_seconds',
      help: 'How recently each source and resource with a last success must have succeeded (config `freshness`, default 24h); the stale alert compares the last success with it.',
      labelNames: ['source', 'resource'],
      registers: [this.registry],
      collect() {
        this.reset();
        if (!self.freshnessOf) return;
        for (const key of self.lastSuccessValues.keys()) {
          const [source = '', resource = ''] = key.split('\u0000');
          this.set({ source, resource }, self.freshnessOf(source, resource) / 1000);
        }
      },
    });
  }

  /** What waits: held sweeps (Postgres), page jobs per queue and state, overdue page jobs (Redis). */
  private backlogGauges(): void {
    const self = this;
    new Gauge({
      name: 'fleetsync_held_sweeps',
      help: 'Sweeps the mass-delete guard holds, per source and resource, read from Postgres at scrape time (apply with fleetsync sweep --confirm).',
      labelNames: ['source', 'resource'],
      registers: [this.registry],
      async collect() {
        this.reset();
        if (!self.heldSource) return;
        for (const h of await self.heldSource()) this.set({ source: h.source_id, resource: h.resource }, h.n);
      },
    });
    new Gauge({
      name: 'fleetsync_queue_jobs',
      help: 'Page jobs per page queue (one per vendor, shared by its sources) and state, read from Redis at scrape time.',
      labelNames: ['queue', 'state'],
      registers: [this.registry],
      async collect() {
        this.reset();
        if (!self.depthSource) return;
        for (const q of await self.depthSource()) for (const [state, n] of Object.entries(q.counts)) this.set({ queue: q.queue, state }, n);
      },
    });
    new Gauge({
      name: 'fleetsync_page_jobs_overdue',
      help: 'Page jobs active far longer than their request deadline allows (stuck: a lock wait, a hung worker), per source and queue, read from Redis at scrape time.',
      labelNames: ['source', 'queue'],
      registers: [this.registry],
      async collect() {
        this.reset();
        if (!self.overdueSource) return;
        for (const j of await self.overdueSource()) this.inc({ source: j.source, queue: j.queue });
      },
    });
  }

  /** Seeds the last-success gauge (e.g. from Postgres at start); never moves a value backwards. */
  seedLastSuccess(rows: readonly LastSuccess[]): void {
    for (const r of rows) this.markSuccess(r.source, r.resource, r.at.getTime() / 1000);
  }

  private markSuccess(source: string, resource: string, seconds: number): void {
    const current = this.lastSuccessValues.get(`${source}\u0000${resource}`) ?? 0;
    if (seconds <= current) return;
    this.lastSuccessValues.set(`${source}\u0000${resource}`, seconds);
    this.lastSuccess.set({ source, resource }, seconds);
  }

  /** Sets where queue depths come from (read on every scrape). */
  trackQueues(source: () => Promise<QueueDepth[]>): void {
    this.depthSource = source;
  }

  /** Sets where held-sweep counts come from (read on every scrape). */
  /** The freshness threshold (ms) of a source's resource, exported beside its last success (src/freshness.ts). */
  trackFreshness(thresholdOf: (source: string, resource: string) => number): void {
    this.freshnessOf = thresholdOf;
  }

  /** Sets where the last vendor event applied per source and resource comes from (read on every scrape, for fleetsync_freshness_seconds). */
  trackLastEvents(read: () => Promise<ReadonlyArray<{ source: string; resource: string; at: Date }>>): void {
    this.lastEventsSource = read;
  }

  trackHeldSweeps(source: () => Promise<HeldSweepCount[]>): void {
    this.heldSource = source;
  }

  trackOverdue(read: () => Promise<ReadonlyArray<{ source: string; queue: string }>>): void {
    this.overdueSource = read;
  }

  sweep(source: string, resource: string, outcome: string): void {
    this.sweeps.inc({ source, resource, outcome });
  }

  request(source: string, lane: string, status: number | 'network'): void {
    this.requests.inc({ source, lane, status: String(status) });
  }

  rows(source: string, table: string, counts: RowCounts): void {
    for (const kind of ['inserted', 'updated', 'unchanged', 'deleted'] as const) {
      const n = counts[kind] ?? 0;
      if (n > 0) this.rowsWritten.inc({ source, table, kind }, n);
    }
  }

  rateLimited(source: string, lane: string): void {
    this.tooMany.inc({ source, lane });
  }

  laneWait(source: string, lane: string, ms: number, reason: 'gate' | 'vendor' | 'paused'): void {
    this.waits.inc({ source, lane, reason });
    this.waitSeconds.inc({ source, lane, reason }, ms / 1000);
  }

  walkFinished(source: string, resource: string, outcome: 'succeeded' | 'failed', seconds: number): void {
    this.walks.observe({ source, resource, outcome }, seconds);
    if (outcome === 'succeeded') this.markSuccess(source, resource, Date.now() / 1000);
  }
}

/** Options of startMetricsServer(). */
export interface MetricsServerOptions {
  /** 0 picks a free port. */
  port: number;
  /** Interface; default 127.0.0.1 (loopback: job counts and source names are nobody else's business). */
  host?: string;
  /** Checks the dependencies for /readyz; without it /readyz answers like /healthz. */
  ready?: () => Promise<Readiness>;
}

/**
 * Serves `GET /metrics` (Prometheus text format), `GET /healthz` (200 while the process serves) and
 * `GET /readyz` (200 when every dependency answers, else 503 naming the ones down) on `host:port`.
 * Resolves once listening, with the bound port and a close(). Answers 404 to anything else.
 * Rejects with an InfraError `metrics port N is already in use` when the port is taken.
 */
export async function startMetricsServer(metrics: Metrics, opts: MetricsServerOptions): Promise<Listening> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (req.method === 'GET' && path === '/readyz') {
      (opts.ready ? opts.ready() : Promise.resolve<Readiness>({}))
        .then((checks) => {
          const down = Object.entries(checks).filter(([, c]) => !c.ok);
          const body = Object.entries(checks)
            .map(([name, c]) => `${name}: ${c.ok ? 'ok' : `down (${c.error})`}`)
            .join('\n');
          res.writeHead(down.length ? 503 : 200, { 'content-type': 'text/plain' }).end(`${down.length ? `not ready: ${down.map(([n]) => n).join(', ')} down` : 'ready'}\n${body}\n`);
        })
        .catch((err: unknown) => res.writeHead(503, { 'content-type': 'text/plain' }).end(`not ready: ${err instanceof Error ? err.message : 'unknown'}\n`));
      return;
    }
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    metrics.registry
      .metrics()
      .then((text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text))
      // Only the message: a Redis error may name the connection.
      .catch((err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err instanceof Error ? err.message : 'unknown'}\n`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => {
      const message = metricsListenMessage(err, opts.port, opts.host);
      reject(message ? new InfraError('metrics', message, errorCode(err)) : err);
    });
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve());
  });
  return listening(server);
}
