import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { runReport } from '../src/reporting/queries.js';
import { applyHeldSweeps } from '../src/warehouse/held-sweeps.js';
import { AutomoxSimulator, generateAutomoxData, type AutomoxData } from '../src/simulators/automox.js';
import { FamocoInsightsSimulator, FamocoSimulator, generateFamocoData } from '../src/simulators/famoco.js';
import { generateIzumaData, IzumaSimulator } from '../src/simulators/izuma.js';
import { generatePartnerData, PartnerSimulator, type PartnerData } from '../src/simulators/partner.js';
import { generateTogglData, TogglSimulator } from '../src/simulators/toggl.js';
import type { HttpSimulator } from '../src/simulators/http-sim.js';
import { createTestEnv, type TestEnv } from './helpers.js';
import { runCli } from './helpers/cli.js';
import { tempDir, type TempDir } from './helpers/config.js';
import { byKey, complianceDaily, countByOrg, DAY, expectedCompliance, expectedDevices, expectedTime, KEYS, orgCounts, parseVendorTime, reportingConfig, STALE_DAYS, staleIds, type Dev } from './helpers/reporting.js';
import { syncOnce } from './helpers/sync.js';

// Every vendor's simulator lands; a second round of vendor changes follows. Each reporting view
// is checked against numbers computed from the simulators' own data (test/helpers/reporting.ts,
// never by our SQL), and the history answers (--as-of, compliance_daily) against the first
// round's data. The steps run in order, each on the state the one before left.
// The lag behind schedules is in test/reporting-lag.test.ts.

describe('reporting schema, history and fleetsync report', () => {
  let env: TestEnv;
  let app: App;
  let dir: TempDir;
  let configFile: string;
  const sims: HttpSimulator[] = [];
  let ax: AutomoxSimulator;
  let fm: FamocoSimulator;
  let iz: IzumaSimulator;
  let tg: TogglSimulator;
  let pt: PartnerSimulator;
  const vars = { AX: KEYS.AX, FM: KEYS.FM, IZ: KEYS.IZ, TG: KEYS.TG, PID: KEYS.PID, PSECRET: KEYS.PSECRET };
  const cli = (args: string[]) => runCli(env, configFile, args, vars);

  // What one step leaves for the next.
  let round1: { ax: AutomoxData; devices: Dev[] };
  let historyAfterRound1: number;
  let round2: { servers: AutomoxData['servers']; gone: AutomoxData['servers'][number]; emptied: PartnerData['sites'][number]; heldDevices: PartnerData['devices'] };
  let nowMs: number;
  let yesterday: string;

  const dbNow = async () => (await sql<{ now: Date }>`select now()`.execute(env.db)).rows[0]!.now;
  const syncAll = async () => {
    const runs = await Promise.all(['ax', 'fm', 'fi', 'iz', 'tg', 'pt'].map((s) => syncOnce(app, s)));
    return new Map(runs.map((r) => [r.run.source_id, r.run]));
  };
  const historyRows = async () => {
    const res = await sql<{ n: number }>`select (select count(*) from devices_history) + (select count(*) from packages_history) + (select count(*) from users_history) + (select count(*) from time_entries_history) as n`.execute(env.db);
    return Number(res.rows[0]!.n);
  };
  const expectedNow = () => expectedDevices({ ax: ax.data, fm: fm.data, pt: pt.data, izumaDevices: iz.data.devices, izAccountName: iz.data.account.display_name });
  const inventory = async (sources: string[] = []) => (await runReport(env.db, 'inventory', { sources, asOf: null })).rows;
  const compliance = async (asOf: Date | null = null) =>
    (await runReport(env.db, 'compliance', { sources: [], asOf })).rows.map((r) => ({
      source_id: r.source_id,
      organization_id: r.organization_id,
      category_id: r.category_id,
      category_name: r.category_name,
      severity: r.severity,
      devices_missing_patches: r.devices_missing_patches,
      missing_packages: r.missing_packages,
      missing_packages_with_cves: r.missing_packages_with_cves,
    }));

  beforeAll(async () => {
    env = await createTestEnv();
    dir = await tempDir('fleetsync-reporting-');
    const famocoData = generateFamocoData({ seed: 31, orgs: 2, devicesPerOrg: [9, 6], fleetsPerOrg: 2 });
    ax = new AutomoxSimulator({ apiKey: KEYS.AX, data: generateAutomoxData({ seed: 33, orgs: 3, devicesPerOrg: [12, 7, 0], packagesPerDevice: 4 }) });
    fm = new FamocoSimulator({ token: KEYS.FM, data: famocoData });
    const fi = new FamocoInsightsSimulator({ token: KEYS.FM, data: famocoData });
    iz = new IzumaSimulator({ apiKey: KEYS.IZ, data: generateIzumaData({ seed: 35, devices: 14, groups: 3, firmwareImages: 2 }) });
    tg = new TogglSimulator({ apiToken: KEYS.TG, data: generateTogglData({ seed: 37, workspaces: 2, projectsPerWorkspace: [3, 2], timeEntriesPerWorkspace: [25, 11], timeEntryDays: 120 }) });
    pt = new PartnerSimulator({ clientId: KEYS.PID, clientSecret: KEYS.PSECRET, data: generatePartnerData({ seed: 39, sitesPerOu: [[6, 3], [4]], usersPerOu: 4 }) });
    sims.push(ax, fm, fi, iz, tg, pt);
    const [a, f, i, z, t, p] = await Promise.all(sims.map((s) => s.start()));
    const cfg = reportingConfig({ ax: a!, fm: f!, fi: i!, iz: z!, tg: `${t!}/api/v9`, pt: p! });
    configFile = await dir.writeYaml('fleetsync.yaml', cfg);
    app = await env.open(cfg, { ...process.env, ...vars });
    app.engine.startWorkers();
  });

  afterAll(async () => {
    await Promise.all(sims.map((s) => s.stop()));
    await env.cleanup();
    await dir.remove();
  });

  it('round 1: answers every view from the vendors data', async () => {
    const first = await syncAll();
    for (const [id, run] of first) expect(run.status, `${id}: ${run.error_message ?? ''}`).toBe('succeeded');
    round1 = { ax: structuredClone(ax.data), devices: expectedNow() };
    expect(orgCounts(await inventory())).toEqual(countByOrg(round1.devices));
    // Vendors are named per source.
    const vendors = await sql<{ source_id: string; vendor: string }>`select source_id, vendor from reporting.source_vendors order by 1`.execute(env.db);
    expect(vendors.rows).toEqual([
      { source_id: 'ax', vendor: 'automox' },
      { source_id: 'fi', vendor: 'famoco-insights' },
      { source_id: 'fm', vendor: 'famoco' },
      { source_id: 'iz', vendor: 'izuma' },
      { source_id: 'pt', vendor: 'rest' },
      { source_id: 'tg', vendor: 'toggl' },
    ]);
    expect(byKey(await compliance())).toEqual(expectedCompliance(round1.ax));
  });

  it('keeps history of changes only: an unchanged resync writes none', async () => {
    // History begins with round 1: move it two days back, as if round 1 had been two days ago.
    for (const t of ['devices_history', 'packages_history', 'users_history']) {
      await sql`update ${sql.table(t)} set valid_from = valid_from - interval '2 days', valid_to = valid_to - interval '2 days'`.execute(env.db);
    }
    historyAfterRound1 = await historyRows();
    // Toggl did not opt in to users history; the partner source did.
    const usersHistory = await sql<{ source_id: string; n: number }>`select source_id, count(*)::int as n from users_history group by 1 order by 1`.execute(env.db);
    expect(usersHistory.rows).toEqual([{ source_id: 'pt', n: pt.data.users.length }]);

    // An unchanged resync writes no history (and no row).
    const again = await syncAll();
    for (const [id, run] of again) expect(run.status, `${id}: ${run.error_message ?? ''}`).toBe('succeeded');
    expect(await historyRows()).toBe(historyAfterRound1);
  });

  it('round 2: vendor changes land, a failing resource and a held sweep included', async () => {
    const now = Date.now();
    // Automox: three servers change compliance, one changes only fields we do not normalize (raw
    // only: no new version), one is deleted with its packages, two packages get installed.
    const servers = ax.data.servers;
    for (const s of servers.slice(0, 3)) s.compliant = !s.compliant;
    servers[4]!.uptime += 1000;
    const gone = servers[5]!;
    ax.data.servers = servers.filter((s) => s !== gone);
    ax.data.packages = ax.data.packages.filter((p) => p.server_id !== gone.id);
    const critical = ax.data.packages.filter((p) => !p.installed && p.severity === 'critical');
    for (const p of critical.slice(0, 2)) p.installed = true;
    // Famoco: one device seen today (no longer stale in MDM).
    fm.data.devices[0]!.state_details.last_sync = new Date(now - 3_600_000).toISOString();
    // Izuma: the firmware list answers 400 with the vendor's message.
    iz.inject({ kind: 'status', status: 400, times: Infinity, match: (r) => r.path.startsWith('/v3/firmware-images'), body: { object: 'error', code: 400, type: 'validation_error', message: 'order must be ASC or DESC', fields: [], request_id: 'req-fw-1' } });
    // Toggl: one more entry, one entry longer.
    const entries = tg.data.timeEntries;
    entries[0]!.duration += 1800;
    entries.push({ ...entries[1]!, id: 900_001, start: new Date(now - 2 * DAY).toISOString(), stop: new Date(now - 2 * DAY + 3_600_000).toISOString(), duration: 3600, at: new Date(now - DAY).toISOString() });
    // Partner: every device of one site disappears: the mass-delete guard holds the sweep.
    const emptied = pt.data.sites[0]!;
    const heldDevices = pt.data.devices.filter((d) => d.site_id === emptied.id);
    pt.data.devices = pt.data.devices.filter((d) => d.site_id !== emptied.id);
    round2 = { servers, gone, emptied, heldDevices };

    const second = await syncAll();
    expect(second.get('iz')!.status).toBe('partial');
    for (const id of ['ax', 'fm', 'fi', 'tg', 'pt']) expect(second.get(id)!.status, `${id}: ${second.get(id)!.error_message ?? ''}`).toBe('succeeded');
  });

  it('views after round 2: inventory, compliance, stale devices, organization summary', async () => {
    const { emptied, heldDevices } = round2;
    // The held partner devices are still present (held, not deleted).
    const expected2 = [...expectedNow(), ...heldDevices.map((d) => ({ source: 'pt', org: d.site_id, orgName: emptied.name, lastSeenMs: parseVendorTime(d.last_seen_at), compliant: null }))];
    expect(orgCounts(await inventory())).toEqual(countByOrg(expected2));
    expect(orgCounts(await inventory(['ax']))).toEqual(countByOrg(expected2.filter((d) => d.source === 'ax')));
    expect(byKey(await compliance())).toEqual(expectedCompliance(ax.data));

    nowMs = (await dbNow()).getTime();
    expect((await runReport(env.db, 'stale', { sources: [], asOf: null })).rows.length).toBe(staleIds(expected2, nowMs));
    await sql`update reporting.settings set value = '100000' where key = 'stale_after_days'`.execute(env.db);
    expect((await runReport(env.db, 'stale', { sources: [], asOf: null })).rows).toEqual([]);
    await sql`update reporting.settings set value = ${String(STALE_DAYS)} where key = 'stale_after_days'`.execute(env.db);

    const summary = await sql<{ organization_id: string; devices: number; device_groups: number; packages: number; last_success_per_resource: Record<string, string> }>`
      select organization_id, devices, device_groups, packages, last_success_per_resource from reporting.organization_summary where source_id = 'ax' order by organization_id`.execute(env.db);
    expect(summary.rows.map((r) => [r.organization_id, r.devices, r.device_groups, r.packages])).toEqual(
      [...ax.data.orgs]
        .sort((a, b) => String(a.id).localeCompare(String(b.id)))
        .map((o) => [String(o.id), ax.data.servers.filter((s) => s.organization_id === o.id).length, ax.data.groups.filter((g) => g.organization_id === o.id).length, ax.data.packages.filter((p) => p.organization_id === o.id).length]),
    );
    for (const r of summary.rows) expect(Object.keys(r.last_success_per_resource).sort()).toEqual(['device_groups', 'devices', 'organizations', 'packages', 'patch_categories']);
  });

  it('views after round 2: sync health and tracked time', async () => {
    const { heldDevices } = round2;
    const entries = tg.data.timeEntries;
    const health = (await runReport(env.db, 'health', { sources: [], asOf: null })).rows;
    const h = (source: string, resource: string) => health.find((r) => r.source_id === source && r.resource === resource)!;
    expect([h('ax', 'devices').last_run_outcome, Number(h('ax', 'devices').last_run_records)]).toEqual(['succeeded', ax.data.servers.length]);
    expect([h('tg', 'time_entries').last_run_outcome, Number(h('tg', 'time_entries').last_run_records)]).toEqual(['succeeded', entries.length]);
    const fw = h('iz', 'firmware_images');
    expect([fw.last_run_outcome, fw.failures_7d]).toEqual(['failed', 1]);
    expect((fw.failure_messages_7d as string[])[0]).toMatch(/^iz\/firmware_images scope - page 0: 400 validation_error: order must be ASC or DESC \(request [0-9a-f]{32}\)$/);
    const ptDevices = h('pt', 'devices');
    expect([ptDevices.held_sweeps_7d, ptDevices.held_sweeps_open]).toEqual([1, 1]);
    expect((ptDevices.held_sweep_messages_7d as string[])[0]).toContain(`would delete ${heldDevices.length} of ${heldDevices.length} devices`);
    expect(h('ax', 'devices').schedule_lag).toBeNull(); // no schedule configured: no lag to speak of

    const time = (await runReport(env.db, 'time', { sources: ['tg'], asOf: null })).rows;
    const got = time
      .map((r) => ({ workspace_id: r.workspace_id, project_id: r.project_id, iso_week: r.iso_week, entries: r.entries, seconds: Number(r.seconds) }))
      .sort((a, b) => `${String(a.workspace_id)}/${String(a.iso_week)}/${String(a.project_id)}`.localeCompare(`${String(b.workspace_id)}/${String(b.iso_week)}/${String(b.project_id)}`));
    expect(got).toEqual(expectedTime(tg.data));
    const wsNames = new Set(time.map((r) => r.workspace_name));
    expect([...wsNames].sort()).toEqual(tg.data.workspaces.map((w) => w.name).sort());
  });

  it('history: device versions, the views as of a past date, compliance_daily', async () => {
    const { servers, gone } = round2;
    const versions = await sql<{ device_id: string; n: number; open: number }>`
      select device_id, count(*)::int as n, count(*) filter (where is_current)::int as open from reporting.device_history where source_id = 'ax' group by 1 order by 1`.execute(env.db);
    const v = new Map(versions.rows.map((r) => [r.device_id, r]));
    for (const s of servers.slice(0, 3)) expect(v.get(String(s.id))).toEqual({ device_id: String(s.id), n: 2, open: 1 });
    expect(v.get(String(servers[4]!.id))).toEqual({ device_id: String(servers[4]!.id), n: 1, open: 1 }); // raw-only change
    expect(v.get(String(gone.id))).toEqual({ device_id: String(gone.id), n: 1, open: 0 }); // deleted: closed
    expect(versions.rows.filter((r) => r.n !== 1).length).toBe(3);

    // As of yesterday (end of day, UTC): round 1, from history.
    yesterday = new Date(nowMs - DAY).toISOString().slice(0, 10);
    const asOfDate = new Date(`${yesterday}T00:00:00Z`);
    asOfDate.setUTCDate(asOfDate.getUTCDate() + 1);
    const past = (await runReport(env.db, 'inventory', { sources: [], asOf: asOfDate })).rows;
    expect(orgCounts(past)).toEqual(countByOrg(round1.devices));
    expect(byKey(await compliance(asOfDate))).toEqual(expectedCompliance(round1.ax));

    // compliance_daily: round 1 for two days ago and yesterday, round 2 today.
    const daily = await sql<{ day: string; organization_id: string; devices: number; compliant_devices: number; missing_critical_patches: number }>`
      select to_char(day, 'YYYY-MM-DD') as day, organization_id, devices, compliant_devices, missing_critical_patches
      from reporting.compliance_daily where source_id = 'ax' order by day, organization_id`.execute(env.db);
    const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const rowsOf = (day: string) => daily.rows.filter((r) => r.day === day).map(({ day: _d, ...rest }) => rest);
    expect(rowsOf(dayOf(nowMs - 2 * DAY))).toEqual(complianceDaily(round1.ax));
    expect(rowsOf(dayOf(nowMs - DAY))).toEqual(complianceDaily(round1.ax));
    expect(rowsOf(dayOf(nowMs))).toEqual(complianceDaily(ax.data));
    expect(daily.rows.some((r) => r.day < dayOf(nowMs - 2 * DAY))).toBe(false); // history began two days ago
  });

  it('fleetsync report: formats, durations and refusals', async () => {
    const csv = await cli(['report', 'compliance', '--source', 'ax', '--format', 'csv', '--as-of', yesterday]);
    expect(csv.code, csv.stderr).toBe(0);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('source_id,organization_id,organization_name,category_id,category_name,severity,devices_missing_patches,missing_packages,missing_packages_with_cves');
    expect(lines.length - 1).toBe(expectedCompliance(round1.ax).length);
    const json = await cli(['report', 'inventory', '--source', 'ax', '--format', 'json']);
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as unknown[]).length).toBe(ax.data.servers.length);
    const table = await cli(['report', 'health']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain('order must be ASC or DESC');
    // Durations: seconds as numbers in JSON and CSV, `runs`' format in the table; never Postgres' quoted interval text.
    const healthJson = await cli(['report', 'health', '--format', 'json']);
    expect(healthJson.code, healthJson.stderr).toBe(0);
    const durations = (JSON.parse(healthJson.stdout) as Array<{ last_run_duration: unknown }>).map((r) => r.last_run_duration);
    expect(durations.some((d) => typeof d === 'number' && d > 0)).toBe(true);
    expect(durations.every((d) => d === null || typeof d === 'number')).toBe(true);
    const healthCsv = await cli(['report', 'health', '--format', 'csv']);
    expect(healthCsv.code, healthCsv.stderr).toBe(0);
    for (const out of [healthCsv.stdout, table.stdout]) expect(out).not.toMatch(/\d seconds|"{3}/);
    expect(table.stdout).toMatch(/ \d+ms | \d+s /);
    const refused = await cli(['report', 'time', '--as-of', yesterday]);
    expect([refused.code, refused.stderr.trim()]).toEqual([2, 'fleetsync: report time has no history: --as-of works with inventory, compliance, stale']);
    const bad = await cli(['report', 'inventory', '--as-of', '2026-02-30']);
    expect([bad.code, bad.stderr.trim()]).toEqual([2, 'fleetsync: --as-of 2026-02-30: no such date']);
  });

  it('a held sweep applied by hand deletes its rows: their versions close, none opens', async () => {
    const { heldDevices } = round2;
    const [applied] = await applyHeldSweeps(env.db, 'pt', 'devices');
    expect(applied!.deleted).toBe(heldDevices.length);
    const held = await sql<{ open: number; closed: number }>`
      select count(*) filter (where valid_to is null)::int as open, count(*) filter (where valid_to is not null)::int as closed
      from devices_history where source_id = 'pt' and external_id = any(${heldDevices.map((d) => d.id)}::text[])`.execute(env.db);
    expect(held.rows[0]).toEqual({ open: 0, closed: heldDevices.length });
    expect(orgCounts(await inventory(['pt']))).toEqual(countByOrg(expectedNow().filter((d) => d.source === 'pt')));
  });
});
