// What a completed full walk's deletion sweep does, and why (docs/design.md, Deletes are
// detected, not guessed). Pure: the warehouse layer gathers the facts and carries out the answer.

/** What one completed full walk knows when it decides its sweep. */
export interface SweepFacts {
  /** `confirm`: a first miss sets missing_since, a repeated miss deleted_at; `immediate`: deleted_at at once. */
  deletes: 'confirm' | 'immediate';
  /** Hold a sweep that would mark more than this share of the scope's present rows. */
  maxDeleteShare: number;
  /** Distinct ids the walk's pages showed (quarantined records with a readable id included). */
  seen: number;
  /** Largest total the vendor reported on any page of the walk; null when it reports none. */
  totalMax: number | null;
  /** Records the walk quarantined without a usable id. */
  unidentified: number;
  /** Why the walk's own check says it may have missed records (the vendor's totals of a window disagree); null when it passed or there is none. */
  incomplete?: string | null;
  /** Rows of the scope not marked deleted, as the walk completes (its own inserts included). */
  present: number;
  /** Present rows the walk did not see: what the sweep would mark. */
  unseen: number;
  /** True when a held sweep of this scope exists and would mark exactly the same rows. */
  agreesWithHold: boolean;
  /**
   * The vendor's per-id answers about the unseen rows (resources with a per-id GET, `confirm`):
   * how many it answered 404/410 and how many 2xx. Null where there is no per-id GET to ask.
   */
  perId: { gone: number; present: number } | null;
  /** "devices of org 101": what and where, for the messages. */
  label: string;
}

/** What the sweep does; recorded on the walk as `sweep` with `reason` as `sweep_reason`. */
export type SweepDecision =
  /** Mark the unseen rows: missing_since, or deleted_at for a repeated miss (`immediate`: deleted_at). */
  | { outcome: 'swept'; reason: null }
  /**
   * A second complete walk missed exactly the rows of the held sweep: mark them deleted now
   * (with a per-id GET, only those the vendor answered 404/410 for).
   */
  | { outcome: 'applied'; reason: string }
  /** Mark nothing; keep the unseen rows as the scope's held sweep. */
  | { outcome: 'held'; reason: string }
  /** The vendor's total says the walk missed records: mark nothing. */
  | { outcome: 'inconsistent'; reason: string }
  /** The walk cannot vouch for its misses (unidentified quarantined records): mark nothing. */
  | { outcome: 'skipped'; reason: string };

/** The outcomes a walk records in sync_walks.sweep. */
export type SweepOutcome = SweepDecision['outcome'];

/**
 * Decides the sweep of a completed full walk. In order: a walk with unidentified quarantined
 * records is skipped; one that saw fewer distinct ids than the largest total the vendor reported,
 * or whose own check found the vendor's totals disagreeing (`incomplete`), is inconsistent; one that would mark more than `maxDeleteShare` of the present rows, or that
 * listed a scope empty that had rows, is held, unless it agrees with the scope's held sweep
 * (then `agreement` decides); else it sweeps. Never throws.
 */
export function decideSweep(f: SweepFacts): SweepDecision {
  if (f.unidentified > 0) {
    return { outcome: 'skipped', reason: `skipped: ${f.unidentified} quarantined record${f.unidentified === 1 ? '' : 's'} without a usable id; a missed row may be one of them, so nothing of ${f.label} was marked` };
  }
  // At the moment the vendor counted totalMax records, every one of them existed; a walk that
  // saw fewer distinct ids cannot have read them all (a delete during a page-number walk shifts
  // a record onto a page already read; a total that fell more than the walk's extra ids explain
  // is the same thing).
  if (f.totalMax !== null && f.seen < f.totalMax) {
    return { outcome: 'inconsistent', reason: `inconsistent: saw ${f.seen} distinct ids, the vendor reported a total of ${f.totalMax} ${f.label}; nothing marked` };
  }
  // The same rule for a walk whose pages disagree with the vendor's totals of the same search.
  if (f.incomplete) return { outcome: 'inconsistent', reason: `inconsistent: ${f.incomplete}; nothing of ${f.label} marked` };
  if (f.unseen === 0) return { outcome: 'swept', reason: null };
  const empty = f.seen === 0 && f.present > 0;
  const tooMany = f.unseen > f.maxDeleteShare * f.present;
  if (!empty && !tooMany) return { outcome: 'swept', reason: null };
  if (f.agreesWithHold) return agreement(f);
  const why = empty ? 'listed empty' : `more than maxDeleteShare ${f.maxDeleteShare}`;
  return { outcome: 'held', reason: `held: would delete ${f.unseen} of ${f.present} ${f.label} (${why})` };
}

/**
 * A walk the guard would hold that missed exactly the held rows. With a per-id GET only the
 * vendor's 404/410 deletes: the hold is applied to the rows it answered gone for, and kept
 * while it answered gone for none (its sample answered 2xx: the listing is what fails).
 * Without one, two complete misses apply it, except when it covers the whole scope: two
 * glitches in a row look exactly like that (a vendor's search index down), so only
 * `fleetsync sweep --confirm` applies it.
 */
function agreement(f: SweepFacts): SweepDecision {
  const { perId } = f;
  const again = `a second complete walk missed the same ${f.unseen} of ${f.present} ${f.label}`;
  if (perId !== null) {
    if (perId.gone === 0) {
      const why = perId.present > 0 ? `the vendor still has ${perId.present} of those it was asked about (per-id GET answered 2xx)` : 'the vendor confirmed none gone (no 404/410 answered)';
      return { outcome: 'held', reason: `held: ${again}, but ${why}; nothing marked` };
    }
    const kept = perId.present > 0 ? `, ${perId.present} it still has kept` : '';
    return { outcome: 'applied', reason: `applied the held sweep where the vendor confirmed it: ${again}; ${perId.gone} answered 404/410${kept}` };
  }
  if (f.unseen >= f.present) {
    return { outcome: 'held', reason: `held: ${again}; a hold of a whole scope is applied only by fleetsync sweep --confirm` };
  }
  return { outcome: 'applied', reason: `applied the held sweep: ${again}` };
}
