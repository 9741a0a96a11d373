import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { generateIzumaData, IzumaSimulator } from '../src/simulators/izuma.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers.js';
import { cliEnv, runCli, spawnFleetsync } from './helpers/cli.js';
import { FAST, izumaSource, tempDir, testConfig, type TempDir } from './helpers/config.js';
import { freePort } from './helpers/ports.js';
import { syncOnce } from './helpers/sync.js';
import { deliver } from './helpers/webhooks.js';
import { exited, killAll } from './helpers/worker.js';

// Izuma's notification channel end to end, through `fleetsync webhooks serve` in its own process:
// `webhooks register` sets the API key's callback (Izuma tests it with an empty PUT), a
// registration brings a new device in, a de-registration or an expiry updates the device and
// never deletes it, a batch without the secret header is refused, and the callback is removed.

const SOURCE = 'izuma-hooks';
const KEY = 'izuma-hooks-api-key-5d3a19';
const SECRET = 'izuma-hooks-secret-c47e0b2a91';
const secrets = { TEST_IZUMA_KEY: KEY, TEST_IZUMA_HOOK_SECRET: SECRET };

let env: TestEnv;
let dir: TempDir;
let configFile: string;
let sim: IzumaSimulator;
let app: App;
let port: number;
let serve: ChildProcess;
let serveLog = '';
let cliOutput = '';
const children: ChildProcess[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  dir = await tempDir('fleetsync-izuma-hooks-');
  sim = new IzumaSimulator({ apiKey: KEY, data: generateIzumaData({ seed: 29, devices: 12 }) });
  sim.channel.schedule = { firstDelayMs: 100, maxDelayMs: 500, giveUpAfterMs: 120_000 };
  const origin = await sim.start();
  port = await freePort();
  const source = izumaSource(SOURCE, origin, 'TEST_IZUMA_KEY', { credentials: { apiKey: '${TEST_IZUMA_KEY}', webhookSecret: '${TEST_IZUMA_HOOK_SECRET}' }, rateLimits: { api: FAST } });
  const config = testConfig([source], { webhooks: { publicUrl: `http://127.0.0.1:${port}`, listen: { port } } });
  configFile = await dir.writeYaml('fleetsync.yaml', config);
  app = await env.open(config, { ...process.env, ...secrets });
  app.engine.startWorkers();
  app.events.startWorkers();
  const { run } = await syncOnce(app, SOURCE);
  expect(run.status).toBe('succeeded');
  serve = spawnFleetsync(['--config', configFile, 'webhooks', 'serve'], cliEnv(env, { ...secrets, FLEETSYNC_LOG_LEVEL: 'debug', FLEETSYNC_LOG_FORMAT: 'json' }), ['ignore', 'ignore', 'pipe']);
  children.push(serve);
  serve.stderr?.on('data', (d: Buffer) => (serveLog += d.toString()));
  await waitFor(() => serveLog.includes('webhook receiver listening'), 'webhooks serve listening', 60_000);
});

afterAll(async () => {
  if (serve && serve.exitCode === null) {
    serve.kill('SIGTERM');
    await exited(serve);
  }
  killAll(children);
  await sim?.stop();
  await dir?.remove();
  await env?.cleanup();
});

const deviceRow = (id: string) => env.db.selectFrom('devices').selectAll().where('source_id', '=', SOURCE).where('external_id', '=', id).executeTakeFirst();
const hookUrl = () => `http://127.0.0.1:${port}/webhooks/${SOURCE}`;

async function cli(args: string[]) {
  const r = await runCli(env, configFile, args, secrets);
  cliOutput += r.stdout + r.stderr;
  return r;
}

describe('Izuma notification channel', () => {
  it('register sets the callback with the secret header, after Izuma tested it; list shows it without the secret', async () => {
    const r = await cli(['webhooks', 'register', '--source', SOURCE]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${SOURCE}: callback set to ${hookUrl()} (header x-fleetsync-secret)`);
    expect(sim.channel.callback).toEqual({ url: hookUrl(), headers: { 'x-fleetsync-secret': SECRET } });
    // Izuma's test of the URL: an empty PUT, answered 204 by the receiver.
    expect(sim.channel.sent).toEqual([]);
    const list = await cli(['webhooks', 'list', '--source', SOURCE]);
    expect(list.stdout.trim()).toBe(`callback: ${hookUrl()} (this receiver); headers: x-fleetsync-secret`);
  });

  it('register refuses to replace a callback that goes elsewhere, unless --force', async () => {
    sim.channel.callback = { url: 'https://other-app.example.com/hook', headers: {} };
    const r = await cli(['webhooks', 'register', '--source', SOURCE]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${SOURCE}: the API key has a callback to https://other-app.example.com/hook already, and Izuma keeps one per key: --force replaces it`);
    expect(sim.channel.callback.url).toBe('https://other-app.example.com/hook');
    const forced = await cli(['webhooks', 'register', '--source', SOURCE, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(sim.channel.callback?.url).toBe(hookUrl());
  });

  it('a registration brings a new device in; a de-registration and an expiry update a device and never delete it', async () => {
    const added = sim.addDevice({ name: 'registered-now', state: 'bootstrapped' });
    const [gone, expired] = sim.data.devices.filter((d) => d.state === 'registered');
    sim.registration('registrations', added.id);
    sim.registration('de-registrations', gone!.id);
    sim.registration('registrations-expired', expired!.id);
    const a = await waitFor(() => deviceRow(added.id), 'the registered device');
    expect([a.name, a.status, a.deleted_at]).toEqual(['registered-now', 'registered', null]);
    for (const d of [gone!, expired!]) {
      const row = await waitFor(async () => (await deviceRow(d.id))?.status === 'deregistered' && (await deviceRow(d.id)), `device ${d.id} deregistered`);
      expect([row.deleted_at, row.missing_since]).toEqual([null, null]);
    }
    // Each device was fetched by id through the lane: the batch carries no device data.
    for (const id of [added.id, gone!.id, expired!.id]) expect(sim.requests.some((r) => r.path === `/v3/devices/${id}` && r.status === 200)).toBe(true);
    expect(sim.channel.sent.every((b) => b.status === 204)).toBe(true);
  });

  it('a batch without the secret header, or with another secret, is refused (401) and nothing is fetched', async () => {
    const target = sim.data.devices.find((d) => d.state === 'registered')!;
    const body = JSON.stringify({ 'de-registrations': [target.id] });
    expect((await deliver(hookUrl(), body, {}, 'PUT')).status).toBe(401);
    expect((await deliver(hookUrl(), body, { 'x-fleetsync-secret': `${SECRET}x` }, 'PUT')).status).toBe(401);
    expect((await deliver(hookUrl(), body, { 'x-fleetsync-secret': SECRET }, 'POST')).status).toBe(405);
    // A later batch goes through; by then a refused one would have been fetched too.
    const later = sim.data.devices.filter((d) => d.state === 'registered' && d.id !== target.id)[0]!;
    sim.registration('de-registrations', later.id);
    await waitFor(async () => (await deviceRow(later.id))?.status === 'deregistered', 'a later batch');
    expect(sim.requests.some((r) => r.path === `/v3/devices/${target.id}`)).toBe(false);
  });

  it('with the receiver down, Izuma retries the batch until it answers: nothing is lost (a worker with webhooks.listen receives it)', async () => {
    serve.kill('SIGTERM');
    expect((await exited(serve)).code).toBe(0);
    const target = sim.data.devices.find((d) => d.state === 'registered')!;
    sim.registration('de-registrations', target.id);
    await waitFor(() => sim.channel.sent.filter((b) => b.status === 'network').length >= 2, 'failed batches while the receiver is down');
    // This time the receiver is the worker's own (the config sets webhooks.listen).
    serve = spawnFleetsync(['--config', configFile, 'worker', '--no-schedules'], cliEnv(env, { ...secrets, FLEETSYNC_LOG_LEVEL: 'debug', FLEETSYNC_LOG_FORMAT: 'json' }), ['ignore', 'ignore', 'pipe']);
    children.push(serve);
    serve.stderr?.on('data', (d: Buffer) => (serveLog += d.toString()));
    await waitFor(async () => (await deviceRow(target.id))?.status === 'deregistered', 'the retried batch applied', 60_000);
    expect(serveLog.match(/webhook receiver listening/g)?.length).toBe(2);
    expect(sim.channel.sent.at(-1)!.status).toBe(204);
  });

  it('remove deletes the callback; no secret is in any log line or command output', async () => {
    const r = await cli(['webhooks', 'remove', '--source', SOURCE]);
    expect(r.code, r.stderr).toBe(0);
    expect(sim.channel.callback).toBeNull();
    const text = serveLog + cliOutput;
    expect(text).toContain('webhook refused');
    expect(text).toContain('izuma webhook: 1 queued');
    for (const secret of [KEY, SECRET]) expect(text).not.toContain(secret);
  });
});
