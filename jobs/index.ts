import type { VendorDefinition } from '../src/connector.js';
import { automox } from './automox.js';
import { rest } from './rest.js';
import { toggl } from './toggl.js';

/** Every vendor fleetsync can sync, by the `vendor` key used in config. */
export const VENDORS: Readonly<Record<string, VendorDefinition>> = {
  automox,
  toggl,
  rest,
};
