// The JSON text a vendor's page was parsed from, kept beside the parsed value for as long as that
// value lives: each record's own text then goes to Postgres as it came (src/sync/record-texts.ts)
// instead of being serialized again from the parsed object.

const texts = new WeakMap<object, string>();

/** Remembers that `body` was parsed from `text`; a body that is not an object or array is not kept. */
export function rememberBodyText(body: unknown, text: string): void {
  if (body !== null && typeof body === 'object') texts.set(body, text);
}

/** The text `body` was parsed from, when rememberBodyText saw it; undefined otherwise. */
export function bodyTextOf(body: unknown): string | undefined {
  return body !== null && typeof body === 'object' ? texts.get(body) : undefined;
}
