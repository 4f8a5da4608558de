/** The buyer's subscriptions: overview, one subscription (change plan, cancel), and keys (create, roll, revoke). */
import type { Hono } from 'hono';
import { PORTAL_OPERATOR, type PortalDeps } from '../deps.js';
import { field, type PortalEnv } from '../http/env.js';
import { errorPage, render, requireRole, unlessMissing } from '../http/render.js';
import { day, Status, Table } from '../views/components.js';
import { CsrfField } from '../views/layout.js';
import { firstCallForPlan } from './first-call.js';
import { KeyReveal } from './key-reveal.js';
import type { BuyerQueries } from './queries.js';

const iso = (ms: number | null) => (ms == null ? null : new Date(ms).toISOString());
const LIVE = ['pending', 'trialing', 'active', 'suspended'];

export function accountPages(app: Hono<PortalEnv>, deps: PortalDeps & { buyer: BuyerQueries }) {
  const guard = requireRole('buyer');
  app.use('/account', guard);
  app.use('/account/*', guard);

  app.get('/account', async (c) => {
    const user = c.get('user')!;
    const subs = await deps.buyer.subscriptions(user.consumerId!);
    return render(
      c,
      'Your subscriptions',
      <section>
        <h1>Your subscriptions</h1>
        <Table
          head={['API', 'Plan', 'Status', 'Since', '']}
          rows={subs.length}
          empty="You do not subscribe to any API yet. Find one in the marketplace."
        >
          {subs.map((s) => (
            <tr>
              <td>
                {s.product ? <a href={`/products/${s.product.id}`}>{s.product.title}</a> : s.providerName}
              </td>
              <td>{s.planName}</td>
              <td>
                <Status value={s.status} />
              </td>
              <td>{day(iso(s.startedAt))}</td>
              <td>
                <a href={`/account/subscriptions/${s.id}`}>Manage</a> ·{' '}
                <a href={`/account/usage?subscription=${s.id}`}>Usage</a>
              </td>
            </tr>
          ))}
        </Table>
        <p>
          <a href="/">Browse the marketplace →</a>
        </p>
      </section>,
    );
  });

  app.get('/account/subscriptions/:id', async (c) => {
    const user = c.get('user')!;
    const s = await deps.buyer.subscription(user.consumerId!, c.req.param('id'));
    const others = [];
    for (const id of s.product?.planIds ?? []) {
      if (id === s.planId) continue;
      const p = await unlessMissing(deps.catalog.plans.get(PORTAL_OPERATOR, id));
      if (p) others.push(p);
    }
    const keys = (await deps.buyer.keys(user.consumerId!)).filter((k) => k.subscriptionId === s.id);
    const canChange = ['trialing', 'active'].includes(s.status) && others.length > 0 && !!deps.marketplace;
    return render(
      c,
      s.product?.title ?? 'Subscription',
      <section>
        <h1>
          {s.product?.title ?? s.providerName} <Status value={s.status} />
        </h1>
        <p>
          Plan <strong>{s.planName}</strong> since {day(iso(s.startedAt))}
          {s.trialEndsAt ? `, trial until ${day(iso(s.trialEndsAt))}` : ''}. ·{' '}
          <a href={`/account/usage?subscription=${s.id}`}>Usage</a> · <a href="/account/invoices">Invoices</a>
        </p>
        {s.status === 'cancelled' ? (
          <p class="notice info" data-final-invoice>
            Cancelled. The final invoice for this subscription appears under{' '}
            <a href="/account/invoices">Invoices</a> once it is issued.
          </p>
        ) : null}
        <h2>Keys</h2>
        <p>
          {keys.filter((k) => k.enabled).length} active key(s). <a href="/account/keys">Manage keys</a>
        </p>
        {LIVE.includes(s.status) ? (
          <form method="post" action={`/account/subscriptions/${s.id}/keys`}>
            <CsrfField token={c.get('csrf')} />
            <button type="submit" class="secondary">
              Create another key
            </button>
          </form>
        ) : null}
        {canChange ? (
          <>
            <h2>Change plan</h2>
            <form method="post" action={`/account/subscriptions/${s.id}/plan`} class="card">
              <CsrfField token={c.get('csrf')} />
              <fieldset>
                <legend>Move to</legend>
                {others.map((p, i) => (
                  <label class="choice">
                    <input type="radio" name="planId" value={p.id} checked={i === 0} /> {p.name}
                  </label>
                ))}
              </fieldset>
              <p class="muted">The change takes effect now; this period is prorated on your next invoice.</p>
              <button type="submit">Change plan</button>
            </form>
          </>
        ) : null}
        {LIVE.includes(s.status) && deps.marketplace ? (
          <>
            <h2>Cancel</h2>
            <form
              method="post"
              action={`/account/subscriptions/${s.id}/cancel`}
              data-confirm="Cancel this subscription? Its keys stop working."
            >
              <CsrfField token={c.get('csrf')} />
              <p>
                Cancelling disables the keys and ends the billing period now: a final invoice for the usage so
                far appears under <a href="/account/invoices">Invoices</a> once the seller issues it.
              </p>
              <button type="submit" class="danger">
                Cancel subscription
              </button>
            </form>
          </>
        ) : null}
      </section>,
    );
  });

  app.post('/account/subscriptions/:id/plan', async (c) => {
    const user = c.get('user')!;
    const s = await deps.buyer.subscription(user.consumerId!, c.req.param('id'));
    const planId = field(c, 'planId');
    if (!deps.marketplace) return errorPage(c, 503, 'The marketplace is not enabled.');
    if (!s.product?.planIds.includes(planId))
      return errorPage(c, 400, 'That plan is not on offer for this API.');
    await deps.marketplace.subscriptions.changePlan(s.id, planId);
    return c.redirect(`/account/subscriptions/${s.id}`, 303);
  });

  app.post('/account/subscriptions/:id/cancel', async (c) => {
    const user = c.get('user')!;
    const s = await deps.buyer.subscription(user.consumerId!, c.req.param('id'));
    if (!deps.marketplace) return errorPage(c, 503, 'The marketplace is not enabled.');
    await deps.marketplace.subscriptions.cancel(s.id, undefined, 'cancelled by the buyer in the portal');
    return c.redirect(`/account/subscriptions/${s.id}`, 303);
  });

  app.post('/account/subscriptions/:id/keys', async (c) => {
    const user = c.get('user')!;
    const s = await deps.buyer.subscription(user.consumerId!, c.req.param('id'));
    const key = await deps.catalog.keys.create(PORTAL_OPERATOR, {
      subscriptionId: s.id,
      name: s.product?.title ?? '',
    });
    return render(
      c,
      'Your new key',
      <KeyReveal
        value={key.value}
        heading="Your new key"
        next="/account/keys"
        call={await firstCallForPlan(deps, s.planId)}
      />,
    );
  });

  app.get('/account/keys', async (c) => {
    const user = c.get('user')!;
    const keys = await deps.buyer.keys(user.consumerId!);
    const now = deps.clock.now();
    return render(
      c,
      'Your keys',
      <section>
        <h1>Your API keys</h1>
        <p class="muted">
          Only the first characters of a key are kept. Lost a key? Roll it: you get a new one, and the old one
          keeps working for 24 hours.
        </p>
        <Table
          head={['Key', 'Plan', 'Status', 'Created', 'Expires', '']}
          rows={keys.length}
          empty="No keys yet: subscribe to an API to get one."
        >
          {keys.map((k) => {
            const expired = k.expiresAt !== null && k.expiresAt <= now;
            const state = !k.enabled ? 'disabled' : expired ? 'expired' : 'enabled';
            return (
              <tr id={`key-${k.id}`}>
                <td>
                  <code>{k.prefix}…</code>
                  <div class="muted">{k.name}</div>
                </td>
                <td>{k.planName}</td>
                <td>
                  <Status value={state} />
                </td>
                <td>{day(iso(k.createdAt))}</td>
                <td>
                  {k.expiresAt ? new Date(k.expiresAt).toISOString().slice(0, 16).replace('T', ' ') : 'never'}
                </td>
                <td>
                  <div class="actions">
                    {state === 'enabled' && !k.replacedBy ? (
                      <form method="post" action={`/account/keys/${k.id}/roll`} class="inline">
                        <CsrfField token={c.get('csrf')} />
                        <button type="submit" class="secondary">
                          Roll
                        </button>
                      </form>
                    ) : null}
                    {state === 'enabled' ? (
                      <form
                        method="post"
                        action={`/account/keys/${k.id}/revoke`}
                        class="inline"
                        data-confirm="Revoke this key now? Calls with it will fail."
                      >
                        <CsrfField token={c.get('csrf')} />
                        <button type="submit" class="danger">
                          Revoke
                        </button>
                      </form>
                    ) : null}
                  </div>
                </td>
              </tr>
            );
          })}
        </Table>
      </section>,
    );
  });

  app.post('/account/keys/:id/roll', async (c) => {
    const user = c.get('user')!;
    const k = await deps.buyer.key(user.consumerId!, c.req.param('id'));
    const r = await deps.catalog.keys.roll(PORTAL_OPERATOR, k.id);
    const s = await deps.buyer.subscription(user.consumerId!, k.subscriptionId);
    return render(
      c,
      'Your new key',
      <KeyReveal
        value={r.new.value}
        heading="Key rolled: here is the new one"
        next="/account/keys"
        call={await firstCallForPlan(deps, s.planId)}
      />,
    );
  });

  app.post('/account/keys/:id/revoke', async (c) => {
    const user = c.get('user')!;
    const k = await deps.buyer.key(user.consumerId!, c.req.param('id'));
    await deps.catalog.keys.disable(PORTAL_OPERATOR, k.id);
    return c.redirect('/account/keys', 303);
  });
}
