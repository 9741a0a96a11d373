import { deletePolicyOf } from '../sources.js';
import { scopeLabel } from '../sync/where.js';
import { keepsHistory } from '../warehouse/history.js';
import { commitPage, commitPageAhead, type CommitAfter, type PageCommit } from '../warehouse/page-commit.js';
import { reportCommit, type ReportDeps } from './commit-report.js';
import { askAboutMissedRows, type MissedRowsDeps, type SweepPlan } from './missed-rows.js';
import { nextPageRef, requestText, type PageRef } from './page-ref.js';
import type { PreparedPage } from './page-prepare.js';
import { startChildWalks } from './walk-start.js';

/** What committing a page needs: the warehouse, the reporting, and the lane's gate for per-id questions. */
export type CommitDeps = ReportDeps & MissedRowsDeps;

/**
 * A page's commit in flight: `done` settles with whether it committed (false: another delivery
 * of the page won); `holdsWalk` once its transaction holds the walk row, or it ended.
 */
export interface CommitInFlight {
  done: Promise<boolean>;
  holdsWalk: Promise<void>;
}

/**
 * Starts committing a prepared page (docs/design.md, Rows and cursor commit together): on a walk's
 * last page, first asks the vendor about the rows the walk missed (missed-rows.ts); then rows and
 * cursor in one transaction, child walks and the run's end with the walk's; then reports it
 * (commit-report.ts). With `after`, the page is written ahead of the page before it
 * (src/warehouse/page-commit.ts, commitPageAhead). `done` rejects with what the commit throws.
 */
export function startCommit(deps: CommitDeps, ref: PageRef, page: PreparedPage, after?: CommitAfter): CommitInFlight {
  let began: () => void = () => undefined;
  const holdsWalk = new Promise<void>((resolve) => (began = resolve));
  const done = commitAndReport(deps, ref, page, { after, began });
  // A commit that fails before its transaction holds the walk row must not leave a page written
  // ahead waiting for it.
  done.then(began, began);
  return { done, holdsWalk };
}

async function commitAndReport(deps: CommitDeps, ref: PageRef, page: PreparedPage, order: { after: CommitAfter | undefined; began: () => void }): Promise<boolean> {
  const { src, def, walk } = ref;
  const last = page.frame.next === null;
  // The last page's cursor says what the whole walk covered.
  const sweep: SweepPlan = {
    range: last ? (def.sweepRange?.(ref.cursor) ?? null) : null,
    policy: deletePolicyOf(src.config, def.name),
    ...(page.frame.incomplete !== undefined ? { incomplete: page.frame.incomplete } : {}),
  };
  const asked = last ? await askAboutMissedRows(deps, ref, page.normalized, sweep) : undefined;
  if (asked?.problem) {
    deps.log.warn({ source: src.id, resource: def.name, scope: walk.scope, gone: asked.gone.length, present: asked.present.length, unknown: asked.unknown }, `${ref.where}: ${asked.unknown} missed rows stay missing, not deleted: ${asked.problem}`);
  }
  const c = pageCommit(ref, page, { ...sweep, ...(asked ? { asked } : {}) });
  const hooks = { onComplete: (trx: Parameters<typeof startChildWalks>[0]) => startChildWalks(trx, src, def, walk), began: order.began };
  const outcome = order.after ? await commitPageAhead(deps.db, c, hooks, order.after) : await commitPage(deps.db, c, hooks);
  if (!outcome.committed) return false;
  await reportCommit(deps, ref, page, outcome);
  return true;
}

/** The warehouse's view of a prepared page: its rows, counts, cursor and the requests it and the next page make. */
function pageCommit(ref: PageRef, page: PreparedPage, sweep: SweepPlan & Pick<PageCommit['sweep'], 'asked'>): PageCommit {
  const { src, def, walk } = ref;
  const { frame } = page;
  const { rows: _rows, ...normalized } = page.normalized;
  const next = frame.next === null ? null : nextPageRef(ref, frame.next);
  return {
    ...normalized,
    walk,
    page: ref.page,
    table: def.table,
    payload: page.payload,
    records: frame.records,
    next: frame.next === null ? null : JSON.stringify(frame.next),
    total: frame.total ?? null,
    requestHash: ref.requestHash,
    nextRequestHash: next?.requestHash ?? null,
    ...(next ? { nextRequestText: requestText(next) } : {}),
    sweep: { ...sweep, policy: { ...sweep.policy, label: `${def.name} of ${scopeLabel(walk.scope, def.parent)}` } },
    history: keepsHistory(def.table, src.config.history),
  };
}
