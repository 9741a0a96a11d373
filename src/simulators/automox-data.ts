/**
 * The Automox simulator's tenant (src/simulators/automox.ts): orgs, their server groups, devices
 * (automox-devices.ts) and packages, generated from a seed.
 */
import { createRng } from './http-sim.js';
import type { Rng } from './http-sim.js';
import { BASE_TIME, DAY, makeServer } from './automox-devices.js';
import { isoTime, type AutomoxData, type AutomoxOrg, type AutomoxPackage, type AutomoxServer, type AutomoxServerGroup, type AutomoxSeverity } from './automox-records.js';

export interface GenerateAutomoxOptions {
  seed?: number;
  orgs: number;
  /** Same count for every org, or one count per org index (missing entries = 0). */
  devicesPerOrg: number | number[];
  /** Default 3. */
  packagesPerDevice?: number;
  /**
   * Software per device that Automox lists but cannot patch (`is_managed: false`, served only with
   * `includeUnmanaged=1`); default 0. Appended after every other package (ids above theirs, drawn
   * from a stream of their own), so the rest of the tenant is the same with or without them.
   */
  unmanagedPerDevice?: number;
  /** Groups per org including the blank-named default group; default 3, minimum 1. */
  groupsPerOrg?: number;
}

const ORG_NAMES = [
  'Acme Corp',
  'Zürich-Büro-Ümlaut-😀',
  '東京オフィス',
  'Globex Industries',
  'Initech',
  'Umbrella Health',
  'Stark Logistics',
  'Wayne Enterprises',
];
const GROUP_NAMES = ['Servers', 'Workstations', 'Kiosks', 'Finance Laptops', 'ビルド サーバー', 'Büro Clients', 'Lab', 'Remote Staff'];
const UI_COLORS = ['#059F1D', '#FF6200', '#1E88E5', '#8E24AA', '#D81B60', '#00ACC1'];

interface Software {
  package_id: number;
  software_id: number;
  name: string;
  display_name: string;
  versions: string[];
  repo: string;
}

const SOFTWARE_BY_FAMILY: Record<string, Software[]> = {
  Windows: [
    { package_id: 70011, software_id: 5011, name: 'Google Chrome', display_name: 'Google Chrome', versions: ['126.0.6478.127', '127.0.6533.89'], repo: 'Windows' },
    { package_id: 70012, software_id: 5012, name: 'Mozilla Firefox (x64 en-US)', display_name: 'Mozilla Firefox', versions: ['127.0.2', '128.0'], repo: 'Windows' },
    { package_id: 70013, software_id: 5013, name: 'KB5040442', display_name: '2024-07 Cumulative Update for Windows 11 Version 23H2 for x64-based Systems (KB5040442)', versions: ['1'], repo: 'WindowsUpdate' },
    { package_id: 70014, software_id: 5014, name: 'KB2267602', display_name: 'Security Intelligence Update for Microsoft Defender Antivirus - KB2267602', versions: ['1.415.142.0'], repo: 'WindowsUpdate' },
    { package_id: 70015, software_id: 5015, name: '7-Zip 23.01 (x64)', display_name: '7-Zip', versions: ['23.01', '24.07'], repo: 'Windows' },
    { package_id: 70016, software_id: 5016, name: 'Microsoft Edge', display_name: 'Microsoft Edge', versions: ['126.0.2592.102'], repo: 'Windows' },
  ],
  Mac: [
    { package_id: 71011, software_id: 6011, name: 'Safari', display_name: 'Safari 17.5', versions: ['17.5'], repo: 'Apple' },
    { package_id: 71012, software_id: 6012, name: 'macOS Sonoma 14.6', display_name: 'macOS Sonoma 14.6', versions: ['14.6'], repo: 'Apple' },
    { package_id: 71013, software_id: 6013, name: 'Slack', display_name: 'Slack', versions: ['4.39.90'], repo: 'ThirdParty' },
    { package_id: 71014, software_id: 6014, name: 'zoom.us', display_name: 'Zoom', versions: ['6.1.1'], repo: 'ThirdParty' },
  ],
  Linux: [
    { package_id: 72011, software_id: 7011, name: 'openssl', display_name: 'openssl', versions: ['3.0.2-0ubuntu1.16'], repo: 'Linux' },
    { package_id: 72012, software_id: 7012, name: 'linux-image-generic', display_name: 'linux-image-generic', versions: ['5.15.0.116.126'], repo: 'Linux' },
    { package_id: 72013, software_id: 7013, name: 'curl', display_name: 'curl', versions: ['7.81.0-1ubuntu1.17'], repo: 'Linux' },
    { package_id: 72014, software_id: 7014, name: 'sudo', display_name: 'sudo', versions: ['1.9.9-1ubuntu2.4'], repo: 'Linux' },
  ],
};

const SEVERITIES: readonly AutomoxSeverity[] = ['critical', 'high', 'medium', 'low', 'none'];

/** The last id handed out of each kind (ids ascend in array order). */
interface LastIds {
  group: number;
  server: number;
  package: number;
}

/**
 * Deterministic (seeded mulberry32) fake tenant. Ids are ascending in array order. The helpers
 * draw from `rng` in the order the fields are listed, so a seed gives the same tenant.
 */
export function generateAutomoxData(opts: GenerateAutomoxOptions): AutomoxData {
  const rng = createRng(opts.seed ?? 1);
  const groupsPerOrg = Math.max(1, opts.groupsPerOrg ?? 3);
  const packagesPerDevice = Math.max(0, opts.packagesPerDevice ?? 3);
  const data: AutomoxData = { orgs: [], groups: [], servers: [], packages: [] };
  const ids: LastIds = { group: 200_000, server: 1_000_000, package: 50_000_000 };

  for (let o = 0; o < opts.orgs; o++) {
    const deviceCount = Array.isArray(opts.devicesPerOrg) ? (opts.devicesPerOrg[o] ?? 0) : opts.devicesPerOrg;
    const { org, created } = makeOrg(rng, o, deviceCount);
    data.orgs.push(org);

    const orgGroups: AutomoxServerGroup[] = [];
    for (let g = 0; g < groupsPerOrg; g++) {
      const group = makeGroup(rng, { orgId: org.id, o, g, id: ++ids.group, created, defaultGroup: orgGroups[0] });
      orgGroups.push(group);
      data.groups.push(group);
    }

    for (let d = 0; d < deviceCount; d++) {
      const id = ++ids.server;
      const group = orgGroups[rng.int(0, orgGroups.length - 1)] ?? orgGroups[0];
      if (!group) throw new Error('unreachable: no group');
      group.server_count++;
      const server = makeServer(rng, id, org.id, group.id, d);
      data.servers.push(server);

      const catalog = SOFTWARE_BY_FAMILY[server.os_family === 'Windows' ? 'Windows' : server.os_family] ?? [];
      for (let p = 0; p < packagesPerDevice && catalog.length > 0; p++) {
        const sw = catalog[(p + d) % catalog.length];
        if (!sw) continue;
        data.packages.push(makePackage(rng, server, sw, ++ids.package));
      }
    }
  }
  addUnmanaged(data, Math.max(0, opts.unmanagedPerDevice ?? 0), createRng((opts.seed ?? 1) + 0x5eed), ids.package);
  return data;
}

/** Org number `o` (from 0) and its creation time (ms), which its groups' WSUS configs follow. */
function makeOrg(rng: Rng, o: number, deviceCount: number): { org: AutomoxOrg; created: number } {
  const orgId = 10_001 + o;
  const baseName = ORG_NAMES[o % ORG_NAMES.length] ?? 'Org';
  const name = o < ORG_NAMES.length ? baseName : `${baseName} ${Math.floor(o / ORG_NAMES.length) + 1}`;
  const created = BASE_TIME - rng.int(200, 1500) * DAY;
  const uuid = rng.uuid();
  // The draws of fields the console answers beyond the published schema stay, so a seed gives
  // the same tenant as before they were left out.
  const tier = rng.pick(['patch', 'manage', 'enterprise'] as const);
  void rng.int(1, 9);
  void rng.bool();
  const accessKey = rng.hex(32);
  const patchServersDone = rng.bool();
  const zone = rng.pick(['us', 'eu']);
  const org: AutomoxOrg = {
    id: orgId,
    uuid,
    name,
    ...(o === 0 ? {} : { parent_id: 10_001 }),
    create_time: isoTime(created),
    trial_end_time: isoTime(created + 15 * DAY),
    tier,
    device_limit: null,
    soft_device_limit: null,
    device_count: deviceCount,
    access_key: accessKey,
    metadata: { patchServersDone },
  };
  if (o % 2 === 1) org.x_future_field = { region_v2: zone, beta_flags: ['worklets'] };
  return { org, created };
}

/** Where a group goes: group number `g` of org number `o`; the org's default group (g 0) is its parent. */
interface GroupPlace {
  orgId: number;
  o: number;
  g: number;
  id: number;
  /** The org's creation time (ms). */
  created: number;
  defaultGroup: AutomoxServerGroup | undefined;
}

function makeGroup(rng: Rng, at: GroupPlace): AutomoxServerGroup {
  const { id, o, g, created } = at;
  const isDefault = g === 0;
  const group: AutomoxServerGroup = {
    id,
    organization_id: at.orgId,
    name: isDefault ? '' : GROUP_NAMES[(g - 1 + o) % GROUP_NAMES.length] ?? `Group ${g}`,
    refresh_interval: isDefault ? 1440 : rng.pick([360, 720, 1440]),
    ...(isDefault || !at.defaultGroup ? {} : { parent_server_group_id: at.defaultGroup.id }),
    ui_color: rng.pick(UI_COLORS),
    notes: isDefault ? '' : rng.pick(['', 'Managed by IT', 'Patch window: Sun 02:00–04:00']),
    enable_os_auto_update: isDefault ? null : rng.bool(),
    server_count: 0,
    wsus_config: rng.bool(0.3)
      ? {
          id: id * 10,
          server_group_id: id,
          is_managed: true,
          server_url: `https://wsus.example.com:8531/g${id}`,
          created_at: isoTime(created + DAY),
          updated_at: isoTime(created + 2 * DAY),
        }
      : null,
    policies: [rng.int(100000, 100050)],
  };
  if (g === 1 && o % 2 === 0) group.x_future_field = { scope: 'dynamic', rule: 'os_family == "Windows"' };
  return group;
}

/** A managed package `id` of `sw` on `server`. */
function makePackage(rng: Rng, server: AutomoxServer, sw: Software, id: number): AutomoxPackage {
  const severity = rng.pick(SEVERITIES);
  const installed = rng.bool(0.6);
  const pkg: AutomoxPackage = {
    id,
    server_id: server.id,
    package_id: sw.package_id,
    software_id: sw.software_id,
    installed,
    ignored: rng.bool(0.05),
    group_ignored: false,
    deferred_until: null,
    group_deferred_until: null,
    name: sw.name,
    display_name: sw.display_name,
    version: rng.pick(sw.versions),
    repo: sw.repo,
    cves: severity === 'none' ? [] : [`CVE-2024-${rng.int(20000, 45999)}`, ...(rng.bool(0.3) ? [`CVE-2023-${rng.int(10000, 52999)}`] : [])],
    cve_score: severity === 'none' ? null : (rng.int(20, 99) / 10).toFixed(1),
    severity,
    agent_severity: rng.bool(0.5) ? severity : null,
    package_version_id: sw.package_id * 100 + rng.int(1, 99),
    os_name: server.os_name,
    os_version: server.os_version,
    os_version_id: server.os_version_id,
    create_time: isoTime(BASE_TIME - rng.int(0, 120) * DAY),
    requires_reboot: rng.bool(0.25),
    patch_classification_category_id: rng.int(1, 13),
    patch_scope: rng.pick(['all', 'manual', 'filter']),
    is_uninstallable: rng.bool(0.5),
    secondary_id: sw.name.startsWith('KB') ? sw.name : '',
    is_managed: true,
    impact: rng.int(0, 10),
    organization_id: server.organization_id,
  };
  if (id % 11 === 0) pkg.x_future_field = { exploit_maturity: rng.pick(['poc', 'weaponized']) };
  return pkg;
}

const UNMANAGED_SOFTWARE: ReadonlyArray<{ name: string; display_name: string; versions: string[] }> = [
  { name: 'Notepad++ (64-bit x64)', display_name: 'Notepad++', versions: ['8.6.9', '8.7.1'] },
  { name: 'VLC media player', display_name: 'VLC media player', versions: ['3.0.21'] },
  { name: 'Acme Label Printer Driver', display_name: 'Acme Label Printer Driver', versions: ['2.4.0'] },
];

/** Appends `perDevice` unmanaged packages to every server, ids from `lastId` + 1. */
function addUnmanaged(data: AutomoxData, perDevice: number, rng: Rng, lastId: number): void {
  let id = lastId;
  for (const server of data.servers) {
    for (let k = 0; k < perDevice; k++) {
      const sw = UNMANAGED_SOFTWARE[(server.id + k) % UNMANAGED_SOFTWARE.length]!;
      data.packages.push({
        id: ++id,
        server_id: server.id,
        package_id: 0,
        software_id: 90_000 + ((server.id + k) % UNMANAGED_SOFTWARE.length),
        installed: true,
        ignored: false,
        group_ignored: false,
        deferred_until: null,
        group_deferred_until: null,
        name: sw.name,
        display_name: sw.display_name,
        version: rng.pick(sw.versions),
        repo: server.os_family === 'Windows' ? 'Windows' : server.os_family === 'Mac' ? 'Apple' : 'Linux',
        cves: [],
        cve_score: null,
        severity: 'none',
        agent_severity: null,
        package_version_id: 0,
        os_name: server.os_name,
        os_version: server.os_version,
        os_version_id: server.os_version_id,
        create_time: isoTime(BASE_TIME - rng.int(0, 120) * DAY),
        requires_reboot: false,
        patch_classification_category_id: null,
        patch_scope: null,
        is_uninstallable: false,
        secondary_id: '',
        is_managed: false,
        impact: 0,
        organization_id: server.organization_id,
      });
    }
  }
}
