import { randomBytes } from 'node:crypto';
import { AutomoxSimulator, generateAutomoxData } from './automox.js';
import { FamocoInsightsSimulator, FamocoSimulator, generateFamocoData } from './famoco.js';
import type { HttpSimulator } from './http-sim.js';
import { IzumaSimulator, generateIzumaData } from './izuma.js';
import { PartnerSimulator, generatePartnerData, partnerRestConfig } from './partner.js';
import { TogglSimulator, generateTogglData } from './toggl.js';

/** A simulator serving one vendor for a local trial, with the config source that syncs it. */
export interface TrialSimulator {
  vendor: string;
  sim: HttpSimulator;
  /** The base URL the config's source uses (the origin plus the vendor's API prefix). */
  baseUrl: string;
  /** A config `sources` entry for it; credentials reference the variables of `secrets`. */
  source: Record<string, unknown>;
  /** Throwaway credentials, by environment variable name; valid only against this simulator. */
  secrets: Record<string, string>;
}

interface TrialSpec {
  /** What the simulator serves, for the command's help. */
  what: string;
  build(devices: number, secret: () => string): { sim: HttpSimulator; prefix: string; secrets: Record<string, string>; source: (baseUrl: string) => Record<string, unknown> };
}

const ref = (name: string) => `\${${name}}`;

/** The vendors `fleetsync simulate` serves, by the config's `vendor` name. */
export const TRIAL_VENDORS: Readonly<Record<string, TrialSpec>> = {
  automox: {
    what: 'Automox console API: 2 organizations, servers with details, software packages',
    build: (devices, secret) => {
      const key = secret();
      return {
        sim: new AutomoxSimulator({ apiKey: key, data: generateAutomoxData({ seed: 7, orgs: 2, devicesPerOrg: [devices, Math.ceil(devices / 3)], packagesPerDevice: 3 }) }),
        prefix: '/api',
        secrets: { TRIAL_AUTOMOX_KEY: key },
        source: (baseUrl) => ({ id: 'automox-trial', vendor: 'automox', baseUrl, credentials: { apiKey: ref('TRIAL_AUTOMOX_KEY') } }),
      };
    },
  },
  famoco: {
    what: 'Famoco MDM API: 2 organizations with fleets, profiles and devices',
    build: (devices, secret) => {
      const token = secret();
      return {
        sim: new FamocoSimulator({ token, data: generateFamocoData({ seed: 7, orgs: 2, devicesPerOrg: [devices, Math.ceil(devices / 3)] }) }),
        prefix: '',
        secrets: { TRIAL_FAMOCO_TOKEN: token },
        source: (baseUrl) => ({ id: 'famoco-trial', vendor: 'famoco', baseUrl, credentials: { token: ref('TRIAL_FAMOCO_TOKEN') } }),
      };
    },
  },
  'famoco-insights': {
    what: 'Famoco Insights API: devices per organization GUID',
    build: (devices, secret) => {
      const token = secret();
      return {
        sim: new FamocoInsightsSimulator({ token, data: generateFamocoData({ seed: 7, orgs: 2, devicesPerOrg: [devices, Math.ceil(devices / 3)] }) }),
        prefix: '',
        secrets: { TRIAL_INSIGHTS_TOKEN: token },
        source: (baseUrl) => ({
          id: 'insights-trial',
          vendor: 'famoco-insights',
          baseUrl,
          credentials: { token: ref('TRIAL_INSIGHTS_TOKEN') },
          options: { endpoints: { devices: '/api/organizations/{guid}/devices/' } },
        }),
      };
    },
  },
  izuma: {
    what: 'Izuma Device Management API: devices, device groups, firmware images',
    build: (devices, secret) => {
      const key = `ak_${secret()}`;
      return {
        sim: new IzumaSimulator({ apiKey: key, data: generateIzumaData({ seed: 7, devices, groups: 4, firmwareImages: 3 }) }),
        prefix: '',
        secrets: { TRIAL_IZUMA_KEY: key },
        source: (baseUrl) => ({ id: 'izuma-trial', vendor: 'izuma', baseUrl, credentials: { apiKey: ref('TRIAL_IZUMA_KEY') } }),
      };
    },
  },
  toggl: {
    what: 'Toggl Track API v9: 2 workspaces with projects, clients and users (about 1 request/s, like Toggl)',
    build: (devices, secret) => {
      const token = secret();
      return {
        sim: new TogglSimulator({ apiToken: token, data: generateTogglData({ seed: 7, workspaces: 2, projectsPerWorkspace: [devices, Math.ceil(devices / 3)] }) }),
        prefix: '/api/v9',
        secrets: { TRIAL_TOGGL_TOKEN: token },
        source: (baseUrl) => ({ id: 'toggl-trial', vendor: 'toggl', baseUrl, credentials: { apiToken: ref('TRIAL_TOGGL_TOKEN') } }),
      };
    },
  },
  rest: {
    what: 'a partner API declared in configuration only (docs/rest-sources.md): OUs with sites and devices',
    build: (devices, secret) => {
      const id = `trial-${secret().slice(0, 8)}`;
      const password = secret();
      return {
        sim: new PartnerSimulator({ clientId: id, clientSecret: password, data: generatePartnerData({ seed: 7, sitesPerOu: [[devices, Math.ceil(devices / 3)], [Math.ceil(devices / 5)]], usersPerOu: 10 }) }),
        prefix: '/v1',
        secrets: { TRIAL_PARTNER_ID: id, TRIAL_PARTNER_SECRET: password },
        source: (baseUrl) => ({
          id: 'partner-trial',
          vendor: 'rest',
          baseUrl,
          credentials: { clientId: ref('TRIAL_PARTNER_ID'), clientSecret: ref('TRIAL_PARTNER_SECRET') },
          rest: partnerRestConfig(),
        }),
      };
    },
  },
};

/**
 * Starts the simulator of `vendor` on 127.0.0.1:`port` (0: a free one) with `devices` records in
 * its first organization, and fresh random credentials. Throws for an unknown vendor (naming the
 * known ones) and EADDRINUSE when the port is taken. The caller stops `sim`.
 */
export async function startTrialSimulator(vendor: string, opts: { port: number; devices: number }): Promise<TrialSimulator> {
  const spec = TRIAL_VENDORS[vendor];
  if (!spec) throw new Error(`no simulator for vendor "${vendor}" (simulators: ${Object.keys(TRIAL_VENDORS).join(', ')})`);
  const built = spec.build(opts.devices, () => randomBytes(12).toString('hex'));
  const origin = await built.sim.start(opts.port);
  const baseUrl = `${origin}${built.prefix}`;
  return { vendor, sim: built.sim, baseUrl, source: built.source(baseUrl), secrets: built.secrets };
}
