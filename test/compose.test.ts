import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { deleteRedisPrefix, dropDatabase, PG_ADMIN_URL, REDIS_URL, waitFor } from './helpers.js';
import { ComposeInterpolationError, readComposeService, type ComposeService } from './helpers/compose.js';
import { automoxSource, tempDir, testConfig, type TempDir } from './helpers/config.js';

// docker-compose.yml's worker and dashboard, run as processes the way compose would start them:
// their entrypoint and command, their environment (image ENV, .env, `environment`) and their
// healthchecks, as written. What differs from a container, and only that: `node dist/src/cli.js`
// runs the sources through tsx, the compose hosts `postgres` and `redis` are the local servers
// (an own database and queue prefix), the bind-mounted config is the host file, and the
// container ports (9464, 3300) are free ports of this machine.

const REPO = resolve(import.meta.dirname, '..');
const KEY = 'compose-test-key';
const TOKEN = 'compose-dashboard-token-0123456789';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((ok) => srv.close(() => ok()));
  return port;
}

/** Every string with the container's ports replaced by this machine's. */
function withPorts(text: string, ports: ReadonlyMap<string, string>): string {
  let out = text;
  for (const [from, to] of ports) out = out.replaceAll(from, to);
  return out;
}

/** The image's `node dist/src/cli.js` as this checkout runs it (tsx, no build). */
function hostArgv(argv: readonly string[]): string[] {
  const cli = resolve(REPO, 'src/cli.ts');
  return argv.flatMap((a) => {
    if (a === 'node') return [process.execPath];
    if (a === 'dist/src/cli.js') return ['--import', 'tsx', cli];
    return [a.replaceAll('node dist/src/cli.js', `'${process.execPath}' --import tsx '${cli}'`)];
  });
}

interface Running {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

function start(argv: readonly string[], env: NodeJS.ProcessEnv): Running {
  const child = spawn(argv[0]!, argv.slice(1), { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  return { child, output: () => out, exit };
}

/** Runs a compose healthcheck (`CMD` form) once; true when it exits 0, as Docker counts healthy. */
async function healthy(test: readonly string[], ports: ReadonlyMap<string, string>, env: NodeJS.ProcessEnv): Promise<boolean> {
  expect(test[0]).toBe('CMD');
  const run = start(hostArgv(test.slice(1).map((a) => withPorts(a, ports))), env);
  return (await run.exit) === 0;
}

describe('docker-compose.yml: the worker and the dashboard come up healthy', () => {
  let sim: AutomoxSimulator;
  let project: TempDir;
  let databaseUrl: string;
  let prefix: string;
  let ports: Map<string, string>;
  const running: Running[] = [];

  /** The process environment compose gives a service, pointed at this machine's servers. */
  const processEnv = (svc: ComposeService): NodeJS.ProcessEnv => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(svc.environment)) env[k] = withPorts(v, ports);
    // The compose hosts `postgres` and `redis` are the local servers here.
    expect(env.DATABASE_URL).toMatch(/^postgres:\/\/fleetsync:fleetsync@postgres:5432\/fleetsync$/);
    expect(env.REDIS_URL).toBe('redis://redis:6379');
    env.DATABASE_URL = databaseUrl;
    env.REDIS_URL = REDIS_URL;
    env.FLEETSYNC_QUEUE_PREFIX = prefix;
    const bind = svc.binds[env.FLEETSYNC_CONFIG!];
    expect(bind, 'the config file is bind-mounted where FLEETSYNC_CONFIG points').toBeDefined();
    env.FLEETSYNC_CONFIG = bind!;
    return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: project.path, ...env };
  };

  beforeAll(async () => {
    sim = new AutomoxSimulator({ apiKey: KEY, data: generateAutomoxData({ seed: 4, orgs: 1, devicesPerOrg: [5] }) });
    const origin = await sim.start();
    project = await tempDir('fleetsync-compose-');
    await project.writeYaml('fleetsync.yaml', testConfig([automoxSource('ax', `${origin}/api`, 'AX_KEY')]));
    const id = randomBytes(4).toString('hex');
    const url = new URL(PG_ADMIN_URL);
    url.pathname = `/fleetsync_compose_${id}`;
    databaseUrl = url.toString();
    prefix = `fscompose-${id}`;
    ports = new Map([
      ['9464', String(await freePort())],
      ['3300', String(await freePort())],
    ]);
  });

  afterAll(async () => {
    for (const r of running) if (r.child.exitCode === null) r.child.kill('SIGKILL');
    await Promise.all(running.map((r) => r.exit));
    await sim.stop();
    await dropDatabase(databaseUrl).catch(() => undefined);
    await deleteRedisPrefix(prefix);
    await project.remove();
  });

  it('without FLEETSYNC_DASHBOARD_TOKEN in .env compose refuses to start, saying what to set', async () => {
    await writeFile(resolve(project.path, '.env'), `AX_KEY=${KEY}\n`);
    expect(() => readComposeService(resolve(REPO, 'docker-compose.yml'), resolve(REPO, 'Dockerfile'), 'dashboard', project.path)).toThrow(ComposeInterpolationError);
    expect(() => readComposeService(resolve(REPO, 'docker-compose.yml'), resolve(REPO, 'Dockerfile'), 'dashboard', project.path)).toThrow(/FLEETSYNC_DASHBOARD_TOKEN.*\.env/);
  });

  it('worker (migrate, then worker) and dashboard answer their healthchecks; the dashboard wants the token, the documented sync command works', async () => {
    await writeFile(resolve(project.path, '.env'), `AX_KEY=${KEY}\nFLEETSYNC_DASHBOARD_TOKEN=${TOKEN}\n`);
    const read = (name: string) => readComposeService(resolve(REPO, 'docker-compose.yml'), resolve(REPO, 'Dockerfile'), name, project.path);
    const worker = read('worker');
    const dashboard = read('dashboard');
    expect(dashboard.environment.FLEETSYNC_DASHBOARD_TOKEN).toBe(TOKEN);

    const w = start(hostArgv(worker.argv), processEnv(worker));
    running.push(w);
    await waitFor(async () => (w.child.exitCode !== null ? Promise.reject(new Error(`worker exited ${w.child.exitCode}: ${w.output()}`)) : healthy(worker.healthcheck.test, ports, processEnv(worker))), 'the worker healthcheck', 60_000, 250);

    // depends_on: worker healthy; then the dashboard as compose starts it.
    const d = start(hostArgv(dashboard.argv.map((a) => withPorts(a, ports))), processEnv(dashboard));
    running.push(d);
    await waitFor(async () => (d.child.exitCode !== null ? Promise.reject(new Error(`dashboard exited ${d.child.exitCode}: ${d.output()}`)) : healthy(dashboard.healthcheck.test, ports, processEnv(dashboard))), 'the dashboard healthcheck', 60_000, 250);
    const base = `http://127.0.0.1:${ports.get('3300')}`;
    expect((await fetch(`${base}/`)).status).toBe(401);
    expect((await fetch(`${base}/`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);

    // The compose file's own comment: docker compose run --rm worker sync --source ID --wait.
    const runArgv = hostArgv([...worker.entrypoint, 'sync', '--source', 'ax', '--wait']);
    const sync = start(runArgv, processEnv(worker));
    expect(await sync.exit, sync.output()).toBe(0);
    expect(sync.output()).toMatch(/run \d+ of ax \(sync, full\): succeeded/);

    // docker compose stop: SIGTERM, the worker finishes what it holds and exits 0; so does the dashboard.
    w.child.kill('SIGTERM');
    d.child.kill('SIGTERM');
    expect(await w.exit, w.output()).toBe(0);
    expect(await d.exit, d.output()).toBe(0);
  });
});
