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

/**
 * Where a page is, for every message about it: "automox-prod/devices org 42 page 7".
 * `parent` is the resource the walk's scope comes from (undefined for global lists). Never throws.
 */
export function pageWhere(walk: WalkIdentity, page: number, parent: string | undefined): string {
  const scopeLabel = walk.scope === '-' ? 'scope -' : `${parent ? singular(parent) : 'scope'} ${walk.scope}`;
  return `${walk.source_id}/${walk.resource} ${scopeLabel} page ${page}`;
}
