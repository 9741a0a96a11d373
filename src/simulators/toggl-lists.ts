/**
 * The Toggl simulator's paged lists (src/simulators/toggl.ts): a workspace's projects and tasks
 * as `GET /api/v9/workspaces/{id}/projects` and `/tasks` answer them, query validated.
 */
import { parseIntParam } from './http-sim.js';
import type { SimRequest, SimResponse } from './http-sim.js';
import type { TogglProject, TogglTask } from './toggl-records.js';

/** One page of workspace `ws`'s projects (page, per_page, since, active, sort_pinned), or the 400 to answer. */
export function projectsPage(projects: readonly TogglProject[], req: SimRequest, ws: number): SimResponse {
  const perPage = parseIntParam(req.query.get('per_page')) ?? 151;
  const page = parseIntParam(req.query.get('page')) ?? 1;
  if (!Number.isInteger(perPage) || perPage < 1 || perPage > 200) return { status: 400, body: 'per_page must be between 1 and 200' };
  if (!Number.isInteger(page) || page < 1) return { status: 400, body: 'page must be a positive integer' };
  const since = parseIntParam(req.query.get('since'));
  if (since !== null && !Number.isInteger(since)) return { status: 400, body: 'since must be a UNIX timestamp' };
  const active = req.query.get('active') ?? 'true';
  if (!['true', 'false', 'both'].includes(active)) return { status: 400, body: 'active must be true, false or both' };
  const sortPinned = req.query.get('sort_pinned') ?? 'false';
  if (!['true', 'false'].includes(sortPinned)) return { status: 400, body: 'sort_pinned must be true or false' };
  const all = projects
    .filter((p) => p.workspace_id === ws)
    // Default `active=true`: archived (inactive) projects only with active=false or both.
    .filter((p) => active === 'both' || p.active === (active === 'true'))
    // The full list has live projects only; `since` also brings the ones deleted since then.
    .filter((p) => (since === null ? p.server_deleted_at === null : Date.parse(p.at) >= since * 1000))
    .sort((a, b) => (sortPinned === 'true' ? Number(b.pinned) - Number(a.pinned) : 0) || a.id - b.id);
  return { status: 200, body: all.slice((page - 1) * perPage, page * perPage) };
}

/** One page of workspace `ws`'s tasks (active, page, per_page) in Toggl's envelope, or the 400 to answer. */
export function tasksPage(tasks: readonly TogglTask[], req: SimRequest, ws: number): SimResponse {
  const active = req.query.get('active') ?? 'true';
  if (!['true', 'false', 'both'].includes(active)) return { status: 400, body: 'active must be true, false or both' };
  const perPage = parseIntParam(req.query.get('per_page')) ?? 50;
  const page = parseIntParam(req.query.get('page')) ?? 1;
  if (!Number.isInteger(perPage) || perPage < 1 || perPage > 200) return { status: 400, body: 'per_page must be between 1 and 200' };
  if (!Number.isInteger(page) || page < 1) return { status: 400, body: 'page must be a positive integer' };
  const all = tasks.filter((t) => t.workspace_id === ws && (active === 'both' || t.active === (active === 'true'))).sort((a, b) => a.id - b.id);
  return { status: 200, body: { data: all.slice((page - 1) * perPage, page * perPage), page, per_page: perPage, sort_field: 'name', sort_order: 'ASC', total_count: all.length } };
}
