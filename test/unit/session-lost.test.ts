import { describe, expect, it } from 'vitest';
import { VendorError } from '../../src/http/errors.js';
import { sessionMayBeLost } from '../../src/queue/session-lock.js';

const answer = (status: number | null) => new VendorError({ kind: status === 429 ? 'rate_limited' : 'invalid_request', message: `status ${status}`, status });

describe('sessionMayBeLost', () => {
  it('reads 409 and 403 as a state the vendor may have forgotten, and nothing else', () => {
    expect(sessionMayBeLost(answer(409))).toBe(true);
    expect(sessionMayBeLost(answer(403))).toBe(true);
    for (const status of [400, 401, 404, 422, 429, 500, null]) expect(sessionMayBeLost(answer(status)), String(status)).toBe(false);
    expect(sessionMayBeLost(new Error('socket hang up'))).toBe(false);
  });
});
