import { z } from 'zod';
import { z as z4 } from 'zod/v4';
import { formatKeyPath, laneLimitSchema, type LaneLimit, type SourceConfig } from '../src/config.js';
import type { ErrorBodyReader, ResourceDefinition, SessionScoping, VendorDefinition } from '../src/connector.js';
import { idText, toBool, toInt, toText, toTimestamp } from '../src/normalize.js';
import { afterCursor, atPath, nextLink, offsetPages, pageNumber, pageTotal, singlePage, type PageStrategy } from '../src/pagination/index.js';
import { DATA_TABLES, isDataTable, type ColumnType, type DataTableName } from '../src/warehouse/tables.js';

// Declarative REST sources (`vendor: rest`): our partner API template (page/limit envelopes,
// HTTP Basic, OU scoping) and any API of its family, defined in YAML only.
// See docs/rest-sources.md for the configuration and the OU design.

const dotPath = z.string().regex(/^$|^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, 'must be a dot path like "data" or "meta.next"');
const param = z.string().regex(/^[A-Za-z0-9_.[\]-]+$/, 'must be a query parameter name');
const limit = z.number().int().positive();

const paginationSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('page'),
      pageParam: param.default('page'),
      limitParam: param.default('limit'),
      firstPage: z.number().int().min(0).default(1),
      limit: limit.default(100),
      maxLimit: limit.default(100),
      records: dotPath.default('data'),
      total: dotPath.default('total'),
    })
    .strict(),
  z
    .object({ type: z.literal('next'), limitParam: param.default('limit'), limit: limit.default(100), maxLimit: limit.default(100), records: dotPath.default('results'), next: dotPath.default('next'), total: dotPath.optional() })
    .strict(),
  z
    .object({
      type: z.literal('after'),
      cursorParam: param.default('after'),
      limitParam: param.default('limit'),
      limit: limit.default(100),
      maxLimit: limit.default(100),
      records: dotPath.default('data'),
      cursor: dotPath.optional(),
      hasMore: dotPath.optional(),
      total: dotPath.optional(),
    })
    .strict(),
  z
    .object({ type: z.literal('offset'), offsetParam: param.default('offset'), limitParam: param.default('limit'), limit: limit.default(100), maxLimit: limit.default(100), records: dotPath.default(''), total: dotPath.optional() })
    .strict(),
  z
    .object({ type: z.literal('short-page'), pageParam: param.default('page'), limitParam: param.default('limit'), firstPage: z.number().int().min(0).default(1), limit: limit.default(100), maxLimit: limit.default(100), records: dotPath.default('') })
    .strict(),
  z.object({ type: z.literal('none'), records: dotPath.default('') }).strict(),
]);

const resourceSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be lower-case letters, digits or "_"'),
    docUrl: z.string().url().optional(),
    /** Below the base URL; `{scope}` is the parent's value, `{ou}` the walk's organizational unit. */
    path: z.string().startsWith('/', 'must start with "/"'),
    params: z.record(param, z.string()).optional(),
    /**
     * The API's GET of one record, `{id}` its id (`{scope}`, `{ou}` as in `path`): asked about
     * rows a full walk missed, 404/410 deletes them (docs/rest-sources.md).
     */
    item: z.string().startsWith('/', 'must start with "/"').includes('{id}', { message: 'must contain {id}' }).optional(),
    parent: z.string().optional(),
    /** Dot path into the parent's record giving this resource's scope; default: the parent's id. */
    scopeFrom: dotPath.optional(),
    lane: z.string().default('api'),
    pagination: paginationSchema,
    id: dotPath.default('id'),
    table: z.string(),
    /** Normalized column -> dot path into the record, or `$scope` / `$ou`. */
    map: z.record(z.string(), z.string()).default({}),
  })
  .strict();

const restSchema = z
  .object({
    auth: z.discriminatedUnion('type', [
      z.object({ type: z.literal('basic') }).strict(),
      z.object({ type: z.literal('bearer') }).strict(),
      z.object({ type: z.literal('apiKey'), header: z.string().regex(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name').default('X-API-Key') }).strict(),
    ]),
    lanes: z.record(z.string(), laneLimitSchema).optional(),
    rateLimitBackoffMs: z.number().int().min(0).optional(),
    errorBody: z
      .object({ code: dotPath.default('error'), message: dotPath.default('message'), details: dotPath.default('details'), requestId: dotPath.default('request_id') })
      .strict()
      .default({}),
    orgUnits: z
      .object({
        ids: z.array(z.string().regex(/^[^/\s]+$/, 'must not contain "/" or spaces')).min(1),
        activate: z
          .object({
            method: z.enum(['PUT', 'POST', 'PATCH']).default('PUT'),
            path: z.string().startsWith('/').default('/org-units/active'),
            /** JSON body; every string "{ou}" in it becomes the OU id. */
            body: z.record(z.string(), z.unknown()).default({ id: '{ou}' }),
          })
          .strict()
          .default({}),
      })
      .strict()
      .optional(),
    resources: z.array(resourceSchema).min(1),
  })
  .strict();

/** The `rest` block of a source, validated. */
export type RestConfig = z.infer<typeof restSchema>;
type RestResource = z.infer<typeof resourceSchema>;

/** The partner API template's limit: 100 requests/min with a burst of 200. */
export const PARTNER_DEFAULT_LANE: LaneLimit = { tokenBucket: { capacity: 200, refillPerMinute: 100 }, concurrency: 1 };

function convert(type: ColumnType, value: unknown): unknown {
  switch (type) {
    case 'text':
      return toText(value);
    case 'integer':
    case 'bigint':
      return toInt(value);
    case 'boolean':
      return toBool(value);
    case 'timestamptz':
      return toTimestamp(value);
    case 'double precision':
      return typeof value === 'number' && Number.isFinite(value) ? value : null;
    default:
      return value === undefined ? null : value;
  }
}

function strategy(p: RestResource['pagination']): PageStrategy {
  switch (p.type) {
    case 'page':
      return pageTotal({ pageParam: p.pageParam, sizeParam: p.limitParam, firstPage: p.firstPage, defaultPageSize: p.limit, maxPageSize: p.maxLimit, records: p.records, total: p.total });
    case 'next':
      return nextLink({ sizeParam: p.limitParam, defaultPageSize: p.limit, maxPageSize: p.maxLimit, records: p.records, next: p.next, total: p.total ?? null, resolveLinks: true });
    case 'after':
      // No fixed or first-page params: those are Izuma's, not the template's.
      return afterCursor({
        cursorParam: p.cursorParam,
        sizeParam: p.limitParam,
        defaultPageSize: p.limit,
        maxPageSize: p.maxLimit,
        params: {},
        firstParams: {},
        records: p.records,
        cursor: p.cursor,
        hasMore: p.hasMore ?? null,
        total: p.total ?? null,
      });
    case 'offset':
      return offsetPages({ offsetParam: p.offsetParam, sizeParam: p.limitParam, defaultPageSize: p.limit, maxPageSize: p.maxLimit, records: p.records, total: p.total });
    case 'short-page':
      return pageNumber({ pageParam: p.pageParam, sizeParam: p.limitParam, firstPage: p.firstPage, defaultPageSize: p.limit, maxPageSize: p.maxLimit, records: p.records });
    case 'none':
      return singlePage({ records: p.records });
  }
}

/**
 * Scopes of an OU-scoped source: root walks are scoped by the OU ("ou-emea"), nested walks by
 * OU and parent value ("ou-emea/site-7"), so the OU a page needs is always in its walk's scope.
 */
function splitScope(scope: string, ous: boolean): { ou: string | null; value: string } {
  if (!ous) return { ou: null, value: scope };
  const i = scope.indexOf('/');
  return i < 0 ? { ou: scope, value: scope } : { ou: scope.slice(0, i), value: scope.slice(i + 1) };
}

function fillOu(v: unknown, ou: string): unknown {
  if (typeof v === 'string') return v.replaceAll('{ou}', ou);
  if (Array.isArray(v)) return v.map((x) => fillOu(x, ou));
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fillOu(x, ou)]));
  return v;
}

function buildResource(r: RestResource, table: DataTableName, ous: boolean): ResourceDefinition {
  const columns = DATA_TABLES[table] as Record<string, ColumnType>;
  const fillIn = (template: string, scope: string) => {
    const { ou, value } = splitScope(scope, ous);
    return template.replaceAll('{scope}', encodeURIComponent(value)).replaceAll('{ou}', encodeURIComponent(ou ?? ''));
  };
  const fill = (scope: string) => fillIn(r.path, scope);
  const item = r.item;
  const record = z4
    .record(z4.string(), z4.unknown())
    .superRefine((rec, ctx) => {
      if (idText(atPath(rec, r.id)) === null) ctx.addIssue({ code: 'custom', path: r.id.split('.'), message: 'id is missing or not a string/number' });
    });
  return {
    name: r.name,
    table,
    lane: r.lane,
    docUrl: r.docUrl ?? '',
    ...(r.parent ? { parent: r.parent } : {}),
    scopeFrom: (p) => {
      const v = r.scopeFrom ? idText(atPath(p.raw, r.scopeFrom)) : p.external_id;
      if (v === null) return null;
      // Nested walks stay in their parent's OU.
      return ous ? `${splitScope(p.scope, true).ou}/${v}` : v;
    },
    path: fill,
    params: () => ({ ...(r.params ?? {}) }),
    ...(item ? { item: (id: string, scope: string) => ({ path: fillIn(item, scope).replaceAll('{id}', encodeURIComponent(id)) }) } : {}),
    pagination: strategy(r.pagination),
    record,
    idField: r.id,
    id: (rec) => idText(atPath(rec, r.id))!,
    map: (rec, ctx) => {
      const out: Record<string, unknown> = {};
      const { ou, value } = splitScope(ctx.scope, ous);
      for (const [col, from] of Object.entries(r.map)) {
        const raw = from === '$scope' ? value : from === '$ou' ? ou : atPath(rec, from);
        out[col] = convert(columns[col] ?? 'text', raw);
      }
      return out;
    },
  };
}

/**
 * Validates a `vendor: rest` source's `rest` block and builds its VendorDefinition.
 * Problems name the key path below the source (`rest.resources[1].map.color: unknown column ...`);
 * a source with any problem gets no definition. Never throws.
 */
export function buildRestVendor(src: SourceConfig): { vendor?: VendorDefinition; problems: string[] } {
  const parsed = restSchema.safeParse(src.rest ?? {});
  if (!parsed.success) return { problems: parsed.error.issues.map((i) => `${formatKeyPath(['rest', ...i.path])}: ${i.message}`) };
  const cfg = parsed.data;
  const lanes: Record<string, LaneLimit> = cfg.lanes ?? { api: PARTNER_DEFAULT_LANE };
  const ous = cfg.orgUnits !== undefined;
  const problems: string[] = [];
  const seen = new Set<string>();
  const resources: ResourceDefinition[] = [];
  cfg.resources.forEach((r, i) => {
    problems.push(...resourceProblems(r, `rest.resources[${i}]`, { seen, lanes, ous }));
    seen.add(r.name);
    if (isDataTable(r.table)) resources.push(buildResource(r, r.table, ous));
  });
  if (problems.length > 0) return { problems };

  const ouIds = cfg.orgUnits?.ids;
  const vendor: VendorDefinition = {
    vendor: 'rest',
    docUrl: 'docs/rest-sources.md',
    credentials: credentialsSchema(cfg.auth),
    authHeaders: authHeaders(cfg.auth),
    lanes,
    ...(cfg.rateLimitBackoffMs !== undefined ? { rateLimitBackoffMs: cfg.rateLimitBackoffMs } : {}),
    resources,
    readError: errorReader(cfg.errorBody),
    ...(ouIds && cfg.orgUnits ? { rootScopes: () => [...ouIds], session: ouSession(cfg.orgUnits.activate), probe: ouProbe(cfg.orgUnits.activate.path, cfg.resources[0]!.lane) } : {}),
  };
  return { vendor, problems: [] };
}

/** What is wrong with one resource of the block, given the resources defined before it, the lanes and whether there are OUs. */
function resourceProblems(r: RestResource, at: string, known: { seen: ReadonlySet<string>; lanes: Record<string, LaneLimit>; ous: boolean }): string[] {
  const problems: string[] = [];
  if (known.seen.has(r.name)) problems.push(`${at}.name: duplicate resource "${r.name}"`);
  if (r.parent !== undefined && !known.seen.has(r.parent)) problems.push(`${at}.parent: "${r.parent}" is not a resource defined before this one`);
  if (r.parent === undefined && r.path.includes('{scope}')) problems.push(`${at}.path: {scope} needs a parent resource`);
  if (!known.ous && r.path.includes('{ou}')) problems.push(`${at}.path: {ou} needs orgUnits`);
  if (!(r.lane in known.lanes)) problems.push(`${at}.lane: unknown lane "${r.lane}" (known: ${Object.keys(known.lanes).join(', ')})`);
  if (!isDataTable(r.table)) return [...problems, `${at}.table: unknown table "${r.table}" (known: ${Object.keys(DATA_TABLES).join(', ')})`];
  const columns = Object.keys(DATA_TABLES[r.table]);
  for (const col of Object.keys(r.map)) {
    if (!columns.includes(col)) problems.push(`${at}.map.${col}: unknown column "${col}" of table ${r.table} (columns: ${columns.join(', ')})`);
  }
  for (const [col, from] of Object.entries(r.map)) {
    if (from !== '$scope' && from !== '$ou' && !dotPath.safeParse(from).success) problems.push(`${at}.map.${col}: "${from}" is not a dot path, $scope or $ou`);
    if (from === '$ou' && !known.ous) problems.push(`${at}.map.${col}: $ou needs orgUnits`);
  }
  return problems;
}

type RestAuth = RestConfig['auth'];

function credentialsSchema(auth: RestAuth) {
  if (auth.type === 'basic') return z4.strictObject({ clientId: z4.string().min(1, 'is empty'), clientSecret: z4.string().min(1, 'is empty') });
  if (auth.type === 'bearer') return z4.strictObject({ token: z4.string().min(1, 'is empty') });
  return z4.strictObject({ apiKey: z4.string().min(1, 'is empty') });
}

function authHeaders(auth: RestAuth): VendorDefinition['authHeaders'] {
  if (auth.type === 'basic') return (c) => ({ Authorization: `Basic ${Buffer.from(`${c.clientId ?? ''}:${c.clientSecret ?? ''}`).toString('base64')}` });
  if (auth.type === 'bearer') return (c) => ({ Authorization: `Bearer ${c.token ?? ''}` });
  return (c) => ({ [auth.header]: c.apiKey ?? '' });
}

/** Reads an error body: plain text as it is; JSON as "code: message (details: ...)" and its request id, from the configured paths. */
function errorReader(eb: RestConfig['errorBody']): ErrorBodyReader {
  return (body) => {
    if (typeof body === 'string' && body.trim() !== '') return { message: body.trim() };
    if (body === null || typeof body !== 'object') return {};
    const code = toText(atPath(body, eb.code));
    const message = toText(atPath(body, eb.message));
    const details = atPath(body, eb.details);
    const requestId = toText(atPath(body, eb.requestId)) ?? undefined;
    const hasDetails = details !== undefined && details !== null && !(typeof details === 'object' && Object.keys(details).length === 0);
    const text = [code, message].filter((x) => x !== null && x !== '').join(': ') + (hasDetails ? ` (details: ${JSON.stringify(details).slice(0, 200)})` : '');
    return { ...(text !== '' ? { message: text } : {}), ...(requestId ? { requestId } : {}) };
  };
}

/** The OU a scope needs active, and the request that makes it active. */
function ouSession(activate: NonNullable<RestConfig['orgUnits']>['activate']): SessionScoping {
  return {
    stateOf: (scope) => (scope === '-' ? null : splitScope(scope, true).ou),
    activate: (ou) => ({ method: activate.method, path: activate.path, body: fillOu(activate.body, ou) }),
  };
}

/**
 * `fleetsync check` of a source with OUs: a GET of the active OU, since every list needs one set
 * (and setting one would switch the session under a running walk); 404 means none is set yet.
 */
function ouProbe(path: string, lane: string): VendorDefinition['probe'] {
  return () => ({ lane, request: { path }, accept: [404] });
}

/** Registry entry for `vendor: rest`: every source builds its own definition from its `rest` block. */
export const rest: VendorDefinition = {
  vendor: 'rest',
  docUrl: 'docs/rest-sources.md',
  credentials: z4.record(z4.string(), z4.string()),
  authHeaders: () => ({}),
  lanes: {},
  resources: [],
  readError: () => ({}),
  fromSource: buildRestVendor,
};
