/**
 * Provider console: one API — its settings and routes, editable (upstream URL, host, path
 * prefix and whether it is stripped, upstream timeout; each route's method, path, dimension,
 * units, throttle and access; browser origins, RateLimit headers), the OpenAPI paths the
 * gateway cannot route with the reason, and replacing the routes from an OpenAPI document.
 * The form is checked against the admin API's own schema (catalog `apiUpdate`) before it is
 * saved, so every problem shows at once, by label, in field order; saving is one catalog
 * update (one transaction): all or nothing.
 */
import type { Hono } from 'hono';
import { type ApiView, schemas, zodIssues } from '../../catalog/index.js';
import { isTollgateError } from '../../shared/index.js';
import { type PortalDeps, providerActor } from '../deps.js';
import { field, file, type PortalContext, type PortalEnv } from '../http/env.js';
import { render } from '../http/render.js';
import { importOpenApi } from '../openapi-import.js';
import { ErrorSummary, type Errors, errorsOf, Field, FieldError, TextArea } from '../views/components.js';
import { CsrfField } from '../views/layout.js';
import {
  EMPTY_ROW,
  foldCorsErrors,
  labelsFor,
  ROUTE_INPUTS,
  type RouteRow,
  routeRows,
  settingsInput,
  type Values,
  valuesOf,
} from './api-form.js';

const METHODS = ['*', 'GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** The OpenAPI text from the upload (preferred) or the text area. */
export async function openapiText(c: PortalContext): Promise<string> {
  const f = file(c, 'openapiFile');
  if (f) return f.text();
  return field(c, 'openapi');
}

function RoutesTable(p: { rows: RouteRow[]; errors: Errors }) {
  const rows = [...p.rows, EMPTY_ROW];
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
            <th class="num">Throttle rate (per second)</th>
            <th class="num">Throttle burst</th>
            <th>Public (no key)</th>
            <th>Remove</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => {
            const name = (f: string) => `routes[${i}].${f}`;
            const label = (l: string) => `Route ${i + 1}, ${l}`;
            const idOf = (f: string) => `f-routes-${i}-${f.replace('.', '-')}`;
            const isNew = i === p.rows.length;
            const err = (f: string) => p.errors[name(f)];
            return (
              <tr>
                <td>
                  <input type="hidden" name={name('id')} value={r.id} />
                  <select name={name('method')} id={idOf('method')} aria-label={label('method')}>
                    {(isNew ? ['', ...METHODS] : METHODS).map((m) => (
                      <option value={m} selected={m === r.method}>
                        {m === '' ? '(new route)' : m}
                      </option>
                    ))}
                  </select>
                </td>
                {ROUTE_INPUTS.map((col) => (
                  <td>
                    <input
                      name={name(col.field)}
                      id={idOf(col.field)}
                      aria-label={label(col.label)}
                      value={r[col.key]}
                      inputmode={
                        col.key === 'units' || col.key === 'burst'
                          ? 'numeric'
                          : col.key === 'rate'
                            ? 'decimal'
                            : undefined
                      }
                      aria-invalid={err(col.field) ? 'true' : undefined}
                      aria-describedby={err(col.field) ? `${idOf(col.field)}-err` : undefined}
                      size={col.size}
                    />
                    <FieldError id={`${idOf(col.field)}-err`} message={err(col.field)} />
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
            label="Host name"
            name="host"
            value={v.host}
            errors={errors}
            placeholder="api.example.com"
            hint="Only calls for this host reach the API; it must be a host the operator assigned to you. Empty: any host."
          />
          <Field
            label="Path prefix"
            name="pathPrefix"
            value={v.pathPrefix}
            errors={errors}
            hint="Calls to the gateway under this prefix go to this API."
          />
          <div class="field" data-field="stripPrefix">
            <label class="choice">
              <input type="checkbox" id="f-stripPrefix" name="stripPrefix" checked={v.stripPrefix} /> Forward
              without the prefix (with the prefix /weather, a call to /weather/forecast reaches the upstream
              as /forecast)
            </label>
          </div>
          <Field
            label="Upstream timeout (ms)"
            name="timeoutMs"
            value={v.timeoutMs}
            errors={errors}
            inputmode="numeric"
            required
            hint="How long the gateway waits for the upstream's answer before it answers 504 Gateway Timeout; 1 to 300000."
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
      host: field(c, 'host').trim(),
      pathPrefix: field(c, 'pathPrefix').trim(),
      stripPrefix: field(c, 'stripPrefix') === 'on',
      timeoutMs: field(c, 'timeoutMs').trim(),
      corsOrigins: field(c, 'corsOrigins'),
      rateLimitHeaders: field(c, 'rateLimitHeaders') === 'on',
      // The empty last row is not a route; a filled one is a new route.
      routes: all.filter((r) => r.id || r.path || r.dimension || r.units || r.rate || r.burst),
    };
    const kept = v.routes.filter((r) => !r.remove);
    const { input, errors } = settingsInput(api, v, kept);
    // Issues name routes by their place among the kept ones: shown on the rows they came from.
    const onRows = (issues: Errors): Errors => {
      const out: Errors = {};
      for (const [k, m] of Object.entries(foldCorsErrors(issues))) {
        const r = /^routes\[(\d+)\](.*)$/.exec(k);
        const row = r ? v.routes.indexOf(kept[Number(r[1])]!) : -1;
        out[r && row >= 0 ? `routes[${row}]${r[2]}` : k] ??= m;
      }
      return out;
    };
    // The admin API's schema judges the whole form first, so every problem shows at once.
    const checked = schemas.apiUpdate.safeParse(input);
    const found = { ...onRows(checked.success ? {} : errorsOf(zodIssues(checked.error))) };
    for (const [k, m] of Object.entries(onRows(errors))) found[k] ??= m;
    if (Object.keys(found).length) return page(c, api, v, found, 400);
    try {
      await deps.catalog.apis.update(actor, api.id, input);
    } catch (err) {
      // What only the store can judge: a routing clash, a host not assigned, a refused upstream.
      const byField =
        isTollgateError(err) &&
        (err.code === 'VALIDATION_FAILED' || err.code === 'CONFLICT' || err.code === 'FORBIDDEN');
      if (byField && (err.issues.length || err.code === 'CONFLICT')) {
        const issues = err.issues.length ? errorsOf(err.issues) : { pathPrefix: err.message };
        return page(c, api, v, onRows(issues), 400);
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
                throttle: same.throttle,
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
