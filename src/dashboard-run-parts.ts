import { formatInstant } from './time-text.js';
import { fieldsText } from './log-line.js';
import type { RunLogLine } from './warehouse/run-logs.js';

/** Escapes text for HTML content and attribute values. */
function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/**
 * The run page's buttons: "cancel run" while it runs, "retry failed walks" once it ended with
 * walks that failed or were cancelled. Each is a form with the per-process CSRF token; none
 * without one (a dashboard that cannot change anything).
 */
export function renderRunActions(csrf: string | null, run: { runId: string; status: string; failedWalks: number }): string {
  if (csrf === null) return '';
  const form = (action: string, label: string, title: string) =>
    `<form method="post" action="/runs/${encodeURIComponent(run.runId)}/${action}" class="${action}"><input type="hidden" name="csrf" value="${esc(csrf)}"><button type="submit" title="${esc(title)}">${esc(label)}</button></form>`;
  if (run.status === 'running') return `<div class="actions">${form('cancel', 'cancel run', 'stop its walks; what committed stays, nothing is swept')}</div>`;
  if (run.failedWalks > 0) return `<div class="actions">${form('retry', `retry ${run.failedWalks} failed walk${run.failedWalks === 1 ? '' : 's'}`, 'walk them again as a new run, each from its first page')}</div>`;
  return '';
}

/** The run page's log section: the last lines of the run, as `runs logs` prints them. */
export function renderRunLogs(lines: readonly RunLogLine[], runId: string): string {
  if (lines.length === 0) return '';
  const rows = lines
    .map((l) => `<tr class="log ${esc(l.level)}"><td class="t">${esc(formatInstant(l.at))}</td><td class="${l.level === 'error' || l.level === 'fatal' ? 'failed' : l.level === 'warn' ? 'partial' : ''}">${esc(l.level)}</td><td class="wrap">${esc(l.msg)}</td><td class="wrap"><code>${esc(fieldsText(l.fields))}</code></td></tr>`)
    .join('');
  return `<section class="logs"><h2>log (last ${lines.length} lines; all with <code>fleetsync runs logs ${esc(runId)}</code>)</h2><table><tr><th>time</th><th>level</th><th>message</th><th>fields</th></tr>${rows}</table></section>`;
}
