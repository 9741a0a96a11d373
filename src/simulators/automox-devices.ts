/**
 * The Automox simulator's devices (src/simulators/automox.ts): one seeded server with its hardware,
 * NICs and status, and the devices of the generated (lazy) mode made per request.
 */
import { createRng } from './http-sim.js';
import type { Rng } from './http-sim.js';
import { automoxTime, type AutomoxNic, type AutomoxServer, type AutomoxServerDetail, type AutomoxServerGroup, type AutomoxServerStatus } from './automox-records.js';

export const BASE_TIME = Date.UTC(2024, 0, 15, 9, 30, 0);
export const DAY = 86_400_000;

const HOST_PREFIXES = ['WS', 'LT', 'SRV', 'MAC', 'BLD', 'KIOSK'];
const USERS = ['jdoe', 'asmith', 'mmüller', 'tnakamura', 'lchen', 'rpatel', 'ksato', 'ebrown', 'admin'];
const TIMEZONES = ['(UTC) Coordinated Universal Time', '(UTC-05:00) Eastern Time (US & Canada)', '(UTC+01:00) Amsterdam, Berlin, Bern, Rome', '(UTC+09:00) Osaka, Sapporo, Tokyo'];

interface OsProfile {
  os_family: string;
  os_name: string;
  os_version: string;
  os_version_id: number;
  hw: Hardware[];
}

interface Hardware {
  vendor: string;
  model: string;
  cpu: string;
  nicVendor: string;
  macPrefix: string;
}

const OS_PROFILES: OsProfile[] = [
  {
    os_family: 'Windows',
    os_name: 'Microsoft Windows 11 Pro',
    os_version: '10.0.22631',
    os_version_id: 112,
    hw: [
      { vendor: 'Dell Inc.', model: 'Latitude 7440', cpu: '13th Gen Intel(R) Core(TM) i7-1365U', nicVendor: 'Intel Corporation', macPrefix: 'a4:bb:6d' },
      { vendor: 'LENOVO', model: '21HD0047US', cpu: 'AMD Ryzen 7 PRO 7840U w/ Radeon 780M Graphics', nicVendor: 'Realtek', macPrefix: '8c:8c:aa' },
    ],
  },
  {
    os_family: 'Windows',
    os_name: 'Microsoft Windows Server 2022 Standard',
    os_version: '10.0.20348',
    os_version_id: 108,
    hw: [{ vendor: 'VMware, Inc.', model: 'VMware7,1', cpu: 'Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz', nicVendor: 'VMware', macPrefix: '00:50:56' }],
  },
  {
    os_family: 'Mac',
    os_name: 'macOS Sonoma',
    os_version: '14.5',
    os_version_id: 131,
    hw: [{ vendor: 'Apple Inc.', model: 'MacBookPro18,3', cpu: 'Apple M1 Pro', nicVendor: 'Apple', macPrefix: 'f4:d4:88' }],
  },
  {
    os_family: 'Linux',
    os_name: 'Ubuntu',
    os_version: '22.04.4 LTS',
    os_version_id: 95,
    hw: [{ vendor: 'HP', model: 'ProLiant DL360 Gen10', cpu: 'Intel(R) Xeon(R) Silver 4214R CPU @ 2.40GHz', nicVendor: 'Broadcom Inc.', macPrefix: '94:40:c9' }],
  },
];

function ipv4(rng: Rng, prefix: string): string {
  return `${prefix}.${rng.int(0, 254)}.${rng.int(1, 254)}`;
}

/** One seeded device. Helpers draw in place, so the order of draws (hence a seed's tenant) stays as it was. */
export function makeServer(rng: Rng, id: number, orgId: number, groupId: number, index: number): AutomoxServer {
  const os = rng.pick(OS_PROFILES);
  const hw = rng.pick(os.hw);
  const prefix = os.os_family === 'Mac' ? 'MAC' : os.os_family === 'Linux' ? 'SRV' : rng.pick(HOST_PREFIXES);
  const unicodeName = index % 17 === 5 ? rng.pick(['Büro-PC-Ünterföhring', '会議室-端末', 'Kiosk-😀-Lobby']) : null;
  const name = unicodeName ?? `${prefix}-${String(id).slice(-5)}-${rng.hex(4).toUpperCase()}`;
  const serial = hw.vendor === 'Apple Inc.' ? `C02${rng.hex(9).toUpperCase()}` : `${rng.hex(3).toUpperCase()}${rng.digits(4)}${rng.hex(3).toUpperCase()}`;
  const created = BASE_TIME - rng.int(30, 900) * DAY + rng.int(0, DAY - 1);
  const refreshed = BASE_TIME + rng.int(0, 20) * DAY + rng.int(0, DAY - 1);
  const connected = rng.bool(0.85);
  const priv = ipv4(rng, '10.' + rng.int(0, 40));
  const nics = makeNics(rng, os, hw, { connected, ip: priv });
  const compliant = rng.bool(0.7);
  const pendingPatches = compliant ? 0 : rng.int(1, 14);
  const policyIds = [rng.int(100000, 100050), rng.int(100051, 100099)];
  const server: AutomoxServer = {
    id,
    os_version_id: os.os_version_id,
    server_group_id: groupId,
    organization_id: orgId,
    uuid: rng.uuid(),
    name,
    ...(index % 6 === 1 ? { custom_name: `Front desk ${index}` } : {}),
    display_name: index % 6 === 1 ? `Front desk ${index}` : name,
    refresh_interval: 1440,
    last_update_time: automoxTime(refreshed - rng.int(0, 3) * DAY),
    last_refresh_time: automoxTime(refreshed),
    create_time: automoxTime(created),
    ...(connected ? {} : { last_disconnect_time: automoxTime(refreshed + rng.int(60_000, DAY)) }),
    uptime: rng.int(600, 3_000_000),
    needs_reboot: rng.bool(0.2),
    timezone: rng.pick(TIMEZONES),
    tags: rng.bool(0.4) ? [rng.pick(['prod', 'vip', 'pilot', 'finance', 'kiosk'])] : [],
    os_version: os.os_version,
    os_name: os.os_name,
    os_family: os.os_family,
    ip_addrs: [`${rng.int(20, 220)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`],
    ip_addrs_private: [priv],
    patches: pendingPatches + rng.int(0, 5),
    pending_patches: pendingPatches,
    agent_version: rng.pick(['1.44-26', '1.45-12', '2.0.28', '2.1.7']),
    ...(hw.vendor === 'VMware, Inc.' ? { instance_id: `i-${rng.hex(17)}` } : {}),
    connected,
    exception: rng.bool(0.03),
    pending: !compliant && rng.bool(0.3),
    compliant,
    needs_attention: !connected || rng.bool(0.05),
    is_compatible: true,
    last_logged_in_user: os.os_family === 'Windows' ? `CORP\\${rng.pick(USERS)}` : rng.pick(USERS),
    serial_number: serial,
    status: makeStatus(connected, compliant, policyIds),
    // Last field: its draws come after every other one of the server.
    detail: makeDetail(rng, hw, serial, nics),
  };
  addQuirks(rng, server, index);
  return server;
}

/** What some devices carry: an empty `serial_number`, a field the published schema does not have. */
function addQuirks(rng: Rng, server: AutomoxServer, index: number): void {
  // Some agents leave `serial_number` empty; the hardware serial is still in detail.SERIAL.
  if (index % 11 === 4) server.serial_number = '';
  if (index % 7 === 3) {
    server.x_future_field = { rollout_ring: rng.pick(['canary', 'broad']), telemetry: { v: 2, sampled: rng.bool() } };
  }
}

/** A device's NICs: the first carries its private address and its connection state. */
function makeNics(rng: Rng, os: OsProfile, hw: Hardware, first: { connected: boolean; ip: string }): AutomoxNic[] {
  const nicCount = rng.bool(0.65) ? 1 : 2;
  const nics: AutomoxNic[] = [];
  for (let n = 0; n < nicCount; n++) {
    nics.push({
      CONNECTED: n === 0 ? first.connected : rng.bool(0.3),
      DEVICE: os.os_family === 'Windows' ? `${hw.nicVendor} Ethernet Adapter #${n + 1}` : os.os_family === 'Mac' ? `en${n}` : `eno${n + 1}`,
      IPS: n === 0 ? [first.ip] : [],
      MAC: rng.mac(hw.macPrefix).toUpperCase(),
      TYPE: n === 0 && os.os_family !== 'Linux' && rng.bool(0.5) ? 'wireless' : 'ethernet',
      VENDOR: hw.nicVendor,
    });
  }
  return nics;
}

function makeStatus(connected: boolean, compliant: boolean, policyIds: number[]): AutomoxServerStatus {
  return {
    device_status: connected ? 'ready' : 'not-ready',
    agent_status: connected ? 'connected' : 'disconnected',
    policy_status: compliant ? 'compliant' : 'non-compliant',
    policy_statuses: policyIds.map((pid, k) => ({ id: pid, compliant: compliant || k === 1 })),
  };
}

/** The hardware detail (`include_details=1`). */
function makeDetail(rng: Rng, hw: Hardware, serial: string, nics: AutomoxNic[]): AutomoxServerDetail {
  return {
    CPU: hw.cpu,
    RAM: `${rng.pick([8, 16, 32, 64])} GB`,
    DISKS: Array.from({ length: rng.bool(0.8) ? 1 : 2 }, () => ({ SIZE: `${rng.pick([256, 512, 1024, 2048])} GB`, TYPE: rng.pick(['SSD', 'NVMe', 'HDD']) })),
    MODEL: hw.model,
    VENDOR: hw.vendor,
    VERSION: rng.pick(['1.18.0', '2.3.1', 'A21', 'N/A']),
    SERIAL: serial,
    SERVICETAG: hw.vendor === 'Dell Inc.' ? serial : '',
    NICS: nics,
  };
}


/** Options of the generated (lazy) mode of AutomoxSimulator. */
export interface GeneratedAutomoxOptions {
  seed?: number;
  orgs: number;
  devicesPerOrg: number;
  /** Default 3. */
  groupsPerOrg?: number;
}

/** First device id of the generated mode; ids are ascending per org, orgs in order. */
const GENERATED_FIRST_SERVER_ID = 1_000_001;

/**
 * Device `index` of org number `orgIndex` of a generated tenant (see GeneratedAutomoxOptions).
 * Deterministic: the same arguments give the same object, whatever was generated before.
 */
export function generatedAutomoxServer(opts: GeneratedAutomoxOptions, groups: readonly AutomoxServerGroup[], orgIndex: number, index: number): AutomoxServer {
  const id = GENERATED_FIRST_SERVER_ID + orgIndex * opts.devicesPerOrg + index;
  const rng = createRng(((opts.seed ?? 1) * 0x9e3779b1) ^ Math.imul(id, 0x85ebca6b));
  const groupsPerOrg = Math.max(1, opts.groupsPerOrg ?? 3);
  const group = groups[orgIndex * groupsPerOrg + rng.int(0, groupsPerOrg - 1)];
  if (!group) throw new Error(`no group for org index ${orgIndex}`);
  return makeServer(rng, id, 10_001 + orgIndex, group.id, index);
}
