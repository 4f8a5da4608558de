/**
 * The API settings form ⇄ the catalog's `apiUpdate` input. Field names are the schema's
 * paths (`timeoutMs`, `routes[2].throttle.rateLimit`), so an issue from the admin API's own
 * zod schema lands next to its input under the label the page gives it.
 */
import type { z } from 'zod';
import type { ApiView, schemas } from '../../catalog/index.js';
import { field, type PortalContext } from '../http/env.js';
import type { Errors } from '../views/components.js';
import { halfThrottle } from './plan-form.js';

/** A route row's text inputs: the form field (= the schema's path), the row's value, the label. */
export const ROUTE_INPUTS: Array<{
  field: string;
  key: 'path' | 'dimension' | 'units' | 'rate' | 'burst';
  label: string;
  size: number;
}> = [
  { field: 'path', key: 'path', label: 'path', size: 24 },
  { field: 'dimension', key: 'dimension', label: 'dimension', size: 10 },
  { field: 'units', key: 'units', label: 'units per call', size: 6 },
  { field: 'throttle.rateLimit', key: 'rate', label: 'throttle rate', size: 6 },
  { field: 'throttle.burstLimit', key: 'burst', label: 'throttle burst', size: 6 },
];
export const ROUTE_LABELS: Array<[string, string]> = [
  ['method', 'method'],
  ...ROUTE_INPUTS.map((c): [string, string] => [c.field, c.label]),
  ['public', 'public'],
];

/** The settings form's fields, top to bottom, as their labels read. */
export function labelsFor(routes: number): Record<string, string> {
  const out: Record<string, string> = {
    name: 'Name',
    upstreamUrl: 'Upstream URL',
    host: 'Host name',
    pathPrefix: 'Path prefix',
    stripPrefix: 'Forward without the prefix',
    timeoutMs: 'Upstream timeout (ms)',
  };
  for (let i = 0; i < routes; i++)
    for (const [f, l] of ROUTE_LABELS) out[`routes[${i}].${f}`] = `Route ${i + 1}, ${l}`;
  out.routes = 'Routes';
  out.corsOrigins = 'Browser origins (CORS)';
  out.rateLimitHeaders = 'RateLimit headers';
  out.openapi = 'OpenAPI document';
  return out;
}

/** Issues on `cors.allowOrigins[2]` belong to the origins text area. */
export function foldCorsErrors(errors: Errors): Errors {
  const out: Errors = {};
  for (const [k, v] of Object.entries(errors)) {
    if (k.startsWith('cors')) out.corsOrigins ??= v;
    else out[k] = v;
  }
  return out;
}

export interface RouteRow {
  id: string;
  method: string;
  path: string;
  dimension: string;
  units: string;
  rate: string;
  burst: string;
  public: boolean;
  remove: boolean;
}

export const EMPTY_ROW: RouteRow = {
  id: '',
  method: '',
  path: '',
  dimension: '',
  units: '',
  rate: '',
  burst: '',
  public: false,
  remove: false,
};

/** The route rows as submitted: the existing ones plus one empty row for a new route. */
export function routeRows(c: PortalContext): RouteRow[] {
  const rows: RouteRow[] = [];
  const form = c.get('form') ?? {};
  for (let i = 0; form[`routes[${i}].path`] !== undefined; i++) {
    const f = (n: string) => field(c, `routes[${i}].${n}`).trim();
    rows.push({
      id: f('id'),
      method: f('method'),
      path: f('path'),
      dimension: f('dimension'),
      units: f('units'),
      rate: f('throttle.rateLimit'),
      burst: f('throttle.burstLimit'),
      public: f('public') === 'on',
      remove: f('remove') === 'on',
    });
  }
  return rows;
}

function rowsOf(api: ApiView): RouteRow[] {
  return api.routes.map((r) => ({
    id: r.id,
    method: r.method,
    path: r.path,
    dimension: r.dimension,
    units: String(r.units),
    rate: r.throttle?.rateLimit === undefined ? '' : String(r.throttle.rateLimit),
    burst: r.throttle?.burstLimit === undefined ? '' : String(r.throttle.burstLimit),
    public: r.public,
    remove: false,
  }));
}

export interface Values {
  name: string;
  upstreamUrl: string;
  host: string;
  pathPrefix: string;
  stripPrefix: boolean;
  timeoutMs: string;
  corsOrigins: string;
  rateLimitHeaders: boolean;
  routes: RouteRow[];
}

export function valuesOf(api: ApiView): Values {
  return {
    name: api.name,
    upstreamUrl: api.upstreamUrl,
    host: api.host ?? '',
    pathPrefix: api.pathPrefix ?? '',
    stripPrefix: api.stripPrefix,
    timeoutMs: String(api.timeoutMs),
    corsOrigins: (api.cors?.allowOrigins ?? []).join('\n'),
    rateLimitHeaders: api.rateLimitHeaders,
    routes: rowsOf(api),
  };
}

/** A number typed in a form: empty → undefined; anything not a number → NaN (the schema says so). */
function typedNumber(raw: string): number | undefined {
  const t = raw.replace(/[,_\s]/g, '');
  if (t === '') return undefined;
  return /^-?(\d+\.?\d*|\.\d+)$/.test(t) ? Number(t) : Number.NaN;
}

/**
 * The form as the catalog's `apiUpdate` input, plus what only a form can get wrong: a throttle
 * with its rate and not its burst (or the other way) is kept by the admin API, as in API
 * Gateway, but never enforced, so the console asks for both (as the plan form does).
 */
export function settingsInput(
  api: ApiView,
  v: Values,
  kept: RouteRow[],
): { input: z.input<typeof schemas.apiUpdate>; errors: Errors } {
  const errors: Errors = {};
  const routes = kept.map((r, i) => {
    const rate = typedNumber(r.rate);
    const burst = typedNumber(r.burst);
    halfThrottle(errors, `routes[${i}].throttle`, rate, burst);
    return {
      ...(r.id ? { id: r.id } : {}),
      method: (r.method || '*') as 'GET',
      path: r.path,
      dimension: r.dimension || 'requests',
      units: typedNumber(r.units) ?? 1,
      public: r.public,
      throttle:
        rate === undefined && burst === undefined
          ? null
          : {
              ...(rate === undefined ? {} : { rateLimit: rate }),
              ...(burst === undefined ? {} : { burstLimit: burst }),
            },
    };
  });
  const origins = v.corsOrigins.split(/[\s,]+/).filter(Boolean);
  return {
    errors,
    input: {
      name: v.name,
      upstreamUrl: v.upstreamUrl,
      host: v.host || null,
      pathPrefix: v.pathPrefix || null,
      stripPrefix: v.stripPrefix,
      timeoutMs: typedNumber(v.timeoutMs) ?? Number.NaN,
      routes,
      // New origins keep the API's other CORS settings (methods, headers, max age).
      cors: origins.length
        ? {
            ...api.cors,
            allowMethods: api.cors?.allowMethods as Array<'GET'> | undefined,
            allowOrigins: origins,
          }
        : null,
      rateLimitHeaders: v.rateLimitHeaders,
    },
  };
}
