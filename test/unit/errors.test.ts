import { describe, expect, it } from 'vitest';
import { classifyStatus, parseRateLimitReset, parseRetryAfter } from '../../src/http/errors.js';

describe('http policy', () => {
  it('classifies statuses once', () => {
    expect([400, 401, 402, 403, 404, 410, 422, 429, 500, 503].map(classifyStatus)).toEqual([
      'invalid_request',
      'auth',
      'payment_required',
      'auth',
      'invalid_request',
      'gone',
      'invalid_request',
      'rate_limited',
      'retryable',
      'retryable',
    ]);
  });

  it('parses Retry-After as seconds or HTTP date, and X-RateLimit-Reset as epoch or delta', () => {
    const now = Date.parse('2026-11-22T10:00:00Z');
    expect(parseRetryAfter('3254', now)).toBe(3_254_000);
    expect(parseRetryAfter('Sun, 22 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRateLimitReset(String(now / 1000 + 5), now)).toBe(5000);
    expect(parseRateLimitReset('7', now)).toBe(7000);
  });
});
