import type { VendorDefinition } from '../src/connector.js';
import { quotaProblem } from '../src/queue/quota.js';
import { automox } from './automox.js';
import { famoco, famocoInsights } from './famoco.js';
import { izuma } from './izuma.js';
import { rest } from './rest.js';
import { toggl } from './toggl.js';

/** A vendor whose source checks also refuse a `quota` plan name the vendor does not have (src/queue/quota.ts). */
function withQuotaCheck(vendor: VendorDefinition): VendorDefinition {
  const own = vendor.validateSource;
  return {
    ...vendor,
    validateSource: (source) => {
      const problem = quotaProblem(source, vendor);
      return [...(own?.(source) ?? []), ...(problem === null ? [] : [problem])];
    },
  };
}

/** Every vendor fleetsync can sync, by the `vendor` key used in config. */
export const VENDORS: Readonly<Record<string, VendorDefinition>> = Object.fromEntries(
  Object.entries({ automox, famoco, 'famoco-insights': famocoInsights, izuma, toggl, rest }).map(([key, v]) => [key, withQuotaCheck(v)]),
);
