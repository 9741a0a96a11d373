import { describe, expect, it } from 'vitest';
import { untilPostgres } from '../../src/commands/worker.js';
import { createLogger } from '../../src/logger.js';

// A worker must not end when Postgres is away while it starts (a failover, terminated
// backends): its start-up steps wait for Postgres as page jobs do.

function pgGone(): Error {
  return Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
}

function recordingLogger() {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (l: string) => lines.push(l) } });
  return { logger, lines };
}

describe('untilPostgres', () => {
  it('retries a step while Postgres is away, says so once, and returns its result', async () => {
    const { logger, lines } = recordingLogger();
    let calls = 0;
    const result = await untilPostgres(
      'registering the schedules',
      async () => {
        calls++;
        if (calls < 3) throw pgGone();
        return 42;
      },
      new AbortController().signal,
      logger,
    );
    expect(result).toBe(42);
    expect(calls).toBe(3);
    const told = lines.filter((l) => l.includes('registering the schedules waits for Postgres'));
    expect(told).toHaveLength(1);
    // Not a warning: the pool's outage line is the one warning a lost Postgres gets.
    expect((JSON.parse(told[0]!) as { level: number }).level).toBeLessThan(40);
  });

  it('ends at once on an error that is not Postgres being away, or once the worker is stopping', async () => {
    const { logger } = recordingLogger();
    await expect(untilPostgres('x', async () => Promise.reject(new Error('relation "sync_schedules" does not exist')), new AbortController().signal, logger)).rejects.toThrow('does not exist');
    const stop = new AbortController();
    stop.abort();
    await expect(untilPostgres('x', async () => Promise.reject(pgGone()), stop.signal, logger)).rejects.toThrow('administrator command');
  });
});
