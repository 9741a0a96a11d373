import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { FamocoSimulator, generateFamocoData } from '../src/simulators/famoco.js';
import { generatePartnerData, PartnerSimulator } from '../src/simulators/partner.js';
import { TogglSimulator, generateTogglData } from '../src/simulators/toggl.js';
import { putStoredSource } from '../src/warehouse/source-configs.js';
import { createTestEnv, type TestEnv } from './helpers.js';
import { runCli } from './helpers/cli.js';
import { automoxSource, tempDir, testConfig, type TempDir } from './helpers/config.js';
import { freePort } from './helpers/ports.js';

// `fleetsync check` as a process against simulators: the config stage without credentials, then
// one request per source through its lane, with auth, reachability and headroom per source.

const KEYS = { CHECK_AX_KEY: 'check-ax-SECRET-1', CHECK_AX_BAD: 'check-ax-WRONG-2', CHECK_TG_TOKEN: 'check-tg-SECRET-3', CHECK_FM_TOKEN: 'check-fm-SECRET-4', CHECK_PT_SECRET: 'check-pt-SECRET-5' };

/** A `rest` source with OUs over the partner simulator: its lists need an active OU. */
const PARTNER_REST = {
  auth: { type: 'basic' },
  orgUnits: { ids: ['ou-emea'] },
  resources: [{ name: 'sites', path: '/sites', table: 'organizations', pagination: { type: 'page', limit: 5 }, map: { name: 'name' } }],
};

interface SourceJson {
  id: string;
  origin: string;
  ok: boolean;
  references: Array<{ key: string; name: string; resolves: boolean }>;
  credentialProblems: string[];
  probe: { request: string; auth: string; reachable: string; status: number | null; problem: string | null; headroom: Record<string, unknown> | null } | null;
}

describe('fleetsync check', () => {
  let env: TestEnv;
  let ax: AutomoxSimulator;
  let tg: TogglSimulator;
  let fm: FamocoSimulator;
  let pt: PartnerSimulator;
  let dir: TempDir;
  let configFile: string;
  let downPort: number;
  const cli = (args: string[], extraEnv: NodeJS.ProcessEnv = KEYS) => runCli(env, configFile, ['check', ...args], extraEnv);
  const secretsIn = (text: string) => Object.values(KEYS).filter((k) => text.includes(k));

  beforeAll(async () => {
    env = await createTestEnv();
    ax = new AutomoxSimulator({ apiKey: KEYS.CHECK_AX_KEY, data: generateAutomoxData({ seed: 5, orgs: 2, devicesPerOrg: 3, packagesPerDevice: 1 }) });
    tg = new TogglSimulator({ apiToken: KEYS.CHECK_TG_TOKEN, data: generateTogglData({ seed: 5, workspaces: 2, projectsPerWorkspace: 2 }) });
    fm = new FamocoSimulator({ token: KEYS.CHECK_FM_TOKEN, data: generateFamocoData({ seed: 5, orgs: 2, devicesPerOrg: 2 }) });
    pt = new PartnerSimulator({ clientId: 'pt-client', clientSecret: KEYS.CHECK_PT_SECRET, data: generatePartnerData({ sitesPerOu: [[1]], usersPerOu: 1 }) });
    const [axOrigin, tgOrigin, fmOrigin, ptOrigin] = await Promise.all([ax.start(), tg.start(), fm.start(), pt.start()]);
    // Nothing listens here: connecting is refused at once.
    downPort = await freePort();
    dir = await tempDir('fleetsync-check-');
    configFile = await dir.writeYaml('fleetsync.yaml', testConfig([
      automoxSource('ax-good', `${axOrigin}/api`, 'CHECK_AX_KEY'),
      automoxSource('ax-bad', `${axOrigin}/api`, 'CHECK_AX_BAD'),
      automoxSource('ax-down', `http://127.0.0.1:${downPort}/api`, 'CHECK_AX_KEY'),
      { id: 'tg', vendor: 'toggl', baseUrl: `${tgOrigin}/api/v9`, credentials: { apiToken: '${CHECK_TG_TOKEN}' }, quota: 'free' },
      { id: 'iz-unset', vendor: 'izuma', baseUrl: 'http://127.0.0.1:1', credentials: { apiKey: '${CHECK_UNSET_KEY}' } },
      { id: 'pt-ou', vendor: 'rest', baseUrl: `${ptOrigin}/v1`, credentials: { clientId: 'pt-client', clientSecret: '${CHECK_PT_SECRET}' }, rest: PARTNER_REST },
    ]));
    await putStoredSource(env.db, { id: 'fm-stored', vendor: 'famoco', tags: [], config: { id: 'fm-stored', vendor: 'famoco', baseUrl: fmOrigin, credentials: { token: '${CHECK_FM_TOKEN}' } } });
  });
  afterAll(async () => {
    await Promise.all([ax.stop(), tg.stop(), fm.stop(), pt.stop()]);
    await env.cleanup();
    await dir.remove();
  });

  it('reports auth, reachability and headroom per source (file and Postgres) and exits 1 naming the failing ones', async () => {
    tg.quota = { remaining: 12, resetAt: Date.now() + 3_600_000 };
    const r = await cli(['--json']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('check found a problem: ax-bad, ax-down, iz-unset');
    const out = JSON.parse(r.stdout) as { ok: boolean; stored: { read: boolean; count: number }; sources: SourceJson[] };
    expect(out.ok).toBe(false);
    expect(out.stored).toMatchObject({ read: true, count: 1 });
    const by = new Map(out.sources.map((s) => [s.id, s]));
    expect([...by.keys()]).toEqual(['ax-good', 'ax-bad', 'ax-down', 'tg', 'iz-unset', 'pt-ou', 'fm-stored']);

    const good = by.get('ax-good')!;
    expect(good.ok).toBe(true);
    expect(good.probe).toMatchObject({ request: 'GET /api/orgs', auth: 'ok', reachable: 'ok', status: 200, problem: null });
    // The simulator reports Automox's documented 100/s window in x-ratelimit-*.
    expect(good.probe!.headroom).toMatchObject({ limit: 100 });
    expect(good.probe!.headroom!.remaining).toBeLessThan(100);

    expect(by.get('ax-bad')!.probe).toMatchObject({ auth: 'failed', reachable: 'ok', status: 401 });
    expect(by.get('ax-bad')!.probe!.problem).toBe("authentication failed: 401 Unauthorized; check the source's credentials");
    expect(by.get('ax-down')!.probe).toMatchObject({ auth: 'unknown', reachable: 'failed', status: null });
    expect(by.get('ax-down')!.probe!.problem).toBe(`cannot reach the vendor at 127.0.0.1:${downPort}: ECONNREFUSED`);

    // Toggl's quota headers, and the source's own `quota: free` window as its lane counts it.
    expect(by.get('tg')!.probe!.headroom).toMatchObject({ quotaRemaining: 11, ownQuota: { max: 30 } });
    // A source with OUs reads the active OU: none is set yet (404), which proves the credentials.
    expect(by.get('pt-ou')).toMatchObject({ ok: true, probe: { request: 'GET /v1/org-units/active', auth: 'ok', reachable: 'ok', status: 404, problem: null } });
    expect(pt.activations).toEqual([]);
    expect(by.get('fm-stored')).toMatchObject({ origin: 'database', ok: true, probe: { request: 'GET /api/organizations/', auth: 'ok' } });

    const unset = by.get('iz-unset')!;
    expect(unset.probe).toBeNull();
    expect(unset.references).toEqual([{ key: 'apiKey', name: 'CHECK_UNSET_KEY', kind: 'env', resolves: false }]);
    expect(unset.credentialProblems).toEqual(['sources[4].credentials.apiKey: environment variable CHECK_UNSET_KEY is not set']);
    expect(secretsIn(r.stdout + r.stderr)).toEqual([]);
  });

  it('prints a table; --source narrows the check to the sources named', async () => {
    const ok = await cli(['--source', 'ax-good', '--source', 'tg']);
    expect(ok.code, ok.stderr).toBe(0);
    const lines = ok.stdout.split('\n');
    expect(lines[0]).toBe(`config ${configFile}: valid; 6 sources in the file, 1 stored in Postgres`);
    expect(lines[1]).toMatch(/^source\s+vendor\s+credentials\s+auth\s+reachable\s+latency\s+headroom\s+result$/);
    expect(lines[2]).toMatch(/^ax-good\s+automox\s+apiKey \$\{CHECK_AX_KEY\}\s+ok\s+ok\s+\S+\s+\d+\/100 left, resets in \d+ s\s+ok$/);
    expect(lines[3]).toMatch(/^tg\s+toggl\s+apiToken \$\{CHECK_TG_TOKEN\}\s+ok\s+ok\s+\S+\s+.*quota \d+ of 30 left this hour\s+ok$/);
    expect(lines[4]).toBe('all 2 sources passed');

    const bad = await cli(['--source', 'ax-bad']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/ax-bad\s+automox\s+apiKey \$\{CHECK_AX_BAD\}\s+failed\s+ok\s+.*authentication failed: 401 Unauthorized; check the source's credentials/);
    expect(bad.stderr.trim()).toBe('fleetsync: check found a problem: ax-bad');

    const nope = await cli(['--source', 'nope']);
    expect([nope.code, nope.stderr.trim()]).toEqual([2, 'fleetsync: unknown source "nope" (configured: ax-good, ax-bad, ax-down, tg, iz-unset, pt-ou, fm-stored)']);
  });

  it('--config-only needs no credential: names each reference and whether it is set, and sends nothing', async () => {
    const before = ax.requests.length + tg.requests.length + fm.requests.length + pt.requests.length;
    const r = await cli(['--config-only'], {});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ax-good\s+automox\s+apiKey \$\{CHECK_AX_KEY\} \(unset\)\s+valid; credentials\.apiKey: environment variable CHECK_AX_KEY is not set$/m);
    expect(r.stdout).toMatch(/^fm-stored\s+famoco \(stored\)\s+token \$\{CHECK_FM_TOKEN\} \(unset\)/m);
    expect(ax.requests.length + tg.requests.length + fm.requests.length + pt.requests.length).toBe(before);

    // Without --config-only the unset variable fails the source, still without a request.
    const full = await cli(['--source', 'iz-unset'], {});
    expect(full.code).toBe(1);
    expect(full.stdout).toMatch(/^iz-unset\s+izuma\s+apiKey \$\{CHECK_UNSET_KEY\} \(unset\)\s+-\s+-\s+-\s+-\s+credentials\.apiKey: environment variable CHECK_UNSET_KEY is not set$/m);
  });

  it('says when Postgres or Redis is out of reach, and an invalid config exits 2 before connecting', async () => {
    const [pgPort, redisPort] = [await freePort(), await freePort()];
    const r = await cli(['--source', 'ax-good'], { ...KEYS, DATABASE_URL: `postgres://postgres@127.0.0.1:${pgPort}/nothing`, REDIS_URL: `redis://127.0.0.1:${redisPort}` });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`sources stored in Postgres not checked: Postgres at 127.0.0.1:${pgPort} is unreachable (ECONNREFUSED)`);
    expect(r.stdout).toContain(`no vendor request sent: Redis at 127.0.0.1:${redisPort} is unreachable (ECONNREFUSED)`);
    expect(r.stdout).toMatch(/^ax-good\s+.*no request: Redis is unreachable$/m);

    const invalid = await dir.writeYaml('invalid.yaml', testConfig([{ ...automoxSource('ax', 'http://127.0.0.1:1/api', 'CHECK_AX_KEY'), resources: ['servers'] }]));
    const bad = await runCli(env, invalid, ['check'], {});
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('sources[0].resources[0]: unknown resource "servers" for vendor automox');
  });
});
