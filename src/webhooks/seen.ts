import type { RedisClient } from '../redis.js';

/**
 * What a delivery with a key seen before is: the same bytes again (a replay: the vendor signs
 * each sending anew, so only a copy repeats them), or the vendor sending the same event again,
 * signed anew (a redelivery: our 2xx was lost). New when its key was not seen.
 */
export type SeenVerdict = 'new' | 'replay' | 'redelivery';

/** How a delivery with this body digest counts against what was stored under its key (pure). */
export function seenVerdict(stored: string | null, digest: string): SeenVerdict {
  if (stored === null) return 'new';
  return stored === digest ? 'replay' : 'redelivery';
}

/**
 * The deliveries a receiver accepted, by the vendor's event key, with their body digest, in
 * Redis for `ttlMs` (longer than the send-time tolerance: an older copy is refused as stale
 * anyway). Shared by every receiver process of the prefix.
 */
export class SeenDeliveries {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly ttlMs: number,
  ) {}

  private key(sourceId: string, replayKey: string): string {
    return `${this.prefix}:fleetsync-webhook-seen:${sourceId}:${replayKey}`;
  }

  /** Whether a delivery is new, a replay or a redelivery. Rejects when Redis does. */
  async check(sourceId: string, replayKey: string, digest: string): Promise<SeenVerdict> {
    return seenVerdict(await this.redis.get(this.key(sourceId, replayKey)), digest);
  }

  /** Remembers an accepted delivery (after its events were queued). */
  async remember(sourceId: string, replayKey: string, digest: string): Promise<void> {
    await this.redis.set(this.key(sourceId, replayKey), digest, 'PX', this.ttlMs);
  }
}
