import { describe, expect, it } from 'vitest';
import { hostIsLoopback, parseCookies, requiresToken, sameOrigin, secretsEqual } from '../../src/dashboard-access.js';

describe('dashboard access rules', () => {
  it('compares secrets of any length without throwing', () => {
    expect(secretsEqual('abc', 'abc')).toBe(true);
    expect(secretsEqual('abc', 'abd')).toBe(false);
    expect(secretsEqual('', 'a-much-longer-token')).toBe(false);
  });

  it('asks for a token anywhere but loopback, and serves loopback names only without one', () => {
    expect(['127.0.0.1', 'localhost', '::1'].map(requiresToken)).toEqual([false, false, false]);
    expect(['0.0.0.0', '::', '10.0.0.5', 'dash.example.com'].map(requiresToken)).toEqual([true, true, true, true]);
    expect(['127.0.0.1:3300', 'localhost:3300', '[::1]:3300'].map(hostIsLoopback)).toEqual([true, true, true]);
    expect(['evil.example:3300', undefined, ''].map(hostIsLoopback)).toEqual([false, false, false]);
  });

  it('takes a state change only from its own origin (Origin, else Referer)', () => {
    const host = '127.0.0.1:3300';
    expect(sameOrigin({ origin: 'http://127.0.0.1:3300', host })).toBe(true);
    expect(sameOrigin({ referer: 'http://127.0.0.1:3300/runs/4', host })).toBe(true);
    expect(sameOrigin({ origin: 'http://127.0.0.1:3301', host })).toBe(false);
    expect(sameOrigin({ origin: 'http://evil.example', referer: 'http://127.0.0.1:3300/', host })).toBe(false);
    expect(sameOrigin({ origin: 'null', host })).toBe(false);
    expect(sameOrigin({ host })).toBe(false);
  });

  it('reads cookies, first one wins, bad encodings ignored', () => {
    expect(parseCookies('a=1; b=x%20y; a=2; c=%E0%A4%A')).toEqual({ a: '1', b: 'x y' });
    expect(parseCookies(undefined)).toEqual({});
  });
});
