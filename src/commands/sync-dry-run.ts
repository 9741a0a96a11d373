import { table } from '../status.js';
import type { DryRunPlan, DryRunWalk } from '../sync/dry-run.js';
import { formatDuration } from '../time-text.js';

/** Scopes listed per resource in the text output; --json lists every one. */
const SCOPES_SHOWN = 20;

function pagesText(w: DryRunWalk): string {
  if (w.pages === null) return '? (never walked)';
  return w.from && w.from.mode !== w.mode ? `${w.pages} (last ${w.from.mode} walk)` : String(w.pages);
}

/** The walk rows, at most SCOPES_SHOWN per resource, then how many more. */
function walkRows(plan: DryRunPlan): string[][] {
  const rows: string[][] = [];
  for (const resource of plan.resources) {
    const walks = plan.walks.filter((w) => w.resource === resource);
    for (const w of walks.slice(0, SCOPES_SHOWN)) rows.push([w.resource, w.scope, w.mode, w.lane, pagesText(w), w.from ? `run ${w.from.runId}` : '-']);
    if (walks.length > SCOPES_SHOWN) {
      const rest = walks.slice(SCOPES_SHOWN);
      rows.push([resource, `… ${rest.length} more scopes`, '', '', String(rest.reduce((n, w) => n + (w.pages ?? 0), 0)), '']);
    }
  }
  return rows;
}

/** `sync --dry-run` as text: what would be walked, the requests per lane, the least time; says that nothing started. */
export function formatDryRun(plan: DryRunPlan): string {
  const walked = plan.resources.length - plan.disabled.length - plan.pausedResources.length;
  const lines = [`dry run: sync ${plan.source} (${plan.mode}) would make ${plan.walks.length} walk${plan.walks.length === 1 ? '' : 's'} of ${walked} resource${walked === 1 ? '' : 's'}, about ${plan.requests} request${plan.requests === 1 ? '' : 's'}; nothing was started`];
  if (plan.joins !== null) lines.push(`run ${plan.joins} of ${plan.source} is running: sync would join it rather than start these walks`);
  if (plan.paused !== null) lines.push(`${plan.source} is paused (${plan.paused}): the run would wait until fleetsync resume --source ${plan.source}`);
  if (plan.disabled.length > 0) lines.push(`disabled, not walked (fleetsync enable): ${plan.disabled.join(', ')}`);
  if (plan.pausedResources.length > 0) lines.push(`paused by a 402, not walked (fleetsync resume --source ${plan.source} --resource R): ${plan.pausedResources.join(', ')}`);
  if (plan.walks.length > 0) lines.push('', ...table([['resource', 'scope', 'mode', 'lane', 'pages (last walk)', 'from'], ...walkRows(plan)]));
  if (plan.lanes.length > 0) {
    lines.push('', ...table([['lane', 'limit', 'requests', 'at least'], ...plan.lanes.map((l) => [l.lane, l.limit, String(l.requests), formatDuration(l.minDurationMs / 1000)])]));
  }
  const unknown = plan.unknownWalks > 0 ? `; ${plan.unknownWalks} walk${plan.unknownWalks === 1 ? ' was' : 's were'} never completed and count${plan.unknownWalks === 1 ? 's' : ''} one page` : '';
  lines.push('', `at least ${formatDuration(plan.minDurationMs / 1000)} under the rate limits (lanes run side by side; response times come on top)${unknown}`);
  return lines.join('\n');
}
