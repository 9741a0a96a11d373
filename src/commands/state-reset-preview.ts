import type { App } from '../app.js';
import type { ResourceDefinition } from '../connector.js';
import { EXIT_FAILED } from '../exit-codes.js';
import { table } from '../status.js';
import { formatInstant } from '../time-text.js';
import { previewReset, type ResetPreview } from '../warehouse/walk-state.js';
import { CommandError } from './common.js';

/** The key of `state reset --dry-run`, its resource's definition and how messages name it. */
export interface ResetPreviewRequest {
  source: string;
  resource: string;
  scope?: string;
  json?: boolean;
  def: ResourceDefinition;
  /** `automox-prod/devices scope 10001`. */
  what: string;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function previewText(p: ResetPreview, req: ResetPreviewRequest): string[] {
  const rows = p.rows.reduce((n, r) => n + r.rows, 0);
  const kept = `kept: the walks' history and counts, ${plural(rows, `row of ${req.def.table}`, `rows of ${req.def.table}`)}${p.rows.length ? ` in ${plural(p.rows.length, 'scope')}` : ''}, ${p.heldSweeps.length ? `the held sweeps of ${p.heldSweeps.join(', ')}` : 'no held sweep'}`;
  if (!req.def.incremental) return [`dry run: nothing to reset: ${req.what} has no high-water mark, every run walks it fully from the first page; nothing was changed`, kept];
  if (p.marks.length === 0) return [`dry run: nothing to reset: ${req.what} has no high-water mark; its next run walks it fully from the first page; nothing was changed`, kept];
  const walks = p.marks.reduce((n, m) => n + m.walks, 0);
  return [
    `dry run: state reset ${req.what} would clear the high-water marks of ${plural(walks, 'succeeded walk')} in ${plural(p.marks.length, 'scope')}; nothing was changed`,
    ...table([['scope', 'high-water mark', 'walks'], ...p.marks.map((m) => [m.scope, formatInstant(m.mark), String(m.walks)])]),
    `then the next run walks ${req.what} fully from the first page`,
    kept,
  ];
}

/** `state reset --dry-run`: what the reset with the same flags would clear and keep; exits 1 (like the reset) while a run is running. */
export async function previewStateReset(app: App, req: ResetPreviewRequest): Promise<void> {
  const p = await previewReset(app.db, { sourceId: req.source, resource: req.resource, scope: req.scope, table: req.def.table });
  if (req.json) {
    const clears = req.def.incremental ? p.marks.map((m) => ({ scope: m.scope, walks: m.walks, highWaterMark: m.mark.toISOString() })) : [];
    console.log(JSON.stringify({ dryRun: true, source: req.source, resource: req.resource, scope: req.scope ?? null, refusedBy: p.refused, clears, keeps: { rows: p.rows, heldSweeps: p.heldSweeps } }, null, 2));
  } else {
    console.log(previewText(p, req).join('\n'));
  }
  if (p.refused.length > 0) throw new CommandError(`would not reset: run ${p.refused.join(', ')} of ${req.source} is running; wait for it to end (or cancel it), then reset`, EXIT_FAILED);
}
