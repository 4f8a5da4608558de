/** Provider console: subscribers with their usage, revenue by month (from invoices), webhooks. */
import { Decimal as DecimalJs } from 'decimal.js';
import type { Hono } from 'hono';
import { formatMoney, type InvoiceSummary } from '../../billing/index.js';
import type { ConsumerView, PlanView } from '../../catalog/index.js';
import { usageReport } from '../../metering/index.js';
import { isTollgateError, notFound } from '../../shared/index.js';
import { type PortalDeps, providerActor } from '../deps.js';
import { field, type PortalContext, type PortalEnv } from '../http/env.js';
import { errorPage, render } from '../http/render.js';
import { BarChart } from '../views/chart.js';
import { day, ErrorSummary, type Errors, Field, Status, Table } from '../views/components.js';
import { CsrfField } from '../views/layout.js';

const Exact = DecimalJs.clone({ precision: 40 });
const DAY = 86_400_000;

/** Every month from the earliest given (at most 12 back) to `current`, `YYYY-MM`, oldest first. */
export function lastMonths(months: string[], current: string): string[] {
  const sorted = [...months, current].sort();
  const end = sorted[sorted.length - 1]!;
  const first = sorted[0]!;
  let [y, m] = end.split('-').map(Number) as [number, number];
  const out: string[] = [];
  for (let i = 0; i < 12; i++) {
    const label = `${y}-${String(m).padStart(2, '0')}`;
    out.unshift(label);
    if (label <= first && out.length >= 6) break;
    m -= 1;
    if (m === 0) {
      m = 12;
      y -= 1;
    }
  }
  return out;
}

export function businessPages(app: Hono<PortalEnv>, deps: PortalDeps) {
  app.get('/console/subscribers', async (c) => {
    const actor = providerActor(c.get('user')!);
    const subs = (await deps.catalog.subscriptions.list(actor, { limit: 200 })).items;
    const plans = new Map<string, PlanView>();
    const consumers = new Map<string, ConsumerView>();
    for (const s of subs) {
      if (!plans.has(s.planId)) plans.set(s.planId, await deps.catalog.plans.get(actor, s.planId));
      if (!consumers.has(s.consumerId))
        consumers.set(s.consumerId, await deps.catalog.consumers.get(actor, s.consumerId));
    }
    const now = deps.clock.now();
    const from = Math.floor(now / DAY) * DAY - 29 * DAY;
    const usage = subs.length
      ? await usageReport(deps.store, {
          from,
          to: Math.floor(now / DAY) * DAY + DAY,
          granularity: 'month',
          subscriptionIds: subs.map((s) => s.id),
          groupBy: ['subscription', 'dimension'],
        })
      : [];
    const usageOf = (id: string) =>
      usage
        .filter((u) => u.subscriptionId === id)
        .reduce<Record<string, number>>((acc, u) => {
          acc[u.dimension ?? 'requests'] = (acc[u.dimension ?? 'requests'] ?? 0) + u.units;
          return acc;
        }, {});
    return render(
      c,
      'Subscribers',
      <section>
        <h1>Subscribers</h1>
        <Table
          head={['Buyer', 'Plan', 'Status', 'Since', 'Usage, last 30 days']}
          numeric={[4]}
          rows={subs.length}
          empty="No subscriber yet."
        >
          {subs.map((s) => {
            const u = usageOf(s.id);
            const con = consumers.get(s.consumerId);
            return (
              <tr>
                <td>
                  {con?.name}
                  <div class="muted">{con?.email ?? ''}</div>
                </td>
                <td>{plans.get(s.planId)?.name}</td>
                <td>
                  <Status value={s.status} />
                </td>
                <td>{day(s.startedAt)}</td>
                <td class="num">
                  {Object.keys(u).length
                    ? Object.entries(u)
                        .map(([d, n]) => `${n.toLocaleString('en-US')} ${d}`)
                        .join(', ')
                    : '0'}
                </td>
              </tr>
            );
          })}
        </Table>
      </section>,
    );
  });

  async function allInvoices(providerId: string): Promise<InvoiceSummary[]> {
    const out: InvoiceSummary[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 50; i++) {
      const page = await deps.billing!.listInvoices({
        providerId,
        limit: 200,
        ...(cursor ? { cursor } : {}),
      });
      out.push(...page.items);
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    return out;
  }

  app.get('/console/revenue', async (c) => {
    if (!deps.billing)
      return errorPage(c, 503, 'Billing is not enabled on this Tollgate.', 'Revenue unavailable');
    const user = c.get('user')!;
    const invoices = (await allInvoices(user.providerId!)).filter(
      (i) => i.status === 'open' || i.status === 'paid',
    );
    // Month of the period's end (when the usage was earned and billed), per currency.
    const byMonth = new Map<
      string,
      { month: string; currency: string; total: DecimalJs; paid: DecimalJs; count: number }
    >();
    for (const i of invoices) {
      const month = i.periodEnd.slice(0, 7);
      const k = `${month} ${i.currency}`;
      const row = byMonth.get(k) ?? {
        month,
        currency: i.currency,
        total: new Exact(0),
        paid: new Exact(0),
        count: 0,
      };
      row.total = row.total.plus(i.total);
      if (i.status === 'paid') row.paid = row.paid.plus(i.total);
      row.count++;
      byMonth.set(k, row);
    }
    const rows = [...byMonth.values()].sort((a, b) =>
      a.month < b.month ? 1 : a.month > b.month ? -1 : a.currency < b.currency ? -1 : 1,
    );
    const currencies = [...new Set(rows.map((r) => r.currency))].sort();
    return render(
      c,
      'Revenue',
      <section>
        <h1>Revenue</h1>
        <p class="muted">Issued invoices (open or paid), by the month their period ended.</p>
        {currencies.map((cur) => {
          const rs = rows.filter((r) => r.currency === cur);
          const months = lastMonths(
            rs.map((r) => r.month),
            new Date(deps.clock.now()).toISOString().slice(0, 7),
          );
          return (
            <BarChart
              id={`revenue-${cur}`}
              title={`Revenue in ${cur}`}
              unit={cur}
              tick={(l) => l}
              bars={months.map((m) => ({
                label: m,
                value: Number(rs.find((r) => r.month === m)?.total.toFixed(2) ?? 0),
              }))}
            />
          );
        })}
        <Table
          head={['Month', 'Invoices', 'Invoiced', 'Paid']}
          numeric={[1, 2, 3]}
          rows={rows.length}
          empty="No invoice issued yet: revenue appears after the first billing period closes."
        >
          {rows.map((r) => (
            <tr>
              <td>{r.month}</td>
              <td class="num">{r.count}</td>
              <td class="num">{formatMoney(r.total.toFixed(), r.currency)}</td>
              <td class="num">{formatMoney(r.paid.toFixed(), r.currency)}</td>
            </tr>
          ))}
        </Table>
      </section>,
    );
  });

  // ---------------------------------------------------------------- webhooks

  async function webhooksPage(
    c: PortalContext,
    errors: Errors,
    secret: string | null,
    url = '',
    status: 200 | 400 = 200,
  ) {
    const w = deps.webhooks!;
    const providerId = c.get('user')!.providerId!;
    const [endpoints, deliveries] = await Promise.all([
      w.listEndpoints(providerId),
      w.listDeliveries(providerId, { limit: 20 }),
    ]);
    return render(
      c,
      'Webhooks',
      <section>
        <h1>Webhooks</h1>
        <p class="muted">
          Tollgate POSTs signed events (subscriptions, invoices) to these URLs. Verify the{' '}
          <code>Tollgate-Signature</code> header with the endpoint's secret.
        </p>
        {secret ? (
          <div class="secret" role="status">
            <span>Signing secret (shown once):</span>
            <output id="webhook-secret">{secret}</output>
            <button type="button" class="secondary" data-copy="webhook-secret" hidden>
              Copy
            </button>
          </div>
        ) : null}
        <Table head={['URL', 'Status', 'Created', '']} rows={endpoints.length} empty="No endpoint yet.">
          {endpoints.map((e) => (
            <tr>
              <td class="mono">{e.url}</td>
              <td>
                <Status value={e.enabled ? 'enabled' : 'disabled'} />
              </td>
              <td>{day(new Date(e.createdAt).toISOString())}</td>
              <td>
                <div class="actions">
                  <form method="post" action={`/console/webhooks/${e.id}/rotate`} class="inline">
                    <CsrfField token={c.get('csrf')} />
                    <button type="submit" class="secondary">
                      New secret
                    </button>
                  </form>
                  <form
                    method="post"
                    action={`/console/webhooks/${e.id}/delete`}
                    class="inline"
                    data-confirm="Delete this endpoint?"
                  >
                    <CsrfField token={c.get('csrf')} />
                    <button type="submit" class="danger">
                      Delete
                    </button>
                  </form>
                </div>
              </td>
            </tr>
          ))}
        </Table>
        <h2>Add an endpoint</h2>
        <ErrorSummary errors={errors} />
        <form method="post" action="/console/webhooks" class="card">
          <CsrfField token={c.get('csrf')} />
          <Field
            label="Endpoint URL"
            name="url"
            type="url"
            value={url}
            errors={errors}
            required
            placeholder="https://example.com/hooks/tollgate"
          />
          <button type="submit">Add endpoint</button>
        </form>
        <h2>Recent deliveries</h2>
        <Table
          head={['Event', 'URL', 'Status', 'Attempts', 'Last answer']}
          numeric={[3]}
          rows={deliveries.length}
          empty="Nothing delivered yet."
        >
          {deliveries.map((d) => (
            <tr>
              <td>{d.type}</td>
              <td class="mono">{d.url}</td>
              <td>
                <Status value={d.status} />
              </td>
              <td class="num">{d.attempts}</td>
              <td>{d.lastStatus ?? d.lastError ?? ''}</td>
            </tr>
          ))}
        </Table>
      </section>,
      { status },
    );
  }

  const noHooks = (c: PortalContext) =>
    errorPage(c, 503, 'Webhooks are not enabled on this Tollgate.', 'Webhooks unavailable');

  app.get('/console/webhooks', (c) => (deps.webhooks ? webhooksPage(c, {}, null) : noHooks(c)));

  app.post('/console/webhooks', async (c) => {
    if (!deps.webhooks) return noHooks(c);
    const url = field(c, 'url').trim();
    try {
      const e = await deps.webhooks.addEndpoint(c.get('user')!.providerId!, { url });
      return webhooksPage(c, {}, e.secret);
    } catch (err) {
      if (isTollgateError(err) && err.code === 'VALIDATION_FAILED')
        return webhooksPage(c, { url: err.issues[0]?.message ?? err.message }, null, url, 400);
      throw err;
    }
  });

  async function ownEndpoint(c: PortalContext): Promise<string> {
    const id = c.req.param('id')!;
    const mine = await deps.webhooks!.listEndpoints(c.get('user')!.providerId!);
    if (!mine.some((e) => e.id === id)) throw notFound('webhook endpoint', id);
    return id;
  }

  app.post('/console/webhooks/:id/delete', async (c) => {
    if (!deps.webhooks) return noHooks(c);
    await deps.webhooks.removeEndpoint(await ownEndpoint(c));
    return c.redirect('/console/webhooks', 303);
  });

  app.post('/console/webhooks/:id/rotate', async (c) => {
    if (!deps.webhooks) return noHooks(c);
    const { secret } = await deps.webhooks.rotateSecret(await ownEndpoint(c));
    return webhooksPage(c, {}, secret);
  });
}
