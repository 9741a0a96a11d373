import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineResource } from '../../src/connector.js';
import { staticList } from '../../src/pagination/static-list.js';
import { normalizePage } from '../../src/sync/normalize-page.js';

const record = z.object({ id: z.union([z.string().min(1), z.number()]), name: z.string().nullable().optional(), updated_at: z.string().optional() }).passthrough();

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
    expect(page.quarantine[1]).toMatchObject({ external_id: null });
    expect(page.quarantine[1]?.reason).toContain('id: ');
    expect(page.seen).toEqual(['5', '6']);
  });

  it('quarantines a record whose mapping throws, with the mapping error', () => {
    const page = normalizePage(devices, [{ id: 9, name: 'explode' }], ctx);
    expect(page.rows).toEqual([]);
    expect(page.quarantine[0]).toMatchObject({ external_id: '9', reason: 's/devices org 42 page 3: cannot normalize: name cannot be mapped' });
  });

  it('keeps the last of duplicate ids as the row', () => {
    const page = normalizePage(devices, [{ id: 1, name: 'first' }, { id: 1, name: 'second' }], ctx);
    expect(page.rows).toHaveLength(1);
    expect(page.rows[0]?.columns).toEqual({ name: 'second' });
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
    expect(normalizePage(devices, [], ctx)).toEqual({ rows: [], seen: [], quarantine: [], repaired: 0, markMs: null });
  });
});
