import { describe, expect, it } from 'vitest';
import { decideFailure, type FailureContext } from '../../src/queue/failure-policy.js';
import { classifyPostgresError, postgresErrorMessage, recordOf } from '../../src/warehouse/postgres-errors.js';

/** An error shaped like node-postgres' DatabaseError. */
function pgError(code: string, message: string, extra: Partial<Record<'detail' | 'table' | 'column' | 'constraint', string>> = {}): Error {
  return Object.assign(new Error(message), { code, severity: 'ERROR', ...extra });
}

const ctx: FailureContext = { where: 'ax/devices org 7 page 2', sourceId: 'ax', resource: 'devices', attempt: 1, maxAttempts: 8, rateLimitBackoffMs: 60_000, firstRequest: false, backoffMs: 5_000, connectFailureTimeoutMs: 120_000 };

describe('recordOf', () => {
  it('names the external id of a key or a failing row of a data table', () => {
    expect(recordOf('Key (source_id, external_id)=(ax, 42) already exists.')).toBe('42');
    expect(recordOf('Key (source_id, organization_external_id)=(ax, 9) is not present in table "organizations".')).toBeNull();
    expect(recordOf('Failing row contains (ax, 1234, 101, null, refused-device, ...).')).toBe('1234');
    expect(recordOf('Failing row contains (ax, 77).')).toBe('77');
    expect(recordOf(null)).toBeNull();
    expect(recordOf('something else')).toBeNull();
  });
});

describe('classifyPostgresError', () => {
  it('classes 23 as integrity and 22 as data, naming the record when the detail does', () => {
    const check = pgError('23514', 'new row for relation "devices" violates check constraint "no_bad_name"', { table: 'devices', constraint: 'no_bad_name', detail: 'Failing row contains (ax, 1234, 101, x).' });
    expect(classifyPostgresError(check)).toEqual({ kind: 'integrity', sqlstate: '23514', record: '1234', text: 'new row for relation "devices" violates check constraint "no_bad_name" (table devices) [SQLSTATE 23514]' });
    expect(classifyPostgresError(pgError('22001', 'value too long for type character varying(10)'))).toEqual({ kind: 'data', sqlstate: '22001', record: null, text: 'value too long for type character varying(10) [SQLSTATE 22001]' });
    expect(classifyPostgresError(pgError('23502', 'null value in column "scope" violates not-null constraint', { table: 'devices', column: 'scope', detail: 'Failing row contains (ax, 5, null).' }))!.text).toBe('null value in column "scope" violates not-null constraint (table devices, column scope) [SQLSTATE 23502]');
  });

  it('classes 53 as resources and says what to free', () => {
    const full = classifyPostgresError(pgError('53100', 'could not extend file "base/16384/16385": No space left on device'));
    expect(full).toEqual({ kind: 'resources', sqlstate: '53100', free: 'free disk space on the Postgres server (its data directory and WAL volume); the page is retried until it fits', text: 'could not extend file "base/16384/16385": No space left on device [SQLSTATE 53100]' });
    expect(classifyPostgresError(pgError('53200', 'out of memory'))!.kind).toBe('resources');
    expect((classifyPostgresError(pgError('53999', 'x')) as { free: string }).free).toBe('free resources on the Postgres server; the page is retried');
  });

  it('leaves connection classes, serialization failures, Node codes and plain errors alone', () => {
    for (const code of ['08006', '57P01', '40001', '40P01', '42P01']) expect(classifyPostgresError(pgError(code, 'x')), code).toBeNull();
    expect(classifyPostgresError(Object.assign(new Error('x'), { code: 'EPIPE' }))).toBeNull();
    // A 5-character code without a server severity is not Postgres'.
    expect(classifyPostgresError(Object.assign(new Error('x'), { code: '23505' }))).toBeNull();
    expect(classifyPostgresError('23505')).toBeNull();
  });
});

describe('decideFailure for Postgres errors', () => {
  it('fails the walk at once for integrity and data errors, naming the record', () => {
    const check = pgError('23514', 'new row for relation "devices" violates check constraint "c"', { table: 'devices', detail: 'Failing row contains (ax, 1234, 1).' });
    expect(decideFailure(check, ctx)).toEqual({
      action: 'fail-walk',
      failure: { message: 'ax/devices org 7 page 2: Postgres refused record 1234: new row for relation "devices" violates check constraint "c" (table devices) [SQLSTATE 23514]; an integrity error is not retried', status: null, requestId: null },
    });
    expect(decideFailure(pgError('22P02', 'invalid input syntax for type integer: "x"'), ctx)).toEqual({
      action: 'fail-walk',
      failure: { message: 'ax/devices org 7 page 2: Postgres refused a record of this page: invalid input syntax for type integer: "x" [SQLSTATE 22P02]; a data error is not retried', status: null, requestId: null },
    });
  });

  it('waits out missing resources without spending attempts, on every attempt, saying what to free', () => {
    const full = pgError('53100', 'could not extend file: No space left on device');
    for (const attempt of [1, 8]) {
      expect(decideFailure(full, { ...ctx, attempt })).toEqual({ action: 'wait', waitMs: 5_000, message: `ax/devices org 7 page 2: ${postgresErrorMessage(classifyPostgresError(full)!)}` });
    }
    expect((decideFailure(full, { ...ctx, backoffMs: 50 }) as { waitMs: number }).waitMs).toBe(1_000);
  });

  it('keeps retrying a lost connection as before', () => {
    expect(decideFailure(pgError('57P01', 'terminating connection due to administrator command'), ctx).action).toBe('retry');
  });
});
