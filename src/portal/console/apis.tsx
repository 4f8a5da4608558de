/** Provider console: the overview and the APIs (list, create from an OpenAPI document); one API: api-page.tsx. */
import type { Hono } from 'hono';
import type { ApiView } from '../../catalog/index.js';
import { isTollgateError } from '../../shared/index.js';
import { type PortalDeps, providerActor } from '../deps.js';
import { field, type PortalContext, type PortalEnv } from '../http/env.js';
import { render, requireRole } from '../http/render.js';
import { importOpenApi } from '../openapi-import.js';
import { ErrorSummary, type Errors, errorsOf, Field, Table, TextArea } from '../views/components.js';
import { CsrfField } from '../views/layout.js';
import { apiDetailPages, openapiText } from './api-page.js';

const LABELS: Record<string, string> = {
  name: 'Name',
  upstreamUrl: 'Upstream URL',
  pathPrefix: 'Path prefix',
  openapi: 'OpenAPI document',
};

/** Routes field errors (`routes[3].path`) are shown on the document field. */
function foldRouteErrors(errors: Errors): Errors {
  const out: Errors = {};
  for (const [k, v] of Object.entries(errors)) {
    if (k.startsWith('routes')) out.openapi ??= `${k}: ${v}`;
    else out[k] = v;
  }
  return out;
}

export function apiPages(app: Hono<PortalEnv>, deps: PortalDeps) {
  const guard = requireRole('provider');
  app.use('/console', guard);
  app.use('/console/*', guard);

  app.get('/console', async (c) => {
    const actor = providerActor(c.get('user')!);
    const provider = await deps.catalog.providers.get(actor, actor.providerId);
    const [apis, plans, subs] = await Promise.all([
      deps.catalog.apis.list(actor, { limit: 200 }),
      deps.catalog.plans.list(actor, { limit: 200 }),
      deps.catalog.subscriptions.list(actor, { limit: 200 }),
    ]);
    const products = deps.marketplace ? await deps.marketplace.products.list(actor) : [];
    const cards: Array<[string, string, string]> = [
      ['/console/apis', 'APIs', `${apis.items.length} registered`],
      ['/console/plans', 'Plans and prices', `${plans.items.length} plans`],
      [
        '/console/products',
        'Products',
        `${products.filter((p) => p.status === 'published').length} published of ${products.length}`,
      ],
      [
        '/console/subscribers',
        'Subscribers',
        `${subs.items.filter((s) => s.status !== 'cancelled').length} live subscriptions`,
      ],
      ['/console/revenue', 'Revenue', 'by month, from invoices'],
      ['/console/webhooks', 'Webhooks', 'signed event delivery'],
    ];
    return render(
      c,
      'Console',
      <section>
        <h1>{provider.name}</h1>
        <p class="muted">Sell your API: register it, price a plan, publish a product.</p>
        <div class="cards">
          {cards.map(([href, title, text]) => (
            <div class="card">
              <h2>
                <a href={href}>{title}</a>
              </h2>
              <p>{text}</p>
            </div>
          ))}
        </div>
      </section>,
    );
  });

  function list(
    c: PortalContext,
    apis: ApiView[],
    values: Record<string, string>,
    errors: Errors,
    status: 200 | 400 = 200,
  ) {
    return render(
      c,
      'APIs',
      <section>
        <h1>APIs</h1>
        <Table
          head={['Name', 'Routing', 'Upstream', 'Routes']}
          numeric={[3]}
          rows={apis.length}
          empty="No API yet: create one below."
        >
          {apis.map((a) => (
            <tr>
              <td>
                <a href={`/console/apis/${a.id}`}>{a.name}</a>
              </td>
              <td>
                <code>{a.pathPrefix ?? ''}</code> {a.host ? <code>{a.host}</code> : null}
              </td>
              <td class="mono">{a.upstreamUrl}</td>
              <td class="num">{a.routes.length}</td>
            </tr>
          ))}
        </Table>
        <h2 id="new">New API</h2>
        <ErrorSummary errors={errors} labels={LABELS} />
        <form method="post" action="/console/apis" enctype="multipart/form-data" class="card" novalidate>
          <CsrfField token={c.get('csrf')} />
          <Field label="Name" name="name" value={values.name} errors={errors} required />
          <Field
            label="Upstream URL"
            name="upstreamUrl"
            value={values.upstreamUrl}
            errors={errors}
            placeholder="https://api.internal.example:8443"
            hint="Where the gateway forwards calls. Leave empty to use the document's first server."
          />
          <Field
            label="Path prefix"
            name="pathPrefix"
            value={values.pathPrefix}
            errors={errors}
            placeholder="/weather"
            hint="Calls to the gateway under this prefix go to this API."
          />
          <div class="field" data-field="openapiFile">
            <label for="f-openapiFile">OpenAPI 3 document (JSON or YAML)</label>
            <input
              id="f-openapiFile"
              name="openapiFile"
              type="file"
              accept=".json,.yaml,.yml,application/json,application/yaml,text/yaml"
            />
            <small class="hint">
              One route is created per path and method, with its {'{param}'} templates. Or paste it:
            </small>
          </div>
          <TextArea
            label="…or paste the document"
            name="openapi"
            value={values.openapi}
            errors={errors}
            rows={5}
          />
          <button type="submit">Create API</button>
        </form>
      </section>,
      { status },
    );
  }

  app.get('/console/apis', async (c) => {
    const actor = providerActor(c.get('user')!);
    const apis = await deps.catalog.apis.list(actor, { limit: 200 });
    return list(c, apis.items, {}, {});
  });

  app.post('/console/apis', async (c) => {
    const actor = providerActor(c.get('user')!);
    const text = await openapiText(c);
    const values = {
      name: field(c, 'name').trim(),
      upstreamUrl: field(c, 'upstreamUrl').trim(),
      pathPrefix: field(c, 'pathPrefix').trim(),
      openapi: field(c, 'openapi'),
    };
    const fail = async (errors: Errors) =>
      list(c, (await deps.catalog.apis.list(actor, { limit: 200 })).items, values, errors, 400);
    let input: Record<string, unknown> = {};
    if (text.trim()) {
      const r = importOpenApi(text);
      if (!r.ok) return fail({ openapi: r.message });
      if (!values.name) values.name = r.title;
      if (!values.upstreamUrl && r.server) values.upstreamUrl = r.server;
      input = {
        openapi: r.document,
        routes: r.routes.map((rt) => ({ method: rt.method, path: rt.path })),
      };
    }
    try {
      const api = await deps.catalog.apis.create(actor, {
        ...input,
        name: values.name,
        upstreamUrl: values.upstreamUrl,
        pathPrefix: values.pathPrefix || null,
      });
      return c.redirect(`/console/apis/${api.id}`, 303);
    } catch (err) {
      if (isTollgateError(err) && (err.code === 'VALIDATION_FAILED' || err.code === 'CONFLICT')) {
        const errors = err.issues.length
          ? foldRouteErrors(errorsOf(err.issues))
          : { pathPrefix: err.message };
        return fail(errors);
      }
      throw err;
    }
  });

  apiDetailPages(app, deps);
}
