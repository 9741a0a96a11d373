import { describe, expect, it } from 'vitest';
import { pageWhere, singular } from '../../src/sync/where.js';

describe('pageWhere', () => {
  it('names source, resource, scope (by its parent) and page', () => {
    expect(pageWhere({ source_id: 'automox-prod', resource: 'devices', scope: '42' }, 7, 'organizations')).toBe('automox-prod/devices org 42 page 7');
    expect(pageWhere({ source_id: 't', resource: 'projects', scope: '9' }, 0, 'workspaces')).toBe('t/projects workspace 9 page 0');
    expect(pageWhere({ source_id: 'p', resource: 'devices', scope: 'ou-1' }, 1, undefined)).toBe('p/devices scope ou-1 page 1');
    expect(pageWhere({ source_id: 'a', resource: 'organizations', scope: '-' }, 3, undefined)).toBe('a/organizations scope - page 3');
  });

  it('makes singulars of plural resource names', () => {
    expect(singular('device_groups')).toBe('device_group');
    expect(singular('patch_categories')).toBe('patch_category');
  });
});
