import { z } from 'zod/v4';
import { dateTime, int } from './common.js';

// The documented partner API (vendor doc 004): lists answer `{data, total, page, limit}` (page
// from 1, limit default 25, at most 100); resources carry `id`, `name`, `created_at` and
// `updated_at` (ISO 8601); errors are `{error, message, details}`. Other fields are not checked.

export function page<T extends z.ZodType>(item: T) {
  return z.strictObject({ data: z.array(item), total: int.nonnegative(), page: int.min(1), limit: int.min(1).max(100) });
}

export const resource = z.looseObject({ id: z.string(), name: z.string().optional(), created_at: dateTime.optional(), updated_at: dateTime.optional() });

export const error = z.strictObject({ error: z.string(), message: z.string().optional(), details: z.record(z.string(), z.unknown()).optional() });
