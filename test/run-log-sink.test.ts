import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunLogSink } from '../src/run-log-sink.js';
import { createDb } from '../src/warehouse/db.js';
import { insertRun } from '../src/warehouse/walks.js';
import { createTestEnv, type TestEnv } from './helpers.js';
import { freePort } from './helpers/ports.js';

function line(runId: string, msg: string): string {
  return JSON.stringify({ level: 30, time: Date.now(), runId, msg });
}

describe('the run log sink while Postgres is away', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(async () => {
    await env.cleanup();
  });

  it('keeps the lines without a warning of its own, and stores them once Postgres answers again', async () => {
    const runId = await env.db.transaction().execute((trx) => insertRun(trx, { sourceId: 'sink', trigger: 'manual', mode: 'full', resources: ['devices'] }));
    const told: string[] = [];
    const sink = new RunLogSink((m) => told.push(m));
    // Nothing listens on this port: every write fails with a refused connection, like a Postgres that is down.
    const away = createDb(`postgres://postgres@127.0.0.1:${await freePort()}/nowhere`, { max: 1 });
    try {
      sink.take(line(runId, 'first'));
      sink.take(line(runId, 'second'));
      sink.attach(away);
      await sink.flush();
      await sink.flush();
      expect(told).toEqual([]);
      sink.take(line(runId, 'third'));
      sink.attach(env.db);
      await sink.detach();
    } finally {
      await away.destroy();
    }
    const rows = await env.db.selectFrom('run_logs').select(['msg']).where('run_id', '=', runId).orderBy('at').orderBy(sql`ctid`).execute();
    expect(rows.map((r) => r.msg)).toEqual(['first', 'second', 'third']);
    expect(told).toEqual([]);
  });

  it('drops the lines Postgres refuses and says so once', async () => {
    const told: string[] = [];
    const sink = new RunLogSink((m) => told.push(m));
    await sql`DROP TABLE run_logs`.execute(env.db);
    sink.take(line('1', 'lost'));
    sink.attach(env.db);
    await sink.flush();
    sink.take(line('1', 'lost too'));
    await sink.detach();
    expect(told).toHaveLength(1);
    expect(told[0]).toMatch(/^run log lines not stored: .*run_logs/);
  });
});
