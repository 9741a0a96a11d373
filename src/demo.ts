import { sql } from 'kysely';
import { openApp } from './app.js';
import { parseConfig } from './config.js';
import { readEnv, type FleetsyncEnv } from './env.js';
import type { Logger } from './logger.js';
import { AutomoxSimulator, generateAutomoxData } from './simulators/automox.js';
import { FamocoInsightsSimulator, FamocoSimulator, generateFamocoData } from './simulators/famoco.js';
import type { HttpSimulator } from './simulators/http-sim.js';
import { IzumaSimulator, generateIzumaData } from './simulators/izuma.js';
import { PartnerSimulator, generatePartnerData, partnerRestConfig } from './simulators/partner.js';
import { TogglSimulator, generateTogglData } from './simulators/toggl.js';
import { RunProgress } from './progress.js';
import { formatRunSummary, summarizeRun, table } from './status.js';
import type { Terminal } from './terminal.js';
import { createDb, ensureDatabase, migrateToLatest } from './warehouse/db.js';

/** Options of runDemo(). */
export interface DemoOptions {
  logger: Logger;
  devicesPerOrg?: number;
  out?: (line: string) => void;
  /** Where the local services are (default: readEnv()). */
  env?: Pick<FleetsyncEnv, 'databaseUrl' | 'redisUrl' | 'queuePrefix'>;
  /** Where to draw progress bars while the runs sync (null: none). */
  terminal?: Terminal | null;
}

/**
 * The newcomer's tour: starts the vendor simulators on loopback, migrates the local database,
 * syncs every simulated vendor into it through the real engine, and prints what landed.
 * Returns true when every run succeeded. Leaves the rows in place for the reader to query.
 */
export async function runDemo(opts: DemoOptions): Promise<boolean> {
  const out = opts.out ?? ((l: string) => console.log(l));
  const env = opts.env ?? readEnv();
  const { databaseUrl } = env;
  await ensureDatabase(databaseUrl);
  const mdb = createDb(databaseUrl, { max: 1 });
  try {
    await migrateToLatest(mdb);
  } finally {
    await mdb.destroy();
  }

  const perOrg = opts.devicesPerOrg ?? 120;
  // Demo credentials: fixed, loopback-only, and passed through ${VAR} like real ones.
  const secrets = {
    DEMO_AUTOMOX_KEY: 'demo-automox-key',
    DEMO_FAMOCO_TOKEN: 'demo-famoco-token',
    DEMO_IZUMA_KEY: 'ak_demo0123456789',
    DEMO_TOGGL_TOKEN: 'demo-toggl-token',
    DEMO_PARTNER_ID: 'demo-partner',
    DEMO_PARTNER_SECRET: 'demo-partner-secret',
  };
  // Three Automox orgs; the middle one holds exactly two full pages, the page-boundary case.
  const automox = new AutomoxSimulator({ apiKey: secrets.DEMO_AUTOMOX_KEY, data: generateAutomoxData({ seed: 7, orgs: 3, devicesPerOrg: [perOrg, 500 * 2, 17], packagesPerDevice: 3 }) });
  const famocoData = generateFamocoData({ seed: 7, orgs: 2, devicesPerOrg: [perOrg, 40] });
  const famoco = new FamocoSimulator({ token: secrets.DEMO_FAMOCO_TOKEN, data: famocoData });
  const insights = new FamocoInsightsSimulator({ token: secrets.DEMO_FAMOCO_TOKEN, data: famocoData });
  const izuma = new IzumaSimulator({ apiKey: secrets.DEMO_IZUMA_KEY, data: generateIzumaData({ seed: 7, devices: perOrg * 2, groups: 4, firmwareImages: 3 }) });
  const toggl = new TogglSimulator({ apiToken: secrets.DEMO_TOGGL_TOKEN, data: generateTogglData({ seed: 7, workspaces: 2, projectsPerWorkspace: [12, 5] }) });
  const partner = new PartnerSimulator({
    clientId: secrets.DEMO_PARTNER_ID,
    clientSecret: secrets.DEMO_PARTNER_SECRET,
    data: generatePartnerData({ seed: 7, sitesPerOu: [[30, 12], [8]], usersPerOu: 10 }),
  });
  const sims: HttpSimulator[] = [automox, famoco, insights, izuma, toggl, partner];
  const [automoxUrl, famocoUrl, insightsUrl, izumaUrl, togglUrl, partnerUrl] = await Promise.all(sims.map((x) => x.start()));
  out(
    `simulators on loopback: Automox ${automoxUrl}/api, Famoco MDM ${famocoUrl}, Famoco Insights ${insightsUrl}, Izuma ${izumaUrl}, Toggl ${togglUrl}/api/v9, partner API ${partnerUrl}/v1`,
  );

  const config = parseConfig(
    {
      sources: [
        { id: 'automox-demo', vendor: 'automox', baseUrl: `${automoxUrl}/api`, credentials: { apiKey: '${DEMO_AUTOMOX_KEY}' } },
        { id: 'famoco-demo', vendor: 'famoco', baseUrl: famocoUrl, credentials: { token: '${DEMO_FAMOCO_TOKEN}' } },
        {
          id: 'insights-demo',
          vendor: 'famoco-insights',
          baseUrl: insightsUrl,
          credentials: { token: '${DEMO_FAMOCO_TOKEN}' },
          options: { endpoints: { devices: '/api/organizations/{guid}/devices/' } },
        },
        { id: 'izuma-demo', vendor: 'izuma', baseUrl: izumaUrl, credentials: { apiKey: '${DEMO_IZUMA_KEY}' } },
        // Toggl's lane is the documented ~1 request/s: this source takes a few seconds on purpose.
        { id: 'toggl-demo', vendor: 'toggl', baseUrl: `${togglUrl}/api/v9`, credentials: { apiToken: '${DEMO_TOGGL_TOKEN}' } },
        // A source defined in configuration only (docs/rest-sources.md): two OUs, 200 burst + 100/min.
        {
          id: 'partner-demo',
          vendor: 'rest',
          baseUrl: `${partnerUrl}/v1`,
          credentials: { clientId: '${DEMO_PARTNER_ID}', clientSecret: '${DEMO_PARTNER_SECRET}' },
          rest: partnerRestConfig(),
        },
      ],
    },
    { ...process.env, ...secrets },
  );
  const app = await openApp({ config, env: { ...process.env, ...secrets }, logger: opts.logger, databaseUrl, redisUrl: env.redisUrl, prefix: `${env.queuePrefix}-demo` });
  let ok = true;
  try {
    app.engine.startWorkers();
    const started = Date.now();
    // Sources sync side by side, each in its own lanes.
    const runs = await Promise.all(app.sources.ids().map(async (id) => (await app.engine.startRun(id, { trigger: 'demo' })).runId));
    out(`runs ${runs.join(', ')} started; syncing...`);
    const progress = new RunProgress(app.db, runs, { terminal: opts.terminal ?? null, logger: opts.logger });
    let last = 0;
    const ended = [];
    for (const runId of runs) {
      ended.push(
        await app.engine.waitForRun(runId, {
          pollMs: 250,
          onPoll: async () => {
            if (!opts.terminal || Date.now() - last < 500) return;
            last = Date.now();
            await progress.update();
          },
        }),
      );
    }
    // The summaries replace the bars: they say the same, finished.
    opts.terminal?.endLive({ keep: false });
    for (const run of ended) {
      out(formatRunSummary(await summarizeRun(app.db, run.id)));
      if (run.status !== 'succeeded') ok = false;
    }
    out(`\nsynced in ${((Date.now() - started) / 1000).toFixed(1)} s, ${sims.reduce((n, x) => n + x.requests.length, 0)} vendor requests`);
    const counts = await sql<{ t: string; live: number; deleted: number }>`
      select 'organizations' as t, count(*) filter (where deleted_at is null)::int as live, count(*) filter (where deleted_at is not null)::int as deleted from organizations
      union all select 'device_groups', count(*) filter (where deleted_at is null)::int, count(*) filter (where deleted_at is not null)::int from device_groups
      union all select 'devices', count(*) filter (where deleted_at is null)::int, count(*) filter (where deleted_at is not null)::int from devices
      union all select 'packages', count(*) filter (where deleted_at is null)::int, count(*) filter (where deleted_at is not null)::int from packages
      union all select 'patch_categories', count(*) filter (where deleted_at is null)::int, count(*) filter (where deleted_at is not null)::int from patch_categories
      union all select 'firmware_images', count(*) filter (where deleted_at is null)::int, count(*) filter (where deleted_at is not null)::int from firmware_images
      union all select 'projects', count(*) filter (where deleted_at is null)::int, count(*) filter (where deleted_at is not null)::int from projects
      union all select 'clients', count(*) filter (where deleted_at is null)::int, count(*) filter (where deleted_at is not null)::int from clients
      union all select 'users', count(*) filter (where deleted_at is null)::int, count(*) filter (where deleted_at is not null)::int from users`.execute(app.db);
    out(`\nwarehouse (${new URL(databaseUrl).pathname.slice(1)}):`);
    out(table([['table', 'rows', 'deleted'], ...counts.rows.map((r) => [r.t, String(r.live), String(r.deleted)])]).join('\n'));
    const sample = (
      await Promise.all(
        app.sources.ids().map((id) =>
          app.db
            .selectFrom('devices')
            .select(['source_id', 'external_id', 'name', 'os_name', 'os_version', 'agent_version', 'vendor_last_seen_at'])
            .where('source_id', '=', id)
            .orderBy('external_id')
            .limit(2)
            .execute(),
        ),
      )
    ).flat();
    out('\nsample devices:');
    out(
      table([
        ['source', 'id', 'name', 'os', 'version', 'agent', 'last seen'],
        ...sample.map((d) => [String(d.source_id), String(d.external_id), String(d.name), String(d.os_name), String(d.os_version), String(d.agent_version), d.vendor_last_seen_at instanceof Date ? d.vendor_last_seen_at.toISOString() : String(d.vendor_last_seen_at)]),
      ]).join('\n'),
    );
    out('\nTry: psql ' + databaseUrl + " -c 'select name, os_name, raw->>'\"'\"'agent_version'\"'\"' from devices limit 5'");
  } finally {
    await app.close();
    await Promise.all(sims.map((x) => x.stop()));
  }
  return ok;
}
