/**
 * The Famoco Insights simulator (real base https://insights.famoco.com): the same organizations
 * as the MDM, and device health snapshots scoped by organization GUID (see famoco.ts).
 */
import { FamocoBase, type FamocoSimulatorOptions } from './famoco-base.js';
import { notFoundBody } from './famoco-drf.js';
import type { FamocoDevice } from './famoco-records.js';
import type { RateWindow } from './http-sim.js';
import { byId } from './sim-data.js';

/** Documented Insights limits: 60 requests/minute and 600 requests/hour per client. */
export const FAMOCO_INSIGHTS_RATE_LIMITS: RateWindow[] = [
  { max: 60, windowMs: 60_000 },
  { max: 600, windowMs: 3_600_000 },
];

/** Device snapshot as served by the Insights API (derived from the MDM device). */
export interface FamocoInsightsDevice {
  famoco_id: string;
  serial_number: string | null;
  model: string;
  organization_guid: string;
  os_version: string;
  agent_version: string;
  battery_level: number;
  battery_health: 'good' | 'fair' | 'poor';
  storage_free_mb: number;
  is_online: boolean;
  last_seen: string | null;
}

export function toInsightsDevice(d: FamocoDevice, orgGuid: string): FamocoInsightsDevice {
  return {
    famoco_id: d.famoco_id,
    serial_number: d.serial_number,
    model: d.model,
    organization_guid: orgGuid,
    os_version: d.state_details.os_version,
    agent_version: d.state_details.agent_version,
    battery_level: d.state_details.battery_level,
    battery_health: d.id % 10 === 0 ? 'poor' : d.id % 4 === 0 ? 'fair' : 'good',
    storage_free_mb: d.state_details.storage_free_mb,
    is_online: d.state_details.is_online,
    last_seen: d.state_details.heartbeat,
  };
}

export class FamocoInsightsSimulator extends FamocoBase {
  constructor(opts: FamocoSimulatorOptions) {
    super(opts);
    this.get(/^\/api\/organizations\/?$/, (req) =>
      this.paginate(
        req,
        byId(this.data.organizations).map((o) => ({ id: o.id, guid: o.guid, name: o.name })),
      ),
    );
    this.get(/^\/api\/organizations\/([^/]+)\/devices\/?$/, (req, [guid]) => {
      const org = this.orgByGuid(guid ?? '');
      if (!org) return notFoundBody();
      const devices = byId(this.data.devices.filter((d) => d.organization === org.id));
      return this.paginate(req, devices.map((d) => toInsightsDevice(d, org.guid)));
    });
  }
}
