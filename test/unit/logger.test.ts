import { describe, expect, it } from 'vitest';
import { createLogger, resolveLogFormat, sanitizeForLog } from '../../src/logger.js';

describe('logs never carry credentials', () => {
  it('sanitizeForLog leaves ordinary values alone and never mutates its input', () => {
    const input = { a: 1, b: 'x', c: [1, { d: null }], when: new Date(0), headers: { Authorization: 'Bearer zzz' } };
    const copy = structuredClone(input);
    expect(sanitizeForLog(input)).toEqual({ a: 1, b: 'x', c: [1, { d: null }], when: new Date(0), headers: '[redacted]' });
    expect(input).toEqual(copy);
  });
});

describe('log format', () => {
  it('is readable on a terminal and JSON elsewhere, unless FLEETSYNC_LOG_FORMAT says otherwise', () => {
    expect(resolveLogFormat(undefined, true)).toBe('pretty');
    expect(resolveLogFormat(undefined, false)).toBe('json');
    expect(resolveLogFormat('auto', true)).toBe('pretty');
    expect(resolveLogFormat('json', true)).toBe('json');
    expect(resolveLogFormat('pretty', false)).toBe('pretty');
    expect(() => resolveLogFormat('yaml', true)).toThrow('FLEETSYNC_LOG_FORMAT must be json, pretty or auto, not "yaml"');
  });

  it('a pretty line is one readable line, sanitized like the JSON one', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', format: 'pretty', destination: { write: (s: string) => void lines.push(s) } });
    logger.info({ source: 'automox-prod', credentials: { apiKey: 'sk-SECRET' }, headers: { Authorization: 'Bearer sk-SECRET' } }, 'run finished');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: run finished source=automox-prod credentials=\[redacted\] headers=\[redacted\]\n$/);
    expect(lines[0]).not.toContain('sk-SECRET');
  });

  it('a pretty line shows its fields as key=value pairs, correlation keys first, quoted only when needed, never on a second line', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', format: 'pretty', destination: { write: (s: string) => void lines.push(s) } });
    logger.warn({ scope: '10001', waitMs: 4000, lane: 'ax.servers', runId: '7', source: 'ax', reason: '429 from vendor\n(request r-1)', resources: ['organizations', 'devices'], absent: undefined }, 'lane paused');
    logger.error({ source: 'ax', err: Object.assign(new Error('boom'), { name: 'VendorError' }) }, 'walk failed');
    expect(lines).toEqual([
      expect.stringMatching(/^\[\d\d:\d\d:\d\d\] WARN: lane paused source=ax runId=7 scope=10001 lane=ax\.servers waitMs=4000 reason="429 from vendor\\n\(request r-1\)" resources=organizations,devices\n$/),
      expect.stringMatching(/^\[\d\d:\d\d:\d\d\] ERROR: walk failed source=ax err="VendorError: boom"\n$/),
    ]);
  });
});
