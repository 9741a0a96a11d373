import { z } from 'zod/v4';

// Shared pieces of the vendor schemas in this folder. Each schema encodes, as zod, the fields and
// types a vendor's published definition (or, where none is published, its documentation) gives an
// answer; test/simulator-schemas.test.ts checks a sample of every simulator's answers against them.

/** A date-time as the vendors write it (RFC 3339, or Automox's `+0000` offset): any string Date.parse reads. */
export const dateTime = z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'not a date-time');

/** A calendar date `YYYY-MM-DD`. */
export const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);

/** A whole number (the definitions' integer / int64). */
export const int = z.number().int();

/**
 * An object with exactly the definition's properties, all optional as the definitions leave them,
 * plus `x_future_field`: the simulators' deliberate unknown field (clients must keep unknown
 * fields, docs/design.md, Normalized columns plus raw). Any other key is a field name the
 * definition does not have.
 */
export function defined<T extends z.ZodRawShape>(shape: T) {
  return z.strictObject({ ...shape, x_future_field: z.record(z.string(), z.unknown()).optional() });
}
