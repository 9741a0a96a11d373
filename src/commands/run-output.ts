/** How `sync` and `backfill` announce the run they started or joined: a line of text, or JSON with --json. */
export interface RunAnnouncement {
  runId: string;
  resumed: boolean;
  source: string;
  /** "run", "backfill run". */
  label: string;
  since?: Date | null;
  /** A remark about the run (a paused source, what --since narrows); null for none. */
  note: string | null;
  json: boolean;
  /** Whether the command goes on to wait for the run (then JSON is printed once, at its end). */
  wait: boolean;
  /** The note on a line of its own rather than after "; ". */
  separateNote?: boolean;
}

/**
 * Prints `started run 7 of ax` (`joined running ...`), with its note. With --json it prints
 * nothing when the command waits (the run's summary follows as JSON), else one JSON object:
 * `{ runId, source, resumed, since, note }`, so stdout stays one JSON document.
 */
export function announceRun(a: RunAnnouncement): void {
  if (a.json) {
    if (!a.wait) console.log(JSON.stringify({ runId: a.runId, source: a.source, resumed: a.resumed, since: a.since ? a.since.toISOString() : null, note: a.note }, null, 2));
    return;
  }
  const head = `${a.resumed ? 'joined running' : 'started'} ${a.label} ${a.runId} of ${a.source}${a.since ? ` since ${a.since.toISOString()}` : ''}`;
  if (a.note === null) console.log(head);
  else if (a.separateNote) console.log(`${head}\n${a.note}`);
  else console.log(`${head}; ${a.note}`);
}
