import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VENDORS } from '../../jobs/index.js';
import { parseConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { admitPage, MAX_PASS_ON_MS, passOnMs } from '../../src/queue/page-admission.js';
import { LaneSlots } from '../../src/queue/lane-slots.js';
import { selectSources, startDelays } from '../../src/queue/schedule-spread.js';
import { isReference, literalCredentialKeys, resolveCredentials } from '../../src/secret-refs.js';
import { SourceRegistry, unknownSourceText } from '../../src/source-registry.js';
import { checkStoredSource, sourcesFromText } from '../../src/source-store.js';

const src = (id: string, vendor = 'automox', tags: string[] = []) => ({ id, vendor, tags, origin: 'config' as const });

describe('page admission on a shared vendor queue', () => {
  const base = { known: true, servedHere: true, inHand: 0, waiting: 0, concurrency: 2, ageMs: 0 };
  it('runs a job of a known, served source whose lane has a free slot here, or waits here in a short line', () => {
    expect(admitPage(base, 0.5)).toEqual({ run: true, wait: false });
    expect(admitPage({ ...base, inHand: 1 }, 0.5)).toEqual({ run: true, wait: false });
    expect(admitPage({ ...base, inHand: 2, waiting: 1 }, 0.5)).toEqual({ run: true, wait: true });
  });
  it('puts back a job whose lane is full here with a full line, of a source another worker serves, or of a source not known yet', () => {
    expect(admitPage({ ...base, inHand: 2, waiting: 2 }, 0)).toEqual({ run: false, ms: 100, why: 'lane-full' });
    expect(admitPage({ ...base, inHand: 2, waiting: 2 }, 1)).toEqual({ run: false, ms: 200, why: 'lane-full' });
    expect(admitPage({ ...base, servedHere: false }, 0)).toEqual({ run: false, ms: 100, why: 'not-served' });
    expect(admitPage({ ...base, known: false, inHand: 9, ageMs: 5_000 }, 0)).toEqual({ run: false, ms: 500, why: 'unknown-source' });
  });
  it('passes a job it does not work back briefly at first, longer the longer it has been passed around, at most 30 s', () => {
    expect([passOnMs(0, 0), passOnMs(0, 1), passOnMs(20_000, 0), passOnMs(3_600_000, 0), passOnMs(3_600_000, 1)]).toEqual([100, 200, 2_000, MAX_PASS_ON_MS, MAX_PASS_ON_MS]);
  });
  it('counts jobs in hand per lane, once per job', () => {
    const slots = new LaneSlots();
    const leave = slots.enter('a.api');
    slots.enter('a.api');
    expect([slots.count('a.api'), slots.count('b.api')]).toEqual([2, 0]);
    leave();
    leave();
    expect(slots.count('a.api')).toBe(1);
  });
  it('hands a freed slot to the first job in line, never letting more than the concurrency in', async () => {
    const slots = new LaneSlots();
    const first = await slots.take('l', 1);
    const order: string[] = [];
    const second = slots.take('l', 1).then((release) => (order.push('second'), release));
    const third = slots.take('l', 1).then((release) => (order.push('third'), release));
    expect([slots.count('l'), slots.waiting('l')]).toEqual([1, 2]);
    first();
    const r2 = await second;
    expect([order, slots.count('l'), slots.waiting('l')]).toEqual([['second'], 1, 1]);
    r2();
    (await third)();
    expect([order, slots.count('l'), slots.waiting('l')]).toEqual([['second', 'third'], 0, 0]);
  });
});

describe('schedules over many sources', () => {
  const known = [src('a'), src('b', 'toggl', ['eu']), src('c', 'automox', ['eu', 'gold']), src('d', 'izuma', ['gold'])];
  it('selects all sources, named ones, by vendor and by every tag', () => {
    expect(selectSources({}, known)).toEqual(['a', 'b', 'c', 'd']);
    expect(selectSources({ sources: ['d', 'a'] }, known)).toEqual(['d', 'a']);
    expect(selectSources({ select: { vendor: 'automox' } }, known)).toEqual(['a', 'c']);
    expect(selectSources({ select: { vendor: ['toggl', 'izuma'] } }, known)).toEqual(['b', 'd']);
    expect(selectSources({ select: { tags: ['eu', 'gold'] } }, known)).toEqual(['c']);
    expect(selectSources({ sources: ['c'], select: { tags: ['gold'] } }, known)).toEqual(['c', 'd']);
  });
  it('spreads run starts so that no minute gets more than the cap', () => {
    expect(startDelays(4, 1200)).toEqual([0, 50, 100, 150]);
    const d = startDelays(1000, 600);
    expect(d.at(-1)).toBe(99_900);
    for (let i = 0; i < d.length; i++) expect(d.filter((x) => x >= d[i]! && x < d[i]! + 60_000).length).toBeLessThanOrEqual(600);
  });
});

describe('credential references', () => {
  it('resolves ${VAR} and ${file:path}, names what is missing and never a value', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleetsync-secret-'));
    try {
      await writeFile(join(dir, 'key'), 's3cret\n');
      expect(resolveCredentials({ apiKey: `\${file:${join(dir, 'key')}}`, user: 'u-${USER_X}', cost: '$$5' }, { USER_X: 'x' }, 'sources[0].credentials')).toEqual({ ok: true, values: { apiKey: 's3cret', user: 'u-x', cost: '$5' } });
      const r = resolveCredentials({ apiKey: '${NOPE}', other: `\${file:${join(dir, 'none')}}` }, { NOPE_NOT: 'v' }, 'source "a".credentials');
      expect(r).toEqual({ ok: false, missing: ['source "a".credentials.apiKey: environment variable NOPE is not set', `source "a".credentials.other: secret file ${join(dir, 'none')} cannot be read`] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  it('tells references from values', () => {
    expect([isReference('${A_KEY}'), isReference('${file:/run/secrets/a}'), isReference('pre-${A}'), isReference('plain')]).toEqual([true, true, false, false]);
    expect(literalCredentialKeys({ a: '${A}', b: 'value', c: 'x${C}' })).toEqual(['b', 'c']);
  });
});

describe('sources kept in Postgres', () => {
  const ctx = { vendors: VENDORS, yamlIds: new Set(['in-yaml']) };
  const ok = { id: 'acme', vendor: 'automox', baseUrl: 'https://console.automox.com/api', credentials: { apiKey: '${ACME_KEY}' }, tags: ['msp'] };
  it('accepts a source whose credentials are references and refuses secrets, bad fields and ids the config file owns', () => {
    expect(checkStoredSource(ok, 'source', ctx)).toMatchObject({ problems: [], source: { id: 'acme', tags: ['msp'] } });
    expect(checkStoredSource({ ...ok, credentials: { apiKey: 'abc' } }, 'source', ctx).problems).toEqual([expect.stringMatching(/^source\.credentials\.apiKey: must be a reference/)]);
    expect(checkStoredSource({ ...ok, vendor: 'nope' }, 'source', ctx).problems[0]).toMatch(/^source\.vendor: unknown vendor "nope"/);
    expect(checkStoredSource({ ...ok, baseUrl: 'http://example.com' }, 'source', ctx).problems).toEqual(['source.baseUrl: must be https:// (plain http is only allowed to loopback)']);
    expect(checkStoredSource({ ...ok, id: 'in-yaml' }, 'sources[3]', ctx).problems).toEqual(['sources[3].id: source "in-yaml" is in the config file; change it there']);
  });
  it('reads a sources: list or a bare list', () => {
    expect(sourcesFromText('sources:\n  - id: a\n', 'f.yaml')).toEqual([{ id: 'a' }]);
    expect(sourcesFromText('- id: b\n', 'f.yaml')).toEqual([{ id: 'b' }]);
    expect(() => sourcesFromText('id: c\n', 'f.yaml')).toThrow('f.yaml: expected a list of sources');
  });
});

describe('SourceRegistry', () => {
  const config = parseConfig({ sources: [{ id: 'a', vendor: 'automox', baseUrl: 'https://x.example/api', credentials: { apiKey: '${A_KEY}' }, tags: ['t'] }] }, {});
  it('lists without resolving, describes without credentials, and names a missing secret only when one is needed', () => {
    const reg = new SourceRegistry({ config, vendors: VENDORS, env: {}, logger: createLogger({ level: 'silent' }) });
    expect(reg.list()).toEqual([{ id: 'a', vendor: 'automox', tags: ['t'], origin: 'config' }]);
    expect(reg.describe('a')!.credentials).toEqual({});
    expect(() => reg.get('a')).toThrow('source a: sources[0].credentials.apiKey: environment variable A_KEY is not set');
    expect(reg.get('zzz')).toBeUndefined();
    const withKey = new SourceRegistry({ config, vendors: VENDORS, env: { A_KEY: 'k' }, logger: createLogger({ level: 'silent' }) });
    expect(withKey.get('a')!.credentials).toEqual({ apiKey: 'k' });
    expect(withKey.get('a')).toBe(withKey.get('a'));
  });
  it('names at most twenty configured sources for an unknown one', () => {
    expect(unknownSourceText('x', ['a', 'b'])).toBe('unknown source "x" (configured: a, b)');
    expect(unknownSourceText('x', Array.from({ length: 25 }, (_, i) => `s${i}`))).toMatch(/s19, and 5 more: fleetsync sources list\)$/);
  });
});
