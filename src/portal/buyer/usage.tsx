/**
 * The buyer's usage page: for one subscription, a bar chart per metering dimension of the
 * units used per UTC day over the last 30 days (from the metering module's hourly
 * aggregates), the quota window's used/remaining, and the spend so far this billing period
 * (billing's preview of the period's usage on the current price, period fee included).
 */
import type { Hono } from 'hono';
import { addMonths, formatMoney } from '../../billing/index.js';
import { usageReport } from '../../metering/index.js';
import { quotaStatus } from '../../quota/index.js';
import type { PortalDeps } from '../deps.js';
import type { PortalEnv } from '../http/env.js';
import { render, unlessMissing } from '../http/render.js';
import { BarChart, Meter } from '../views/chart.js';
import type { BuyerQueries } from './queries.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** The start of the billing period containing `now`, anchored at the subscription start. */
export function billingPeriodStart(startedAt: number, months: number, now: number): number {
  let k = Math.max(0, Math.floor((now - startedAt) / (DAY * 31 * months)) - 1);
  while (addMonths(startedAt, (k + 1) * months) <= now) k++;
  return addMonths(startedAt, k * months);
}

export function usagePages(app: Hono<PortalEnv>, deps: PortalDeps & { buyer: BuyerQueries }) {
  let lastFlush = 0;

  app.get('/account/usage', async (c) => {
    const user = c.get('user')!;
    const subs = await deps.buyer.subscriptions(user.consumerId!);
    const wanted = c.req.query('subscription');
    const sub = wanted ? await deps.buyer.subscription(user.consumerId!, wanted) : subs[0];
    if (!sub) {
      return render(
        c,
        'Usage',
        <section>
          <h1>Usage</h1>
          <p class="empty">No subscription yet, so no usage.</p>
        </section>,
      );
    }
    const now = deps.clock.now();
    if (deps.meter && now - lastFlush > 1000) {
      lastFlush = now;
      await deps.meter.flush().catch((err) => deps.log.warn({ err }, 'meter flush before usage page failed'));
    }
    const today = Math.floor(now / DAY) * DAY;
    const from = today - 29 * DAY;
    const rows = await usageReport(deps.store, {
      from,
      to: today + DAY,
      granularity: 'day',
      subscriptionId: sub.id,
      groupBy: ['dimension'],
    });
    const days = Array.from({ length: 30 }, (_, i) => new Date(from + i * DAY).toISOString().slice(0, 10));
    const dims = [...new Set(rows.map((r) => r.dimension ?? 'requests'))].sort();
    const series = dims.map((d) => ({
      dimension: d,
      bars: days.map((label) => ({
        label,
        value: rows
          .filter((r) => r.dimension === d && r.period.startsWith(label))
          .reduce((s, r) => s + r.units, 0),
      })),
    }));

    const quota = await unlessMissing(quotaStatus({ store: deps.store, clock: deps.clock }, sub.id));

    let spend: { total: string; from: number } | null = null;
    const rec = await unlessMissing(deps.billing?.getPrice(sub.planId));
    if (rec && deps.billing) {
      const periodStart = billingPeriodStart(sub.startedAt, rec.price.interval === 'year' ? 12 : 1, now);
      const inPeriod = await usageReport(deps.store, {
        from: Math.floor(periodStart / HOUR) * HOUR,
        to: Math.floor(now / HOUR) * HOUR + HOUR,
        granularity: 'month',
        subscriptionId: sub.id,
        groupBy: ['dimension'],
      });
      const usage: Record<string, number> = {};
      for (const r of inPeriod)
        usage[r.dimension ?? 'requests'] = (usage[r.dimension ?? 'requests'] ?? 0) + r.units;
      const p = await unlessMissing(deps.billing.preview(sub.planId, usage));
      if (p) spend = { total: formatMoney(p.total, p.currency), from: periodStart };
    }

    return render(
      c,
      'Usage',
      <section>
        <h1>Usage</h1>
        {subs.length > 1 ? (
          <form method="get" action="/account/usage" class="search">
            <label for="sub">Subscription</label>
            <select id="sub" name="subscription">
              {subs.map((s) => (
                <option value={s.id} selected={s.id === sub.id}>
                  {(s.product?.title ?? s.providerName) + ' — ' + s.planName}
                </option>
              ))}
            </select>
            <button type="submit" class="secondary">
              Show
            </button>
          </form>
        ) : null}
        <p>
          <strong>{sub.product?.title ?? sub.providerName}</strong>, plan {sub.planName}. Daily totals in UTC,
          last 30 days.
        </p>
        <div class="grid2">
          <div class="card" id="quota">
            <h2>Quota</h2>
            {quota?.limit != null && quota.window ? (
              <>
                <p>
                  <strong>{quota.remaining!.toLocaleString('en-US')}</strong> of{' '}
                  {quota.limit.toLocaleString('en-US')} calls left until{' '}
                  {new Date(quota.window.end).toISOString().slice(0, 16).replace('T', ' ')} UTC.
                </p>
                <Meter
                  used={quota.used}
                  limit={quota.limit}
                  label={`${quota.used} of ${quota.limit} calls used`}
                />
              </>
            ) : (
              <p>
                This plan has no quota{quota ? ` — ${quota.used.toLocaleString('en-US')} calls so far` : ''}.
              </p>
            )}
          </div>
          <div class="card" id="spend">
            <h2>Spend this period</h2>
            {spend ? (
              <p>
                <strong>{spend.total}</strong> so far since {new Date(spend.from).toISOString().slice(0, 10)}{' '}
                (estimate, period fee included; the invoice is final).
              </p>
            ) : (
              <p class="muted">No price is set for this plan.</p>
            )}
          </div>
        </div>
        <h2>Per day</h2>
        {series.length === 0 ? (
          <p class="empty">No calls in the last 30 days.</p>
        ) : (
          series.map((s) => (
            <BarChart id={`chart-${s.dimension}`} title={s.dimension} unit="units" bars={s.bars} />
          ))
        )}
        {series.length ? (
          <details>
            <summary>The numbers</summary>
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Day (UTC)</th>
                    {series.map((s) => (
                      <th scope="col" class="num">
                        {s.dimension}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {days
                    .map((d, i) => ({ d, i }))
                    .filter(({ i }) => series.some((s) => s.bars[i]!.value > 0))
                    .map(({ d, i }) => (
                      <tr>
                        <td>{d}</td>
                        {series.map((s) => (
                          <td class="num">{s.bars[i]!.value}</td>
                        ))}
                      </tr>
                    ))}
                </tbody>
              </table>
            </div>
          </details>
        ) : null}
      </section>,
    );
  });
}
