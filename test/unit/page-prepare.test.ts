import { describe, expect, it } from 'vitest';
import { automox } from '../../jobs/automox.js';
import { canonicalJson, pageFrame, preparePage } from '../../src/queue/page-prepare.js';
import { PageShapeError } from '../../src/pagination/types.js';
import { generateAutomoxData } from '../../src/simulators/automox.js';
import { payloadRecords } from '../../src/warehouse/payload.js';
import { normalizePage } from '../../src/sync/normalize-page.js';

const devices = automox.resources.find((r) => r.name === 'devices')!;
const pageCtx = { scope: '1', pageSize: 2, path: '/servers', params: { o: '1' }, baseUrl: 'http://vendor.test/api', first: false };
const norm = { sourceId: 'ax', scope: '1', where: 'ax devices org 1 page 1' };
const servers = generateAutomoxData({ seed: 3, orgs: 1, devicesPerOrg: 3, packagesPerDevice: 0 }).servers;
const answer = (body: unknown) => ({ status: 200, body, requestId: null, throttleMs: 0, headers: {} });

describe('canonicalJson', () => {
  it('is the same for a cursor and its copy with keys in another order (jsonb does not keep them)', () => {
    expect(canonicalJson({ page: 2, seen: { b: 1, a: [{ y: 1, x: 2 }] } })).toBe(canonicalJson({ seen: { a: [{ x: 2, y: 1 }], b: 1 }, page: 2 }));
    expect(canonicalJson({ page: 2 })).not.toBe(canonicalJson({ page: 3 }));
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
  });
});

describe('preparePage', () => {
  it("does what the page's job would: the same frame, payload and page counts, and keeps no rows besides the payload", () => {
    const cursor = devices.pagination.first(pageCtx);
    const made = preparePage({ def: devices, cursor, ctx: pageCtx, norm }, answer(servers.slice(0, 2)));
    const result = devices.pagination.parse(servers.slice(0, 2), cursor, pageCtx, { headers: {} });
    expect(made.frame).toEqual(pageFrame(result));
    expect(made.frame).toEqual({ next: result.next, records: 2 });
    expect(made.cursorKey).toBe(canonicalJson(cursor));
    const rows = normalizePage(devices, result.records, norm).rows;
    expect(made.payload).toEqual(payloadRecords(rows));
    expect(made.normalized.rows).toEqual([]);
    expect(made.normalized.seen).toEqual(servers.slice(0, 2).map((s) => String(s.id)));
  });

  it("throws the page frame's own refusal (more records than asked for), so the job meets it itself", () => {
    const cursor = devices.pagination.first(pageCtx);
    expect(() => preparePage({ def: devices, cursor, ctx: pageCtx, norm }, answer(servers))).toThrow(PageShapeError);
  });
});
