/** Provider console: marketplace products (draft → publish ⇄ unpublish), through src/marketplace. */
import type { Hono } from 'hono';
import type { ApiView, PlanView } from '../../catalog/index.js';
import { isTollgateError } from '../../shared/index.js';
import { type PortalDeps, type ProductLike, providerActor } from '../deps.js';
import { field, fields, type PortalContext, type PortalEnv } from '../http/env.js';
import { errorPage, render } from '../http/render.js';
import {
  ErrorSummary,
  type Errors,
  errorsOf,
  Field,
  Select,
  Status,
  Table,
  TextArea,
} from '../views/components.js';
import { CsrfField } from '../views/layout.js';

interface Values {
  title: string;
  summary: string;
  description: string;
  visibility: string;
  apiIds: string[];
  planIds: string[];
}

/** The form's fields, top to bottom, as their labels read. */
const LABELS: Record<string, string> = {
  title: 'Title',
  summary: 'Summary (one line)',
  description: 'Description (Markdown)',
  apiIds: 'APIs',
  planIds: 'Plans on offer',
  visibility: 'Visibility',
};

export function productPages(app: Hono<PortalEnv>, deps: PortalDeps) {
  const off = (c: PortalContext) =>
    errorPage(c, 503, 'The marketplace is not enabled on this Tollgate.', 'Products unavailable');

  async function options(c: PortalContext): Promise<{ apis: ApiView[]; plans: PlanView[] }> {
    const actor = providerActor(c.get('user')!);
    const [apis, plans] = await Promise.all([
      deps.catalog.apis.list(actor, { limit: 200 }),
      deps.catalog.plans.list(actor, { limit: 200 }),
    ]);
    return { apis: apis.items, plans: plans.items };
  }

  async function form(
    c: PortalContext,
    product: ProductLike | null,
    v: Values,
    errors: Errors,
    status: 200 | 400 = 200,
  ) {
    const { apis, plans } = await options(c);
    return render(
      c,
      product ? product.title : 'New product',
      <section>
        <p>
          <a href="/console/products">← Products</a>
        </p>
        <h1>
          {product ? product.title : 'New product'} {product ? <Status value={product.status} /> : null}
        </h1>
        {product ? (
          <div class="actions">
            {product.status === 'draft' ? (
              <form method="post" action={`/console/products/${product.id}/publish`} class="inline">
                <CsrfField token={c.get('csrf')} />
                <button type="submit">Publish</button>
              </form>
            ) : (
              <>
                <a class="button secondary" href={`/products/${product.id}`}>
                  View in the marketplace
                </a>
                <form
                  method="post"
                  action={`/console/products/${product.id}/unpublish`}
                  class="inline"
                  data-confirm="Unpublish? Buyers will no longer find it; existing subscriptions continue."
                >
                  <CsrfField token={c.get('csrf')} />
                  <button type="submit" class="danger">
                    Unpublish
                  </button>
                </form>
              </>
            )}
          </div>
        ) : null}
        <ErrorSummary errors={errors} labels={LABELS} />
        <form
          method="post"
          action={product ? `/console/products/${product.id}` : '/console/products'}
          class="card"
          novalidate
        >
          <CsrfField token={c.get('csrf')} />
          <Field label="Title" name="title" value={v.title} errors={errors} required />
          <Field label="Summary (one line)" name="summary" value={v.summary} errors={errors} />
          <TextArea
            label="Description (Markdown)"
            name="description"
            value={v.description}
            errors={errors}
            rows={10}
            hint="Markdown; raw HTML is shown as text."
          />
          <fieldset class={errors.apiIds ? 'invalid' : undefined}>
            <legend>APIs</legend>
            {apis.map((a) => (
              <label class="choice">
                <input type="checkbox" name="apiIds" value={a.id} checked={v.apiIds.includes(a.id)} />{' '}
                {a.name}
              </label>
            ))}
            <small class="error">{errors.apiIds ?? ''}</small>
          </fieldset>
          <fieldset class={errors.planIds ? 'invalid' : undefined}>
            <legend>Plans on offer</legend>
            {plans.map((p) => (
              <label class="choice">
                <input type="checkbox" name="planIds" value={p.id} checked={v.planIds.includes(p.id)} />{' '}
                {p.name}
              </label>
            ))}
            <small class="error">{errors.planIds ?? ''}</small>
          </fieldset>
          <Select
            label="Visibility"
            name="visibility"
            value={v.visibility}
            errors={errors}
            options={[
              ['public', 'Public: listed in the marketplace'],
              ['private', 'Private: by invitation'],
            ]}
          />
          <button type="submit">{product ? 'Save' : 'Create draft'}</button>
        </form>
      </section>,
      { status },
    );
  }

  const read = (c: PortalContext): Values => ({
    title: field(c, 'title'),
    summary: field(c, 'summary'),
    description: field(c, 'description'),
    visibility: field(c, 'visibility') || 'public',
    apiIds: fields(c, 'apiIds'),
    planIds: fields(c, 'planIds'),
  });

  app.get('/console/products', async (c) => {
    if (!deps.marketplace) return off(c);
    const products = await deps.marketplace.products.list(providerActor(c.get('user')!));
    return render(
      c,
      'Products',
      <section>
        <h1>Products</h1>
        <p>
          <a class="button" href="/console/products/new">
            New product
          </a>
        </p>
        <Table
          head={['Product', 'Status', 'Visibility', 'Plans']}
          numeric={[3]}
          rows={products.length}
          empty="No product yet."
        >
          {products.map((p) => (
            <tr>
              <td>
                <a href={`/console/products/${p.id}`}>{p.title}</a>
              </td>
              <td>
                <Status value={p.status} />
              </td>
              <td>{p.visibility}</td>
              <td class="num">{p.planIds.length}</td>
            </tr>
          ))}
        </Table>
      </section>,
    );
  });

  app.get('/console/products/new', async (c) => {
    if (!deps.marketplace) return off(c);
    return form(
      c,
      null,
      { title: '', summary: '', description: '', visibility: 'public', apiIds: [], planIds: [] },
      {},
    );
  });

  app.get('/console/products/:id', async (c) => {
    if (!deps.marketplace) return off(c);
    const p = await deps.marketplace.products.get(providerActor(c.get('user')!), c.req.param('id'));
    return form(c, p, { ...p, visibility: p.visibility }, {});
  });

  async function save(c: PortalContext, id: string | null) {
    const mp = deps.marketplace!;
    const actor = providerActor(c.get('user')!);
    const v = read(c);
    const existing = id ? await mp.products.get(actor, id) : null;
    try {
      const input = {
        ...v,
        visibility: v.visibility === 'private' ? ('private' as const) : ('public' as const),
      };
      const p = existing
        ? await mp.products.update(actor, existing.id, input)
        : await mp.products.create(actor, input);
      return c.redirect(`/console/products/${p.id}`, 303);
    } catch (err) {
      if (isTollgateError(err) && (err.code === 'VALIDATION_FAILED' || err.code === 'CONFLICT')) {
        return form(c, existing, v, err.issues.length ? errorsOf(err.issues) : { title: err.message }, 400);
      }
      throw err;
    }
  }

  app.post('/console/products', (c) => (deps.marketplace ? save(c, null) : off(c)));
  app.post('/console/products/:id', (c) => (deps.marketplace ? save(c, c.req.param('id')) : off(c)));

  for (const action of ['publish', 'unpublish'] as const) {
    app.post(`/console/products/:id/${action}`, async (c) => {
      if (!deps.marketplace) return off(c);
      const actor = providerActor(c.get('user')!);
      try {
        const p = await deps.marketplace.products[action](actor, c.req.param('id'));
        return c.redirect(`/console/products/${p.id}`, 303);
      } catch (err) {
        // A refused publish (a plan that does not open an API) is shown on the form, by label.
        if (isTollgateError(err) && err.code === 'VALIDATION_FAILED' && err.issues.length) {
          const p = await deps.marketplace.products.get(actor, c.req.param('id'));
          return form(c, p, { ...p, visibility: p.visibility }, errorsOf(err.issues), 400);
        }
        throw err;
      }
    });
  }
}
