/** A walk's identity, as far as messages need it. */
export interface WalkIdentity {
  source_id: string;
  resource: string;
  scope: string;
}

/** The singular a scope is labelled with: "org" for organizations, "workspace", else the plural cut. */
export function singular(resource: string): string {
  if (resource === 'organizations') return 'org';
  if (resource === 'workspaces') return 'workspace';
  return resource.replace(/ies$/, 'y').replace(/s$/, '');
}

/** A walk's scope as messages name it: "org 42", "workspace 7", "scope -" for a global list. Never throws. */
export function scopeLabel(scope: string, parent: string | undefined): string {
  return scope === '-' ? 'scope -' : `${parent ? singular(parent) : 'scope'} ${scope}`;
}

/**
 * Where a page is, for every message about it: "automox-prod/devices org 42 page 7".
 * `parent` is the resource the walk's scope comes from (undefined for global lists). Never throws.
 */
export function pageWhere(walk: WalkIdentity, page: number, parent: string | undefined): string {
  return `${walk.source_id}/${walk.resource} ${scopeLabel(walk.scope, parent)} page ${page}`;
}
