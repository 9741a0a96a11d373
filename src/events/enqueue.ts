import type { JobsOptions, Queue } from 'bullmq';
import type { RedisClient } from '../redis.js';
import { eventDigest, eventJobId, eventProblem, type EventResourceInfo } from './decide.js';
import type { EnqueueResult, VendorEvent } from './types.js';

/** How long an event's key is remembered: the same key again within it is a duplicate (a replay), never applied twice. */
export const EVENT_KEY_RETENTION_MS = 7 * 86_400_000;

/** An event job's data: the event as the vendor said it (never credentials). */
export interface EventJobData {
  kind: 'event';
  event: VendorEvent;
}

/** A poll job's data: which source's event feed to read (src/events/poll.ts). */
export interface PollJobData {
  kind: 'poll';
  source: string;
}

export type EventQueueJob = EventJobData | PollJobData;

/** What enqueueEvents needs (EventCore is one): Redis for the keys, the queue of a source, and its resources for the checks. */
export interface EventIntake {
  redis: RedisClient;
  prefix: string;
  /** The events queue of a source's vendor (`events.<vendor>`); throws when the source is not configured. */
  queueFor(sourceId: string): Queue<EventQueueJob>;
  /** A resource of a source as the checks need it; undefined when the source does not sync it (or is not configured). */
  resourceOf(sourceId: string, resource: string): EventResourceInfo | undefined;
  /** Attempts, backoff and retention of event jobs. */
  jobOptions: JobsOptions;
}

/** Thrown for an event that can never be applied (unknown resource, no id, bad time, wrong scope): the message says why. */
export class EventRefused extends Error {
  override name = 'EventRefused';
}

/**
 * Queues vendor events as jobs on their source's vendor queue (`events.<vendor>`), where they are
 * applied through the source's lanes (src/events/apply.ts), so the vendor's rate limits, 429s and
 * retries are the usual ones. An event whose key (per source) was queued within
 * EVENT_KEY_RETENTION_MS is a duplicate: counted, not queued again, whatever became of the first.
 * Checks every event first and throws EventRefused naming the first bad one before queueing any.
 */
export async function enqueueEvents(intake: EventIntake, events: readonly VendorEvent[]): Promise<EnqueueResult> {
  for (const ev of events) {
    const problem = eventProblem(ev, intake.resourceOf(ev.source, ev.resource));
    if (problem !== null) throw new EventRefused(problem);
  }
  let queued = 0;
  let duplicates = 0;
  for (const ev of events) {
    const key = `${intake.prefix}:fleetsync-event:${eventDigest(ev.source, ev.eventKey)}`;
    const fresh = await intake.redis.set(key, String(Date.now()), 'PX', EVENT_KEY_RETENTION_MS, 'NX');
    if (fresh === null) {
      duplicates++;
      continue;
    }
    try {
      await intake.queueFor(ev.source).add(ev.resource, { kind: 'event', event: ev }, { ...intake.jobOptions, jobId: eventJobId(ev.source, ev.eventKey) });
    } catch (err) {
      // Not queued: forget the key, so the vendor's redelivery (or the next poll) is not a duplicate.
      await intake.redis.del(key).catch(() => undefined);
      throw err;
    }
    queued++;
  }
  return { queued, duplicates };
}
