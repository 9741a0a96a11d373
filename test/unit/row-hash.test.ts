import { describe, expect, it } from 'vitest';
import { payloadOf, payloadRecords, rowHash, type RowToUpsert } from '../../src/warehouse/payload.js';
import { hashLookupPays, recordsToSend } from '../../src/warehouse/upsert.js';

describe('rowHash', () => {
  it('is the md5 of the record text in hex, the same for its UTF-8 bytes, and differs for any change of the text', () => {
    // md5("") = d41d8cd98f00b204e9800998ecf8427e
    expect(rowHash('')).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(rowHash(Buffer.from('{"a":"é"}'))).toBe(rowHash('{"a":"é"}'));
    expect(rowHash('{"a":1}')).toBe(rowHash('{"a":1}'));
    expect(rowHash('{"a":1}')).not.toBe(rowHash('{"a":2}'));
  });
});

const row = (id: string, name: unknown, raw: unknown): RowToUpsert => ({ externalId: id, scope: 's1', columns: { name }, raw });

/** The JSON text of a jsonb parameter in binary format, after checking its version byte. */
function jsonbText(bytes: Buffer): string {
  expect(bytes[0]).toBe(1);
  return bytes.subarray(1).toString('utf8');
}

describe('payloadRecords', () => {
  it('is one jsonb parameter holding every record with its row_hash, the hash being that of the text before it', () => {
    const rows = [row('a', 'x', { id: 'a', n: 1 }), row('b', null, { id: 'b', nested: { list: [1, 2] } })];
    const expected = rows.map((r) => ({ name: r.columns.name, external_id: r.externalId, scope: r.scope, raw: r.raw }));
    const payload = payloadRecords(rows);
    const parsed = JSON.parse(jsonbText(payload.bytes)) as Array<Record<string, unknown>>;
    expect(parsed.map(({ row_hash: _h, ...rest }) => rest)).toEqual(expected);
    // The same hash as the record's own JSON text: rows stored before keep matching.
    expect(payload.records.map((r) => r.hash)).toEqual(expected.map((e) => rowHash(JSON.stringify(e))));
    expect(parsed.map((p) => p.row_hash)).toEqual(payload.records.map((r) => r.hash));
    for (const [i, r] of payload.records.entries()) {
      expect(r.id).toBe(rows[i]!.externalId);
      expect(JSON.parse(payload.bytes.subarray(r.start, r.end).toString('utf8'))).toEqual(parsed[i]);
    }
  });

  it('makes room for text beyond ASCII (3 and 4 bytes a character) and keeps every character', () => {
    const wide = '漢字🙂'.repeat(400);
    const rows = Array.from({ length: 30 }, (_, i) => row(`id${i}`, wide, { id: `id${i}`, note: wide, ascii: 'x'.repeat(i) }));
    const payload = payloadRecords(rows);
    const parsed = JSON.parse(jsonbText(payload.bytes)) as Array<{ name: string; raw: { note: string; ascii: string } }>;
    expect(parsed).toHaveLength(30);
    expect(parsed.every((p) => p.name === wide && p.raw.note === wide)).toBe(true);
    expect(parsed[29]!.raw.ascii).toBe('x'.repeat(29));
  });

  it('is an empty JSON array for no rows', () => {
    expect(jsonbText(payloadRecords([]).bytes)).toBe('[]');
  });

  it('gives the parameter of some of its records in the order asked, and its own bytes for all of them', () => {
    const payload = payloadRecords([row('a', 1, {}), row('b', 2, {}), row('c', 3, {})]);
    const [a, , c] = payload.records;
    expect((JSON.parse(jsonbText(payloadOf(payload, [c!, a!]))) as Array<{ external_id: string }>).map((r) => r.external_id)).toEqual(['c', 'a']);
    expect(jsonbText(payloadOf(payload, []))).toBe('[]');
    expect(payloadOf(payload, payload.records)).toBe(payload.bytes);
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
