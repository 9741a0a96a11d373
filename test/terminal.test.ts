import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutomoxSimulator, generateAutomoxData } from '../src/simulators/automox.js';
import { createTestEnv, waitFor, type TestEnv } from './helpers.js';
import { cliEnv, runCli } from './helpers/cli.js';
import { automoxSource, FAST, tempDir, testConfig, type TempDir } from './helpers/config.js';
import { syncOnce } from './helpers/sync.js';

const run = promisify(execFile);
const API_KEY = 'tty-test-key';
// Four /servers pages a second: the walk lasts long enough for the bars to be seen.
const STEADY = { windows: [{ max: 4, durationMs: 1000 }] };

/** A tmux server of this test's own (its own socket), so nothing else's sessions are touched. */
class Tmux {
  readonly socket = `fst-tty-${randomBytes(4).toString('hex')}`;
  private async tmux(...args: string[]): Promise<string> {
    return (await run('tmux', ['-L', this.socket, ...args])).stdout;
  }
  /** Starts `argv` in a 200x50 pseudo-terminal with `env`; the shell stays after it to keep the screen. */
  async start(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
    const vars = Object.entries(env).flatMap(([k, v]) => (v === undefined || k.includes('=') ? [] : ['-e', `${k}=${v}`]));
    const quoted = argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    await this.tmux('new-session', '-d', '-s', 'main', '-x', '200', '-y', '50', ...vars, `cd '${process.cwd()}' && ${quoted}; echo EXIT=$?; sleep 600`);
  }
  /** The screen as the terminal shows it (escape codes applied), with the scrollback. */
  screen(): Promise<string> {
    return this.tmux('capture-pane', '-p', '-t', 'main', '-S', '-300');
  }
  async kill(): Promise<void> {
    await this.tmux('kill-server').catch(() => undefined);
  }
}

describe('what a terminal shows', () => {
  let env: TestEnv;
  let sim: AutomoxSimulator;
  let dir: TempDir;
  let configFile: string;
  const tmux = new Tmux();

  beforeAll(async () => {
    env = await createTestEnv();
    dir = await tempDir('fleetsync-tty-');
    sim = new AutomoxSimulator({ apiKey: API_KEY, data: generateAutomoxData({ seed: 61, orgs: 2, devicesPerOrg: [40, 30], packagesPerDevice: 0 }) });
    const origin = await sim.start();
    // A first complete walk in this process: its counts are what the next runs estimate from.
    const app = await env.open(testConfig([automoxSource('automox-tty', `${origin}/api`, 'TTY_KEY', { rateLimits: { servers: FAST } })]), { ...process.env, TTY_KEY: API_KEY });
    app.engine.startWorkers();
    expect((await syncOnce(app, 'automox-tty', ['devices'])).run.status).toBe('succeeded');
    await app.close();
    configFile = await dir.writeYaml('fleetsync.yaml', testConfig([automoxSource('automox-tty', `${origin}/api`, 'TTY_KEY', { rateLimits: { servers: STEADY } })]));
  });
  afterAll(async () => {
    await tmux.kill();
    await sim?.stop();
    await env?.cleanup();
    await dir?.remove();
  });

  it('in a terminal: readable log lines above live bars with estimates and the wait, and no stale frame at the end', async () => {
    const org = String(sim.data.orgs[0]!.id);
    // The vendor asks for a 4 s pause mid-walk: the lane waits, and the terminal says so.
    sim.inject({ kind: 'status', status: 429, headers: { 'retry-after': '4' }, match: (r) => r.path === '/api/servers' && r.query.get('o') === org && r.query.get('page') === '3' });
    await tmux.start([process.execPath, '--import', 'tsx', 'src/cli.ts', '--config', configFile, 'sync', '--source', 'automox-tty', '--resource', 'devices', '--wait'], cliEnv(env, { TTY_KEY: API_KEY, FLEETSYNC_LOG_LEVEL: 'info' }));
    const seen: string[] = [];
    const final = await waitFor(
      async () => {
        const s = await tmux.screen();
        seen.push(s);
        return s.includes('EXIT=') ? s : null;
      },
      'the sync in the terminal to end',
      120_000,
      100,
    );
    const all = seen.join('\n');
    // Live bars while it ran: Automox gives no total, so the bar is the last complete walk's count.
    expect(all).toMatch(new RegExp(`devices ${org}\\s+\\[#*-*\\] \\d+/~40 rows  \\d+ pages  [\\d.]+ rows/s`));
    expect(all).toMatch(/waiting \d s for the servers lane \(4\/s\): 429 from vendor/);

    const lines = final.split('\n').map((l) => l.trimEnd());
    if (process.env.TTY_SCREEN_DIR) {
      await writeFile(join(process.env.TTY_SCREEN_DIR, 'tty-final.txt'), final);
      await writeFile(join(process.env.TTY_SCREEN_DIR, 'tty-waiting.txt'), seen.find((x) => x.includes('waiting ')) ?? '');
    }
    expect(lines).toContain('EXIT=0');
    // Readable logs, never JSON, on the terminal.
    expect(lines.some((l) => l.startsWith('{'))).toBe(false);
    expect(lines.some((l) => /^\[\d\d:\d\d:\d\d\] INFO: run started/.test(l))).toBe(true);
    const finished = lines.findIndex((l) => /^\[\d\d:\d\d:\d\d\] INFO: run finished/.test(l));
    expect(finished).toBeGreaterThanOrEqual(0);
    // The devices walks and the organizations walk they are nested under.
    const rows = sim.data.servers.length + sim.data.orgs.length;
    expect(lines[finished]).toMatch(new RegExp(`^\\[\\d\\d:\\d\\d:\\d\\d\\] INFO: run finished source=automox-tty runId=\\d+ .*records=${rows} `));
    // The last frame once, as text, below the log lines; no bar of a running walk is left behind.
    const headers = lines.filter((l) => /^run \d+ of automox-tty: /.test(l));
    expect(headers).toEqual([expect.stringMatching(new RegExp(`^run \\d+ of automox-tty: 3/3 walks done, ${rows} rows in finished walks$`))]);
    expect(lines.findIndex((l) => l === headers[0])).toBeGreaterThan(finished);
    expect(lines.some((l) => /rows\/s/.test(l))).toBe(false);
    // Then the summary on stdout.
    expect(final).toMatch(/run \d+ of automox-tty \(sync, full\): succeeded/);
  });

  it('without a terminal: stderr is JSON lines only, with progress lines that carry the estimate', async () => {
    const r = await runCli(env, configFile, ['sync', '--source', 'automox-tty', '--resource', 'devices', '--wait'], { TTY_KEY: API_KEY, FLEETSYNC_LOG_LEVEL: 'info' });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    const parsed = lines.map((l) => JSON.parse(l) as { msg: string; resource?: string; status?: string; estimate?: number; records?: number });
    expect(r.stderr).not.toContain('\x1b');
    const ended = parsed.filter((p) => p.msg.startsWith('progress ') && p.resource === 'devices' && p.status === 'succeeded');
    expect(ended.map((p) => p.estimate).sort()).toEqual([30, 40]);
    expect(parsed.filter((p) => p.msg === 'run finished').map((p) => p.records)).toEqual([sim.data.servers.length + sim.data.orgs.length]);
    // Correlation: every progress line names its source and run, every walk-complete line its run.
    const runId = (parsed.find((p) => p.msg === 'run finished') as { runId?: string }).runId;
    expect(runId).toMatch(/^\d+$/);
    const progress = parsed.filter((p) => p.msg.startsWith('progress ')) as Array<{ source?: string; runId?: string }>;
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((p) => p.source === 'automox-tty' && p.runId === runId)).toBe(true);
    const complete = parsed.filter((p) => p.msg === 'walk complete') as Array<{ source?: string; runId?: string }>;
    expect(complete.length).toBe(3);
    expect(complete.every((p) => p.source === 'automox-tty' && p.runId === runId)).toBe(true);
  });
});
