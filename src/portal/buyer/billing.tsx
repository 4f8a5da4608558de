/**
 * The buyer's billing page: per provider, the card on file as the payment processor reports
 * it and a button to the processor's hosted page to add or replace it (the processor
 * redirects back to /account/billing/{provider}/return); per subscription, a monthly budget
 * with optional hard cap and the estimated spend so far; and invoices still to pay.
 */
import type { Hono } from 'hono';
import { formatMoney } from '../../billing/index.js';
import { isTollgateError } from '../../shared/index.js';
import type { PortalDeps } from '../deps.js';
import { field, type PortalContext, type PortalEnv } from '../http/env.js';
import { errorPage, render, requireRole } from '../http/render.js';
import { Status, Table } from '../views/components.js';
import { CsrfField } from '../views/layout.js';
import type { BuyerQueries } from './queries.js';

const LIVE = ['pending', 'trialing', 'active', 'cancel_pending', 'suspended'];

export function billingPages(app: Hono<PortalEnv>, deps: PortalDeps & { buyer: BuyerQueries }) {
  const guard = requireRole('buyer');
  app.use('/account/billing', guard);
  app.use('/account/billing/*', guard);
  const origin = (c: PortalContext) =>
    (deps.config.publicUrl ?? new URL(c.req.url).origin).replace(/\/$/, '');
  const off = (c: PortalContext) => errorPage(c, 503, 'Payments are not enabled on this Tollgate.');

  app.get('/account/billing', async (c) => {
    const payments = deps.payments;
    if (!payments) return off(c);
    const consumerId = c.get('user')!.consumerId!;
    const subs = (await deps.buyer.subscriptions(consumerId)).filter((s) => LIVE.includes(s.status));
    const providers = [...new Map(subs.map((s) => [s.providerId, s.providerName])).entries()];
    const cards = await Promise.all(providers.map(([id]) => payments.cardOnFile(id, consumerId)));
    const budgets = await Promise.all(subs.map((s) => payments.spend.statusOf(s.id)));
    const owed = (await deps.billing?.listInvoices({ consumerId, status: 'open', limit: 100 }))?.items ?? [];
    const owedPayments = await Promise.all(owed.map((i) => payments.paymentOf(i.id)));
    const notice = c.req.query('card') === 'saved' ? 'Your card is saved.' : null;
    return render(
      c,
      'Billing',
      <section>
        <h1>Billing</h1>
        {notice ? <p class="notice">{notice}</p> : null}
        <h2>Payment methods</h2>
        <Table head={['Seller', 'Card on file', '']} rows={providers.length} empty="No subscription yet.">
          {providers.map(([id, name], i) => {
            const card = cards[i];
            return (
              <tr>
                <td>{name}</td>
                <td data-card={id}>
                  {card && card !== 'none'
                    ? `${card.brand} •••• ${card.last4}, expires ${String(card.expMonth).padStart(2, '0')}/${card.expYear}`
                    : 'None'}
                </td>
                <td>
                  <form method="post" action={`/account/billing/${id}/setup`}>
                    <CsrfField token={c.get('csrf')} />
                    <button type="submit">{card && card !== 'none' ? 'Replace card' : 'Add a card'}</button>
                  </form>
                </td>
              </tr>
            );
          })}
        </Table>

        <h2>Invoices to pay</h2>
        <Table
          head={['Number', 'Total', 'Payment', '']}
          numeric={[1]}
          rows={owed.length}
          empty="Nothing to pay."
        >
          {owed.map((inv, i) => (
            <tr>
              <td>
                <a href={`/account/invoices/${inv.id}`}>{inv.number}</a>
              </td>
              <td class="num">{formatMoney(inv.total, inv.currency)}</td>
              <td>
                <Status value={owedPayments[i]?.status ?? 'open'} />
              </td>
              <td>
                {owedPayments[i]?.hostedUrl ? <a href={owedPayments[i]!.hostedUrl!}>Pay online</a> : null}
              </td>
            </tr>
          ))}
        </Table>

        <h2>Monthly budgets</h2>
        <p class="muted">
          Alerts at 50, 80 and 100 % of the budget. With a hard cap, calls are refused (429) once the
          estimated usage charge of the month reaches it.
        </p>
        <Table head={['Subscription', 'Spent this month', 'Budget', '']} rows={subs.length}>
          {subs.map((s, i) => {
            const b = budgets[i];
            return (
              <tr>
                <td>
                  {s.product?.title ?? s.providerName} — {s.planName}
                </td>
                <td class="num" data-spent={s.id}>
                  {b ? formatMoney(b.spent, b.currency) : '—'}
                  {b?.capped ? ' (capped)' : ''}
                </td>
                <td colspan={2}>
                  <form method="post" action={`/account/billing/budget/${s.id}`} class="inline">
                    <CsrfField token={c.get('csrf')} />
                    <input name="amount" inputmode="decimal" aria-label="Budget" value={b?.limit ?? ''} />
                    <label>
                      <input type="checkbox" name="hardCap" value="1" checked={b?.hardCap ?? false} /> hard
                      cap
                    </label>
                    <button type="submit">Save</button>
                  </form>
                </td>
              </tr>
            );
          })}
        </Table>
      </section>,
    );
  });

  app.post('/account/billing/:provider/setup', async (c) => {
    if (!deps.payments) return off(c);
    const consumerId = c.get('user')!.consumerId!;
    const providerId = c.req.param('provider');
    const subs = await deps.buyer.subscriptions(consumerId);
    if (!subs.some((s) => s.providerId === providerId)) return errorPage(c, 404, 'Not found.');
    try {
      const url = await deps.payments.startSetup(providerId, consumerId, {
        returnUrl: `${origin(c)}/account/billing/${providerId}/return?session={SESSION}`,
        cancelUrl: `${origin(c)}/account/billing`,
      });
      return c.redirect(url, 303);
    } catch (e) {
      deps.log.warn({ err: (e as Error).message }, 'portal: payment setup failed');
      return errorPage(c, 502, 'The payment processor could not be reached. Please try again later.');
    }
  });

  app.get('/account/billing/:provider/return', async (c) => {
    if (!deps.payments) return off(c);
    const session = c.req.query('session') ?? '';
    if (!/^cs_[A-Za-z0-9_]{1,200}$/.test(session))
      return errorPage(c, 400, 'session: not a checkout session id');
    const card = await deps.payments
      .completeSetup(c.req.param('provider'), c.get('user')!.consumerId!, session)
      .catch((e: Error) => {
        deps.log.warn({ err: e.message }, 'portal: completing payment setup failed');
        return null;
      });
    return c.redirect(card ? '/account/billing?card=saved' : '/account/billing', 303);
  });

  app.post('/account/billing/budget/:id', async (c) => {
    if (!deps.payments) return off(c);
    const s = await deps.buyer.subscription(c.get('user')!.consumerId!, c.req.param('id'));
    const amount = field(c, 'amount').trim();
    try {
      if (amount === '') await deps.payments.spend.clearBudget(s.id);
      else await deps.payments.spend.setBudget(s.id, { amount, hardCap: field(c, 'hardCap') === '1' });
    } catch (e) {
      if (isTollgateError(e)) return errorPage(c, 400, e.message);
      throw e;
    }
    return c.redirect('/account/billing', 303);
  });
}
