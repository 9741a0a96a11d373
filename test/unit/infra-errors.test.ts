import { describe, expect, it } from 'vitest';
import { networkErrorMessage } from '../../src/http/client.js';
import { describeInfraError, endpointOf, errorCode, InfraError, metricsListenMessage, postgresConnectionReason } from '../../src/infra-errors.js';

const where = { databaseUrl: 'postgres://fleet:s3cret@pg-host:5433/fleetsync', redisUrl: 'redis://:r3dispw@cache.internal:6390/0' };

/** An error shaped like the ones Node's net and dns modules throw. */
function netError(code: string, fields: Record<string, unknown>): Error {
  return Object.assign(new Error(`${code} something`), { code, ...fields });
}

describe('endpointOf', () => {
  it('keeps host and port only, with the default port when the URL has none', () => {
    expect(endpointOf('postgres://u:pw@db.example:6543/x', 5432)).toEqual({ host: 'db.example', port: 6543 });
    expect(endpointOf('redis://:pw@localhost', 6379)).toEqual({ host: 'localhost', port: 6379 });
    expect(endpointOf('redis://[::1]:7000', 6379)).toEqual({ host: '::1', port: 7000 });
    expect(endpointOf('not a url', 6379)).toBeNull();
  });
});

describe('errorCode', () => {
  it('reads the code of the error, of its first inner error, or of its cause', () => {
    expect(errorCode(netError('ECONNREFUSED', {}))).toBe('ECONNREFUSED');
    expect(errorCode(Object.assign(new AggregateError([netError('ECONNREFUSED', {})], ''), {}))).toBe('ECONNREFUSED');
    expect(errorCode(new Error('x', { cause: netError('ENOTFOUND', {}) }))).toBe('ENOTFOUND');
    expect(errorCode('a string')).toBeNull();
  });
});

describe('describeInfraError', () => {
  it('names Postgres with its host and port for refused, unknown-host and lost connections, never the password', () => {
    expect(describeInfraError(netError('ECONNREFUSED', { address: '10.0.0.5', port: 5433 }), where)).toBe('Postgres at pg-host:5433 is unreachable (ECONNREFUSED)');
    expect(describeInfraError(netError('ENOTFOUND', { hostname: 'pg-host' }), where)).toBe('Postgres at pg-host:5433 is unreachable (ENOTFOUND)');
    expect(describeInfraError(new Error('Connection terminated unexpectedly'), where)).toBe('Postgres at pg-host:5433 is unreachable (Connection terminated unexpectedly)');
    expect(describeInfraError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }), where)).toBe(
      'Postgres at pg-host:5433 is unreachable (57P01 terminating connection due to administrator command)',
    );
    for (const e of [netError('ECONNREFUSED', { port: 5433 }), new Error('Connection terminated unexpectedly')]) expect(describeInfraError(e, where)).not.toMatch(/s3cret|fleet:/);
  });

  it('names Redis when the error is about its host or port', () => {
    expect(describeInfraError(netError('ECONNREFUSED', { address: '127.0.0.1', port: 6390 }), where)).toBe('Redis at cache.internal:6390 is unreachable (ECONNREFUSED)');
    expect(describeInfraError(netError('ENOTFOUND', { hostname: 'cache.internal' }), where)).toBe('Redis at cache.internal:6390 is unreachable (ENOTFOUND)');
    expect(describeInfraError(new InfraError('Redis', 'Redis at cache.internal:6390 is unreachable (ECONNREFUSED)'), where)).toBe('Redis at cache.internal:6390 is unreachable (ECONNREFUSED)');
  });

  it('leaves errors that are not about a connection alone', () => {
    expect(describeInfraError(Object.assign(new Error('relation "x" does not exist'), { code: '42P01' }), where)).toBeNull();
    expect(describeInfraError(new Error('boom'), where)).toBeNull();
    // A refused connection to a third host is not ours to name.
    expect(describeInfraError(netError('ECONNREFUSED', { address: '10.9.9.9', port: 8080 }), where)).toBeNull();
  });
});

describe('postgresConnectionReason', () => {
  it('tells connection failures from SQL errors', () => {
    expect(postgresConnectionReason(netError('ECONNRESET', {}))).toBe('ECONNRESET');
    expect(postgresConnectionReason(Object.assign(new Error('the database system is shutting down'), { code: '57P03' }))).toBe('57P03 the database system is shutting down');
    expect(postgresConnectionReason(Object.assign(new Error('connection failure'), { code: '08006' }))).toBe('08006 connection failure');
    expect(postgresConnectionReason(new Error('Client has encountered a connection error and is not queryable'))).toBe('Client has encountered a connection error and is not queryable');
    expect(postgresConnectionReason(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBeNull();
  });
});

describe('metricsListenMessage', () => {
  it('says the metrics port is in use, with the host when one is set', () => {
    expect(metricsListenMessage(netError('EADDRINUSE', {}), 9464, undefined)).toMatch(/^metrics port 9464 is already in use \(/);
    expect(metricsListenMessage(netError('EADDRINUSE', {}), 9464, '127.0.0.1')).toMatch(/^metrics port 127\.0\.0\.1:9464 is already in use/);
    expect(metricsListenMessage(netError('ECONNRESET', {}), 9464, undefined)).toBeNull();
  });
});

describe('networkErrorMessage', () => {
  it('names the vendor host and port, with the default port of the scheme', () => {
    expect(networkErrorMessage('https://api.example.com/api/v1', 'ECONNREFUSED', 60_000)).toBe('cannot reach the vendor at api.example.com:443: ECONNREFUSED');
    expect(networkErrorMessage('http://127.0.0.1:8080/api', 'ENOTFOUND', 60_000)).toBe('cannot reach the vendor at 127.0.0.1:8080: ENOTFOUND');
    expect(networkErrorMessage('https://api.example.com', 'ECONNABORTED', 60_000)).toBe('no answer from the vendor at api.example.com:443 within 60000 ms (ECONNABORTED)');
  });
});
