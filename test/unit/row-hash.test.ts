import { describe, expect, it } from 'vitest';
import { hashLookupPays, recordsToSend, rowHash } from '../../src/warehouse/upsert.js';

describe('rowHash', () => {
  it('is the md5 of the record text as a uuid, and differs for any change of the text', () => {
    // md5("") = d41d8cd98f00b204e9800998ecf8427e
    expect(rowHash('')).toBe('d41d8cd9-8f00-b204-e980-0998ecf8427e');
    expect(rowHash('{"a":1}')).toBe(rowHash('{"a":1}'));
    expect(rowHash('{"a":1}')).not.toBe(rowHash('{"a":2}'));
  });
});

describe('recordsToSend', () => {
  it('drops the records whose stored row has their hash and keeps the page order', () => {
    const recs = [{ id: 'x' }, { id: 'y' }, { id: 'z' }];
    expect(recordsToSend(recs, new Set(['y'])).map((r) => r.id)).toEqual(['x', 'z']);
    expect(recordsToSend(recs, new Set()).map((r) => r.id)).toEqual(['x', 'y', 'z']);
    expect(recordsToSend(recs, new Set(['x', 'y', 'z']))).toEqual([]);
  });
});

describe('hashLookupPays', () => {
  it('looks hashes up on a first page and once rows existed, not while every row so far was new', () => {
    expect(hashLookupPays({ pages: 0, updated: 0, unchanged: 0 })).toBe(true);
    expect(hashLookupPays({ pages: 5, updated: 0, unchanged: 0 })).toBe(false);
    expect(hashLookupPays({ pages: 5, updated: 0, unchanged: 1 })).toBe(true);
    expect(hashLookupPays({ pages: 5, updated: 3, unchanged: 0 })).toBe(true);
  });
});
