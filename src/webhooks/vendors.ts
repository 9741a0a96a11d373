import { izumaWebhooks } from './izuma.js';
import { togglWebhooks } from './toggl.js';
import type { WebhookVendor } from './vendor.js';

/** The vendors whose events fleetsync receives, by vendor name (a source of another vendor has no receiver path). */
export const WEBHOOK_VENDORS: Readonly<Record<string, WebhookVendor>> = {
  toggl: togglWebhooks,
  izuma: izumaWebhooks,
};
