import { describe, expect, it } from 'vitest';
import { rememberBodyText } from '../../src/http/body-text.js';
import { MAX_RECORD_DEPTH, repairJson } from '../../src/normalize.js';
import { arrayElementSpans, pathOfRecords, recordTexts } from '../../src/sync/record-texts.js';

/** The texts arrayElementSpans cuts from `text` at `path`, or null. */
function cut(text: string, path: string[]): string[] | null {
  const spans = arrayElementSpans(text, path);
  if (spans === null) return null;
  const out: string[] = [];
  for (let i = 0; i < spans.length; i += 3) out.push(text.slice(spans[i], spans[i + 1]));
  return out;
}

/** A small deterministic generator (mulberry32). */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY = ['"', '\\', '\\"', '"\\', '[', ']', '{', '}', ',', ':', ' ', '\n', 'é', '😀', '\u2028', 'a', '\\\\"'];

function randomValue(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 3 ? 4 : 6));
  if (k === 0) return Math.floor(r() * 1e6) - 5e5;
  if (k === 1) return Array.from({ length: Math.floor(r() * 5) }, () => NASTY[Math.floor(r() * NASTY.length)]).join('');
  if (k === 2) return r() < 0.5 ? null : r() < 0.5;
  if (k === 3) return r() * 100;
  if (k === 4) return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(r() * 4); i > 0; i--) o[String(randomValue(r, 9))] = randomValue(r, depth + 1);
  return o;
}

describe('arrayElementSpans', () => {
  it('cuts each element of the body array, whatever spaces, escapes and brackets inside strings', () => {
    const text = ' [ {"a":"x\\"]}","b":[1,[2,{"c":"\\\\"}]]} ,\n 12 , "s\\\\\\"[" ,true,null , -1.5e3, [] , {} ]\n';
    expect(cut(text, [])).toEqual(['{"a":"x\\"]}","b":[1,[2,{"c":"\\\\"}]]}', '12', '"s\\\\\\"["', 'true', 'null', '-1.5e3', '[]', '{}']);
    expect(cut('[]', [])).toEqual([]);
    expect(cut(' [ ] ', [])).toEqual([]);
  });

  it('finds the array at a key path, the last of a repeated key, and keys written with escapes', () => {
    expect(cut('{"meta":{"n":2},"data":[{"id":1},{"id":2}],"next":null}', ['data'])).toEqual(['{"id":1}', '{"id":2}']);
    expect(cut('{"result":{"x":[9],"items":[1,2]}}', ['result', 'items'])).toEqual(['1', '2']);
    expect(cut('{"data":[1],"data":[2,3]}', ['data'])).toEqual(['2', '3']);
    expect(cut('{"d\\u0061ta":[4]}', ['data'])).toEqual(['4']);
    expect(cut('{"data":{"a":1}}', ['data'])).toBeNull();
    expect(cut('{"other":[1]}', ['data'])).toBeNull();
    expect(cut('[1,2]', ['data'])).toBeNull();
    expect(cut('{"data":[1,2', ['data'])).toBeNull();
  });

  it('agrees with JSON.parse on random values, compact and indented', () => {
    const r = rng(7);
    for (let n = 0; n < 300; n++) {
      const items = Array.from({ length: Math.floor(r() * 6) }, () => randomValue(r, 0));
      for (const text of [JSON.stringify(items), JSON.stringify({ pre: items, data: items }, null, n % 4)]) {
        const texts = cut(text, text.startsWith('[') ? [] : ['data']);
        expect(texts?.map((t) => JSON.parse(t) as unknown)).toEqual(items);
      }
    }
  });
});

describe('recordTexts', () => {
  it('gives the texts only for the very array of a body the HTTP client parsed', () => {
    const text = '{"data":[{"id":1,"n":1.50},{"id":2}]}';
    const body = JSON.parse(text) as { data: unknown[] };
    expect(recordTexts(body, body.data)).toBeNull();
    rememberBodyText(body, text);
    expect(pathOfRecords(body, body.data)).toEqual(['data']);
    expect(recordTexts(body, body.data)).toEqual([
      { text: '{"id":1,"n":1.50}', plain: true },
      { text: '{"id":2}', plain: true },
    ]);
    // Records the style filtered or copied are not the body's: no texts.
    expect(recordTexts(body, body.data.slice(1))).toBeNull();
    expect(recordTexts(body, [...body.data])).toBeNull();
    const top = JSON.parse('[{"id":1}]') as unknown[];
    rememberBodyText(top, '[{"id":1}]');
    expect(recordTexts(top, top)).toEqual([{ text: '{"id":1}', plain: true }]);
  });

  it('calls a record plain only when repairJson would find nothing in it', () => {
    const nested = (n: number) => `${'['.repeat(n - 1)}1${']'.repeat(n - 1)}`;
    const items = [
      '{"a":"x"}',
      '{"a":"nul\\u0000"}',
      '{"a":"half \\udc00"}',
      '{"\\uD83D\\uDE00":1}',
      '{"a":"\\\\u0000 is only text"}',
      `{"a":${nested(MAX_RECORD_DEPTH)}}`,
      `{"a":${nested(MAX_RECORD_DEPTH + 1)}}`,
    ];
    const text = `[${items.join(',')}]`;
    const body = JSON.parse(text) as unknown[];
    rememberBodyText(body, text);
    expect(recordTexts(body, body)?.map((t) => t.plain)).toEqual([true, false, false, false, false, true, false]);
    // What the flag spares: repairJson finds nothing in a plain record, and something (or too deep) in the others.
    const found = body.map((r) => {
      const { repairs, tooDeep } = repairJson(r);
      return repairs > 0 || tooDeep !== null;
    });
    expect(found).toEqual([false, true, true, false, false, false, true]);
  });
});
