/**
 * Invoice pages. The document routes (view, printable HTML, PDF) are shared by buyers (their
 * own finalized invoices; a draft is NOT_FOUND to them) and providers (every invoice they
 * issued, with the lifecycle actions of console/invoices.tsx). The buyer's list shows the
 * upcoming invoice of each subscription — an estimate, marked as such — above the issued ones.
 */
import type { Hono, MiddlewareHandler } from 'hono';
import type { Child } from 'hono/jsx';
import { type Estimate, formatMoney, type Invoice, type InvoiceSummary } from '../../billing/index.js';
import { notFound } from '../../shared/index.js';
import type { PortalDeps } from '../deps.js';
import type { PortalContext, PortalEnv } from '../http/env.js';
import { errorPage, type RenderOptions, render } from '../http/render.js';
import { day, Status, Table } from '../views/components.js';
import { InvoiceLines } from '../views/invoice.js';
import type { BuyerQueries } from './queries.js';

type Base = '/account/invoices' | '/console/invoices';

export interface InvoiceDocOptions {
  /** Extra content under the invoice (the console's action forms). */
  actions?: (c: PortalContext, inv: Invoice) => Promise<Child> | Child;
}

export const billingOff = (c: PortalContext) =>
  errorPage(c, 503, 'Billing is not enabled on this Tollgate.', 'Invoices unavailable');

/** Mounts view/html/pdf under `base`; `scope` says whose invoices the visitor may see. */
export function invoiceDocuments(
  app: Hono<PortalEnv>,
  deps: PortalDeps,
  base: Base,
  guard: MiddlewareHandler<PortalEnv>,
  scope: (c: PortalContext) => { consumerId?: string; providerId?: string },
  options: InvoiceDocOptions = {},
) {
  app.use(base, guard);
  app.use(`${base}/*`, guard);

  async function load(c: PortalContext): Promise<Invoice> {
    const id = c.req.param('id')!;
    const inv = await deps.billing!.getInvoice(id);
    const s = scope(c);
    const foreign =
      (s.consumerId && inv.consumerId !== s.consumerId) || (s.providerId && inv.providerId !== s.providerId);
    // a buyer sees an invoice once it is finalized, never a draft (nor a draft voided unseen)
    if (foreign || (s.consumerId && !inv.finalizedAt)) throw notFound('invoice', id);
    return inv;
  }

  app.get(`${base}/:id`, async (c) => {
    if (!deps.billing) return billingOff(c);
    return invoicePage(c, await load(c));
  });

  /** The invoice page; the console re-renders it with a notice after an action. */
  async function invoicePage(c: PortalContext, inv: Invoice, opts: RenderOptions = {}) {
    const payment = (await deps.payments?.paymentOf(inv.id)) ?? null;
    return render(
      c,
      `Invoice ${inv.number}`,
      <section data-invoice={inv.id}>
        <p>
          <a href={base}>← Invoices</a>
        </p>
        <h1>
          Invoice {inv.number} <Status value={inv.status} />
        </h1>
        <p>
          Period {day(inv.periodStart)} – {day(inv.periodEnd)} ·{' '}
          {inv.finalizedAt ? `issued ${day(inv.finalizedAt)}` : `draft written ${day(inv.createdAt)}`}
          {inv.paidAt ? ` · paid ${day(inv.paidAt)}` : ''}
          {inv.paidReference ? ` (reference ${inv.paidReference})` : ''}
        </p>
        {inv.status === 'void' ? (
          <p class="notice info" data-void-reason>
            Void since {day(inv.voidedAt)}
            {inv.voidReason ? `: ${inv.voidReason}` : ''}. Nothing is owed on it.
          </p>
        ) : null}
        {inv.reissueOf ? (
          <p class="muted">
            Re-issues a void invoice{base === '/console/invoices' ? ' ' : '.'}
            {base === '/console/invoices' ? <a href={`${base}/${inv.reissueOf}`}>(the original)</a> : null}
          </p>
        ) : null}
        <InvoiceLines lines={inv.lines} currency={inv.currency} total={inv.total} />
        {payment ? (
          <p class="payment" data-payment={payment.status}>
            Payment <Status value={payment.status} />
            {payment.reference ? <span class="muted"> · reference {payment.reference}</span> : null}
            {payment.hostedUrl && (payment.status === 'open' || payment.status === 'past_due') ? (
              <>
                {' '}
                · <a href={payment.hostedUrl}>Pay online</a>
              </>
            ) : null}
          </p>
        ) : null}
        <p class="actions">
          <a class="button" href={`${base}/${inv.id}/pdf`}>
            Download PDF
          </a>
          <a class="button secondary" href={`${base}/${inv.id}/html`}>
            Printable version
          </a>
        </p>
        {options.actions ? await options.actions(c, inv) : null}
      </section>,
      opts,
    );
  }

  app.get(`${base}/:id/html`, async (c) => {
    if (!deps.billing) return billingOff(c);
    const inv = await load(c);
    const html = await deps.billing.renderHtml(inv.id);
    c.header(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'",
    );
    return c.html(html);
  });

  app.get(`${base}/:id/pdf`, async (c) => {
    if (!deps.billing) return billingOff(c);
    const inv = await load(c);
    const pdf = await deps.billing.renderPdf(inv.id);
    return c.body(new Uint8Array(pdf), 200, {
      'content-type': 'application/pdf',
      'content-disposition': `attachment; filename="${inv.number.replace(/[^A-Za-z0-9_-]/g, '')}.pdf"`,
    });
  });

  return { invoicePage, load };
}

/** Subscriptions that may still be invoiced (a cancelled one until its final invoice exists). */
const BILLED = ['trialing', 'active', 'suspended', 'cancel_pending', 'cancelled'];

/** The buyer's list: upcoming invoices (estimates), then every issued invoice. */
export function buyerInvoiceList(
  app: Hono<PortalEnv>,
  deps: PortalDeps & { buyer: BuyerQueries },
  guard: MiddlewareHandler<PortalEnv>,
) {
  app.use('/account/invoices', guard);
  app.get('/account/invoices', async (c) => {
    const billing = deps.billing;
    if (!billing) return billingOff(c);
    const consumerId = c.get('user')!.consumerId!;
    const subs = (await deps.buyer.subscriptions(consumerId)).filter((s) => BILLED.includes(s.status));
    await deps.meter?.flush().catch(() => undefined); // the estimate counts the latest calls
    const upcoming: Array<{ title: string; estimate: Estimate }> = [];
    for (const s of subs) {
      const estimate = await billing.estimate(s.id);
      if (estimate)
        upcoming.push({ title: `${s.product?.title ?? s.providerName} · ${s.planName}`, estimate });
    }
    const issued: InvoiceSummary[] = [];
    for (let cursor: string | null | undefined; cursor !== null; ) {
      const page = await billing.listInvoices({ consumerId, limit: 200, cursor }, { issued: true });
      issued.unshift(...page.items.reverse());
      cursor = page.nextCursor;
    }
    const preparing = (await billing.listInvoices({ consumerId, status: 'draft', limit: 200 })).items.length;
    return render(
      c,
      'Invoices',
      <section>
        <h1>Invoices</h1>
        {upcoming.length ? <h2>Upcoming</h2> : null}
        {upcoming.map(({ title, estimate: e }) => (
          <div class="card estimate" data-estimate={e.subscriptionId}>
            <h3>
              {title} <span class="badge s-draft">estimate</span>
            </h3>
            <p class="muted">
              Period {day(e.periodStart)} – {day(e.periodEnd)}.{' '}
              {e.running
                ? 'This is an estimate, not an invoice: the period is still running, so usage until its end is added and the amounts will change.'
                : 'This is an estimate, not an invoice: the period has ended and its invoice is being prepared.'}
            </p>
            <InvoiceLines
              lines={e.lines}
              currency={e.currency}
              total={e.total}
              totalLabel={e.running ? 'Estimated so far' : 'Estimated total'}
            />
          </div>
        ))}
        <h2>Issued</h2>
        {preparing ? (
          <p class="notice info" data-preparing={preparing}>
            {preparing === 1 ? 'One invoice is' : `${preparing} invoices are`} being prepared by the seller.
            It appears here, with a mail to you, once it is issued.
          </p>
        ) : null}
        <Table
          head={['Number', 'Period', 'Status', 'Total', '']}
          numeric={[3]}
          rows={issued.length}
          empty="No invoices yet. They are issued after the end of each billing period."
        >
          {issued.map((i) => (
            <tr data-invoice={i.id}>
              <td>
                <a href={`/account/invoices/${i.id}`}>{i.number}</a>
              </td>
              <td>
                {day(i.periodStart)} – {day(i.periodEnd)}
              </td>
              <td>
                <Status value={i.status} />
              </td>
              <td class="num">{formatMoney(i.total, i.currency)}</td>
              <td>
                <a href={`/account/invoices/${i.id}/pdf`}>PDF</a>
              </td>
            </tr>
          ))}
        </Table>
      </section>,
    );
  });
}
