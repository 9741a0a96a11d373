import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VENDORS } from '../../jobs/index.js';
import { ConfigError, cronProblem, formatKeyPath, loadConfig, parseConfig } from '../../src/config.js';
import { expandResources, resolveSources } from '../../src/sources.js';

const source = { id: 'automox-prod', vendor: 'automox', baseUrl: 'https://console.automox.com/api', credentials: { apiKey: '${AUTOMOX_API_KEY}' } };

describe('config', () => {
  it('keeps credentials as references and resolves ${VAR} from the environment when a source is resolved', () => {
    const env = { AUTOMOX_API_KEY: 'k: "quoted" ${NOT_EXPANDED}' };
    const cfg = parseConfig({ sources: [source] }, env);
    expect(cfg.sources[0]!.credentials.apiKey).toBe('${AUTOMOX_API_KEY}');
    expect(resolveSources(cfg, VENDORS, env).get('automox-prod')!.credentials.apiKey).toBe('k: "quoted" ${NOT_EXPANDED}');
    expect(cfg.worker.lockDurationMs).toBe(30_000);
  });

  it('names the key path of a missing variable and never its value', () => {
    // Reading the config needs no secret (read-only commands); resolving the source does.
    const cfg = parseConfig({ sources: [source] }, {});
    expect(() => resolveSources(cfg, VENDORS, {})).toThrow('sources[0].credentials.apiKey: environment variable AUTOMOX_API_KEY is not set');
  });

  it('lists every problem with its key path', () => {
    try {
      parseConfig({ sources: [{ ...source, id: 'bad id!', pageSize: -1 }, { ...source, id: 'bad id!' }], worker: { lockDurationMs: 'x' } }, { AUTOMOX_API_KEY: 'k' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      expect(msg).toContain('sources[0].id: must be 1-63 letters');
      expect(msg).toContain('sources[0].pageSize:');
      expect(msg).toContain('worker.lockDurationMs:');
    }
  });

  it('takes history opt-ins by data table name and names an unknown one', () => {
    expect(parseConfig({ sources: [{ ...source, history: ['users', 'projects'] }] }, { AUTOMOX_API_KEY: 'k' }).sources[0]!.history).toEqual(['users', 'projects']);
    expect(() => parseConfig({ sources: [{ ...source, history: ['gizmos'] }] }, { AUTOMOX_API_KEY: 'k' })).toThrow(/sources\[0\]\.history\[0\]: Invalid enum value/);
  });

  it('refuses duplicate source ids, unknown keys and unknown lanes', () => {
    expect(() => parseConfig({ sources: [source, source] }, { AUTOMOX_API_KEY: 'k' })).toThrow('sources[1].id: duplicate source id "automox-prod"');
    expect(() => parseConfig({ sources: [{ ...source, apikey: 'x' }] }, { AUTOMOX_API_KEY: 'k' })).toThrow(/sources\[0\]: Unrecognized key/);
    const cfg = parseConfig({ sources: [{ ...source, rateLimits: { turbo: { windows: [{ max: 1, durationMs: 1 }] } }, pageSize: 900 }] }, { AUTOMOX_API_KEY: 'k' });
    expect(() => resolveSources(cfg, VENDORS)).toThrow(/sources\[0\]\.rateLimits\.turbo: unknown lane[\s\S]*sources\[0\]\.pageSize: 900 is over the maximum 500/);
  });

  it('reads YAML files and reports where a file is broken', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleetsync-cfg-'));
    try {
      const good = join(dir, 'good.yaml');
      await writeFile(good, 'sources:\n  - id: a\n    vendor: automox\n    baseUrl: https://x.example/api\n    credentials: { apiKey: ${K} }\n');
      expect(resolveSources(await loadConfig(good, { K: 'secret' }), VENDORS, { K: 'secret' }).get('a')!.credentials.apiKey).toBe('secret');
      const bad = join(dir, 'bad.yaml');
      await writeFile(bad, 'sources: [\n');
      await expect(loadConfig(bad, {})).rejects.toThrow(`config file ${bad} is not valid YAML`);
      await expect(loadConfig(join(dir, 'missing.yaml'), {})).rejects.toThrow(`cannot read config file ${join(dir, 'missing.yaml')}: ENOENT (no such file): write one (see fleetsync.example.yaml, or \`fleetsync simulate VENDOR\` prints one for a trial) or name one with --config FILE or FLEETSYNC_CONFIG`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads a config of many sources written with one shared anchor (a merge key per source)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleetsync-cfg-'));
    try {
      const file = join(dir, 'tenants.yaml');
      const tenants = Array.from({ length: 1500 }, (_, i) => `  - { <<: *tenant, id: t${i}, tags: [t${i % 3}] }`).join('\n');
      await writeFile(file, `sources:\n  - &tenant { id: t-first, vendor: automox, baseUrl: https://console.automox.com/api, credentials: { apiKey: \${KEY} } }\n${tenants}\n`);
      const cfg = await loadConfig(file, {});
      expect(cfg.sources).toHaveLength(1501);
      expect(cfg.sources[1500]).toMatchObject({ id: 't1499', vendor: 'automox', tags: ['t2'], credentials: { apiKey: '${KEY}' } });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('ships an example config that validates for every vendor in it', async () => {
    const env = { AUTOMOX_API_KEY: 'a', FAMOCO_TOKEN: 'b', IZUMA_API_KEY: 'c', TOGGL_API_TOKEN: 'd' };
    const cfg = await loadConfig('fleetsync.example.yaml', env);
    expect([...resolveSources(cfg, VENDORS, env).values()].map((s) => s.vendor.vendor)).toEqual(['automox', 'famoco', 'famoco-insights', 'izuma', 'toggl']);
  });

  it('expands requested resources with the parents they are nested under', () => {
    const cfg = parseConfig({ sources: [{ ...source, resources: ['devices', 'patch_categories'] }] }, { AUTOMOX_API_KEY: 'k' });
    const src = resolveSources(cfg, VENDORS, { AUTOMOX_API_KEY: 'k' }).get('automox-prod')!;
    expect(expandResources(src)).toEqual(['organizations', 'devices', 'patch_categories']);
    expect(expandResources(src, ['packages'])).toEqual(['organizations', 'packages']);
    expect(() => expandResources(src, ['widgets'])).toThrow('unknown resource "widgets"');
  });
});

describe('formatKeyPath', () => {
  it('writes key paths as users write them, indexes in brackets', () => {
    expect(formatKeyPath(['sources', 0, 'credentials', 'apiKey'])).toBe('sources[0].credentials.apiKey');
    expect(formatKeyPath(['rest', 'resources', 1, 'map', 'foo'])).toBe('rest.resources[1].map.foo');
    expect(formatKeyPath([])).toBe('');
  });
});

describe('config errors a first run meets', () => {
  it('names every missing ${VAR} at once, each with its key path', () => {
    const src = (id: string, v: string) => ({ id, vendor: 'automox', baseUrl: 'https://x.example/api', credentials: { apiKey: `\${${v}}`, extra: `pre-\${${v}_2}` } });
    expect(() => resolveSources(parseConfig({ sources: [src('a', 'A_KEY'), src('b', 'B_KEY')] }, { A_KEY: 'set' }), VENDORS, { A_KEY: 'set' })).toThrow(
      new ConfigError(
        '3 environment variables are not set (export them or put them in .env):\n' +
          '  sources[0].credentials.extra: environment variable A_KEY_2 is not set\n' +
          '  sources[1].credentials.apiKey: environment variable B_KEY is not set\n' +
          '  sources[1].credentials.extra: environment variable B_KEY_2 is not set',
      ),
    );
  });

  it('quotes a cron pattern it cannot read, with the field order', () => {
    expect(cronProblem('every day', new Error('Validation error, cannot resolve alias "eve"'))).toBe(
      'invalid cron pattern "every day": has 2 fields, needs 5 or 6 (5 fields: minute hour day-of-month month day-of-week, e.g. "0 2 * * *" for 02:00 daily; 6 with seconds first)',
    );
    const source = { id: 'a', vendor: 'automox', baseUrl: 'https://x.example/api' };
    expect(() => parseConfig({ sources: [source], schedules: [{ name: 'x', cron: '0 25 * * *' }] }, {})).toThrow(/schedules\[0\]\.cron: invalid cron pattern "0 25 \* \* \*": Constraint error, got value 25 expected range 0-23 \(5 fields/);
  });
});
