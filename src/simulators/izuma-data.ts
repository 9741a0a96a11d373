/**
 * The Izuma simulator's account (src/simulators/izuma.ts): devices, device groups, firmware images
 * and the account as the published definition has them, generated from a seed.
 */
import { createRng } from './http-sim.js';
import type { Rng } from './http-sim.js';

export interface IzumaDevice {
  object: 'device';
  id: string;
  account_id: string;
  name: string;
  description: string;
  state: 'unenrolled' | 'cloud_enrolling' | 'bootstrapped' | 'registered' | 'deregistered';
  deployed_state: 'development' | 'production';
  endpoint_name: string;
  endpoint_type: string;
  serial_number: string;
  vendor_id: string;
  device_class: string;
  device_key: string;
  ca_id: string;
  issuer_fingerprint: string;
  firmware_checksum: string;
  manifest: string;
  /** Only once a manifest was applied: the published date-time has no null. */
  manifest_timestamp?: string;
  mechanism: 'connector' | 'direct';
  mechanism_url: string;
  host_gateway: string;
  device_execution_mode: number;
  auto_update: boolean;
  /** Only once bootstrapped. */
  bootstrapped_timestamp?: string;
  bootstrap_expiration_date: string | null;
  connector_expiration_date: string | null;
  groups: string[];
  custom_attributes: Record<string, string>;
  created_at: string;
  updated_at: string;
  etag: string;
  x_future_field?: Record<string, unknown>;
}

export interface IzumaDeviceGroup {
  object: 'device-group';
  id: string;
  name: string;
  description: string;
  custom_attributes: Record<string, string>;
  devices_count: number;
  created_at: string;
  updated_at: string;
  etag: string;
}

export interface IzumaFirmwareImage {
  object: 'firmware-image';
  id: string;
  name: string;
  description: string;
  datafile: string;
  datafile_checksum: string;
  datafile_size: number;
  created_at: string;
  updated_at: string;
  etag: string;
}

export interface IzumaAccount {
  object: 'account';
  id: string;
  display_name: string;
  company: string;
  email: string;
  country: string;
  status: 'ACTIVE' | 'SUSPENDED' | 'RESTRICTED';
  tier: string;
  end_market: string;
  customer_number: string;
  aliases: string[];
  limits: Record<string, string>;
  /** The parent account of a tenant (Izuma's account hierarchy); null for a top-level account. */
  parent_id: string | null;
  created_at: string;
  updated_at: string;
  etag: string;
}

export interface IzumaData {
  account: IzumaAccount;
  devices: IzumaDevice[];
  groups: IzumaDeviceGroup[];
  firmwareImages: IzumaFirmwareImage[];
}

export interface GenerateIzumaOptions {
  seed?: number;
  devices: number;
  /** Default 3. */
  groups?: number;
  /** Default 2. */
  firmwareImages?: number;
}

const BASE_TIME = Date.UTC(2023, 10, 30, 16, 25, 12, 123);
const HOUR = 3_600_000;
export const iso = (ms: number): string => new Date(ms).toISOString();

/** 32-hex id whose first 12 digits are the creation time in ms, so ids sort like creation order. */
export function izumaId(createdMs: number, counter: number, kind = 1): string {
  return (
    Math.floor(createdMs).toString(16).padStart(12, '0').slice(-12) +
    '0242ac12' +
    kind.toString(16).padStart(4, '0') +
    counter.toString(16).padStart(8, '0').slice(-8)
  );
}

const DEVICE_CLASSES = ['', 'sensor-v2', 'gateway', 'smart-meter'];
const GROUP_NAMES = ['Factory floor', 'Gateways', 'Zürich-Büro-Ümlaut-😀', '大阪倉庫', 'Pilot', 'Field units'];

/** One generated device of the account, created at `created` (ms). */
export function makeDevice(rng: Rng, accountId: string, created: number, counter: number, groups: IzumaDeviceGroup[]): IzumaDevice {
  const id = izumaId(created, counter, 1);
  const endpoint = rng.uuid();
  const updated = created + rng.int(1, 500) * HOUR;
  const state = rng.pick(['registered', 'registered', 'registered', 'bootstrapped', 'deregistered'] as const);
  const memberOf = groups.filter(() => rng.bool(0.3)).map((g) => g.id);
  const isGateway = rng.bool(0.1);
  const name = counter % 19 === 7 ? rng.pick(['Thermostat-Küche-😀', 'センサー-3F', 'Capteur-Entrée']) : `dev-${endpoint.slice(0, 8)}`;
  const description = rng.bool(0.3) ? 'Installed by field team' : '';
  // The draw of a lifecycle status (not in the published DeviceData) stays, so a seed gives the same devices.
  void rng.bool(0.95);
  const device: IzumaDevice = {
    object: 'device',
    id,
    account_id: accountId,
    name,
    description,
    state,
    deployed_state: rng.bool(0.8) ? 'production' : 'development',
    endpoint_name: endpoint,
    endpoint_type: isGateway ? 'MBED_GW' : '',
    serial_number: `SN${rng.digits(10)}`,
    vendor_id: '42fa7b48-1a65-43aa-890f-8c704daade54',
    device_class: isGateway ? 'gateway' : rng.pick(DEVICE_CLASSES),
    device_key: Array.from({ length: 32 }, () => rng.hex(2)).join(':'),
    ca_id: rng.hex(32),
    issuer_fingerprint: rng.hex(64),
    firmware_checksum: rng.hex(64),
    manifest: '',
    ...(rng.bool(0.5) ? { manifest_timestamp: iso(updated - HOUR) } : {}),
    mechanism: 'connector',
    mechanism_url: '',
    host_gateway: '',
    device_execution_mode: rng.bool(0.1) ? 1 : 0,
    auto_update: false,
    ...(state === 'registered' || state === 'bootstrapped' ? { bootstrapped_timestamp: iso(created + 60_000) } : {}),
    bootstrap_expiration_date: null,
    connector_expiration_date: null,
    groups: memberOf,
    custom_attributes: rng.bool(0.3) ? { site: rng.pick(['ams-1', 'tyo-2', 'zrh-3']) } : {},
    created_at: iso(created),
    updated_at: iso(updated),
    etag: iso(updated),
  };
  if (counter % 8 === 5) device.x_future_field = { lwm2m: { objects: [3, 5, 3303] } };
  return device;
}

/**
 * Deterministic fake Izuma account (seeded mulberry32). Arrays are in ascending id order. The
 * account, groups, images and devices draw from `rng` in that order, so a seed gives the same account.
 */
export function generateIzumaData(opts: GenerateIzumaOptions): IzumaData {
  const rng = createRng(opts.seed ?? 1);
  const account = makeAccount(rng);
  const groups = makeGroups(rng, opts.groups ?? 3);
  const images = makeFirmwareImages(rng, opts.firmwareImages ?? 2);

  const devices: IzumaDevice[] = [];
  for (let d = 0; d < opts.devices; d++) {
    const created = BASE_TIME - 100 * 24 * HOUR + d * 60_000 + rng.int(0, 59_999);
    const device = makeDevice(rng, account.id, created, d + 1, groups);
    const fw = images.length > 0 ? rng.pick(images) : undefined;
    if (fw) device.firmware_checksum = fw.datafile_checksum;
    for (const gid of device.groups) {
      const g = groups.find((x) => x.id === gid);
      if (g) g.devices_count++;
    }
    devices.push(device);
  }
  return { account, devices, groups, firmwareImages: images };
}

function makeAccount(rng: Rng): IzumaAccount {
  const accountCreated = BASE_TIME - 400 * 24 * HOUR;
  return {
    object: 'account',
    id: izumaId(accountCreated, 1, 0xacc),
    display_name: 'Fleetsync Demo',
    company: 'Fleetsync Demo GmbH',
    email: 'iot-admin@example.com',
    country: 'Switzerland',
    status: 'ACTIVE',
    tier: '1',
    end_market: 'IT',
    customer_number: rng.digits(8),
    aliases: ['fleetsync-demo'],
    limits: { 'iam_limit_api_keys': '300', 'iam_limit_user_count': '50' },
    // A tenant of a commercial account, as sub-tenants are.
    parent_id: izumaId(accountCreated - 24 * HOUR, 1, 0xa11),
    created_at: iso(accountCreated),
    updated_at: iso(accountCreated + 30 * 24 * HOUR),
    etag: '1',
  };
}

function makeGroups(rng: Rng, groupCount: number): IzumaDeviceGroup[] {
  const groups: IzumaDeviceGroup[] = [];
  for (let g = 0; g < groupCount; g++) {
    const created = BASE_TIME - 300 * 24 * HOUR + g * HOUR;
    groups.push({
      object: 'device-group',
      id: izumaId(created, g + 1, 0x9),
      name: GROUP_NAMES[g % GROUP_NAMES.length] ?? `Group ${g}`,
      description: '',
      custom_attributes: {},
      devices_count: 0,
      created_at: iso(created),
      updated_at: iso(created + rng.int(1, 100) * HOUR),
      etag: iso(created),
    });
  }
  return groups;
}

function makeFirmwareImages(rng: Rng, count: number): IzumaFirmwareImage[] {
  const images: IzumaFirmwareImage[] = [];
  for (let f = 0; f < count; f++) {
    const created = BASE_TIME - 200 * 24 * HOUR + f * 24 * HOUR;
    const checksum = rng.hex(64);
    images.push({
      object: 'firmware-image',
      id: izumaId(created, f + 1, 0xf),
      name: `firmware-v${1 + Math.floor(f / 3)}.${f % 3}.0`,
      description: f === 0 ? 'Initial production image' : '',
      datafile: `https://firmware-catalog-media.example.com/${checksum.slice(0, 12)}.bin`,
      datafile_checksum: checksum,
      // int64 in the published definition: every second image is a full-system image of 2 GiB or more.
      datafile_size: f % 2 === 1 ? 2 ** 31 + rng.int(200_000, 900_000) * 4096 : rng.int(200_000, 900_000),
      created_at: iso(created),
      updated_at: iso(created),
      etag: iso(created),
    });
  }
  return images;
}
