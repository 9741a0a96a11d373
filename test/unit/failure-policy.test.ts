import { describe, expect, it } from 'vitest';
import { VendorError, type FailureKind } from '../../src/http/errors.js';
import { PageShapeError, PaginationLoopError } from '../../src/pagination/types.js';
import { backoffThroughNextAttempt, decideFailure, type FailureContext } from '../../src/queue/failure-policy.js';

const ctx = (attempt: number, maxAttempts = 3, extra: Partial<FailureContext> = {}): FailureContext => ({
  where: 'ax/devices org 7 page 2',
  sourceId: 'ax',
  resource: 'devices',
  attempt,
  maxAttempts,
  rateLimitBackoffMs: 60_000,
  firstRequest: false,
  backoffMs: 5_000,
  connectFailureTimeoutMs: 120_000,
  ...extra,
});

const unreachable = (code: string) => new VendorError({ kind: 'retryable', code, message: `cannot reach the vendor at api.example.com:443: ${code}` });

const vendor = (kind: FailureKind, status: number | null, extra: Partial<{ retryAfterMs: number; requestId: string }> = {}) =>
  new VendorError({ kind, status, message: `${status ?? 'network'} boom`, requestId: extra.requestId ?? null, retryAfterMs: extra.retryAfterMs ?? null });

describe('decideFailure', () => {
  it('passes BullMQ control errors through untouched', () => {
    for (const name of ['RateLimitError', 'DelayedError']) {
      const e = new Error('x');
      e.name = name;
      expect(decideFailure(e, ctx(1))).toEqual({ action: 'pass' });
    }
  });

  it('fails the walk at once for a page of the wrong shape or a pagination loop', () => {
    expect(decideFailure(new PageShapeError('expected an array'), ctx(1))).toEqual({
      action: 'fail-walk',
      failure: { message: 'ax/devices org 7 page 2: expected an array', status: null, requestId: null },
    });
    expect(decideFailure(new PaginationLoopError('loop'), ctx(1)).action).toBe('fail-walk');
  });

  it('retries unknown errors (bugs, database hiccups) and gives up only on the last attempt', () => {
    const first = decideFailure(new Error('connection terminated'), ctx(1));
    expect(first).toMatchObject({ action: 'retry', message: 'ax/devices org 7 page 2: connection terminated', giveUp: null });
    const last = decideFailure(new Error('connection terminated'), ctx(3));
    expect(last).toMatchObject({ action: 'retry', giveUp: { message: 'ax/devices org 7 page 2: connection terminated', status: null } });
    expect(decideFailure('a string', ctx(1))).toMatchObject({ action: 'retry', message: 'ax/devices org 7 page 2: a string' });
  });

  it('retries 5xx and network errors with the attempt count in the final message', () => {
    for (const attempt of [1, 2]) expect(decideFailure(vendor('retryable', 503), ctx(attempt))).toMatchObject({ action: 'retry', giveUp: null, status: 503 });
    expect(decideFailure(vendor('retryable', 502, { requestId: 'r-1' }), ctx(3))).toMatchObject({
      action: 'retry',
      giveUp: { message: 'ax/devices org 7 page 2: 502 boom (gave up after 3 attempts)', status: 502, requestId: 'r-1' },
    });
    expect(decideFailure(vendor('retryable', null), ctx(1, 1))).toMatchObject({ action: 'retry', giveUp: { status: null } });
  });

  it('pauses the lane for a 429, for as long as the vendor says or the backoff when it says nothing', () => {
    expect(decideFailure(vendor('rate_limited', 429, { retryAfterMs: 3000, requestId: 'q' }), ctx(1))).toMatchObject({
      action: 'pause-lane',
      waitMs: 3000,
      reason: '429 from vendor (request q)',
    });
    expect(decideFailure(vendor('rate_limited', 429), ctx(3))).toMatchObject({ action: 'pause-lane', waitMs: 60_000, reason: '429 from vendor' });
    // A spent quota's 402 says where the quota stands and when requests resume (UTC).
    const resumes = new Date(Date.now() + 20 * 60_000).toISOString().slice(11, 16);
    expect(decideFailure(vendor('rate_limited', 402, { retryAfterMs: 20 * 60_000 }), ctx(1, 3, { quotaPerHour: 30 }))).toMatchObject({ reason: `402 quota: 0 of 30 requests left this hour, resumes ${resumes}` });
    expect(decideFailure(vendor('rate_limited', 402, { retryAfterMs: 20 * 60_000 }), ctx(1))).toMatchObject({ reason: `402 quota: 0 requests left this hour, resumes ${resumes}` });
  });

  it('fails the whole run for refused credentials', () => {
    expect(decideFailure(vendor('auth', 401), ctx(1))).toEqual({
      action: 'fail-run',
      failure: { message: 'ax/devices org 7 page 2: 401 boom: check the credentials of source ax', status: 401, requestId: null },
    });
    expect(decideFailure(vendor('auth', 403), ctx(2)).action).toBe('fail-run');
  });

  it('pauses the source for a 402 of a vendor whose 402 stops the account, and disables the resource for 410, saying how to undo it', () => {
    for (const paymentRequired of [undefined, 'source'] as const) {
      const paid = decideFailure(vendor('payment_required', 402), ctx(1, 3, { paymentRequired }));
      expect(paid).toMatchObject({ action: 'pause-source', failure: { status: 402 } });
      if (paid.action === 'pause-source') expect(paid.failure.message).toBe('ax/devices org 7 page 2: 402 boom: payment required, not a spent quota: the plan lacks what devices needs; resume with `fleetsync resume --source ax` once it is upgraded');
    }
    const gone = decideFailure(vendor('gone', 410), ctx(1));
    expect(gone).toMatchObject({ action: 'disable-resource', failure: { status: 410 } });
    if (gone.action === 'disable-resource') expect(gone.failure.message).toContain('fleetsync enable --source ax --resource devices');
  });

  it('pauses only the resource for a 402 that is a plan restriction of its endpoint (Toggl), keeping the vendor message and request id, on any attempt', () => {
    const tg = { where: 'tg/tasks workspace 5 page 1', sourceId: 'tg', resource: 'tasks', paymentRequired: 'resource' as const };
    for (const attempt of [1, 3]) {
      const paid = decideFailure(new VendorError({ kind: 'payment_required', status: 402, message: '402 Workspace needs to be upgraded to access this feature', requestId: 'r-1' }), ctx(attempt, 3, tg));
      expect(paid).toEqual({
        action: 'pause-resource',
        failure: {
          status: 402,
          requestId: 'r-1',
          message:
            'tg/tasks workspace 5 page 1: 402 Workspace needs to be upgraded to access this feature: payment required, not a spent quota: the plan lacks what tasks needs; tasks is paused for tg (its other resources go on); resume with `fleetsync resume --source tg --resource tasks` once it is upgraded',
        },
      });
    }
    // A spent quota stays a lane pause, whatever a 402 otherwise means for the vendor.
    expect(decideFailure(vendor('rate_limited', 402, { retryAfterMs: 1000 }), ctx(1, 3, tg)).action).toBe('pause-lane');
  });

  it('fails the walk with the vendor message for 400/404/422 and unsafe links, whatever the attempt', () => {
    for (const attempt of [1, 3]) {
      expect(decideFailure(vendor('invalid_request', 422), ctx(attempt))).toEqual({
        action: 'fail-walk',
        failure: { message: 'ax/devices org 7 page 2: 422 boom', status: 422, requestId: null },
      });
    }
    expect(decideFailure(vendor('unsafe', null), ctx(1)).action).toBe('fail-walk');
  });

  it("fails the run on a walk's first request that cannot connect once the backoff would pass connectFailureTimeoutMs", () => {
    // Defaults (5 s backoff, 2 min): attempts 1-4 have waited 5, 15, 35, 75 s; the 5th would reach 155 s.
    expect([1, 2, 3, 4, 5].map((a) => backoffThroughNextAttempt(5_000, a))).toEqual([5_000, 15_000, 35_000, 75_000, 155_000]);
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']) {
      for (const attempt of [1, 2, 3, 4]) expect(decideFailure(unreachable(code), ctx(attempt, 8, { firstRequest: true })), `${code} attempt ${attempt}`).toMatchObject({ action: 'retry', giveUp: null });
      expect(decideFailure(unreachable(code), ctx(5, 8, { firstRequest: true }))).toEqual({
        action: 'fail-run',
        failure: {
          message: `ax/devices org 7 page 2: cannot reach the vendor at api.example.com:443: ${code}; check the baseUrl of source ax (gave up after 5 attempts)`,
          status: null,
          requestId: null,
        },
      });
    }
    // A shorter timeout gives up sooner; the last attempt gives up whatever the timeout.
    expect(decideFailure(unreachable('ECONNREFUSED'), ctx(2, 8, { firstRequest: true, backoffMs: 100, connectFailureTimeoutMs: 250 })).action).toBe('fail-run');
    expect(decideFailure(unreachable('ECONNREFUSED'), ctx(1, 8, { firstRequest: true, backoffMs: 100, connectFailureTimeoutMs: 250 })).action).toBe('retry');
    expect(decideFailure(unreachable('ECONNREFUSED'), ctx(2, 2, { firstRequest: true })).action).toBe('fail-run');
  });

  it('keeps the full attempts schedule for connection failures in the middle of a walk, timeouts and resets', () => {
    for (const attempt of [1, 5, 7]) expect(decideFailure(unreachable('ECONNREFUSED'), ctx(attempt, 8)), `attempt ${attempt}`).toMatchObject({ action: 'retry', giveUp: null });
    expect(decideFailure(unreachable('ECONNREFUSED'), ctx(8, 8))).toMatchObject({ action: 'retry', giveUp: { message: expect.stringContaining('(gave up after 8 attempts)') } });
    // A host that answers slowly or drops connections exists: not a wrong baseUrl.
    for (const code of ['ECONNABORTED', 'ECONNRESET', 'ETIMEDOUT']) expect(decideFailure(unreachable(code), ctx(7, 8, { firstRequest: true })).action, code).toBe('retry');
    // A 5xx is an answer, never a connection failure.
    expect(decideFailure(vendor('retryable', 503), ctx(7, 8, { firstRequest: true })).action).toBe('retry');
  });
});
