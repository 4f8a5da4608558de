/** Invoice pages, shared by buyers (their own invoices) and providers (invoices they issued). */
import type { Hono, MiddlewareHandler } from 'hono';
import { formatMoney, type Invoice } from '../../billing/index.js';
import { notFound } from '../../shared/index.js';
import type { PortalDeps } from '../deps.js';
import type { PortalContext, PortalEnv } from '../http/env.js';
import { errorPage, render } from '../http/render.js';
import { day, Status, Table } from '../views/components.js';

/** Mounts list/view/html/pdf under `base`; `owns` says whether the visitor may see an invoice. */
export function invoicePages(
  app: Hono<PortalEnv>,
  deps: PortalDeps,
  base: '/account/invoices' | '/console/invoices',
  guard: MiddlewareHandler<PortalEnv>,
  scope: (c: PortalContext) => { consumerId?: string; providerId?: string },
) {
  app.use(base, guard);
  app.use(`${base}/*`, guard);

  async function load(c: PortalContext): Promise<Invoice> {
    const id = c.req.param('id')!;
    const inv = await deps.billing!.getInvoice(id);
    const s = scope(c);
    if (
      (s.consumerId && inv.consumerId !== s.consumerId) ||
      (s.providerId && inv.providerId !== s.providerId)
    ) {
      throw notFound('invoice', id);
    }
    return inv;
  }

  const off = (c: PortalContext) =>
    errorPage(c, 503, 'Billing is not enabled on this Tollgate.', 'Invoices unavailable');

  app.get(base, async (c) => {
    if (!deps.billing) return off(c);
    const page = await deps.billing.listInvoices({ ...scope(c), limit: 100 });
    const items = page.items.filter((i) => i.status !== 'draft' || base === '/console/invoices');
    return render(
      c,
      'Invoices',
      <section>
        <h1>Invoices</h1>
        <Table
          head={['Number', 'Period', 'Status', 'Total', '']}
          numeric={[3]}
          rows={items.length}
          empty="No invoices yet. They are issued at the end of each billing period."
        >
          {items.map((i) => (
            <tr>
              <td>
                <a href={`${base}/${i.id}`}>{i.number}</a>
              </td>
              <td>
                {day(i.periodStart)} – {day(i.periodEnd)}
              </td>
              <td>
                <Status value={i.status} />
              </td>
              <td class="num">{formatMoney(i.total, i.currency)}</td>
              <td>
                <a href={`${base}/${i.id}/pdf`}>PDF</a>
              </td>
            </tr>
          ))}
        </Table>
      </section>,
    );
  });

  app.get(`${base}/:id`, async (c) => {
    if (!deps.billing) return off(c);
    const inv = await load(c);
    if (base === '/account/invoices' && inv.status === 'draft') throw notFound('invoice', inv.id);
    const payment = (await deps.payments?.paymentOf(inv.id)) ?? null;
    return render(
      c,
      `Invoice ${inv.number}`,
      <section>
        <p>
          <a href={base}>← Invoices</a>
        </p>
        <h1>
          Invoice {inv.number} <Status value={inv.status} />
        </h1>
        <p>
          Period {day(inv.periodStart)} – {day(inv.periodEnd)} · issued{' '}
          {day(inv.finalizedAt ?? inv.createdAt)}
        </p>
        <Table
          head={['Description', 'Quantity', 'Unit price', 'Amount']}
          numeric={[1, 2, 3]}
          rows={inv.lines.length}
        >
          {inv.lines.map((l) => (
            <tr>
              <td>{l.description}</td>
              <td class="num">{l.quantity}</td>
              <td class="num">{l.unitPrice ?? ''}</td>
              <td class="num">{formatMoney(l.amount, inv.currency)}</td>
            </tr>
          ))}
        </Table>
        <p class="total">
          Total <strong>{formatMoney(inv.total, inv.currency)}</strong>
        </p>
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
      </section>,
    );
  });

  app.get(`${base}/:id/html`, async (c) => {
    if (!deps.billing) return off(c);
    const inv = await load(c);
    const html = await deps.billing.renderHtml(inv.id);
    c.header(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'",
    );
    return c.html(html);
  });

  app.get(`${base}/:id/pdf`, async (c) => {
    if (!deps.billing) return off(c);
    const inv = await load(c);
    const pdf = await deps.billing.renderPdf(inv.id);
    return c.body(new Uint8Array(pdf), 200, {
      'content-type': 'application/pdf',
      'content-disposition': `attachment; filename="${inv.number.replace(/[^A-Za-z0-9_-]/g, '')}.pdf"`,
    });
  });
}
