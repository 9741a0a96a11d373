import { describe, expect, it } from 'vitest';
import { sentAtProblem } from '../../src/webhooks/handle.js';
import { RefusalLog } from '../../src/webhooks/receiver.js';
import { seenVerdict } from '../../src/webhooks/seen.js';
import { bodyDigest, checkSha256Signature, sameSecret, sha256Signature } from '../../src/webhooks/signature.js';

// A delivery shaped like Toggl's documented PING, signed with HMAC-SHA256 (computed apart from
// the code under test, with Python's hmac module).
const BODY = Buffer.from('{"event_id":0,"created_at":"2022-06-25T03:58:10.207820267Z","creator_id":6,"metadata":{"request_type":"POST","event_user_id":6},"payload":"ping","subscription_id":6,"timestamp":"2022-06-25T03:58:10.207820267Z"}');
const SECRET = 'test-secret-0123456789';
const SIGNED = 'sha256=3bb28d598824778d6a30dc5cae41e6ea3980ac74466bc2807ccc26af80e9b602';

describe('Toggl signature: sha256=<HMAC-SHA256 of the raw body with the subscription secret>', () => {
  it('accepts the vendor signature of the exact bytes, in either hex case', () => {
    expect(sha256Signature(SECRET, BODY)).toBe(SIGNED);
    expect(checkSha256Signature(SIGNED, SECRET, BODY)).toBe('ok');
    expect(checkSha256Signature(SIGNED.toUpperCase().replace('SHA256=', 'sha256='), SECRET, BODY)).toBe('ok');
  });

  it('refuses a missing, malformed or wrong signature, another secret and a changed body', () => {
    expect(checkSha256Signature(undefined, SECRET, BODY)).toBe('unsigned');
    expect(checkSha256Signature([], SECRET, BODY)).toBe('unsigned');
    expect(checkSha256Signature('3bb28d598824778d6a30dc5cae41e6ea3980ac74466bc2807ccc26af80e9b602', SECRET, BODY)).toBe('malformed');
    expect(checkSha256Signature('sha256=abc', SECRET, BODY)).toBe('malformed');
    expect(checkSha256Signature('sha1=3bb28d598824778d6a30dc5cae41e6ea3980ac74', SECRET, BODY)).toBe('malformed');
    expect(checkSha256Signature(SIGNED, 'another-secret-0123456789', BODY)).toBe('wrong');
    const changed = Buffer.from(BODY.toString().replace('"creator_id":6', '"creator_id":7'));
    expect(checkSha256Signature(SIGNED, SECRET, changed)).toBe('wrong');
    // Re-serialized JSON is other bytes: only the body as received verifies.
    expect(checkSha256Signature(SIGNED, SECRET, Buffer.from(JSON.stringify(JSON.parse(BODY.toString()), null, 1)))).toBe('wrong');
  });
});

describe('shared secret header (Izuma)', () => {
  it('matches only the exact secret, whatever the lengths; a missing or repeated header never', () => {
    expect(sameSecret(SECRET, SECRET)).toBe(true);
    expect(sameSecret(`${SECRET}x`, SECRET)).toBe(false);
    expect(sameSecret(SECRET.slice(0, -1), SECRET)).toBe(false);
    expect(sameSecret('', SECRET)).toBe(false);
    expect(sameSecret(undefined, SECRET)).toBe(false);
    expect(sameSecret([SECRET, SECRET], SECRET)).toBe(false);
  });
});

describe('replays: the signed send time and the event key', () => {
  const now = Date.parse('2026-12-07T12:00:00Z');
  it('accepts a send time within the tolerance either way, refuses one outside it or one that is no time', () => {
    expect(sentAtProblem('2026-12-07T11:56:00.123456789Z', now, 300_000)).toBeNull();
    expect(sentAtProblem('2026-12-07T12:04:00Z', now, 300_000)).toBeNull();
    expect(sentAtProblem('2026-12-07T11:54:00Z', now, 300_000)).toBe('sent at 2026-12-07T11:54:00.000Z, 360 s ago (tolerance 300 s)');
    expect(sentAtProblem('2026-12-07T12:06:00Z', now, 300_000)).toBe('sent at 2026-12-07T12:06:00.000Z, 360 s ahead of this clock (tolerance 300 s)');
    expect(sentAtProblem('yesterday', now, 300_000)).toBe('its send time "yesterday" is not a time');
  });

  it('the same key with the same bytes is a replay; with other bytes (signed anew) a redelivery', () => {
    const d = bodyDigest(BODY);
    expect(seenVerdict(null, d)).toBe('new');
    expect(seenVerdict(d, d)).toBe('replay');
    expect(seenVerdict(bodyDigest('other bytes'), d)).toBe('redelivery');
  });
});

describe('refusals are logged at most once a minute per source and status', () => {
  it('counts the ones it leaves out and names them on the next line', () => {
    const log = new RefusalLog(60_000);
    expect(log.take('t:401', 0)).toEqual({ log: true, suppressed: 0 });
    expect(log.take('t:401', 1_000)).toEqual({ log: false, suppressed: 0 });
    expect(log.take('t:401', 2_000)).toEqual({ log: false, suppressed: 0 });
    expect(log.take('t:409', 2_000)).toEqual({ log: true, suppressed: 0 });
    expect(log.take('t:401', 61_000)).toEqual({ log: true, suppressed: 2 });
  });
});
