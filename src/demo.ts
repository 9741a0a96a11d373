import { sql } from 'kysely';
import { openApp, type App } from './app.js';
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

// Demo credentials: fixed, loopback-only, and passed through ${VAR} like real ones.
const SECRETS = {
  DEMO_AUTOMOX_KEY: 'demo-automox-key',
  DEMO_FAMOCO_TOKEN: 'demo-famoco-token',
  DEMO_IZUMA_KEY: 'ak_demo0123456789',
  DEMO_TOGGL_TOKEN: 'demo-toggl-token',
  DEMO_PARTNER_ID: 'demo-partner',
  DEMO_PARTNER_SECRET: 'demo-partner-secret',
};

/** The tables the demo counts at the end. */
const DEMO_TABLES = ['organizations', 'device_groups', 'devices', 'packages', 'patch_categories', 'firmware_images', 'projects', 'clients', 'users', 'time_entries'];

/**
 * The newcomer's tour: starts the vendor simulators on loopback, migrates the local database,
 * syncs every simulated vendor into it through the real engine, and prints what landed.
 * Returns true when every run succeeded. Leaves the rows in place for the reader to query.
 */
export async function runDemo(opts: DemoOptions): Promise<boolean> {
  const out = opts.out ?? ((l: string) => console.log(l));
  const env = opts.env ?? readEnv();
  const { databaseUrl } = env;
  await migrateDemoDatabase(databaseUrl);
  const { sims, urls } = await startSimulators(opts.devicesPerOrg ?? 120);
  out(
    `simulators on loopback: Automox ${urls.automox}/api, Famoco MDM ${urls.famoco}, Famoco Insights ${urls.insights}, Izuma ${urls.izuma}, Toggl ${urls.toggl}/api/v9, partner API ${urls.partner}/v1`,
  );
  const config = parseConfig(demoConfig(urls), { ...process.env, ...SECRETS });
  const app = await openApp({ config, env: { ...process.env, ...SECRETS }, logger: opts.logger, databaseUrl, redisUrl: env.redisUrl, prefix: `${env.queuePrefix}-demo` });
  try {
    const started = Date.now();
    const ok = await syncEverySource(app, opts, out);
    out(`\nsynced in ${((Date.now() - started) / 1000).toFixed(1)} s, ${sims.reduce((n, x) => n + x.requests.length, 0)} vendor requests`);
    await printWarehouse(app, databaseUrl, out);
    return ok;
  } finally {
    await app.close();
    await Promise.all(sims.map((x) => x.stop()));
  }
}

async function migrateDemoDatabase(databaseUrl: string): Promise<void> {
  await ensureDatabase(databaseUrl);
  const mdb = createDb(databaseUrl, { max: 1 });
  try {
    await migrateToLatest(mdb);
  } finally {
    await mdb.destroy();
  }
}

interface DemoUrls {
  automox: string;
  famoco: string;
  insights: string;
  izuma: string;
  toggl: string;
  partner: string;
}

/** Every vendor simulator, started on loopback. */
async function startSimulators(perOrg: number): Promise<{ sims: HttpSimulator[]; urls: DemoUrls }> {
  // Three Automox orgs; the middle one holds exactly two full pages, the page-boundary case.
  const automox = new AutomoxSimulator({ apiKey: SECRETS.DEMO_AUTOMOX_KEY, data: generateAutomoxData({ seed: 7, orgs: 3, devicesPerOrg: [perOrg, 500 * 2, 17], packagesPerDevice: 3 }) });
  const famocoData = generateFamocoData({ seed: 7, orgs: 2, devicesPerOrg: [perOrg, 40] });
  const famoco = new FamocoSimulator({ token: SECRETS.DEMO_FAMOCO_TOKEN, data: famocoData });
  const insights = new FamocoInsightsSimulator({ token: SECRETS.DEMO_FAMOCO_TOKEN, data: famocoData });
  const izuma = new IzumaSimulator({ apiKey: SECRETS.DEMO_IZUMA_KEY, data: generateIzumaData({ seed: 7, devices: perOrg * 2, groups: 4, firmwareImages: 3 }) });
  // A few hundred time entries over the last four months, so `fleetsync report time` has weeks to show.
  const togglData = generateTogglData({ seed: 7, workspaces: 2, projectsPerWorkspace: [12, 5], timeEntriesPerWorkspace: [240, 120], timeEntryDays: 120 });
  const toggl = new TogglSimulator({ apiToken: SECRETS.DEMO_TOGGL_TOKEN, data: togglData });
  const partner = new PartnerSimulator({
    clientId: SECRETS.DEMO_PARTNER_ID,
    clientSecret: SECRETS.DEMO_PARTNER_SECRET,
    data: generatePartnerData({ seed: 7, sitesPerOu: [[30, 12], [8]], usersPerOu: 10 }),
  });
  const sims: HttpSimulator[] = [automox, famoco, insights, izuma, toggl, partner];
  const [a, f, i, z, t, p] = await Promise.all(sims.map((x) => x.start()));
  return { sims, urls: { automox: a!, famoco: f!, insights: i!, izuma: z!, toggl: t!, partner: p! } };
}

/** One source per simulator; credentials as `${VAR}` references to SECRETS. */
function demoConfig(urls: DemoUrls): unknown {
  return {
    sources: [
      { id: 'automox-demo', vendor: 'automox', baseUrl: `${urls.automox}/api`, credentials: { apiKey: '${DEMO_AUTOMOX_KEY}' } },
      { id: 'famoco-demo', vendor: 'famoco', baseUrl: urls.famoco, credentials: { token: '${DEMO_FAMOCO_TOKEN}' } },
      {
        id: 'insights-demo',
        vendor: 'famoco-insights',
        baseUrl: urls.insights,
        credentials: { token: '${DEMO_FAMOCO_TOKEN}' },
        options: { endpoints: { devices: '/api/organizations/{guid}/devices/' } },
      },
      { id: 'izuma-demo', vendor: 'izuma', baseUrl: urls.izuma, credentials: { apiKey: '${DEMO_IZUMA_KEY}' } },
      // Toggl's lane is the documented ~1 request/s: this source takes a few seconds on purpose.
      { id: 'toggl-demo', vendor: 'toggl', baseUrl: `${urls.toggl}/api/v9`, credentials: { apiToken: '${DEMO_TOGGL_TOKEN}' } },
      // A source defined in configuration only (docs/rest-sources.md): two OUs, 200 burst + 100/min.
      {
        id: 'partner-demo',
        vendor: 'rest',
        baseUrl: `${urls.partner}/v1`,
        credentials: { clientId: '${DEMO_PARTNER_ID}', clientSecret: '${DEMO_PARTNER_SECRET}' },
        rest: partnerRestConfig(),
      },
    ],
  };
}

/** Starts the workers and one run per source (side by side, each in its own lanes), draws progress, prints each run's summary; true when all succeeded. */
async function syncEverySource(app: App, opts: DemoOptions, out: (line: string) => void): Promise<boolean> {
  app.engine.startWorkers();
  const runs = await Promise.all(app.sources.ids().map(async (id) => (await app.engine.startRun(id, { trigger: 'demo' })).runId));
  out(`runs ${runs.join(', ')} started; syncing...`);
  const progress = new RunProgress(app.db, runs, { terminal: opts.terminal ?? null, logger: opts.logger });
  let last = 0;
  const onPoll = async () => {
    if (!opts.terminal || Date.now() - last < 500) return;
    last = Date.now();
    await progress.update();
  };
  const ended = [];
  for (const runId of runs) ended.push(await app.engine.waitForRun(runId, { pollMs: 250, onPoll }));
  // The summaries replace the bars: they say the same, finished.
  opts.terminal?.endLive({ keep: false });
  for (const run of ended) out(formatRunSummary(await summarizeRun(app.db, run.id)));
  return ended.every((run) => run.status === 'succeeded');
}

/** Live and deleted rows per table, two devices per source, and a psql line to try. */
async function printWarehouse(app: App, databaseUrl: string, out: (line: string) => void): Promise<void> {
  const perTable = DEMO_TABLES.map(
    (t) => sql<{ t: string; live: number; deleted: number }>`select ${t}::text as t, count(*) filter (where deleted_at is null)::int as live, count(*) filter (where deleted_at is not null)::int as deleted from ${sql.table(t)}`,
  );
  const counts = await sql<{ t: string; live: number; deleted: number }>`${sql.join(perTable, sql` union all `)}`.execute(app.db);
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
  out(`Time by week, project and user: psql ${databaseUrl} -c "select iso_week, project_name, user_name, hours from reporting.time_tracking where source_id = 'toggl-demo'"`);
  // The report reads only the database but, like every command, wants a config file: name one that is always there.
  out('(or `fleetsync report time --source toggl-demo --config fleetsync.example.yaml`, in a checkout `npm run -s fleetsync -- report ...`: the report reads only the database, any config will do)');
  out('\nTry: psql ' + databaseUrl + " -c 'select name, os_name, raw->>'\"'\"'agent_version'\"'\"' from devices limit 5'");
}
