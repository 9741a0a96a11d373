import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import express, { type Request, type Response } from 'express';
import type { Kysely } from 'kysely';
import type { Logger } from './logger.js';
import { summarizeRun, type RunSummary } from './status.js';
import type { Database } from './warehouse/db.js';
import { listHeldSweeps } from './warehouse/held-sweeps.js';

/** Options of startDashboard(). */
export interface DashboardOptions {
  db: Kysely<Database>;
  /** The real queues to show in Bull Board: every lane, plus the schedules control queue. */
  queues: ReadonlyArray<Queue>;
  logger: Logger;
  port: number;
  /** Interface to listen on; default 127.0.0.1 because the dashboard has no login. */
  host?: string;
  /** Runs listed on the front page. */
  recentRuns?: number;
}

function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

function when(iso: string | null): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-';
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1b1f24}
h1{font-size:1.4rem} h2{font-size:1.1rem;margin:1.6rem 0 .4rem}
table{border-collapse:collapse;margin:.3rem 0 .8rem}
th,td{border:1px solid #d0d7de;padding:.2rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa} td.n{text-align:right;font-variant-numeric:tabular-nums}
.succeeded{color:#1a7f37}.failed,.cancelled{color:#cf222e}.partial{color:#9a6700}.running{color:#0969da}
.err{color:#cf222e;font-family:ui-monospace,monospace;font-size:12px}
nav a{margin-right:1rem}
`;

function renderRun(s: RunSummary): string {
  const head = ['resource', 'walks', 'pages', 'records', 'inserted', 'updated', 'unchanged', 'missing', 'deleted', 'quarantined', 'failed'];
  const rows = s.resources
    .map(
      (r) =>
        `<tr><td>${esc(r.resource)}</td>${[r.walks, r.pages, r.records, r.inserted, r.updated, r.unchanged, r.missing, r.deleted, r.quarantined, r.failed].map((n) => `<td class="n">${n}</td>`).join('')}</tr>`,
    )
    .join('');
  const errors = s.resources.flatMap((r) => r.errors.map((e) => ({ resource: r.resource, ...e })));
  const errorRows = errors
    .slice(0, 20)
    .map((e) => `<tr class="err"><td>${esc(e.resource)}</td><td>${esc(e.scope)}</td><td>${esc(e.status ?? '')}</td><td>${esc(e.message)}</td><td>${esc(e.requestId ?? '')}</td></tr>`)
    .join('');
  const sweepRows = s.resources
    .flatMap((r) => r.sweeps.map((w) => ({ resource: r.resource, ...w })))
    .slice(0, 20)
    .map((w) => `<tr class="sweep ${esc(w.outcome)}"><td>${esc(w.resource)}</td><td>${esc(w.scope)}</td><td>${esc(w.outcome)}</td><td>${esc(w.message)}</td></tr>`)
    .join('');
  return `<section class="run" data-run-id="${esc(s.runId)}">
<h2>run ${esc(s.runId)} · ${esc(s.sourceId)} · ${esc(s.trigger)} · ${esc(s.mode)} · <span class="${esc(s.status)}">${esc(s.status)}</span></h2>
<div>started ${esc(when(s.startedAt))}, finished ${esc(when(s.finishedAt))}${s.error.message ? ` · <span class="err">${esc(s.error.message)}${s.error.requestId ? ` [request ${esc(s.error.requestId)}]` : ''}</span>` : ''}</div>
<table><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr>${rows}</table>
${errorRows ? `<table><tr><th>resource</th><th>scope</th><th>status</th><th>vendor message</th><th>request id</th></tr>${errorRows}</table>` : ''}
${sweepRows ? `<table><tr><th>resource</th><th>scope</th><th>sweep</th><th>why nothing (or this) was marked</th></tr>${sweepRows}</table>` : ''}
</section>`;
}

/** Renders the runs page: held sweeps, then the most recent runs with per-resource counts, failures and sweep notes. */
export async function renderRunsPage(db: Kysely<Database>, limit: number): Promise<string> {
  const runs = await db.selectFrom('sync_runs').select('id').orderBy('id', 'desc').limit(limit).execute();
  const summaries = [];
  for (const r of runs) summaries.push(await summarizeRun(db, r.id));
  const held = await listHeldSweeps(db);
  const heldRows = held
    .map((h) => `<tr class="held"><td>${esc(h.source_id)}</td><td>${esc(h.resource)}</td><td>${esc(h.scope)}</td><td>${esc(when(h.held_at.toISOString()))}</td><td>${esc(h.message)}</td><td>fleetsync sweep --source ${esc(h.source_id)} --resource ${esc(h.resource)} --scope ${esc(h.scope)} --confirm</td></tr>`)
    .join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>fleetsync runs</title><style>${STYLE}</style></head><body>
<h1>fleetsync</h1><nav><a href="/">runs</a><a href="/queues">lanes (Bull Board)</a></nav>
${heldRows ? `<section class="held-sweeps"><h2 class="partial">held sweeps: nothing marked deleted until confirmed</h2><table><tr><th>source</th><th>resource</th><th>scope</th><th>held since</th><th>what</th><th>apply</th></tr>${heldRows}</table></section>` : ''}
<p>${summaries.length} most recent runs${summaries.length === 0 ? ' (none yet)' : ''}</p>
${summaries.map(renderRun).join('\n')}
</body></html>`;
}

/**
 * Serves the dashboard: `/` the runs view (server-rendered from sync_runs/sync_walks), `/queues`
 * Bull Board over the given queues. Read-mostly; Bull Board's own buttons (retry, clean) act on
 * the real queues. Resolves once listening; close() stops it without closing the queues or db.
 */
export async function startDashboard(opts: DashboardOptions): Promise<{ port: number; server: Server; close(): Promise<void> }> {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath('/queues');
  createBullBoard({
    queues: opts.queues.map((q) => new BullMQAdapter(q)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'fleetsync lanes' } },
  });
  const app = express();
  app.disable('x-powered-by');
  app.get('/', (_req: Request, res: Response) => {
    renderRunsPage(opts.db, opts.recentRuns ?? 30)
      .then((html) => res.type('html').send(html))
      .catch((err: unknown) => {
        opts.logger.error({ err: err instanceof Error ? err.message : 'unknown' }, 'dashboard runs page failed');
        res.status(500).type('text').send('runs page failed; see the dashboard log');
      });
  });
  app.use('/queues', serverAdapter.getRouter() as express.Router);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(opts.port, opts.host ?? '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
