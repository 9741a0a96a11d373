import { describe, expect, it } from 'vitest';
import { automox } from '../../jobs/automox.js';
import { famoco, famocoInsights } from '../../jobs/famoco.js';
import { izuma } from '../../jobs/izuma.js';
import { toggl, togglReportEntries } from '../../jobs/toggl.js';
import type { SourceConfig } from '../../src/config.js';
import type { VendorDefinition } from '../../src/connector.js';
import { DATA_TABLES } from '../../src/warehouse/tables.js';

// Each record below is written by hand from the field list of the vendor's published definition
// (docs/connectors.md names them), then goes through the connector's real record schema and map.
// Every column of the table must come out filled, except the ones docs/connectors.md lists as
// never filled by that vendor.

const source = { id: 's', vendor: 'x', baseUrl: 'https://example.test', credentials: {} } as unknown as SourceConfig;

function mapped(vendor: VendorDefinition, resource: string, raw: unknown, scope = '42') {
  const def = vendor.resources.find((r) => r.name === resource);
  if (!def) throw new Error(`${vendor.vendor} has no ${resource}`);
  const parsed = def.record.safeParse(raw);
  if (!parsed.success) throw new Error(`${vendor.vendor}/${resource}: ${parsed.error.message}`);
  const ctx = { sourceId: 's', scope };
  return { id: def.id(parsed.data, ctx), columns: def.map(parsed.data, ctx) as Record<string, unknown>, def };
}

function expectFilled(table: keyof typeof DATA_TABLES, columns: Record<string, unknown>, neverFilled: string[] = []) {
  const expected = Object.keys(DATA_TABLES[table]).filter((c) => !neverFilled.includes(c));
  expect(expected.filter((c) => columns[c] === null || columns[c] === undefined), `${table} columns left empty`).toEqual([]);
}

describe('Automox (AutomoxCommunity/openapi-defs, ax-console)', () => {
  // Server, as /servers lists it with include_details=1.
  const server = {
    id: 812345,
    organization_id: 54321,
    server_group_id: 654321,
    name: 'LAPTOP-7Q2',
    custom_name: 'Front desk 3',
    display_name: 'Front desk 3',
    serial_number: '',
    os_family: 'Windows',
    os_name: '11 Pro',
    os_version: '10.0.26100',
    agent_version: '1.45.48',
    create_time: '2024-12-19T17:42:48+0000',
    last_update_time: '2024-12-25T13:32:47+0000',
    last_refresh_time: '2025-01-22T20:10:26+0000',
    last_disconnect_time: '2025-01-22T22:18:21+0000',
    connected: false,
    compliant: false,
    is_compatible: true,
    pending_patches: 2,
    needs_reboot: true,
    status: { device_status: 'not-ready', agent_status: 'disconnected', policy_status: 'non-compliant', policy_statuses: [] },
    detail: { MODEL: '20XW', VENDOR: 'LENOVO', SERIAL: 'PF3K9Z1', SERVICETAG: 'No Asset Tag' },
    uptime: '170878',
  };

  it('devices: every column, the serial from detail.SERIAL when serial_number is empty, details asked for', () => {
    const { columns, def } = mapped(automox, 'devices', server);
    expectFilled('devices', columns);
    expect(columns.display_name).toBe('Front desk 3');
    expect([columns.serial_number, columns.model, columns.pending_patches, columns.needs_reboot, columns.vendor_last_disconnect_at]).toEqual(['PF3K9Z1', '20XW', 2, true, '2025-01-22T22:18:21.000Z']);
    expect(mapped(automox, 'devices', { ...server, serial_number: 'OWN-1' }).columns.serial_number).toBe('OWN-1');
    expect(def.params?.('54321', source)).toEqual({ o: '54321', include_details: '1' });
    // Without details (the default answer) the model is unknown, never made up.
    expect(mapped(automox, 'devices', { ...server, detail: {}, status: {} }).columns.model).toBeNull();
  });

  it('packages: unmanaged software asked for unless options.includeUnmanaged is false, is_managed false -> unmanaged', () => {
    const pkg = {
      id: 51, server_id: 812345, package_id: 0, software_id: 90001, installed: true, ignored: false, name: 'VLC media player', display_name: 'VLC media player', version: '3.0.21',
      repo: 'Windows', cves: [], severity: 'none', create_time: '2025-01-01T00:00:00Z', patch_classification_category_id: 3, is_managed: false, organization_id: 54321,
    };
    const { columns, def } = mapped(automox, 'packages', pkg);
    expectFilled('packages', columns);
    expect(columns.unmanaged).toBe(true);
    expect(mapped(automox, 'packages', { ...pkg, is_managed: true }).columns.unmanaged).toBe(false);
    expect(def.params?.('54321', source)).toEqual({ o: '54321', includeUnmanaged: '1' });
    expect(def.params?.('54321', { ...source, options: { includeUnmanaged: false } })).toEqual({ o: '54321' });
    expect(automox.validateSource?.({ ...source, options: { includeUnmanaged: 'yes' } })).toEqual(['options.includeUnmanaged: must be true or false, got "yes"']);
  });

  it('server groups: every column but the creation time the ServerGroup schema does not have', () => {
    const { columns } = mapped(automox, 'device_groups', { id: 654321, organization_id: 54321, name: '', refresh_interval: 360, parent_server_group_id: 1, ui_color: '#059F1D', notes: '', server_count: 12, policies: [] });
    expectFilled('device_groups', columns, ['vendor_created_at', 'vendor_updated_at']);
  });
});

describe('Toggl Track (API v9 and Reports API v3)', () => {
  it('projects are listed with active=both; an archived project maps as inactive', () => {
    const { columns, def } = mapped(toggl, 'projects', {
      id: 190000001, workspace_id: 42, client_id: 60000001, name: 'Relaunch', is_private: false, active: false, billable: true, color: '#0b83d9', status: 'archived',
      created_at: '2025-02-01T08:00:00+00:00', at: '2025-03-01T08:00:00+00:00', server_deleted_at: '2025-04-01T08:00:00+00:00', pinned: false,
    });
    expectFilled('projects', columns);
    expect(columns.active).toBe(false);
    expect(def.params?.('42', source)).toEqual({ active: 'both' });
  });

  it('clients: every column but a creation time the client model does not have', () => {
    const { columns } = mapped(toggl, 'clients', { id: 60000001, wid: 42, archived: true, name: 'Acme', at: '2025-03-01T08:00:00+00:00', notes: 'Net 30', creator_id: 9 });
    expectFilled('clients', columns, ['vendor_created_at']);
  });

  it('workspace users: id, email, fullname, role, is_admin, is_active, inactive; no timezone or times', () => {
    const { id, columns } = mapped(toggl, 'users', { id: 9000001, email: 'o@example.com', fullname: 'Olga Owner', role: 'admin', is_admin: true, is_active: true, inactive: true });
    expect(id).toBe('42:9000001');
    expectFilled('users', columns, ['timezone', 'vendor_created_at', 'vendor_updated_at']);
    expect([columns.active, columns.inactive]).toEqual([true, true]);
  });

  it('tags and tasks: every column', () => {
    expectFilled('tags', mapped(toggl, 'tags', { id: 20000001, workspace_id: 42, name: 'meeting', at: '2025-03-01T08:00:00+00:00', creator_id: 9 }).columns);
    const task = { id: 30000001, name: 'Design', workspace_id: 42, project_id: 190000001, user_id: 9, recurring: false, active: true, at: '2025-03-01T08:00:00+00:00', estimated_seconds: 36000, tracked_seconds: 7200 };
    expectFilled('tasks', mapped(toggl, 'tasks', task).columns);
  });

  it('time entries: the history of a full walk is a whole number of days in options, sent to the search strategy', () => {
    const def = toggl.resources.find((r) => r.name === 'time_entries')!;
    expect(def.params?.('42', source)).toEqual({ history_days: '365' });
    expect(def.params?.('42', { ...source, options: { timeEntriesHistoryDays: 800 } })).toEqual({ history_days: '800' });
    expect(toggl.validateSource?.({ ...source, options: { timeEntriesHistoryDays: 800 } })).toEqual([]);
    expect(toggl.validateSource?.({ ...source, options: { timeEntriesHistoryDays: '1y' } })).toEqual(['options.timeEntriesHistoryDays: must be a whole number of days from 1 to 36600, got "1y"']);
  });

  it('time entries: a detailed-search row (enriched, ungrouped) gives every column', () => {
    const row = {
      user_id: 9, username: 'Olga Owner', project_id: 190000001, task_id: 30000001, billable: true, description: 'Standup', tag_ids: [20000001], tag_names: ['meeting'],
      hourly_rate_in_cents: null, currency: 'EUR', row_number: 1,
      time_entries: [{ id: 4000000001, seconds: 900, start: '2026-11-02T09:00:00+01:00', stop: '2026-11-02T09:15:00+01:00', at: '2026-11-02T09:16:00+01:00', at_tz: '2026-11-02T09:16:00+01:00' }],
    };
    const [record, ...rest] = togglReportEntries(row);
    expect(rest).toEqual([]);
    const { id, columns } = mapped(toggl, 'time_entries', record);
    expect(id).toBe('4000000001');
    expectFilled('time_entries', columns);
    expect([columns.started_at, columns.duration_seconds, columns.tag_names, columns.tag_ids]).toEqual(['2026-11-02T08:00:00.000Z', 900, ['meeting'], [20000001]]);
    // Without enrich_response the row has no tag_names; the documented tag_ids stay.
    const { tag_names: _names, ...plain } = row;
    const bare = mapped(toggl, 'time_entries', togglReportEntries(plain)[0]).columns;
    expect([bare.tag_names, bare.tag_ids]).toEqual([null, [20000001]]);
  });
});

describe('Izuma (PelionIoT/mbed-cloud-sdk-python, pelion_dm_public_openapi.yaml)', () => {
  it('account (AccountInfo): parent_id of a tenant -> parent_external_id; a top-level account has none', () => {
    const account = {
      object: 'account', id: '01619571f3c00242ac12000600000000', display_name: 'Tenant A', company: 'Tenant A GmbH', parent_id: '01619571dad80242ac12000600000000',
      status: 'ACTIVE', created_at: '2018-02-13T09:35:20Z', updated_at: '2018-02-14T09:35:20Z', etag: '1',
    };
    const { columns } = mapped(izuma, 'organizations', account, '-');
    expectFilled('organizations', columns, ['guid']);
    expect(columns.parent_external_id).toBe('01619571dad80242ac12000600000000');
    expect(mapped(izuma, 'organizations', { ...account, parent_id: null }, '-').columns.parent_external_id).toBeNull();
  });

  it('firmware images: an int64 datafile_size of 2 GiB or more lands exactly', () => {
    const image = {
      object: 'firmware-image', id: '016e7b2a4f5e0a0000000000000f0001', name: 'full-system-v2', description: 'A/B image', datafile: 'https://firmware-catalog-media.example.com/a.bin',
      datafile_checksum: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', datafile_size: 3_221_225_472,
      created_at: '2025-01-01T00:00:00.000Z', updated_at: '2025-01-02T00:00:00.000Z', etag: '2025-01-02T00:00:00.000Z',
    };
    const { columns } = mapped(izuma, 'firmware_images', image);
    // Firmware images are account-wide: the definition gives them no account id.
    expectFilled('firmware_images', columns, ['organization_external_id']);
    expect(columns.datafile_size).toBe(3_221_225_472);
    expect(mapped(izuma, 'firmware_images', { ...image, datafile_size: '5368709120' }).columns.datafile_size).toBe(5_368_709_120);
    expect(mapped(izuma, 'firmware_images', { ...image, datafile_size: 2 ** 31 }).columns.datafile_size).toBe(2 ** 31);
  });
});

describe('Famoco (no public definition: the fields the API answers)', () => {
  it('organizations, fleets and devices: create_date / update_date (the live API) as well as created_at / updated_at', () => {
    // An organization as public client code records the MDM's answer: no created_at, no guid.
    const org = { id: 100000, name: 'Pytest', is_blocked: false, status: 'active', create_date: '2019-12-09T08:12:59.179722Z', update_date: '2021-05-06T09:19:23.780260Z', devices_count: 17 };
    const { columns } = mapped(famoco, 'organizations', org);
    expect([columns.vendor_created_at, columns.vendor_updated_at]).toEqual(['2019-12-09T08:12:59.179Z', '2021-05-06T09:19:23.780Z']);
    expectFilled('organizations', columns, ['guid', 'parent_external_id']);
    const insights = famocoInsights.resources.find((r) => r.name === 'organizations')!;
    const parsed = insights.record.parse(org);
    expect((insights.map(parsed, { sourceId: 's', scope: '-' }) as Record<string, unknown>).vendor_created_at).toBe('2019-12-09T08:12:59.179Z');
    const fleet = { id: 7, name: 'Stock', organization: 42, devices_count: 3, is_stock: true };
    for (const [create, update] of [['create_date', 'update_date'], ['created_at', 'updated_at']] as const) {
      const times = { [create]: '2025-01-01T00:00:00Z', [update]: '2025-01-02T00:00:00Z' };
      expectFilled('device_groups', mapped(famoco, 'device_groups', { ...fleet, ...times }).columns);
      const d = mapped(famoco, 'devices', { id: 501, label: 'Kiosk 1', serial_number: 'S1', model: 'FX205', organization: 42, fleet: 7, ...times }).columns;
      expect([d.vendor_created_at, d.vendor_updated_at]).toEqual(['2025-01-01T00:00:00.000Z', '2025-01-02T00:00:00.000Z']);
    }
  });

  it('devices: every column', () => {
    const { columns } = mapped(famoco, 'devices', {
      id: 501, famoco_id: '(01)03760265310018(21)1A2B3C', serial_number: null, label: 'Kiosk 1', model: 'FX205', organization: 42, fleet: { id: 7, name: 'Stock' },
      hardware_details: { model: 'FX205', serial_number: 'HW-1' }, state_details: { os_version: '9', agent_version: '3.2', is_online: true, last_sync: '2025-01-02T00:00:00Z' },
      is_archived: false, created_at: '2025-01-01T00:00:00Z', updated_at: '2025-01-02T00:00:00Z',
    });
    expectFilled('devices', columns, ['compliant', 'is_compatible', 'pending_patches', 'needs_reboot', 'vendor_last_disconnect_at', 'display_name']);
    expect(columns.serial_number).toBe('HW-1');
  });
});
