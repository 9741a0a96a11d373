/**
 * One change a vendor told us about between walks (docs/freshness.md). The receiver (webhooks,
 * notification channels) and the pollers (Automox `/events`) turn what the vendor sent into these,
 * after checking its signature where it has one; `enqueueEvents` (src/events/enqueue.ts) queues
 * them on the source's lanes. New fields are only ever added as optional ones.
 */
export interface VendorEvent {
  /** Source id. */
  source: string;
  /** Connector resource name (e.g. 'devices', 'time_entries'). */
  resource: string;
  /** Vendor record id as text. */
  id: string;
  /** Scope key where the resource is scoped (e.g. an org id), else null. */
  scope: string | null;
  action: 'created' | 'updated' | 'deleted';
  /** ISO time of the change as the vendor says it. */
  occurredAt: string;
  /** The vendor's unique id of this event (dedupe, replay refusal). */
  eventKey: string;
  /** The whole record, only when the vendor signed it; validated by the resource schema before use. */
  record?: unknown;
}

/** What one call of enqueueEvents did: events queued now, and events whose key was queued before (a replay). */
export interface EnqueueResult {
  queued: number;
  duplicates: number;
}
