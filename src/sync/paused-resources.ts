// Pure decisions about resources paused by a plan-restriction 402 (docs/toggl.md, "Response
// policy"); the rows live in sync_paused_resources (src/warehouse/resource-pauses.ts).

/**
 * The resources of a run that it does not walk because they are paused, with the pause's reason:
 * what the run records in sync_runs.paused_resources. `already` (what the run recorded before)
 * is left out, so a reason once recorded never changes.
 */
export function runSkips(resources: readonly string[], paused: ReadonlyMap<string, { reason: string }>, already: Readonly<Record<string, string>> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of resources) {
    const p = paused.get(r);
    if (p && !(r in already)) out[r] = p.reason;
  }
  return out;
}

/**
 * What a run records in sync_runs.paused_resources, read back: a JSON object resource -> reason.
 * A value of another shape (or an entry that is not text) reads as nothing paused.
 */
export function runPausedResources(value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** How status, run summaries and `sync` name a paused resource: "resource projects paused: <reason>". */
export function pausedResourceText(resource: string, reason: string): string {
  return `resource ${resource} paused: ${reason}`;
}

/**
 * What `sync` makes of the resources it was asked for (none named: all of the source's) when some
 * are paused: `refuse` when every named one is (the run would walk nothing of what was asked),
 * else the paused ones it skips (empty when none is).
 */
export function syncPauseDecision(asked: readonly string[], all: readonly string[], paused: ReadonlySet<string>): { refuse: boolean; skipped: string[] } {
  const wanted = asked.length > 0 ? asked : all;
  const skipped = wanted.filter((r) => paused.has(r));
  return { refuse: asked.length > 0 && skipped.length === asked.length, skipped };
}
