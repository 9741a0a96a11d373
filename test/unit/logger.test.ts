import { describe, expect, it } from 'vitest';
import { sanitizeForLog } from '../../src/logger.js';

describe('logs never carry credentials', () => {
  it('sanitizeForLog leaves ordinary values alone and never mutates its input', () => {
    const input = { a: 1, b: 'x', c: [1, { d: null }], when: new Date(0), headers: { Authorization: 'Bearer zzz' } };
    const copy = structuredClone(input);
    expect(sanitizeForLog(input)).toEqual({ a: 1, b: 'x', c: [1, { d: null }], when: new Date(0), headers: '[redacted]' });
    expect(input).toEqual(copy);
  });
});
