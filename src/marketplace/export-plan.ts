/**
 * Phase 1 of the exporter (see exporter.ts): freezing hours into the export ledger.
 * A cancelled subscription is planned until the hour it ended in is frozen, so a final
 * export that failed at unsubscribe strands nothing.
 * quantity(H) = usage up to the end of H − everything already in the ledger, so idle hours
 * get zero records and late usage is carried forward; the unique (subscription, dimension,
 * hour) constraint lets the first process to freeze an hour win.
 */
import { sql } from 'kysely';
import type { Clock } from '../shared/index.js';
import type { Db } from '../store/index.js';
import type { MarketplaceExportTable } from '../store/tables/marketplace.js';
import { routeDimensions } from './dimensions.js';
import type { ExportAlert } from './exporter.js';
import { exportId } from './ids.js';

export const HOUR = 3600_000;
export const WINDOW = 6 * HOUR;
/** Records are sent only while their hour starts at least this long inside the window. */
export const MARGIN = 5 * 60_000;
const SUBSCRIBED = ['trialing', 'active', 'cancel_pending'];
/** Hours older than the window are still ledgered (as expired) but only this far back. */
const EXPIRED_LOOKBACK = 48 * HOUR;

interface ExternalIdentity {
  ProductCode?: string;
  CustomerIdentifier?: string;
  CustomerAWSAccountId?: string;
  LicenseArn?: string;
}

export function createPlanner(deps: {
  db: Db;
  clock: Clock;
  settle: number;
  alert: (a: ExportAlert) => void;
}) {
  const { db, clock, settle, alert } = deps;

  async function externalSubscriptions(only?: string) {
    let q = db
      .selectFrom('subscriptions as s')
      .innerJoin('consumers as c', 'c.id', 's.consumer_id')
      .innerJoin('plans as p', 'p.id', 's.plan_id')
      .select([
        's.id',
        's.consumer_id',
        's.status',
        's.started_at',
        's.cancelled_at',
        'p.api_ids',
        'c.external',
      ])
      .where('c.external_customer_id', 'is not', null)
      .where((eb) =>
        eb.or([
          eb('s.status', 'in', SUBSCRIBED),
          // An ended subscription until the hour it ended in is in the ledger: the final
          // export at unsubscribe may have failed or left the last hours open.
          eb.and([
            eb('s.status', '=', 'cancelled'),
            eb('s.cancelled_at', '>=', clock.now() - WINDOW - EXPIRED_LOOKBACK),
            eb.not(
              eb.exists(
                eb
                  .selectFrom('marketplace_exports as e')
                  .select('e.hour')
                  .whereRef('e.subscription_id', '=', 's.id')
                  .where('e.hour', '>', sql<number>`s.cancelled_at - ${HOUR}`),
              ),
            ),
          ]),
        ]),
      );
    if (only) q = q.where('s.id', '=', only);
    const rows = await q.execute();
    return rows.flatMap((r) => {
      const ext = JSON.parse(r.external || '{}') as ExternalIdentity;
      return ext.ProductCode && (ext.CustomerIdentifier || (ext.CustomerAWSAccountId && ext.LicenseArn))
        ? [{ ...r, ext }]
        : [];
    });
  }

  /**
   * The dimensions the marketplace product lists: those of the APIs of this installation's
   * product sold under that external code. Null when no such product is here (then the
   * plan's dimensions are sent, as before). A dimension outside it would only come back as
   * InvalidUsageDimensionException.
   */
  async function listedDimensions(externalCode: string): Promise<Set<string> | null> {
    const p = await db
      .selectFrom('marketplace_products')
      .select('api_ids')
      .where('external_product_code', '=', externalCode)
      .executeTakeFirst();
    return p ? routeDimensions(db, JSON.parse(p.api_ids) as string[]) : null;
  }

  /** Phase 1 for one subscription: ledger rows up to the last complete hour (or the current one). */
  async function plan(
    sub: Awaited<ReturnType<typeof externalSubscriptions>>[number],
    includePartial: boolean,
  ): Promise<number> {
    const now = clock.now();
    const currentHour = Math.floor(now / HOUR) * HOUR;
    let lastHour = includePartial ? currentHour : Math.floor((now - settle) / HOUR) * HOUR - HOUR;
    if (sub.cancelled_at != null) {
      // No usage after the end: the hour it ended in is complete once the flush lag passed.
      const endHour = Math.floor(Number(sub.cancelled_at) / HOUR) * HOUR;
      const settled = includePartial || Number(sub.cancelled_at) + settle <= now;
      lastHour = settled ? endHour : Math.min(lastHour, endHour);
    }
    const last = await db
      .selectFrom('marketplace_exports')
      .select((eb) => eb.fn.max<number>('hour').as('h'))
      .where('subscription_id', '=', sub.id)
      .executeTakeFirst();
    let start = last?.h != null ? Number(last.h) + HOUR : Math.floor(Number(sub.started_at) / HOUR) * HOUR;
    start = Math.max(start, Math.floor((now - WINDOW - EXPIRED_LOOKBACK) / HOUR) * HOUR);
    if (start > lastHour) return 0;

    const dims = await routeDimensions(db, JSON.parse(sub.api_ids) as string[]);
    const listed = await listedDimensions(sub.ext.ProductCode!);
    if (listed) for (const d of dims) if (!listed.has(d)) dims.delete(d);
    const usage = await db
      .selectFrom('usage')
      .select(['dimension', 'hour', (eb) => eb.fn.sum<number>('units').as('units')])
      .where('subscription_id', '=', sub.id)
      .where('hour', '<=', lastHour)
      .groupBy(['dimension', 'hour'])
      .execute();
    const ledger = await db
      .selectFrom('marketplace_exports')
      .select(['dimension', (eb) => eb.fn.sum<number>('quantity').as('q')])
      .where('subscription_id', '=', sub.id)
      .groupBy('dimension')
      .execute();
    const exported = new Map(ledger.map((l) => [l.dimension, Number(l.q)]));
    const byHour = new Map<string, number>();
    const before = new Map<string, number>();
    for (const u of usage) {
      if (listed && !listed.has(u.dimension)) continue;
      dims.add(u.dimension);
      const h = Number(u.hour);
      if (h < start) before.set(u.dimension, (before.get(u.dimension) ?? 0) + Number(u.units));
      else byHour.set(`${u.dimension}|${h}`, Number(u.units));
    }
    const total = new Map(before);
    let planned = 0;
    for (let h = start; h <= lastHour; h += HOUR) {
      for (const dim of [...dims].sort()) {
        const cum = (total.get(dim) ?? 0) + (byHour.get(`${dim}|${h}`) ?? 0);
        total.set(dim, cum);
        const quantity = Math.max(0, cum - (exported.get(dim) ?? 0));
        const expired = h < now - WINDOW + MARGIN;
        const t = clock.now();
        const row: MarketplaceExportTable = {
          id: exportId(t),
          subscription_id: sub.id,
          consumer_id: sub.consumer_id,
          product_code: sub.ext.ProductCode!,
          customer_identifier: sub.ext.CustomerIdentifier ?? null,
          customer_aws_account_id: sub.ext.CustomerAWSAccountId ?? null,
          license_arn: sub.ext.LicenseArn ?? null,
          dimension: dim,
          hour: h,
          quantity,
          status: expired ? 'expired' : 'pending',
          attempts: 0,
          metering_record_id: null,
          last_error: expired ? 'outside the 6-hour window when planned' : null,
          created_at: t,
          updated_at: t,
          sent_at: null,
        };
        const ins = await db
          .insertInto('marketplace_exports')
          .values(row)
          .onConflict((oc) => oc.columns(['subscription_id', 'dimension', 'hour']).doNothing())
          .executeTakeFirst();
        if (Number(ins.numInsertedOrUpdatedRows ?? 0n) > 0) {
          exported.set(dim, (exported.get(dim) ?? 0) + quantity);
          planned++;
          if (expired && quantity > 0) {
            alert({ kind: 'expired', subscriptionId: sub.id, dimension: dim, hour: h, quantity });
          }
        } else {
          // Another process froze this hour first: account for its quantity instead.
          const other = await db
            .selectFrom('marketplace_exports')
            .select('quantity')
            .where('subscription_id', '=', sub.id)
            .where('dimension', '=', dim)
            .where('hour', '=', h)
            .executeTakeFirstOrThrow();
          exported.set(dim, (exported.get(dim) ?? 0) + Number(other.quantity));
        }
      }
    }
    return planned;
  }

  return { externalSubscriptions, plan };
}
