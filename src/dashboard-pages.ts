import { sql, type Kysely } from 'kysely';
import { formatDuration, formatInstant } from './time-text.js';
import type { Logger } from './logger.js';
import { overdueLine, type OverdueJob } from './overdue-jobs.js';
import { formatWait, RunProgress, walkRate, type WalkProgress } from './progress.js';
import { summarizeRun, type RunSummary } from './status.js';
import type { Database } from './warehouse/db.js';
import { listHeldSweeps, type HeldSweep } from './warehouse/held-sweeps.js';
import { readRunLogs } from './warehouse/run-logs.js';
import { renderRunActions, renderRunLogs } from './dashboard-run-parts.js';
import { freshnessCells } from './dashboard-freshness.js';
import { pausedResourceText } from './sync/paused-resources.js';
import { pausedResourcesOf } from './warehouse/resource-pauses.js';
import type { SourceConfig } from './config.js';

/** What the pages need besides the database. */
export interface PageContext {
  db: Kysely<Database>;
  logger: Logger;
  /** The configured sources, each with a "sync now" button. */
  sources: ReadonlyArray<{ id: string; vendor: string }>;
  /** The per-process CSRF token the buttons' forms carry; null: no buttons. */
  csrf: string | null;
  /** Whether the run page offers "cancel run" and "retry failed walks" (with `csrf`). */
  runControl?: boolean;
  /** A source's config (its `freshness`), for the overview's freshness column; default 24h for every resource. */
  configOf?: (sourceId: string) => Pick<SourceConfig, 'freshness'> | undefined;
  /** "servers lane (100/min)" for a resource of a source. */
  laneOf?: (sourceId: string, resource: string) => string | undefined;
  /** Page jobs active far past their request deadline. */
  overdue?: () => Promise<OverdueJob[]>;
}

/** Escapes text for HTML content and attribute values. */
export function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** Seconds from `start` to `end` (to `now` while it runs). */
function durationOf(start: Date | string, end: Date | string | null, now = Date.now()): number {
  return ((end === null ? now : new Date(end).getTime()) - new Date(start).getTime()) / 1000;
}

/** Text cut to `max` characters with an ellipsis (a 5,000-deep field path is no table cell). */
function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

const n = (v: number | null | undefined) => `<td class="n">${v ?? ''}</td>`;

/** The live progress of running walks: a bar, rows, pages, rate and ETA or what the lane waits for. */
function renderProgress(walks: readonly WalkProgress[], now = Date.now()): string {
  const running = walks.filter((w) => w.status === 'running');
  if (running.length === 0) return '';
  const rows = running
    .slice(0, 100)
    .map((w) => {
      const { rate, etaSeconds } = walkRate(w, now);
      const target = w.total ?? w.estimate ?? null;
      const bar = target !== null && target > 0 ? `<progress max="${target}" value="${Math.min(w.records, target)}"></progress>` : '<progress></progress>';
      const rowsText = w.total !== null ? `${w.records} / ${w.total}` : target !== null ? `${w.records} / ~${target}` : String(w.records);
      const wait = formatWait(w, now);
      const state = wait ? `<span class="partial">${esc(wait)}</span>` : etaSeconds !== null ? `ETA ${esc(formatDuration(etaSeconds))}` : '';
      return `<tr class="walk-progress" data-walk-id="${esc(w.id)}"><td><a href="/runs/${esc(w.runId)}">${esc(w.runId)}</a></td><td>${esc(w.sourceId)}</td><td>${esc(w.resource)}</td><td>${esc(w.scope)}</td><td>${bar}</td><td class="n">${esc(rowsText)}</td>${n(w.pages)}<td class="n">${rate.toFixed(1)}</td><td>${state}</td></tr>`;
    })
    .join('');
  const more = running.length > 100 ? `<p>... and ${running.length - 100} more running walks</p>` : '';
  return `<section class="progress"><h2 class="running">running walks</h2><table><tr><th>run</th><th>source</th><th>resource</th><th>scope</th><th>progress</th><th>rows</th><th>pages</th><th>rows/s</th><th></th></tr>${rows}</table>${more}</section>`;
}

async function progressOf(ctx: PageContext, runIds: readonly string[]): Promise<WalkProgress[]> {
  if (runIds.length === 0) return [];
  return new RunProgress(ctx.db, runIds, { terminal: null, logger: ctx.logger, ...(ctx.laneOf ? { laneOf: ctx.laneOf } : {}) }).read();
}

function renderHeld(held: readonly HeldSweep[]): string {
  if (held.length === 0) return '';
  const rows = held
    .map(
      (h) =>
        `<tr class="held"><td>${esc(h.source_id)}</td><td>${esc(h.resource)}</td><td>${esc(h.scope)}</td><td>${esc(formatInstant(h.held_at))}</td><td>${esc(h.message)}</td><td><code>fleetsync sweep --source ${esc(h.source_id)} --resource ${esc(h.resource)} --scope ${esc(h.scope)} --confirm</code></td></tr>`,
    )
    .join('');
  return `<section class="held-sweeps"><h2 class="partial">held sweeps: nothing marked deleted until confirmed</h2><table><tr><th>source</th><th>resource</th><th>scope</th><th>held since</th><th>what</th><th>apply</th></tr>${rows}</table></section>`;
}

/** Page jobs active far past their request deadline, one line each. */
function renderOverdue(jobs: readonly OverdueJob[]): string {
  if (jobs.length === 0) return '';
  const items = jobs.map((j) => `<li class="overdue">${esc(overdueLine(j).replace(/^! /, ''))}</li>`).join('');
  return `<section class="overdue-jobs"><h2 class="failed">stuck page jobs</h2><ul>${items}</ul></section>`;
}

function syncButton(ctx: PageContext, sourceId: string, running: boolean): string {
  if (ctx.csrf === null) return '';
  return `<form method="post" action="/sources/${encodeURIComponent(sourceId)}/sync" class="sync"><input type="hidden" name="csrf" value="${esc(ctx.csrf)}"><button type="submit" title="${running ? 'a run is going on: joins it' : 'start a full run now'}">sync now</button></form>`;
}

/**
 * A source's state on the overview: paused, else running, else its last run's status, else
 * never synced; resources paused by a plan-restriction 402 follow, each with its reason.
 */
function stateCell(paused: { paused_reason: string | null } | undefined, resources: ReadonlyArray<{ resource: string; reason: string }>, running: boolean, last: { status: string } | undefined): string {
  const state = paused ? `<span class="failed">paused: ${esc(paused.paused_reason ?? '')}</span>` : running ? `<span class="running">running</span>` : last ? `<span class="${esc(last.status)}">${esc(last.status)}</span>` : 'never synced';
  return [state, ...resources.map((r) => `<div class="failed paused-resource">${esc(pausedResourceText(r.resource, r.reason))}</div>`)].join('');
}

/** The overview's live part: sources with their last run and a sync button, running walks, held sweeps, recent runs. */
export async function renderOverview(ctx: PageContext, limit: number): Promise<string> {
  const { db } = ctx;
  const now = Date.now();
  const runs = await db
    .selectFrom('sync_runs as r')
    .leftJoin('sync_walks as w', 'w.run_id', 'r.id')
    .select(['r.id', 'r.source_id', 'r.trigger', 'r.mode', 'r.status', 'r.started_at', 'r.finished_at', 'r.error_message'])
    .select([
      sql<number>`count(w.id)::int`.as('walks'),
      sql<number>`coalesce(sum(w.pages), 0)::int`.as('pages'),
      sql<number>`coalesce(sum(w.records), 0)::int`.as('records'),
      sql<number>`count(w.id) filter (where w.status in ('failed', 'cancelled'))::int`.as('failed'),
    ])
    .groupBy('r.id')
    .orderBy('r.id', 'desc')
    .limit(limit)
    .execute();
  const running = await db.selectFrom('sync_runs').select(['id', 'source_id', 'trigger']).where('status', '=', 'running').orderBy('id').execute();
  const last = await db
    .selectFrom('sync_runs')
    .select(['source_id', 'id', 'status', 'finished_at', 'started_at'])
    .distinctOn('source_id')
    .where('status', '<>', 'running')
    .orderBy('source_id')
    .orderBy('id', 'desc')
    .execute();
  const paused = await db.selectFrom('sync_sources').select(['source_id', 'paused_at', 'paused_reason']).where('paused_at', 'is not', null).execute();
  const pausedRes = await pausedResourcesOf(db, null);
  const walks = await progressOf(
    ctx,
    running.map((r) => r.id),
  );
  const fresh = await freshnessCells(db, ctx.sources.map((s) => s.id), ctx.configOf ?? (() => undefined), now);
  const sourceRows = ctx.sources
    .map((s) => {
      const l = last.find((r) => r.source_id === s.id);
      const now_ = running.filter((r) => r.source_id === s.id);
      const state = stateCell(paused.find((r) => r.source_id === s.id), pausedRes.filter((r) => r.sourceId === s.id), now_.length > 0, l);
      const lastRun = l ? `<a href="/runs/${esc(l.id)}">run ${esc(l.id)}</a>, finished ${esc(formatInstant(l.finished_at))} after ${esc(formatDuration(durationOf(l.started_at, l.finished_at)))}` : '-';
      const runningLinks = now_.map((r) => `<a href="/runs/${esc(r.id)}">run ${esc(r.id)}</a> (${esc(r.trigger)})`).join(', ') || '-';
      return `<tr class="source" data-source="${esc(s.id)}"><td>${esc(s.id)}</td><td>${esc(s.vendor)}</td><td>${state}</td><td>${lastRun}</td><td>${fresh.get(s.id) ?? '-'}</td><td>${runningLinks}</td><td>${syncButton(ctx, s.id, now_.length > 0)}</td></tr>`;
    })
    .join('');
  const runRows = runs
    .map(
      (r) =>
        `<tr class="run-row" data-run-id="${esc(r.id)}"><td><a href="/runs/${esc(r.id)}">${esc(r.id)}</a></td><td>${esc(r.source_id)}</td><td>${esc(r.trigger)}</td><td>${esc(r.mode)}</td><td class="${esc(r.status)}">${esc(r.status)}</td><td class="t">${esc(formatInstant(r.started_at))}</td><td class="n">${esc(formatDuration(durationOf(r.started_at, r.finished_at, now)))}</td>${n(r.walks)}${n(r.pages)}${n(r.records)}<td class="n${r.failed ? ' failed' : ''}">${r.failed}</td><td class="err">${esc((r.error_message ?? '').slice(0, 200))}</td></tr>`,
    )
    .join('');
  return `${ctx.sources.length ? `<section class="sources"><h2>sources</h2><table><tr><th>source</th><th>vendor</th><th>state</th><th>last run</th><th>freshness</th><th>running</th><th></th></tr>${sourceRows}</table></section>` : ''}
${renderProgress(walks, now)}
${renderOverdue(ctx.overdue ? await ctx.overdue() : [])}
${renderHeld(await listHeldSweeps(db))}
<section class="runs"><h2>${runs.length} most recent runs${runs.length === 0 ? ' (none yet)' : ''}</h2>
<table><tr><th>run</th><th>source</th><th>trigger</th><th>mode</th><th>status</th><th>started</th><th>duration</th><th>walks</th><th>pages</th><th>records</th><th>failed walks</th><th>first failure</th></tr>${runRows}</table></section>`;
}

/** The per-resource table of a run, its failures and its sweep notes. */
export function renderRunSummary(s: RunSummary): string {
  const head = ['resource', 'walks', 'pages', 'records', 'inserted', 'updated', 'unchanged', 'missing', 'deleted', 'quarantined', 'failed'];
  const rows = s.resources
    .map((r) => `<tr><td>${esc(r.resource)}</td>${[r.walks, r.pages, r.records, r.inserted, r.updated, r.unchanged, r.missing, r.deleted, r.quarantined, r.failed].map((v) => n(v)).join('')}</tr>`)
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
  const pausedRows = s.resources
    .filter((r) => r.paused !== null)
    .map((r) => `<tr class="paused-resource"><td>${esc(r.resource)}</td><td>${esc(r.paused ?? '')}</td></tr>`)
    .join('');
  const duration = formatDuration(durationOf(s.startedAt, s.finishedAt));
  return `<section class="run" data-run-id="${esc(s.runId)}">
<h2>run ${esc(s.runId)} · ${esc(s.sourceId)} · ${esc(s.trigger)} · ${esc(s.mode)} · <span class="${esc(s.status)}">${esc(s.status)}</span></h2>
<div>started ${esc(formatInstant(s.startedAt))}, ${s.finishedAt ? `finished ${esc(formatInstant(s.finishedAt))}, took` : 'running for'} ${esc(duration)}${s.error.message ? ` · <span class="err">${esc(s.error.message)}${s.error.requestId ? ` [request ${esc(s.error.requestId)}]` : ''}</span>` : ''}</div>
<table><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr>${rows}</table>
${errorRows ? `<h3>failures</h3><table><tr><th>resource</th><th>scope</th><th>status</th><th>vendor message</th><th>request id</th></tr>${errorRows}</table>` : ''}
${pausedRows ? `<h3>not walked: paused resources</h3><table><tr><th>resource</th><th>why (resume with fleetsync resume --source ID --resource R)</th></tr>${pausedRows}</table>` : ''}
${sweepRows ? `<h3>sweeps that did not simply sweep</h3><table><tr><th>resource</th><th>scope</th><th>sweep</th><th>why nothing (or this) was marked</th></tr>${sweepRows}</table>` : ''}
</section>`;
}

/** The run page's live part: summary, live progress, every walk with its duration, held sweeps and quarantine samples. Null when the run does not exist. */
export async function renderRun(ctx: PageContext, runId: string): Promise<string | null> {
  const { db } = ctx;
  const exists = await db.selectFrom('sync_runs').select('id').where('id', '=', runId).executeTakeFirst();
  if (!exists) return null;
  const summary = await summarizeRun(db, runId);
  const now = Date.now();
  const walks = await db.selectFrom('sync_walks').selectAll().where('run_id', '=', runId).orderBy('id').limit(1000).execute();
  const progress = summary.status === 'running' ? await progressOf(ctx, [runId]) : [];
  const walkRows = walks
    .map((w) => {
      const wait = w.status === 'running' && w.waiting_until && new Date(w.waiting_until).getTime() > now ? `waiting until ${formatInstant(w.waiting_until)}: ${w.waiting_reason ?? ''}` : '';
      const failure = w.error_message ? `${w.error_status ?? ''} ${w.error_message}${w.error_request_id ? ` [request ${w.error_request_id}]` : ''}`.trim() : '';
      return `<tr class="walk" data-status="${esc(w.status)}" data-walk-id="${esc(w.id)}"><td>${esc(w.id)}</td><td>${esc(w.resource)}</td><td>${esc(w.scope)}</td><td>${esc(w.mode)}</td><td class="${esc(w.status)}">${esc(w.status)}</td><td class="t">${esc(formatInstant(w.started_at))}</td><td class="n">${esc(formatDuration(durationOf(w.started_at, w.finished_at, now)))}</td>${n(w.pages)}${n(w.records)}${n(w.total)}${n(w.inserted)}${n(w.updated)}${n(w.unchanged)}${n(w.missing)}${n(w.deleted)}${n(w.quarantined)}<td>${esc(w.sweep ?? '')}</td><td class="err">${esc(failure)}</td><td class="partial">${esc(wait)}</td></tr>`;
    })
    .join('');
  const walkIds = new Set(walks.map((w) => w.id));
  const held = (await listHeldSweeps(db, { sourceId: summary.sourceId })).filter((h) => walkIds.has(h.walk_id));
  const quarantine = await db
    .selectFrom('sync_quarantine')
    .select(['resource', 'scope', 'page', 'external_id', 'reason', 'field', 'raw_text'])
    .where('run_id', '=', runId)
    .orderBy('id')
    .limit(20)
    .execute();
  const quarantined = await db.selectFrom('sync_quarantine').select(sql<number>`count(*)::int`.as('n')).where('run_id', '=', runId).executeTakeFirstOrThrow();
  const qRows = quarantine
    .map(
      (q) =>
        `<tr class="quarantine"><td>${esc(q.resource)}</td><td>${esc(q.scope)}</td>${n(q.page)}<td>${esc(q.external_id ?? '')}</td><td class="wrap">${esc(clip(q.reason, 240))}</td><td class="wrap">${esc(clip(q.field ?? '', 120))}</td><td class="wrap"><code>${esc(clip(q.raw_text ?? '', 300))}</code></td></tr>`,
    )
    .join('');
  const failedWalks = walks.filter((w) => w.status === 'failed' || w.status === 'cancelled').length;
  const logs = await readRunLogs(db, runId, { limit: 100, tail: true });
  return `${renderRunSummary(summary)}
${renderRunActions(ctx.runControl ? ctx.csrf : null, { runId, status: summary.status, failedWalks })}
${renderProgress(progress, now)}
${renderHeld(held)}
<section class="walks"><h2>walks (${walks.length}${walks.length === 1000 ? ' shown, more exist' : ''})</h2>
<table><tr><th>walk</th><th>resource</th><th>scope</th><th>mode</th><th>status</th><th>started</th><th>duration</th><th>pages</th><th>records</th><th>vendor total</th><th>inserted</th><th>updated</th><th>unchanged</th><th>missing</th><th>deleted</th><th>quarantined</th><th>sweep</th><th>failure</th><th>waiting</th></tr>${walkRows}</table></section>
${qRows ? `<section class="quarantine"><h2>quarantined records (${quarantined.n}${quarantined.n > quarantine.length ? `, first ${quarantine.length} shown` : ''})</h2><table><tr><th>resource</th><th>scope</th><th>page</th><th>id</th><th>reason</th><th>field</th><th>record</th></tr>${qRows}</table></section>` : ''}
${renderRunLogs(logs, runId)}`;
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1b1f24}
h1{font-size:1.4rem;margin:0 0 .3rem} h2{font-size:1.1rem;margin:1.4rem 0 .4rem} h3{font-size:1rem;margin:.8rem 0 .3rem}
table{border-collapse:collapse;margin:.3rem 0 .8rem}
th,td{border:1px solid #d0d7de;padding:.2rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa} td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap} td.t{white-space:nowrap} td.wrap{max-width:32rem;overflow-wrap:anywhere}
.succeeded{color:#1a7f37}.failed,.cancelled{color:#cf222e}.partial{color:#9a6700}.running{color:#0969da}
.err{color:#cf222e;font-family:ui-monospace,monospace;font-size:12px}
code{font-family:ui-monospace,monospace;font-size:12px}
nav a{margin-right:1rem} header{display:flex;gap:1.5rem;align-items:baseline;flex-wrap:wrap}
#updated{color:#57606a;font-size:12px} .flash{background:#ddf4ff;border:1px solid #54aeff;padding:.4rem .7rem;display:inline-block}
form.sync{margin:0} button{font:inherit;padding:.1rem .6rem;cursor:pointer}
progress{width:12rem}
`;

/**
 * A whole page around a live part: the script re-fetches the live part (`?fragment=1`) every
 * `refreshSeconds` and swaps it in, so the page refreshes itself without reloading.
 * `nonce` allows that one inline script under the page's Content-Security-Policy.
 */
export function renderPage(title: string, live: string, opts: { refreshSeconds: number; nonce: string; flash?: string }): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title><style>${STYLE}</style></head><body>
<header><h1>fleetsync</h1><nav><a href="/">overview</a><a href="/queues">lanes (Bull Board)</a></nav><span id="updated" data-refresh-seconds="${opts.refreshSeconds}">refreshes every ${opts.refreshSeconds} s</span></header>
${opts.flash ? `<p class="flash">${esc(opts.flash)}</p>` : ''}
<main id="live">${live}</main>
<script nonce="${esc(opts.nonce)}">
(() => {
  const every = ${Math.max(1, opts.refreshSeconds) * 1000};
  const url = new URL(location.href);
  url.searchParams.delete('started');
  url.searchParams.set('fragment', '1');
  let count = 0;
  const tick = async () => {
    try {
      const res = await fetch(url, { credentials: 'same-origin', headers: { accept: 'text/html' } });
      if (res.ok) {
        document.getElementById('live').innerHTML = await res.text();
        const u = document.getElementById('updated');
        u.textContent = 'updated ' + new Date().toLocaleTimeString();
        u.dataset.refreshes = String(++count);
      }
    } catch {}
    setTimeout(tick, every);
  };
  setTimeout(tick, every);
})();
</script>
</body></html>`;
}
