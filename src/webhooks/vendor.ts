import type { IncomingHttpHeaders } from 'node:http';
import type { VendorEvent } from '../events/types.js';

/** One request that reached the receiver: the source its path names, and the bytes as received. */
export interface Delivery {
  sourceId: string;
  method: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Epoch ms of its arrival. */
  receivedAt: number;
}

/** The source a delivery is for, as a vendor's reader needs it: its id and the resources it syncs. */
export interface DeliverySource {
  id: string;
  resources: ReadonlySet<string>;
}

/** Whether a delivery carries the vendor's proof; the reason never quotes a header or the body. */
export type Verdict = { ok: true } | { ok: false; reason: string };

/** What a verified delivery asks for. */
export type Reading =
  /** A ping or a channel test: answered at once, nothing queued. */
  | { kind: 'reply'; status: number; body?: unknown }
  /**
   * Changes to queue. `sentAt`: the signed time the vendor sent this delivery (null when the
   * vendor signs none), checked against the tolerance. `replayKey`: the vendor's unique id of the
   * delivery (null when it has none), remembered to refuse the same bytes sent again.
   */
  | { kind: 'events'; events: VendorEvent[]; ignored: number; sentAt: string | null; replayKey: string | null }
  /** A verified body that is not what the vendor sends: why, naming the field. */
  | { kind: 'invalid'; reason: string };

/**
 * How one vendor's deliveries are checked and read (pure). A vendor with webhooks or a
 * notification channel has one of these in src/webhooks/vendors.ts.
 */
export interface WebhookVendor {
  vendor: string;
  /** The HTTP method its deliveries use (Toggl POSTs, Izuma PUTs). */
  method: 'POST' | 'PUT';
  /** Status of an accepted delivery (Izuma wants 200 or 204). */
  acceptedStatus: 200 | 202 | 204;
  /** Checks the signature or shared secret against the source's `webhookSecret`. */
  verify(d: Delivery, secret: string): Verdict;
  /** Reads a verified delivery. Never throws. */
  read(d: Delivery, source: DeliverySource): Reading;
}
