import type { VendorDefinition } from '../src/connector.js';
import { automox } from './automox.js';
import { famoco, famocoInsights } from './famoco.js';
import { izuma } from './izuma.js';
import { rest } from './rest.js';
import { toggl } from './toggl.js';

/** Every vendor fleetsync can sync, by the `vendor` key used in config. */
export const VENDORS: Readonly<Record<string, VendorDefinition>> = {
  automox,
  famoco,
  'famoco-insights': famocoInsights,
  izuma,
  toggl,
  rest,
};
