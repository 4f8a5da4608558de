/**
 * Provider console, invoices: the list filtered by status, and on each invoice the lifecycle
 * actions — finalize (draft), mark paid with a reference (open), void with a reason (draft
 * or open), re-issue (void). Each action is a CSRF-checked form (the portal guard) calling
 * the billing service, audited under the provider member; a refusal re-renders the invoice
 * with the reason in plain words. (/console/* is provider-only: the guard is installed here.)
 */
import type { Hono } from 'hono';
import { formatMoney, type Invoice, type InvoiceStatus } from '../../billing/index.js';
import { isTollgateError } from '../../shared/index.js';
import { invoiceDocuments } from '../buyer/invoices.js';
import type { PortalDeps } from '../deps.js';
import { field, type PortalContext, type PortalEnv } from '../http/env.js';
import { errorPage, render, requireRole } from '../http/render.js';
import { day, Status, Table } from '../views/components.js';
import { CsrfField } from '../views/layout.js';

const STATUSES: Array<[InvoiceStatus | '', string]> = [
  ['', 'All'],
  ['draft', 'Drafts'],
  ['open', 'Open'],
  ['paid', 'Paid'],
  ['void', 'Void'],
];
const ACTIONS = ['finalize', 'pay', 'void', 'reissue'] as const;
type Action = (typeof ACTIONS)[number];
const VERB: Record<Action, string> = {
  finalize: 'finalized',
  pay: 'marked paid',
  void: 'voided',
  reissue: 're-issued',
};
const NEEDS: Record<Action, string> = {
  finalize: 'Only a draft can be finalized.',
  pay: 'Only an open (finalized, unpaid) invoice can be marked paid.',
  void: 'Only a draft or an open invoice can be voided; a paid one stays paid.',
  reissue: 'Only a void invoice can be re-issued.',
};

export function consoleInvoicePages(app: Hono<PortalEnv>, deps: PortalDeps) {
  const providerOf = (c: PortalContext) => c.get('user')!.providerId!;
  const who = (c: PortalContext) => `portal:${c.get('user')!.id}`;

  app.use('/console/invoices', requireRole('provider'));
  app.get('/console/invoices', async (c) => {
    if (!deps.billing) return errorPage(c, 503, 'Billing is not enabled on this Tollgate.');
    const status = c.req.query('status') ?? '';
    if (!STATUSES.some(([s]) => s === status))
      return errorPage(c, 400, 'That status filter is unknown: choose draft, open, paid or void.');
    const cursor = c.req.query('cursor');
    if (cursor !== undefined && !/^inv_[0-9A-Z]{26}$/.test(cursor))
      return errorPage(c, 400, 'That page link is broken: go back to the first page of invoices.');
    const page = await deps.billing.listInvoices({
      providerId: providerOf(c),
      limit: 50,
      ...(status ? { status: status as InvoiceStatus } : {}),
      ...(cursor ? { cursor } : {}),
    });
    const ids = [...new Set(page.items.map((i) => i.consumerId))];
    const buyers = new Map(
      ids.length
        ? (
            await deps.store.db
              .selectFrom('consumers')
              .select(['id', 'name'])
              .where('id', 'in', ids)
              .execute()
          ).map((r) => [r.id, r.name])
        : [],
    );
    const q = (extra: Record<string, string>) =>
      `/console/invoices?${new URLSearchParams({ ...(status ? { status } : {}), ...extra })}`;
    return render(
      c,
      'Invoices',
      <section>
        <h1>Invoices</h1>
        <nav class="filters" aria-label="Filter by status">
          {STATUSES.map(([s, label]) => (
            <a
              href={s ? `/console/invoices?status=${s}` : '/console/invoices'}
              aria-current={s === status ? 'page' : undefined}
              class={s === status ? 'button' : 'button secondary'}
            >
              {label}
            </a>
          ))}
        </nav>
        <p class="muted">
          Drafts are written when a period ends and finalized after the review window; finalize one early, or
          void it with a reason and re-issue it.
        </p>
        <Table
          head={['Number', 'Buyer', 'Period', 'Status', 'Total']}
          numeric={[4]}
          rows={page.items.length}
          empty={
            status
              ? `No ${status} invoices.`
              : 'No invoices yet. They are written when a billing period ends.'
          }
        >
          {page.items.map((i) => (
            <tr data-invoice={i.id} data-status={i.status}>
              <td>
                <a href={`/console/invoices/${i.id}`}>{i.number}</a>
              </td>
              <td>{buyers.get(i.consumerId) ?? i.consumerId}</td>
              <td>
                {day(i.periodStart)} – {day(i.periodEnd)}
              </td>
              <td>
                <Status value={i.status} />
              </td>
              <td class="num">{formatMoney(i.total, i.currency)}</td>
            </tr>
          ))}
        </Table>
        {page.nextCursor ? (
          <p>
            <a href={q({ cursor: page.nextCursor })}>Next page →</a>
          </p>
        ) : null}
      </section>,
    );
  });

  const docs = invoiceDocuments(
    app,
    deps,
    '/console/invoices',
    requireRole('provider'),
    (c) => ({ providerId: providerOf(c) }),
    { actions: (c, inv) => actionForms(c, inv) },
  );

  async function actionForms(c: PortalContext, inv: Invoice) {
    const csrf = c.get('csrf');
    const action = (a: Action) => `/console/invoices/${inv.id}/${a}`;
    const replacement =
      inv.status === 'void'
        ? (await deps.billing!.listInvoices({ subscriptionId: inv.subscriptionId, limit: 200 })).items.find(
            (i) => i.reissueOf === inv.id,
          )
        : undefined;
    return (
      <div class="lifecycle">
        <h2>Actions</h2>
        {inv.status === 'draft' ? (
          <form method="post" action={action('finalize')} class="card">
            <CsrfField token={csrf} />
            <p>
              Finalizing gives the buyer the invoice: it is mailed to them, the webhook fires, collection
              starts.
            </p>
            <button type="submit">Finalize now</button>
          </form>
        ) : null}
        {inv.status === 'open' ? (
          <form method="post" action={action('pay')} class="card">
            <CsrfField token={csrf} />
            <label for="f-reference">Payment reference (bank transfer, receipt…)</label>
            <input id="f-reference" name="reference" maxlength={200} autocomplete="off" />
            <button type="submit">Mark paid</button>
          </form>
        ) : null}
        {inv.status === 'draft' || inv.status === 'open' ? (
          <form
            method="post"
            action={action('void')}
            class="card"
            data-confirm="Void this invoice? Nothing will be owed on it."
          >
            <CsrfField token={csrf} />
            <label for="f-reason">Why void it (the buyer sees this if the invoice was issued)</label>
            <input id="f-reason" name="reason" maxlength={500} required autocomplete="off" />
            <button type="submit" class="danger">
              Void
            </button>
          </form>
        ) : null}
        {inv.status === 'void' && replacement ? (
          <p>
            Re-issued as <a href={`/console/invoices/${replacement.id}`}>{replacement.number}</a>.
          </p>
        ) : null}
        {inv.status === 'void' && !replacement ? (
          <form method="post" action={action('reissue')} class="card">
            <CsrfField token={csrf} />
            <p>
              Re-issuing rates this period again from the usage and prices recorded now and writes a new draft
              with the next number.
            </p>
            <button type="submit">Re-issue</button>
          </form>
        ) : null}
        {inv.status === 'paid' ? <p class="muted">Paid: nothing left to do.</p> : null}
      </div>
    );
  }

  for (const a of ACTIONS) {
    app.post(`/console/invoices/:id/${a}`, async (c) => {
      if (!deps.billing) return errorPage(c, 503, 'Billing is not enabled on this Tollgate.');
      const billing = deps.billing;
      const inv = await docs.load(c); // another provider's invoice is NOT_FOUND
      const reason = field(c, 'reason').trim();
      const reference = field(c, 'reference').trim();
      if (a === 'void' && !reason)
        return refuse(c, inv, 400, 'Say why the invoice is void: the reason is kept with it.');
      if (a === 'void' && reason.length > 500)
        return refuse(c, inv, 400, 'The reason is too long (500 characters at most).');
      if (a === 'pay' && reference.length > 200)
        return refuse(c, inv, 400, 'The payment reference is too long (200 characters at most).');
      try {
        if (a === 'finalize') await billing.finalize(inv.id, who(c));
        if (a === 'pay') await billing.markPaid(inv.id, who(c), reference ? { reference } : {});
        if (a === 'void') await billing.void(inv.id, who(c), { reason });
        if (a === 'reissue') {
          const next = await billing.reissue(inv.id, who(c));
          return c.redirect(`/console/invoices/${next.id}`, 303);
        }
      } catch (e) {
        if (!isTollgateError(e) || !['INVALID_STATE', 'CONFLICT', 'VALIDATION_FAILED'].includes(e.code))
          throw e;
        const now = await billing.getInvoice(inv.id);
        const why =
          e.code === 'CONFLICT' || (a === 'reissue' && now.status === 'void')
            ? e.message.replace(/^invoice /, 'Invoice ')
            : `Invoice ${now.number} is ${now.status} now, so it was not ${VERB[a]}. ${NEEDS[a]}`;
        return refuse(c, now, 409, why);
      }
      return c.redirect(`/console/invoices/${inv.id}`, 303);
    });
  }

  function refuse(c: PortalContext, inv: Invoice, status: 400 | 409, text: string) {
    return docs.invoicePage(c, inv, { status, notice: { kind: 'error', text } });
  }
}
