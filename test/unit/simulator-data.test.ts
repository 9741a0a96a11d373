import { describe, expect, it } from 'vitest';
import { generateAutomoxData, type AutomoxServer } from '../../src/simulators/automox.js';

describe('AutomoxSimulator', () => {
  const data = () => generateAutomoxData({ seed: 42, orgs: 3, devicesPerOrg: [145, 3, 0], packagesPerDevice: 2 });

  it('generates deterministic, realistic data', () => {
    const a = data();
    expect(generateAutomoxData({ seed: 42, orgs: 3, devicesPerOrg: [145, 3, 0], packagesPerDevice: 2 })).toEqual(a);
    expect(a.servers).toHaveLength(148);
    for (const org of a.orgs) expect(a.groups.filter((g) => g.organization_id === org.id && g.name === '')).toHaveLength(1);
    expect(a.orgs.map((o) => o.name)).toContain('Zürich-Büro-Ümlaut-😀');
    expect(a.servers.some((s) => s.x_future_field !== undefined)).toBe(true);
    const s = a.servers[0] as AutomoxServer;
    expect(s.last_refresh_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$/);
    const avg = a.servers.reduce((n, x) => n + JSON.stringify(x).length, 0) / a.servers.length;
    expect(avg).toBeGreaterThan(1100);
    expect(avg).toBeLessThan(1700);
    expect(a.packages.every((p) => p.patch_classification_category_id !== null && p.patch_classification_category_id >= 1 && p.patch_classification_category_id <= 13)).toBe(true);
  });
});
