/**
 * Famoco MDM and Famoco Insights simulators (vendor doc 000).
 *
 * MDM (real base https://my.famoco.com), connector baseUrl = origin:
 *   GET /api/organizations/                       organizations visible to the token
 *   GET /api/organizations/{id}/devices/          devices of an org
 *   GET /api/organizations/{id}/fleets/           fleets of an org
 *   GET /api/organizations/{id}/profiles/         profiles of an org
 * Choice of endpoints: the public quick start documents /api/organizations/ and
 * /api/organizations/{id}/devices/ and names /api/organizations/<id>/<resource>/export/; the MDM
 * UI and API group devices into "fleets" (a device belongs to one fleet) and apply a
 * configuration "profile", so those two collections are exposed as sibling org-scoped resources
 * named like the devices one. Devices embed {id, name} references to their fleet and profile.
 * The quick-start device sample uses `hardware_details.imei[]`, `wifi_mac`, `bluetooth_mac`.
 *
 * Insights (real base https://insights.famoco.com), scoped by org GUID:
 *   GET /api/organizations/                       (same orgs, id + guid)
 *   GET /api/organizations/{guid}/devices/        device health snapshots
 *
 * Both: `Authorization: Bearer <token>`; DRF page-number pagination `?page=N&page_size=M`
 * (page from 1 or "last", default page_size 100, max 1000), or with `pagination: 'limit-offset'`
 * DRF limit/offset pagination `?limit=N&offset=M` (default limit 10), answering
 * {count, next, previous, results} with absolute next/previous URLs on the simulator origin.
 * Errors are DRF bodies wrapped in {"errors": ...}. Limiter 429: Retry-After seconds and
 * {"errors":{"detail":"Request was throttled. Expected available in N seconds."}}.
 */
import { FamocoBase, type FamocoSimulatorOptions } from './famoco-base.js';
import { notFoundBody } from './famoco-drf.js';
import type { RateWindow } from './http-sim.js';
import { byId } from './sim-data.js';

// The MDM simulator lives here; the tenant's records, their generator, DRF pagination, the shared
// base and Insights in modules of their own, exported from here as before.
export type { FamocoData, FamocoDevice, FamocoFleet, FamocoHardwareDetails, FamocoOrganization, FamocoProfile, FamocoRef, FamocoStateDetails } from './famoco-records.js';
export { generateFamocoData, type GenerateFamocoOptions } from './famoco-data.js';
export type { FamocoLinkGlitch } from './famoco-drf.js';
export type { FamocoSimulatorOptions } from './famoco-base.js';
export { FAMOCO_INSIGHTS_RATE_LIMITS, FamocoInsightsSimulator, toInsightsDevice, type FamocoInsightsDevice } from './famoco-insights.js';

/** Documented MDM limits: 100 requests/minute and 1000 requests/hour per client. */
export const FAMOCO_MDM_RATE_LIMITS: RateWindow[] = [
  { max: 100, windowMs: 60_000 },
  { max: 1000, windowMs: 3_600_000 },
];

export class FamocoSimulator extends FamocoBase {
  constructor(opts: FamocoSimulatorOptions) {
    super(opts);
    this.get(/^\/api\/organizations\/?$/, (req) => this.paginate(req, byId(this.data.organizations)));
    this.get(/^\/api\/organizations\/([^/]+)\/devices\/?$/, (req, [id]) => {
      const org = this.orgById(id ?? '');
      if (!org) return notFoundBody();
      return this.paginate(req, byId(this.data.devices.filter((d) => d.organization === org.id)));
    });
    this.get(/^\/api\/organizations\/([^/]+)\/fleets\/?$/, (req, [id]) => {
      const org = this.orgById(id ?? '');
      if (!org) return notFoundBody();
      return this.paginate(req, byId(this.data.fleets.filter((f) => f.organization === org.id)));
    });
    this.get(/^\/api\/organizations\/([^/]+)\/profiles\/?$/, (req, [id]) => {
      const org = this.orgById(id ?? '');
      if (!org) return notFoundBody();
      return this.paginate(req, byId(this.data.profiles.filter((p) => p.organization === org.id)));
    });
  }
}
