/**
 * Provider console, payments: connect a Stripe account (secret key and webhook signing
 * secret, stored sealed and shown masked), check the connection, the webhook URL to give
 * Stripe, each plan's dunning policy, and the subscribers whose invoices are past due.
 * (/console/* is provider-only: the guard is installed by the APIs pages.)
 */
import type { Hono } from 'hono';
import { formatMoney } from '../../billing/index.js';
import { isTollgateError } from '../../shared/index.js';
import { type PortalDeps, providerActor } from '../deps.js';
import { field, type PortalContext, type PortalEnv } from '../http/env.js';
import { errorPage, render } from '../http/render.js';
import { day, ErrorSummary, type Errors, errorsOf, Field, Status, Table } from '../views/components.js';
import { CsrfField } from '../views/layout.js';

export function paymentPages(app: Hono<PortalEnv>, deps: PortalDeps) {
  const origin = (c: PortalContext) =>
    (deps.config.publicUrl ?? new URL(c.req.url).origin).replace(/\/$/, '');

  async function page(c: PortalContext, errors: Errors = {}, notice: string | null = null) {
    const payments = deps.payments;
    if (!payments) return errorPage(c, 503, 'Payments are not enabled on this Tollgate.');
    const actor = providerActor(c.get('user')!);
    const [own, shared, pastDue, plans] = await Promise.all([
      payments.connections.get(actor.providerId),
      payments.connections.get('*'),
      payments.pastDue(actor.providerId),
      deps.catalog.plans.list(actor, { limit: 200 }),
    ]);
    const policies = await Promise.all(plans.items.map((p) => payments.dunning.suspendAfterDays(p.id)));
    const csrf = c.get('csrf');
    return render(
      c,
      'Payments',
      <section>
        <h1>Payments</h1>
        {notice ? <p class="notice">{notice}</p> : null}
        <h2>Stripe</h2>
        {own ? (
          <dl class="connection">
            <dt>Secret key</dt>
            <dd data-secret-key>{own.secretKey}</dd>
            <dt>Webhook signing secret</dt>
            <dd>{own.webhookSecret}</dd>
            <dt>Last check</dt>
            <dd data-check>
              {own.checkedAt
                ? `${own.checkResult === 'ok' ? `ok (${own.accountRef})` : own.checkResult} — ${day(own.checkedAt)}`
                : 'never'}
            </dd>
          </dl>
        ) : (
          <p class="muted">
            {shared
              ? "Not connected: your invoices are collected through the installation's Stripe account."
              : 'Not connected: invoices are issued but not collected.'}
          </p>
        )}
        {own ? (
          <form method="post" action="/console/payments/check" class="inline">
            <CsrfField token={csrf} />
            <button type="submit">Check connection</button>
          </form>
        ) : null}
        <p>
          In Stripe, add a webhook endpoint at{' '}
          <code>{`${origin(c)}/payments/stripe/webhook/${actor.providerId}`}</code> for the events{' '}
          <code>invoice.paid</code>, <code>invoice.payment_failed</code>, <code>invoice.voided</code> and{' '}
          <code>invoice.marked_uncollectible</code>, and paste its signing secret here.
        </p>
        <form method="post" action="/console/payments/connection">
          <CsrfField token={csrf} />
          <ErrorSummary errors={errors} />
          <Field
            label="Secret key"
            name="secretKey"
            type="password"
            autocomplete="off"
            errors={errors}
            required
          />
          <Field
            label="Webhook signing secret"
            name="webhookSecret"
            type="password"
            autocomplete="off"
            errors={errors}
            required
          />
          <button type="submit">{own ? 'Replace' : 'Connect Stripe'}</button>
        </form>

        <h2>Past due</h2>
        <Table
          head={['Buyer', 'Invoice', 'Total', 'Past due since', 'Subscription']}
          numeric={[2]}
          rows={pastDue.length}
          empty="No invoice is past due."
        >
          {pastDue.map((p) => (
            <tr data-past-due={p.subscriptionId}>
              <td>{p.consumerName}</td>
              <td>
                <a href={`/console/invoices/${p.invoiceId}`}>{p.number}</a>
              </td>
              <td class="num">{formatMoney(p.total, p.currency)}</td>
              <td>{day(p.pastDueSince)}</td>
              <td>
                <Status value={p.subscriptionStatus} />
              </td>
            </tr>
          ))}
        </Table>

        <h2>Dunning</h2>
        <p class="muted">
          Stripe retries a failed payment on its own schedule. After the days set here the subscription is
          suspended (its keys answer 403) until the invoice is paid. Leave empty to never suspend.
        </p>
        <Table head={['Plan', 'Suspend after (days past due)']} rows={plans.items.length}>
          {plans.items.map((p, i) => (
            <tr>
              <td>{p.name}</td>
              <td>
                <form method="post" action={`/console/payments/dunning/${p.id}`} class="inline">
                  <CsrfField token={csrf} />
                  <input
                    name="days"
                    inputmode="numeric"
                    aria-label={`Days for ${p.name}`}
                    value={policies[i] ?? ''}
                  />
                  <button type="submit">Save</button>
                </form>
              </td>
            </tr>
          ))}
        </Table>
      </section>,
    );
  }

  app.get('/console/payments', (c) => page(c));

  app.post('/console/payments/connection', async (c) => {
    if (!deps.payments) return page(c);
    const actor = providerActor(c.get('user')!);
    try {
      await deps.payments.connections.connect(actor.providerId, {
        secretKey: field(c, 'secretKey').trim(),
        webhookSecret: field(c, 'webhookSecret').trim(),
      });
    } catch (e) {
      if (isTollgateError(e) && e.issues.length) return page(c, errorsOf(e.issues));
      throw e;
    }
    await deps.payments.connections.check(actor.providerId);
    return c.redirect('/console/payments', 303);
  });

  app.post('/console/payments/check', async (c) => {
    if (!deps.payments) return page(c);
    await deps.payments.connections.check(providerActor(c.get('user')!).providerId);
    return c.redirect('/console/payments', 303);
  });

  app.post('/console/payments/dunning/:plan', async (c) => {
    if (!deps.payments) return page(c);
    const plan = await deps.catalog.plans.get(providerActor(c.get('user')!), c.req.param('plan'));
    const raw = field(c, 'days').trim();
    if (raw !== '' && !/^\d{1,3}$/.test(raw)) return page(c, { days: 'days: a whole number from 0 to 999' });
    await deps.payments.dunning.setPolicy(plan.id, raw === '' ? null : Number(raw));
    return c.redirect('/console/payments', 303);
  });
}
