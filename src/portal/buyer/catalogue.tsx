/**
 * Public marketplace pages: the catalogue with search, a product page (Markdown description,
 * plans with a pricing table for 1k / 100k / 10M calls or units of what the price charges, API docs), Swagger UI docs served
 * locally, and the subscribe action that reveals the key once.
 */
import type { Hono } from 'hono';
import { raw } from 'hono/html';
import { type ApiView, enforcedQuota, enforcedThrottle, type PlanView } from '../../catalog/index.js';
import { invalid, isTollgateError } from '../../shared/index.js';
import { PORTAL_OPERATOR, type PortalDeps, type ProductLike } from '../deps.js';
import { type FirstCall, firstCall } from '../examples.js';
import { field, type PortalContext, type PortalEnv } from '../http/env.js';
import { errorPage, notFoundPage, render, requireRole, unlessMissing } from '../http/render.js';
import { CSP } from '../http/security.js';
import { renderMarkdown } from '../markdown.js';
import {
  chargeLines,
  feeLine,
  overQuota,
  quotaPerPeriod,
  type Sample,
  sampleCosts,
  samples,
} from '../pricing.js';
import { buyerDocument, gatewayBase } from '../reference.js';
import { FirstCallExamples } from '../views/examples.js';
import { CsrfField } from '../views/layout.js';
import { apisById } from './first-call.js';
import { KeyReveal } from './key-reveal.js';
import type { BuyerQueries } from './queries.js';

interface PlanOffer {
  plan: PlanView;
  /** The billing period of the plan's price (month when unpriced). */
  interval: 'month' | 'year';
  fee: string | null;
  charges: string[];
  costs: Array<string | null>;
}

export function cataloguePages(app: Hono<PortalEnv>, deps: PortalDeps & { buyer: BuyerQueries }) {
  const mp = deps.marketplace;

  const apisOf = (product: ProductLike) => apisById(deps, product.apiIds);

  /** The dimension "a call" counts in, and its units per call: the product's first metered route. */
  function callDimension(apis: ApiView[]): { dimension: string; units: number } {
    for (const a of apis)
      for (const r of a.routes)
        if (!r.public && r.units > 0) return { dimension: r.dimension, units: r.units };
    return { dimension: 'requests', units: 1 };
  }

  async function offers(product: ProductLike, apis: ApiView[], columns: Sample[]): Promise<PlanOffer[]> {
    const { dimension } = callDimension(apis);
    const out: PlanOffer[] = [];
    for (const planId of product.planIds) {
      const plan = await unlessMissing(deps.catalog.plans.get(PORTAL_OPERATOR, planId));
      if (!plan) continue;
      const rec = await unlessMissing(deps.billing?.getPrice(planId));
      out.push({
        plan,
        interval: rec?.price.interval ?? 'month',
        fee: rec ? feeLine(rec.price) : null,
        charges: rec ? chargeLines(rec.price) : [],
        costs: rec ? await sampleCosts(deps.billing, planId, dimension, columns) : columns.map(() => null),
      });
    }
    return out;
  }

  /** The first call to show next to a key and on the product page, from the API's own operations. */
  function exampleCall(apis: ApiView[]): FirstCall | null {
    const gw = deps.config.gatewayUrl;
    return gw ? firstCall(apis, gw) : null;
  }

  function unavailable(c: PortalContext) {
    return errorPage(c, 503, 'The marketplace is not enabled on this Tollgate.', 'Marketplace unavailable');
  }

  app.get('/', async (c) => {
    if (!mp) return unavailable(c);
    const q = (c.req.query('q') ?? '').trim().slice(0, 200);
    const cursor = c.req.query('after');
    const page = await mp.products.browse({ q: q || undefined, limit: 24, cursor: cursor || undefined });
    return render(
      c,
      'Marketplace',
      <section>
        <h1>API marketplace</h1>
        <search>
          <form method="get" action="/" class="search">
            <label for="q" class="visually-hidden">
              Search APIs
            </label>
            <input id="q" name="q" type="search" value={q} placeholder="Search APIs, e.g. capture" />
            <button type="submit">Search</button>
          </form>
        </search>
        {page.items.length === 0 ? (
          <p class="empty">{q ? `No API matches “${q}”.` : 'No API is listed yet.'}</p>
        ) : (
          <div class="cards">
            {page.items.map((p) => (
              <article class="card product">
                <h2>
                  <a href={`/products/${p.id}`}>{p.title}</a>
                </h2>
                <p>{p.summary || 'No summary.'}</p>
                <p class="muted">
                  {p.planIds.length} plan{p.planIds.length === 1 ? '' : 's'}
                </p>
              </article>
            ))}
          </div>
        )}
        {page.nextCursor ? (
          <p>
            <a href={`/?${new URLSearchParams({ ...(q ? { q } : {}), after: page.nextCursor }).toString()}`}>
              More APIs →
            </a>
          </p>
        ) : null}
      </section>,
    );
  });

  async function loadProduct(c: PortalContext): Promise<ProductLike> {
    if (!mp) throw invalid('marketplace', 'not enabled');
    return mp.products.view(c.req.param('id')!, c.req.query('invite') || undefined);
  }

  app.get('/products/:id', async (c) => {
    if (!mp) return unavailable(c);
    const product = await loadProduct(c);
    const apis = await apisOf(product);
    const { dimension, units } = callDimension(apis);
    const columns = samples(dimension, units);
    const plans = await offers(product, apis, columns);
    const user = c.get('user');
    const existing = user?.consumerId
      ? await deps.buyer.liveSubscriptionTo(user.consumerId, product.planIds)
      : null;
    const invite = c.req.query('invite');
    return render(
      c,
      product.title,
      <article>
        <h1>{product.title}</h1>
        {product.summary ? <p class="lead">{product.summary}</p> : null}
        <div class="prose" id="description">
          {raw(renderMarkdown(product.description || '_No description._'))}
        </div>

        <h2 id="pricing">Plans and pricing</h2>
        <div class="table-wrap">
          <table>
            <caption>
              Cost per billing period for an amount of usage, counted in{' '}
              {columns[0]!.calls === null ? <code>{dimension}</code> : 'calls'}
            </caption>
            <thead>
              <tr>
                <th scope="col">Plan</th>
                <th scope="col">Limits</th>
                <th scope="col">Price</th>
                {columns.map((s) => (
                  <th scope="col" class="num">
                    {s.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {plans.map((o) => (
                <tr>
                  <th scope="row">{o.plan.name}</th>
                  <td>
                    {quotaText(o.plan, o.interval)}
                    {enforcedThrottle(o.plan.throttle) ? `, ${o.plan.throttle!.rateLimit}/s` : ''}
                    {enforcedQuota(o.plan.quota) && o.plan.overQuota === 'overage' ? ', overage billed' : ''}
                  </td>
                  <td>
                    {o.fee ?? 'not priced yet'}
                    {o.charges.map((l) => (
                      <div class="muted">{l}</div>
                    ))}
                  </td>
                  {o.costs.map((v, i) => (
                    <td class="num">
                      {overQuota(columns[i]!, o.plan, o.interval) ? 'over quota' : (v ?? '—')}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>

        <h2 id="subscribe">Subscribe</h2>
        {existing ? (
          <p class="notice ok">
            You are subscribed. <a href={`/account/subscriptions/${existing}`}>Manage your subscription</a> ·{' '}
            <a href="/account/keys">Your keys</a>
          </p>
        ) : !user ? (
          <p>
            <a href={`/login?next=${encodeURIComponent(`/products/${product.id}`)}`}>Log in</a> or{' '}
            <a href={`/signup?next=${encodeURIComponent(`/products/${product.id}`)}`}>create an account</a> to
            subscribe.
          </p>
        ) : user.role !== 'buyer' ? (
          <p class="muted">Provider accounts cannot subscribe; use a buyer account.</p>
        ) : (
          <form method="post" action={`/products/${product.id}/subscribe`} class="card">
            <CsrfField token={c.get('csrf')} />
            {invite ? <input type="hidden" name="invite" value={invite} /> : null}
            <fieldset>
              <legend>Choose a plan</legend>
              {plans.map((o, i) => (
                <label class="choice">
                  <input type="radio" name="planId" value={o.plan.id} checked={i === 0} required />{' '}
                  {o.plan.name}
                  {o.fee ? <span class="muted"> — {o.fee}</span> : null}
                </label>
              ))}
            </fieldset>
            <button type="submit">Subscribe</button>
          </form>
        )}

        {(() => {
          const call = exampleCall(apis);
          return call ? (
            <>
              <h2 id="first-call">Your first call</h2>
              <p>
                With your key in <code>TOLLGATE_KEY</code> (you get one when you subscribe):
              </p>
              <FirstCallExamples call={call} id="example" />
            </>
          ) : null;
        })()}

        <h2 id="docs">Documentation</h2>
        {apis.filter((a) => a.openapi).length === 0 ? (
          <p class="empty">This API has no OpenAPI document yet.</p>
        ) : (
          <ul>
            {apis
              .filter((a) => a.openapi)
              .map((a) => (
                <li>
                  <a
                    href={`/products/${product.id}/docs/${a.id}${invite ? `?invite=${encodeURIComponent(invite)}` : ''}`}
                  >
                    {a.name} — API reference
                  </a>
                </li>
              ))}
          </ul>
        )}
      </article>,
    );
  });

  async function productApi(c: PortalContext): Promise<{ product: ProductLike; api: ApiView }> {
    const product = await loadProduct(c);
    const apiId = c.req.param('apiId')!.replace(/\.json$/, '');
    if (!product.apiIds.includes(apiId)) throw invalid('api', 'not part of this product');
    const api = await deps.catalog.apis.get(PORTAL_OPERATOR, apiId);
    return { product, api };
  }

  app.get('/products/:id/openapi/:apiId', async (c) => {
    if (!mp) return unavailable(c);
    const { api } = await productApi(c).catch((e) => {
      if (isTollgateError(e)) return { api: null as ApiView | null };
      throw e;
    });
    const doc = api ? buyerDocument(api, deps.config.gatewayUrl ?? null) : null;
    if (!doc) return notFoundPage(c);
    return c.json(doc);
  });

  app.get('/products/:id/docs/:apiId', async (c) => {
    if (!mp) return unavailable(c);
    const { product, api } = await productApi(c);
    if (!api.openapi) return notFoundPage(c);
    const invite = c.req.query('invite');
    const url = `/products/${product.id}/openapi/${api.id}.json${invite ? `?invite=${encodeURIComponent(invite)}` : ''}`;
    // Swagger UI sets inline styles through the DOM; allow styles (never scripts) inline on this
    // page, and try-it calls to the gateway (the key typed in stays in the page's memory).
    const gateway = deps.config.gatewayUrl
      ? ` ${new URL(gatewayBase(api, deps.config.gatewayUrl)).origin}`
      : '';
    c.header(
      'Content-Security-Policy',
      CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'").replace(
        "connect-src 'self'",
        `connect-src 'self'${gateway}`,
      ),
    );
    return render(
      c,
      `${api.name} reference`,
      <section>
        <p>
          <a href={`/products/${product.id}`}>← {product.title}</a>
        </p>
        <h1>{api.name} — API reference</h1>
        <p class="muted">
          Calls go to the gateway with your key in <code>x-api-key</code>: choose <strong>Authorize</strong>,
          paste the key, then <strong>Try it out</strong> on an operation. The key stays in this page and is
          forgotten when you leave it.
        </p>
        <div id="swagger" data-url={url}>
          <p class="muted">
            Loading the interactive reference… (the raw document is at <a href={url}>{url}</a>)
          </p>
        </div>
      </section>,
      {
        scripts: ['swagger/swagger-ui-bundle.js', 'docs.js'],
        styles: ['swagger/swagger-ui.css'],
        wide: true,
      },
    );
  });

  app.post('/products/:id/subscribe', requireRole('buyer'), async (c) => {
    if (!mp) return unavailable(c);
    const user = c.get('user')!;
    const productId = c.req.param('id');
    const planId = field(c, 'planId');
    const invite = field(c, 'invite') || undefined;
    if (!planId) return errorPage(c, 400, 'Choose a plan first.');
    const product = await mp.products.view(productId, invite);
    if (await deps.buyer.liveSubscriptionTo(user.consumerId!, product.planIds)) {
      return errorPage(
        c,
        409,
        'You already subscribe to this API. Change your plan from your subscriptions page instead.',
      );
    }
    const r = await mp.subscriptions.subscribe({
      productId,
      planId,
      consumerId: user.consumerId!,
      ...(invite ? { inviteCode: invite } : {}),
      keyName: product.title,
    });
    if (r.registration) {
      const target = new URL(r.registration.url);
      c.header(
        'Content-Security-Policy',
        CSP.replace("form-action 'self'", `form-action 'self' ${target.origin}`),
      );
      return render(
        c,
        'Finish your registration',
        <section class="narrow">
          <h1>One more step</h1>
          <p>
            {product.title} is set up by its provider. Continue to their registration page to finish; the link
            works for a few hours.
          </p>
          <form method="post" action={r.registration.url}>
            <input type="hidden" name="x-amzn-marketplace-token" value={r.registration.token} />
            <button type="submit">Continue to registration</button>
          </form>
        </section>,
      );
    }
    if (!r.key) return c.redirect(`/account/subscriptions/${r.subscription.id}`, 303);
    return render(
      c,
      'Your API key',
      <KeyReveal
        value={r.key.value}
        heading={`You are subscribed to ${product.title}`}
        next="/account/keys"
        call={exampleCall(await apisOf(product))}
      />,
    );
  });
}

/** "1,000 calls / day (at most 30,000 a month)", or "no quota" when none is enforced. */
function quotaText(plan: PlanView, interval: Parameters<typeof quotaPerPeriod>[1]): string {
  const q = enforcedQuota(plan.quota);
  if (!q) return 'no quota';
  const per =
    q.period === 'MONTH' && interval === 'month'
      ? ''
      : ` (at most ${quotaPerPeriod(q, interval).toLocaleString('en-US')} a ${interval})`;
  return `${q.limit.toLocaleString('en-US')} calls / ${q.period.toLowerCase()}${per}`;
}
