import { describe, expect, it } from 'vitest';
import { z } from 'zod/v4';
import { defineResource } from '../../src/connector.js';
import { staticList } from '../../src/pagination/static-list.js';
import { normalizePage } from '../../src/sync/normalize-page.js';

const record = z.looseObject({ id: z.union([z.string().min(1), z.number()]), name: z.string().nullable().optional(), updated_at: z.string().optional() });

const devices = defineResource({
  name: 'devices',
  table: 'devices',
  lane: 'api',
  docUrl: 'https://example.test/docs',
  path: () => '/devices',
  pagination: staticList(() => []),
  record,
  incremental: { params: () => ({}), updatedAt: (r) => r.updated_at ?? null },
  id: (r) => String(r.id),
  map: (r) => {
    if (r.name === 'explode') throw new Error('name cannot be mapped');
    return { name: r.name ?? null };
  },
});

const ctx = { sourceId: 's', scope: '42', where: 's/devices org 42 page 3' };

function deepObject(levels: number): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
}

describe('normalizePage', () => {
  it('maps valid records to rows with their scope and raw object, and sees their ids', () => {
    const page = normalizePage(devices, [{ id: 1, name: 'a', extra: { x: 1 } }, { id: 'b', name: null }], ctx);
    expect(page.rows).toEqual([
      { externalId: '1', scope: '42', columns: { name: 'a' }, raw: { id: 1, name: 'a', extra: { x: 1 } } },
      { externalId: 'b', scope: '42', columns: { name: null }, raw: { id: 'b', name: null } },
    ]);
    expect(page.seen).toEqual(['1', 'b']);
    expect(page.quarantine).toEqual([]);
    expect(page.repaired).toBe(0);
  });

  it('strips NUL characters and counts the repaired records', () => {
    const page = normalizePage(devices, [{ id: 1, name: 'a\u0000b' }, { id: 2, name: 'ok' }], ctx);
    expect(page.rows[0]?.columns).toEqual({ name: 'ab' });
    expect(page.repaired).toBe(1);
  });

  it('quarantines an invalid record with its field and the page, keeping a readable id as seen', () => {
    const page = normalizePage(devices, [{ id: 5, name: 12 }, { name: 'no id' }, { id: 6, name: 'fine' }], ctx);
    expect(page.rows.map((r) => r.externalId)).toEqual(['6']);
    expect(page.quarantine).toHaveLength(2);
    expect(page.quarantine[0]).toMatchObject({ external_id: '5', raw: '{"id":5,"name":12}' });
    expect(page.quarantine[0]?.reason).toMatch(/^s\/devices org 42 page 3: invalid record: name: /);
    expect(page.quarantine[1]).toMatchObject({ external_id: null, field: 'id', reason: 's/devices org 42 page 3: unidentified record: id is missing' });
    expect(page.seen).toEqual(['5', '6']);
  });

  it('quarantines a record whose mapping throws, with the mapping error', () => {
    const page = normalizePage(devices, [{ id: 9, name: 'explode' }], ctx);
    expect(page.rows).toEqual([]);
    expect(page.quarantine[0]).toMatchObject({ external_id: '9', reason: 's/devices org 42 page 3: cannot normalize: name cannot be mapped' });
  });

  it('keeps the last of duplicate ids as the row, and counts the duplicates', () => {
    const page = normalizePage(devices, [{ id: 1, name: 'first' }, { id: 1, name: 'second' }, { id: 2 }, { id: '1' }], ctx);
    expect(page.rows).toHaveLength(2);
    expect(page.rows[0]?.columns).toEqual({ name: null });
    expect(page.duplicates).toBe(2);
  });

  it('replaces lone UTF-16 surrogates in values and keys by U+FFFD and counts the record as repaired', () => {
    const page = normalizePage(devices, [{ id: 1, name: 'a\ud800b', extra: { 'k\udc00': ['x\ud83d'], fine: '\ud83d\ude00' } }, { id: 2, name: 'ok' }], ctx);
    expect(page.quarantine).toEqual([]);
    expect(page.rows[0]?.columns).toEqual({ name: 'a\ufffdb' });
    expect(page.rows[0]?.raw).toEqual({ id: 1, name: 'a\ufffdb', extra: { 'k\ufffd': ['x\ufffd'], fine: '\ud83d\ude00' } });
    // What Postgres jsonb would refuse ("\ud800" escapes) is gone from the text that goes to it.
    expect(JSON.stringify(page.rows[0]?.raw)).not.toMatch(/\\ud[89a-f]/i);
    expect(page.repaired).toBe(1);
  });

  it('quarantines a 5,000-deep record with the field where it passes the limit, without throwing, and keeps the others', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 5_000; i++) deep = { a: deep };
    const page = normalizePage(devices, [{ id: 1, name: 'before' }, { id: 7, name: 'deep', nested: deep }, { id: 2, name: 'after' }], ctx);
    expect(page.rows.map((r) => r.externalId)).toEqual(['1', '2']);
    expect(page.quarantine).toHaveLength(1);
    const q = page.quarantine[0]!;
    // Level 1 is the record, so the object at level 65 is the one refused.
    const field = ['nested', ...Array<string>(63).fill('a')].join('.');
    expect(q).toMatchObject({ external_id: '7', field, raw: null });
    expect(q.reason).toBe(`s/devices org 42 page 3: nested deeper than 64 levels at ${field}`);
    expect(q.raw_text.startsWith('{"id":7,"name":"deep","nested":{"a":{"a":')).toBe(true);
    expect(q.raw_text.endsWith('"bottom"' + '}'.repeat(5_001))).toBe(true);
    // Its id still counts as seen: a present record must not look deleted.
    expect(page.seen).toEqual(['1', '7', '2']);
    expect(page.unidentified).toBe(0);
  });

  it('keeps the field and reason of a too-deep record storable when a key on its path holds NUL or a lone surrogate', () => {
    const page = normalizePage(devices, [{ id: 'd\u0000', ['k\ud800\u0000']: deepObject(70) }], ctx);
    const q = page.quarantine[0]!;
    expect(q.external_id).toBe('d');
    expect(q.field?.startsWith('k\ufffd.a.a')).toBe(true);
    expect(q.reason).not.toMatch(/[\u0000\ud800]/);
    expect(page.seen).toEqual(['d']);
  });

  it('quarantines a record whose id is an object, an array, a boolean or missing as unidentified, naming the field', () => {
    const page = normalizePage(devices, [{ id: { value: 3 } }, { id: [3] }, { id: true }, { id: '' }, { name: 'x' }, { id: 4 }], ctx);
    expect(page.rows.map((r) => r.externalId)).toEqual(['4']);
    expect(page.quarantine.map((q) => [q.external_id, q.field, q.reason.replace(`${ctx.where}: `, '')])).toEqual([
      [null, 'id', 'unidentified record: id is an object, expected a string or number'],
      [null, 'id', 'unidentified record: id is an array, expected a string or number'],
      [null, 'id', 'unidentified record: id is a boolean, expected a string or number'],
      [null, 'id', 'unidentified record: id is empty'],
      [null, 'id', 'unidentified record: id is missing'],
    ]);
    expect(page.quarantine[0]?.raw).toBe('{"id":{"value":3}}');
    expect(page.unidentified).toBe(5);
    expect(page.seen).toEqual(['4']);
  });

  it('reads the id from the resource\'s idField', () => {
    const byFamocoId = { ...devices, idField: 'famoco_id', id: (r: { famoco_id?: unknown }) => String(r.famoco_id) } as unknown as typeof devices;
    const page = normalizePage(byFamocoId, [{ id: 1, famoco_id: { x: 1 } }, { id: 2, famoco_id: 'F-2' }], ctx);
    expect(page.quarantine.map((q) => [q.field, q.external_id])).toEqual([['famoco_id', null]]);
    expect(page.seen).toEqual(['F-2']);
  });

  it('keeps a quarantined record\'s text cut to 64 KiB, and stores it as jsonb only when whole', () => {
    const big = 'x'.repeat(100_000);
    const page = normalizePage(devices, [{ id: 8, name: 12, blob: big }, { id: 9, name: 13 }], ctx);
    const [cut, whole] = page.quarantine;
    expect(cut?.raw_text).toHaveLength(64 * 1024);
    expect(cut?.raw_text).toBe(JSON.stringify({ id: 8, name: 12, blob: big }).slice(0, 64 * 1024));
    expect(cut?.raw).toBeNull();
    expect(whole).toMatchObject({ raw: '{"id":9,"name":13}', raw_text: '{"id":9,"name":13}', field: 'name' });
  });

  it('takes the latest update time on the page as its high-water mark, ignoring unparseable ones', () => {
    const page = normalizePage(
      devices,
      [
        { id: 1, updated_at: '2026-01-02T00:00:00Z' },
        { id: 2, updated_at: 'not a date' },
        { id: 3, updated_at: '2026-03-04T05:06:07.5Z' },
      ],
      ctx,
    );
    expect(page.markMs).toBe(Date.parse('2026-03-04T05:06:07.5Z'));
    expect(normalizePage(devices, [{ id: 1 }], ctx).markMs).toBeNull();
    expect(normalizePage(devices, [], ctx)).toEqual({ rows: [], seen: [], quarantine: [], repaired: 0, unidentified: 0, duplicates: 0, markMs: null });
  });
});
