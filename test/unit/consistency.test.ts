import { describe, expect, it } from 'vitest';
import { dashboardAccessProblem } from '../../src/dashboard-access.js';
import { closeAfterPagesInHand, PagesInHand, shutdownTimedOut, stoppingWithRedisDown } from '../../src/pages-in-hand.js';
import { sinceCoverage, sinceRefusal } from '../../src/sync/backfill-since.js';
import { trialInstructions, type TrialOffer } from '../../src/trial-instructions.js';

const offer: TrialOffer = {
  vendor: 'automox',
  baseUrl: 'http://127.0.0.1:44811/api',
  secrets: { TRIAL_AUTOMOX_KEY: 'k2' },
  source: { id: 'automox-trial', vendor: 'automox', baseUrl: 'http://127.0.0.1:44811/api', credentials: { apiKey: '${TRIAL_AUTOMOX_KEY}' } },
};

describe('simulate: a second trial never says to save over the first', () => {
  it('without a config or .env: save the config, put the key in .env', () => {
    const text = trialInstructions(offer, { configFile: 'fleetsync.yaml', configText: null, dotEnvText: null });
    expect(text).toContain('# throwaway credentials, valid only against this simulator: put them in .env (or export them)\nTRIAL_AUTOMOX_KEY=k2\n');
    expect(text).toContain('# a config that syncs it: save as fleetsync.yaml\nsources:\n  - id: automox-trial\n');
  });

  it('with the earlier trial in fleetsync.yaml and .env: replace that entry and that line', () => {
    const text = trialInstructions(offer, {
      configFile: 'fleetsync.yaml',
      configText: 'sources:\n  - id: automox-trial\n    vendor: automox\n    baseUrl: http://127.0.0.1:40000/api\n    credentials: { apiKey: ${TRIAL_AUTOMOX_KEY} }\n',
      dotEnvText: 'TRIAL_AUTOMOX_KEY=k1\n',
    });
    expect(text).not.toContain('save as');
    expect(text).not.toContain('put them in .env');
    expect(text).toContain('.env has TRIAL_AUTOMOX_KEY from an earlier trial; replace that line with:\nTRIAL_AUTOMOX_KEY=k2');
    expect(text).toContain('# fleetsync.yaml has a source automox-trial already (an earlier trial?): replace that entry under sources: with this one (the port and key are new on every start)\n  - id: automox-trial\n    vendor: automox\n    baseUrl: http://127.0.0.1:44811/api\n');
  });

  it('with another config: add the entry under its sources', () => {
    const text = trialInstructions(offer, { configFile: 'prod.yaml', configText: 'sources:\n  - id: izuma-trial\n', dotEnvText: 'OTHER=1\n' });
    expect(text).toContain('# prod.yaml exists: add this entry under its sources:\n  - id: automox-trial\n');
    expect(text).toContain('put them in .env');
  });
});

describe('backfill --since narrows only resources the vendor filters by update time', () => {
  const defs = [{ name: 'organizations' }, { name: 'devices', incremental: {} }, { name: 'firmware_images' }];
  it('refuses when it would narrow nothing, and says which walk fully otherwise', () => {
    expect(sinceRefusal('ax', 'automox', sinceCoverage(defs, ['organizations']))).toBe('--since: automox filters none of organizations of ax by update time, so a backfill walks them fully anyway; leave out --since');
    expect(sinceCoverage(defs, ['organizations', 'devices'])).toEqual({ narrowed: ['devices'], full: ['organizations'] });
    expect(sinceRefusal('iz', 'izuma', sinceCoverage(defs, ['devices']))).toBeNull();
  });
});

describe('dashboard access is decided before anything connects', () => {
  it('needs a token off loopback, of 16 characters or more', () => {
    expect(dashboardAccessProblem('0.0.0.0', undefined)).toBe('the dashboard has no token: listening on 0.0.0.0 (not loopback) needs --token or FLEETSYNC_DASHBOARD_TOKEN');
    expect(dashboardAccessProblem('0.0.0.0', 'short')).toBe('the dashboard token must be at least 16 characters');
    expect(dashboardAccessProblem('0.0.0.0', '0123456789abcdef')).toBeNull();
    expect(dashboardAccessProblem('127.0.0.1', undefined)).toBeNull();
  });
});

describe('a shutdown with Redis down', () => {
  const fakeWorker = () => {
    const calls: Array<boolean | undefined> = [];
    return { calls, close: async (force?: boolean) => void calls.push(force) };
  };

  it('waits for the pages in hand, then drops the connections (close with force) instead of waiting for Redis', async () => {
    const inHand = new PagesInHand();
    let finish!: () => void;
    void inHand.track(new Promise<void>((r) => (finish = r)));
    expect(inHand.count).toBe(1);
    const w = fakeWorker();
    const closing = closeAfterPagesInHand([w], false, inHand);
    await Promise.resolve();
    expect(w.calls).toEqual([]);
    finish();
    await closing;
    expect(w.calls).toEqual([true]);
    expect(inHand.count).toBe(0);
  });

  it('while Redis answers, closes the BullMQ way (waits for jobs, quits connections)', async () => {
    const w = fakeWorker();
    await closeAfterPagesInHand([w], true, new PagesInHand());
    expect(w.calls).toEqual([undefined]);
  });

  it('says what it holds', () => {
    expect(stoppingWithRedisDown(0, false)).toBe('Redis is down: stopping with no page in hand, without waiting for Redis');
    expect(stoppingWithRedisDown(2, false)).toBe('Redis is down: stopping after the 2 pages in hand, without waiting for Redis');
    expect(stoppingWithRedisDown(0, true)).toBeNull();
    expect(shutdownTimedOut(0)).toBe('shutdown timed out with no page in hand; exiting');
    expect(shutdownTimedOut(1)).toBe('shutdown timed out; exiting with 1 page in hand (they are redelivered)');
  });
});
