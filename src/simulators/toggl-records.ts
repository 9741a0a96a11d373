/**
 * The Toggl Track simulator's records (src/simulators/toggl.ts): the entities as Toggl's v9
 * definition has them, and the account that holds them.
 */

export interface TogglWorkspace {
  id: number;
  organization_id: number;
  name: string;
  premium: boolean;
  admin: boolean;
  role: string;
  default_currency: string;
  only_admins_may_create_projects: boolean;
  projects_billable_by_default: boolean;
  rounding: number;
  rounding_minutes: number;
  at: string;
  logo_url: string;
  /** Only on a suspended workspace: the definition's string has no null. */
  suspended_at?: string;
  x_future_field?: Record<string, unknown>;
}

export interface TogglOrganization {
  id: number;
  name: string;
  pricing_plan_id: number;
  pricing_plan_name: string;
  created_at: string;
  at: string;
  is_multi_workspace_enabled: boolean;
  user_count: number;
  max_workspaces: number;
  admin: boolean;
  owner: boolean;
}

export interface TogglProject {
  id: number;
  workspace_id: number;
  wid: number;
  client_id: number | null;
  /** The legacy client id: only with a client (the definition's cid has no null). */
  cid?: number;
  name: string;
  is_private: boolean;
  active: boolean;
  at: string;
  created_at: string;
  /** Listed by the projects page of the v9 docs (not in the ModelsProject schema): set once deleted. */
  server_deleted_at: string | null;
  color: string;
  billable: boolean | null;
  template: boolean | null;
  auto_estimates: boolean | null;
  estimated_hours: number | null;
  /** Only when the project has a rate (premium). */
  rate?: number;
  currency: string | null;
  recurring: boolean;
  actual_hours: number | null;
  status: string;
  start_date: string;
  /** Only when the project has one. */
  end_date?: string;
  pinned: boolean;
}

export interface TogglClient {
  id: number;
  wid: number;
  archived: boolean;
  name: string;
  at: string;
  /** Only when the client has notes. */
  notes?: string;
  creator_id: number;
}

/** A workspace's user as the published v9 definition lists it: no timezone, no times. */
export interface TogglUser {
  id: number;
  email: string;
  fullname: string;
  inactive: boolean;
  is_active: boolean;
  is_admin: boolean;
  role: string;
}

export interface TogglTag {
  id: number;
  workspace_id: number;
  name: string;
  at: string;
  creator_id: number;
}

export interface TogglTask {
  id: number;
  name: string;
  workspace_id: number;
  project_id: number;
  user_id: number | null;
  recurring: boolean;
  active: boolean;
  at: string;
  estimated_seconds: number | null;
  tracked_seconds: number;
}

/** A time entry as Toggl stores it; the report search answers it in its own row shape. */
export interface TogglTimeEntry {
  id: number;
  workspace_id: number;
  project_id: number | null;
  task_id: number | null;
  user_id: number;
  description: string;
  billable: boolean;
  tag_ids: number[];
  start: string;
  stop: string;
  /** Seconds. */
  duration: number;
  at: string;
}

export interface TogglData {
  workspaces: TogglWorkspace[];
  organizations: TogglOrganization[];
  projects: TogglProject[];
  clients: TogglClient[];
  /** Memberships: a user may appear in several workspaces. */
  members: Array<{ workspaceId: number; user: TogglUser }>;
  tags: TogglTag[];
  tasks: TogglTask[];
  timeEntries: TogglTimeEntry[];
}
