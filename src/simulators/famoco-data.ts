/**
 * Deterministic fake Famoco tenant (seeded mulberry32): organizations, their profiles and
 * fleets, and devices spread over the fleets. Every draw from the generator happens in one fixed
 * order, so a seed always yields the same tenant.
 */
import { createRng, type Rng } from './sim-data.js';
import type { FamocoData, FamocoDevice, FamocoFleet, FamocoHardwareDetails, FamocoOrganization, FamocoProfile, FamocoStateDetails } from './famoco-records.js';

export interface GenerateFamocoOptions {
  seed?: number;
  orgs: number;
  devicesPerOrg: number | number[];
  /** Fleets per org (the first is the stock fleet); default 3, minimum 1. */
  fleetsPerOrg?: number;
}

const BASE_TIME = Date.UTC(2024, 2, 1, 8, 0, 0);
const DAY = 86_400_000;

const ORG_NAMES = ['Famoco Developers', 'Transports Île-de-France', '東京交通カード', 'Zürich-Büro-Ümlaut-😀', 'Acme Retail'];
const FLEET_NAMES = ['Stock', 'Ticket inspectors', 'Drivers', 'Point of sale', 'Entrepôt Nord', 'Demo'];
const PROFILE_NAMES = ['Kiosk – Ticketing', 'Drivers app', 'POS lockdown', 'Default'];

interface DeviceModel {
  model: string;
  gtin: string;
  os: string;
  api: number;
  ram: number;
  storage: number;
}

const MODELS: readonly DeviceModel[] = [
  { model: 'FX205', gtin: '03770004396001', os: '8.1.0', api: 27, ram: 2048, storage: 16 },
  { model: 'FX300', gtin: '03770004396018', os: '9', api: 28, ram: 2048, storage: 16 },
  { model: 'FX915', gtin: '03770004396025', os: '10', api: 29, ram: 3072, storage: 32 },
  { model: 'FX920', gtin: '03770004396032', os: '11', api: 30, ram: 4096, storage: 64 },
];

const iso = (ms: number): string => new Date(ms).toISOString();

/** The last id (and serial) handed out of each kind, across organizations. */
interface IdCounters {
  fleet: number;
  profile: number;
  device: number;
  serial: number;
}

/** One organization being generated: its position, its record, when it was created, the counters. */
interface OrgContext {
  index: number;
  org: FamocoOrganization;
  created: number;
  ids: IdCounters;
}

function famocoId(gtin: string, serial: string): string {
  // GS1 element string, as on the device sticker: (01) GTIN, (21) serial.
  return `(01)${gtin}(21)${serial}`;
}

/** Luhn-valid 15-digit IMEI from a 14-digit body. */
function imei(rng: Rng): string {
  const body = `35${rng.digits(12)}`;
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return body + String((10 - (sum % 10)) % 10);
}

/** Deterministic fake Famoco tenant (seeded mulberry32). Ids ascend in array order. */
export function generateFamocoData(opts: GenerateFamocoOptions): FamocoData {
  const rng = createRng(opts.seed ?? 1);
  const fleetsPerOrg = Math.max(1, opts.fleetsPerOrg ?? 3);
  const data: FamocoData = { organizations: [], fleets: [], profiles: [], devices: [] };
  const ids: IdCounters = { fleet: 300, profile: 700, device: 40_000, serial: 0x580 };

  for (let o = 0; o < opts.orgs; o++) {
    const deviceCount = Array.isArray(opts.devicesPerOrg) ? (opts.devicesPerOrg[o] ?? 0) : opts.devicesPerOrg;
    const created = BASE_TIME - rng.int(100, 1200) * DAY;
    const org = organization(rng, { index: o, created, deviceCount, fleetsPerOrg });
    data.organizations.push(org);
    const ctx: OrgContext = { index: o, org, created, ids };
    const profiles = orgProfiles(rng, ctx, Math.min(2, fleetsPerOrg));
    data.profiles.push(...profiles);
    const fleets = orgFleets(rng, ctx, { count: fleetsPerOrg, profiles });
    data.fleets.push(...fleets);
    for (let d = 0; d < deviceCount; d++) data.devices.push(device(rng, ctx, { index: d, fleets }));
  }
  return data;
}

function organization(rng: Rng, o: { index: number; created: number; deviceCount: number; fleetsPerOrg: number }): FamocoOrganization {
  const org: FamocoOrganization = {
    id: 2000 + o.index + 1,
    guid: rng.uuid(),
    name: o.index < ORG_NAMES.length ? (ORG_NAMES[o.index] ?? 'Org') : `${ORG_NAMES[o.index % ORG_NAMES.length] ?? 'Org'} ${o.index}`,
    create_date: iso(o.created),
    update_date: iso(o.created + rng.int(1, 90) * DAY),
    devices_count: o.deviceCount,
    fleets_count: o.fleetsPerOrg,
    status: 'active',
    is_blocked: false,
  };
  if (o.index % 2 === 1) org.x_future_field = { billing_tier: 'gold' };
  return org;
}

function orgProfiles(rng: Rng, ctx: OrgContext, count: number): FamocoProfile[] {
  const profiles: FamocoProfile[] = [];
  const o = ctx.index;
  for (let p = 0; p < count; p++) {
    profiles.push({
      id: ++ctx.ids.profile,
      name: PROFILE_NAMES[(o + p) % PROFILE_NAMES.length] ?? 'Profile',
      description: '',
      organization: ctx.org.id,
      version: rng.int(1, 40),
      applications_count: rng.int(1, 12),
      created_at: iso(ctx.created + DAY),
      updated_at: iso(ctx.created + rng.int(2, 60) * DAY),
    });
  }
  return profiles;
}

/** The org's fleets; the first is the stock fleet, without a profile. */
function orgFleets(rng: Rng, ctx: OrgContext, spec: { count: number; profiles: FamocoProfile[] }): FamocoFleet[] {
  const fleets: FamocoFleet[] = [];
  const o = ctx.index;
  for (let f = 0; f < spec.count; f++) {
    const isStock = f === 0;
    const profile = isStock ? null : (spec.profiles[f % spec.profiles.length] ?? null);
    fleets.push({
      id: ++ctx.ids.fleet,
      name: isStock ? 'Stock' : (FLEET_NAMES[1 + ((f - 1 + o) % (FLEET_NAMES.length - 1))] ?? `Fleet ${f}`),
      description: isStock ? 'Devices not yet deployed' : '',
      organization: ctx.org.id,
      profile: profile ? { id: profile.id, name: profile.name } : null,
      devices_count: 0,
      is_stock: isStock,
      created_at: iso(ctx.created + DAY),
      updated_at: iso(ctx.created + rng.int(2, 60) * DAY),
    });
  }
  return fleets;
}

/** One device in a fleet drawn at random (whose devices_count it raises). */
function device(rng: Rng, ctx: OrgContext, spec: { index: number; fleets: FamocoFleet[] }): FamocoDevice {
  const d = spec.index;
  const id = ++ctx.ids.device;
  const m = rng.pick(MODELS);
  const serial = (ctx.ids.serial++).toString(16).toUpperCase().padStart(4, '0');
  const fleet = spec.fleets[rng.int(0, spec.fleets.length - 1)] ?? null;
  if (fleet) fleet.devices_count++;
  const online = rng.bool(0.7);
  const neverSynced = rng.bool(0.05);
  const lastSync = neverSynced ? null : BASE_TIME + rng.int(0, 30 * DAY);
  const createdAt = ctx.created + rng.int(2, 90) * DAY;
  const label = d % 13 === 4 ? rng.pick(['Contrôleur-Gare-Nord', '改札機-渋谷', 'Kassé 😀 #2']) : `${m.model}-${serial}`;
  const serialNumber = rng.bool(0.9) ? `${m.model}${rng.digits(8)}` : null;
  const hardware = hardwareDetails(rng, m, serial);
  const state = stateDetails(rng, m, { online, neverSynced, lastSync });
  const rec: FamocoDevice = {
    id,
    famoco_id: famocoId(m.gtin, serial),
    serial_number: serialNumber,
    label,
    model: m.model,
    organization: ctx.org.id,
    fleet: fleet ? { id: fleet.id, name: fleet.name } : null,
    profile: fleet?.profile ? { ...fleet.profile } : null,
    hardware_details: hardware,
    state_details: state,
    maintenance_status: fleet?.is_stock ? 'in_stock' : rng.bool(0.05) ? 'in_repair' : 'in_the_field',
    comment: rng.bool(0.1) ? 'Écran remplacé 2024-02' : '',
    is_archived: false,
    created_at: iso(createdAt),
    updated_at: iso(createdAt + rng.int(1, 200) * DAY),
  };
  if (d % 9 === 2) rec.x_future_field = { esim: { eid: rng.digits(32) } };
  return rec;
}

function hardwareDetails(rng: Rng, m: DeviceModel, serial: string): FamocoHardwareDetails {
  return {
    imei: m.model === 'FX205' ? [] : rng.bool(0.5) ? [imei(rng), imei(rng)] : [imei(rng)],
    wifi_mac: rng.mac('00:16:58'),
    bluetooth_mac: rng.mac('00:16:58'),
    manufacturer: 'Famoco',
    model: m.model,
    serial_number: serial,
    nfc: true,
    ram_mb: m.ram,
    storage_gb: m.storage,
  };
}

function stateDetails(rng: Rng, m: DeviceModel, sync: { online: boolean; neverSynced: boolean; lastSync: number | null }): FamocoStateDetails {
  const { online, neverSynced, lastSync } = sync;
  return {
    os_version: m.os,
    api_level: m.api,
    build_number: `${m.model}_${m.os}_${rng.int(2021, 2024)}${String(rng.int(1, 12)).padStart(2, '0')}`,
    agent_version: rng.pick(['4.12.0', '4.13.2', '5.0.1']),
    battery_level: rng.int(3, 100),
    battery_plugged: rng.bool(0.3),
    is_online: online,
    ip_address: online ? `192.168.${rng.int(0, 20)}.${rng.int(2, 250)}` : null,
    storage_free_mb: rng.int(200, m.storage * 900),
    last_sync: lastSync === null ? null : iso(lastSync),
    sync_status: neverSynced ? 'never_synced' : rng.pick(['synced', 'synced', 'synced', 'pending', 'failed'] as const),
    heartbeat: lastSync === null ? null : iso(lastSync + rng.int(0, 3 * DAY)),
  };
}
