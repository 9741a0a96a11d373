import { z } from 'zod/v4';
import { dateTime, int } from './common.js';

// Famoco MDM and Insights publish no definition. What is documented (vendor doc 000, the REST API
// quick start): DRF pages `{count, next, previous, results}`, organizations with `id`, `guid` and
// `name`, and throttled answers `{"errors": {"detail": "..."}}`. Public client code records the
// MDM's organizations with `create_date`, `update_date`, `status`, `is_blocked`, `devices_count`.
// Other fields are not checked (loose objects).

export function page<T extends z.ZodType>(item: T) {
  return z.strictObject({ count: int, next: z.url().nullable(), previous: z.url().nullable(), results: z.array(item) });
}

export const organization = z.looseObject({
  id: int,
  guid: z.string(),
  name: z.string(),
  create_date: dateTime,
  update_date: dateTime,
  status: z.string(),
  is_blocked: z.boolean(),
  devices_count: int,
});

/** A fleet or device: an id, and the organization it belongs to. */
export const orgScoped = z.looseObject({ id: int, organization: int });

/** Errors wrap DRF's body in `errors`: `{"errors": {"detail": "..."}}` or field errors. */
export const error = z.strictObject({ errors: z.record(z.string(), z.union([z.string(), z.array(z.string())])) });
