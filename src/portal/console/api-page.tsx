/**
 * Provider console: one API — its settings and routes, editable (upstream, prefix, each
 * route's method, path, dimension, units and access, browser origins, RateLimit headers),
 * the OpenAPI paths the gateway cannot route with the reason, and replacing the routes from
 * an OpenAPI document. Saving is one catalog update (one transaction): all or nothing.
 */
import type { Hono } from 'hono';
import type { ApiView } from '../../catalog/index.js';
import { isTollgateError } from '../../shared/index.js';
import { type PortalDeps, providerActor } from '../deps.js';
import { field, file, type PortalContext, type PortalEnv } from '../http/env.js';
import { render } from '../http/render.js';
import { importOpenApi } from '../openapi-import.js';
import { ErrorSummary, type Errors, errorsOf, Field, FieldError, TextArea } from '../views/components.js';
import { CsrfField } from '../views/layout.js';

const METHODS = ['*', 'GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const ROUTE_FIELDS: Array<[string, string]> = [
  ['method', 'method'],
  ['path', 'path'],
  ['dimension', 'dimension'],
  ['units', 'units per call'],
];

/** The settings form's fields, top to bottom, as their labels read. */
function labelsFor(routes: number): Record<string, string> {
  const out: Record<string, string> = {
    name: 'Name',
    upstreamUrl: 'Upstream URL',
    pathPrefix: 'Path prefix',
  };
  for (let i = 0; i < routes; i++)
    for (const [f, l] of [...ROUTE_FIELDS, ['public', 'access']])
      out[`routes[${i}].${f}`] = `Route ${i + 1}, ${l}`;
  out.routes = 'Routes';
  out.corsOrigins = 'Browser origins (CORS)';
  out.rateLimitHeaders = 'RateLimit headers';
  out.openapi = 'OpenAPI document';
  return out;
}

/** The OpenAPI text from the upload (preferred) or the text area. */
export async function openapiText(c: PortalContext): Promise<string> {
  const f = file(c, 'openapiFile');
  if (f) return f.text();
  return field(c, 'openapi');
}

/** Issues on `cors.allowOrigins[2]` belong to the origins text area. */
function foldCorsErrors(errors: Errors): Errors {
  const out: Errors = {};
  for (const [k, v] of Object.entries(errors)) {
    if (k.startsWith('cors')) out.corsOrigins ??= v;
    else out[k] = v;
  }
  return out;
}

interface RouteRow {
  id: string;
  method: string;
  path: string;
  dimension: string;
  units: string;
  public: boolean;
  remove: boolean;
}

/** The route rows as submitted: the existing ones plus one empty row for a new route. */
function routeRows(c: PortalContext): RouteRow[] {
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
    public: r.public,
    remove: false,
  }));
}

interface Values {
  name: string;
  upstreamUrl: string;
  pathPrefix: string;
  corsOrigins: string;
  rateLimitHeaders: boolean;
  routes: RouteRow[];
}

function valuesOf(api: ApiView): Values {
  return {
    name: api.name,
    upstreamUrl: api.upstreamUrl,
    pathPrefix: api.pathPrefix ?? '',
    corsOrigins: (api.cors?.allowOrigins ?? []).join('\n'),
    rateLimitHeaders: api.rateLimitHeaders,
    routes: rowsOf(api),
  };
}

function RoutesTable(p: { rows: RouteRow[]; errors: Errors }) {
  const rows = [
    ...p.rows,
    { id: '', method: '', path: '', dimension: '', units: '', public: false, remove: false },
  ];
  return (
    <div class="table-wrap">
      <table>
        <caption>Routes ({p.rows.length}); fill in the last row to add one</caption>
        <thead>
          <tr>
            <th>Method</th>
            <th>Path</th>
            <th>Dimension</th>
            <th class="num">Units per call</th>
            <th>Public (no key)</th>
            <th>Remove</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => {
            const name = (f: string) => `routes[${i}].${f}`;
            const label = (l: string) => `Route ${i + 1}, ${l}`;
            const isNew = i === p.rows.length;
            const err = (f: string) => p.errors[name(f)];
            return (
              <tr>
                <td>
                  <input type="hidden" name={name('id')} value={r.id} />
                  <select name={name('method')} id={`f-routes-${i}-method`} aria-label={label('method')}>
                    {(isNew ? ['', ...METHODS] : METHODS).map((m) => (
                      <option value={m} selected={m === r.method}>
                        {m === '' ? '(new route)' : m}
                      </option>
                    ))}
                  </select>
                </td>
                {ROUTE_FIELDS.slice(1).map(([f, l]) => (
                  <td>
                    <input
                      name={name(f)}
                      id={`f-routes-${i}-${f}`}
                      aria-label={label(l)}
                      value={(r as unknown as Record<string, string>)[f]}
                      inputmode={f === 'units' ? 'numeric' : undefined}
                      aria-invalid={err(f) ? 'true' : undefined}
                      size={f === 'path' ? 24 : 10}
                    />
                    <FieldError id={`f-routes-${i}-${f}-err`} message={err(f)} />
                  </td>
                ))}
                <td>
                  <input
                    type="checkbox"
                    name={name('public')}
                    checked={r.public}
                    aria-label={label('public')}
                  />
                </td>
                <td>
                  {isNew ? null : (
                    <input type="checkbox" name={name('remove')} aria-label={label('remove')} />
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** The document's paths the gateway cannot route, with the reason (never listed in the reference). */
function Skipped(p: { api: ApiView }) {
  if (!p.api.openapi) return null;
  const r = importOpenApi(JSON.stringify(p.api.openapi));
  if (!r.ok || r.skipped.length === 0) return null;
  return (
    <div class="notice" role="status">
      <h2>Not routed from the OpenAPI document</h2>
      <p>The gateway cannot route these paths, so they are not in the buyers' API reference:</p>
      <ul>
        {r.skipped.map((s) => (
          <li>
            <code>{s.slice(0, s.indexOf(': '))}</code>
            {s.slice(s.indexOf(': '))}
          </li>
        ))}
      </ul>
    </div>
  );
}

export function apiDetailPages(app: Hono<PortalEnv>, deps: PortalDeps) {
  function page(c: PortalContext, api: ApiView, v: Values, errors: Errors, status: 200 | 400 = 200) {
    const saved = c.req.query('saved') === '1';
    return render(
      c,
      api.name,
      <section>
        <p>
          <a href="/console/apis">← APIs</a>
        </p>
        <h1>{api.name}</h1>
        {saved && !Object.keys(errors).length ? (
          <p class="notice" role="status">
            Saved.
          </p>
        ) : null}
        <Skipped api={api} />
        <h2>Settings and routes</h2>
        <ErrorSummary errors={errors} labels={labelsFor(v.routes.length + 1)} />
        <form method="post" action={`/console/apis/${api.id}/settings`} class="card" novalidate>
          <CsrfField token={c.get('csrf')} />
          <Field label="Name" name="name" value={v.name} errors={errors} required />
          <Field label="Upstream URL" name="upstreamUrl" value={v.upstreamUrl} errors={errors} required />
          <Field
            label="Path prefix"
            name="pathPrefix"
            value={v.pathPrefix}
            errors={errors}
            hint="Calls to the gateway under this prefix go to this API."
          />
          <RoutesTable rows={v.routes} errors={errors} />
          <FieldError id="f-routes-err" message={errors.routes} />
          <TextArea
            label="Browser origins (CORS)"
            name="corsOrigins"
            value={v.corsOrigins}
            errors={errors}
            rows={3}
            placeholder="https://app.example.com"
            hint="One origin per line; pages on these origins may call the API from a browser. Empty: none."
          />
          <label class="choice">
            <input type="checkbox" name="rateLimitHeaders" checked={v.rateLimitHeaders} /> Send RateLimit
            headers (what is left of the throttle and quota) on every keyed answer
          </label>
          <button type="submit">Save</button>
        </form>
        <h2>Replace routes from an OpenAPI document</h2>
        <form
          method="post"
          action={`/console/apis/${api.id}/import`}
          enctype="multipart/form-data"
          class="card"
        >
          <CsrfField token={c.get('csrf')} />
          <div class="field">
            <label for="f-openapiFile">OpenAPI 3 document (JSON or YAML)</label>
            <input id="f-openapiFile" name="openapiFile" type="file" accept=".json,.yaml,.yml" />
          </div>
          <TextArea label="…or paste it" name="openapi" errors={errors} rows={5} />
          <button type="submit">Import</button>
        </form>
      </section>,
      { status },
    );
  }

  app.get('/console/apis/:id', async (c) => {
    const actor = providerActor(c.get('user')!);
    const api = await deps.catalog.apis.get(actor, c.req.param('id'));
    return page(c, api, valuesOf(api), {});
  });

  app.post('/console/apis/:id/settings', async (c) => {
    const actor = providerActor(c.get('user')!);
    const api = await deps.catalog.apis.get(actor, c.req.param('id'));
    const all = routeRows(c);
    const v: Values = {
      name: field(c, 'name').trim(),
      upstreamUrl: field(c, 'upstreamUrl').trim(),
      pathPrefix: field(c, 'pathPrefix').trim(),
      corsOrigins: field(c, 'corsOrigins'),
      rateLimitHeaders: field(c, 'rateLimitHeaders') === 'on',
      // The empty last row is not a route; a filled one is a new route.
      routes: all.filter((r) => r.id || r.path || r.dimension || r.units),
    };
    const kept = v.routes.filter((r) => !r.remove);
    const origins = v.corsOrigins.split(/[\s,]+/).filter(Boolean);
    try {
      await deps.catalog.apis.update(actor, api.id, {
        name: v.name,
        upstreamUrl: v.upstreamUrl,
        pathPrefix: v.pathPrefix || null,
        routes: kept.map((r) => ({
          ...(r.id ? { id: r.id } : {}),
          method: (r.method || '*') as 'GET',
          path: r.path,
          dimension: r.dimension || 'requests',
          units: r.units === '' ? 1 : /^\d+$/.test(r.units) ? Number(r.units) : Number.NaN,
          public: r.public,
        })),
        // New origins keep the API's other CORS settings (methods, headers, max age).
        cors: origins.length
          ? {
              ...api.cors,
              allowMethods: api.cors?.allowMethods as Array<'GET'> | undefined,
              allowOrigins: origins,
            }
          : null,
        rateLimitHeaders: v.rateLimitHeaders,
      });
    } catch (err) {
      if (isTollgateError(err) && (err.code === 'VALIDATION_FAILED' || err.code === 'CONFLICT')) {
        // Issues name routes by their place among the kept ones: map them back to the rows.
        const errors: Errors = {};
        const issues = err.issues.length ? errorsOf(err.issues) : { pathPrefix: err.message };
        for (const [k, m] of Object.entries(foldCorsErrors(issues))) {
          const r = /^routes\[(\d+)\](.*)$/.exec(k);
          const row = r ? v.routes.indexOf(kept[Number(r[1])]!) : -1;
          errors[r && row >= 0 ? `routes[${row}]${r[2]}` : k] = m;
        }
        return page(c, api, v, errors, 400);
      }
      throw err;
    }
    return c.redirect(`/console/apis/${api.id}?saved=1`, 303);
  });

  app.post('/console/apis/:id/import', async (c) => {
    const actor = providerActor(c.get('user')!);
    const api = await deps.catalog.apis.get(actor, c.req.param('id'));
    const r = importOpenApi(await openapiText(c));
    if (!r.ok) return page(c, api, valuesOf(api), { openapi: r.message }, 400);
    try {
      await deps.catalog.apis.update(actor, api.id, {
        openapi: r.document,
        routes: r.routes.map((rt) => {
          const same = api.routes.find((x) => x.method === rt.method && x.path === rt.path);
          return same
            ? {
                id: same.id,
                method: rt.method as 'GET',
                path: rt.path,
                dimension: same.dimension,
                units: same.units,
                public: same.public,
              }
            : { method: rt.method as 'GET', path: rt.path };
        }),
      });
    } catch (err) {
      if (isTollgateError(err) && err.code === 'VALIDATION_FAILED') {
        const first = err.issues[0];
        return page(
          c,
          api,
          valuesOf(api),
          { openapi: first ? `${first.field}: ${first.message}` : err.message },
          400,
        );
      }
      throw err;
    }
    return c.redirect(`/console/apis/${api.id}`, 303);
  });
}
