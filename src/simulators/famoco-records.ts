/**
 * The records of a Famoco tenant as the simulators serve them (MDM organizations, fleets,
 * profiles, devices); the Insights device snapshot is derived from them in famoco-insights.ts.
 */

/**
 * An organization as the MDM lists it. Its times are `create_date` / `update_date`, the spelling
 * public client code records from the live API; fleets, profiles and devices keep `created_at` /
 * `updated_at` (no public sample of theirs), so the connector is exercised with both.
 */
export interface FamocoOrganization {
  id: number;
  guid: string;
  name: string;
  create_date: string;
  update_date: string;
  devices_count: number;
  fleets_count: number;
  /** As public client code records the MDM's organizations: `status` and `is_blocked`. */
  status: 'active' | 'inactive';
  is_blocked: boolean;
  x_future_field?: Record<string, unknown>;
}

export interface FamocoRef {
  id: number;
  name: string;
}

export interface FamocoFleet {
  id: number;
  name: string;
  description: string;
  organization: number;
  profile: FamocoRef | null;
  devices_count: number;
  is_stock: boolean;
  created_at: string;
  updated_at: string;
}

export interface FamocoProfile {
  id: number;
  name: string;
  description: string;
  organization: number;
  version: number;
  applications_count: number;
  created_at: string;
  updated_at: string;
}

export interface FamocoHardwareDetails {
  imei: string[];
  wifi_mac: string;
  bluetooth_mac: string;
  manufacturer: string;
  model: string;
  serial_number: string;
  nfc: boolean;
  ram_mb: number;
  storage_gb: number;
}

export interface FamocoStateDetails {
  os_version: string;
  api_level: number;
  build_number: string;
  agent_version: string;
  battery_level: number;
  battery_plugged: boolean;
  is_online: boolean;
  ip_address: string | null;
  storage_free_mb: number;
  last_sync: string | null;
  sync_status: 'synced' | 'pending' | 'failed' | 'never_synced';
  heartbeat: string | null;
}

export interface FamocoDevice {
  id: number;
  famoco_id: string;
  serial_number: string | null;
  label: string;
  model: string;
  organization: number;
  fleet: FamocoRef | null;
  profile: FamocoRef | null;
  hardware_details: FamocoHardwareDetails;
  state_details: FamocoStateDetails;
  maintenance_status: 'in_the_field' | 'in_stock' | 'in_repair';
  comment: string;
  is_archived: boolean;
  created_at: string;
  updated_at: string;
  x_future_field?: Record<string, unknown>;
}

export interface FamocoData {
  organizations: FamocoOrganization[];
  fleets: FamocoFleet[];
  profiles: FamocoProfile[];
  devices: FamocoDevice[];
}
