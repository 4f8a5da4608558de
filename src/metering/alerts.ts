/**
 * Usage alerts: when a subscription's usage crosses 50 %, 80 % and 100 % of its quota in a
 * window (or of a spend threshold the consumer set, via `spendOf`), `notify` is called once
 * per (subscription, kind, window, threshold).
 *
 * Triggered by the meter's onFlushed, so it reads committed numbers from the store (the same
 * ones reports show). "Once" is enforced by the store, not memory: a row in `usage_alerts` is
 * claimed with INSERT … ON CONFLICT DO NOTHING before notifying, so a restart or a second
 * gateway node never resends. If notify throws the claim is removed and the next flush tries
 * again; a crash between the claim and the notify loses that one alert (at most once).
 */
import { Decimal } from 'decimal.js';
import { type QuotaWindowFn, quotaStatuses } from '../quota/index.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import type { Store } from '../store/index.js';
import type { FlushedRow } from './types.js';
import type { Window } from './windows.js';

export type UsageAlert =
  | { kind: 'quota'; subscriptionId: string; threshold: number; window: Window; used: number; limit: number }
  | {
      kind: 'spend';
      subscriptionId: string;
      threshold: number;
      window: Window;
      /** Decimal strings in `currency`. */
      used: string;
      limit: string;
      currency: string;
    };

/** What billing knows about a subscription's spend against the consumer's threshold. */
export interface SpendStatus {
  spent: string;
  limit: string;
  currency: string;
  window: Window;
}

export interface UsageAlertsOptions {
  store: Store;
  clock: Clock;
  log: Logger;
  /** Delivers an alert (provider webhook, operator mail hook). Throw to have it retried. */
  notify(alert: UsageAlert): void | Promise<void>;
  /** Spend against the consumer's threshold, or null when none is set. */
  spendOf?(subscriptionId: string): Promise<SpendStatus | null>;
  /** Percentages, default [50, 80, 100]. */
  thresholds?: number[];
  windowOf?: QuotaWindowFn;
}

export interface UsageAlerts {
  /** Pass as (or call from) the meter's onFlushed. Resolves when the checks are done. */
  onFlushed(rows: FlushedRow[]): Promise<void>;
  /** Checks one subscription now (windows containing `hours`, and the current one); returns the alerts sent. */
  check(subscriptionId: string, hours?: number[]): Promise<UsageAlert[]>;
}

export function createUsageAlerts(opts: UsageAlertsOptions): UsageAlerts {
  const thresholds = [...(opts.thresholds ?? [50, 80, 100])].sort((a, b) => a - b);
  for (const t of thresholds) {
    if (!Number.isFinite(t) || t <= 0 || t > 1000)
      throw new Error(`usage alert threshold ${t} must be in (0, 1000]`);
  }
  const deps = { store: opts.store, clock: opts.clock, windowOf: opts.windowOf };
  let chain: Promise<unknown> = Promise.resolve();

  /** `sent`, `already` (claimed before, by us or another node), or `failed` (claim released). */
  async function claimAndNotify(alert: UsageAlert): Promise<'sent' | 'already' | 'failed'> {
    const claimed = await opts.store.db
      .insertInto('usage_alerts')
      .values({
        subscription_id: alert.subscriptionId,
        kind: alert.kind,
        window_start: alert.window.start,
        window_end: alert.window.end,
        threshold: alert.threshold,
        used: String(alert.used),
        limit_value: String(alert.limit),
        sent_at: opts.clock.now(),
      })
      .onConflict((oc) => oc.columns(['subscription_id', 'kind', 'window_start', 'threshold']).doNothing())
      .returning('threshold')
      .executeTakeFirst();
    if (!claimed) return 'already';
    try {
      await opts.notify(alert);
      return 'sent';
    } catch (err) {
      opts.log.warn({ err, alert }, 'metering: usage alert delivery failed; will retry');
      await opts.store.db
        .deleteFrom('usage_alerts')
        .where('subscription_id', '=', alert.subscriptionId)
        .where('kind', '=', alert.kind)
        .where('window_start', '=', alert.window.start)
        .where('threshold', '=', alert.threshold)
        .execute();
      return 'failed';
    }
  }

  // Claims known to be in the store (sent or sent before a restart): skipped without a query.
  const known = new Map<string, number>();
  const claimKey = (subscriptionId: string, kind: string, windowStart: number, threshold: number) =>
    `${subscriptionId}\u0001${kind}\u0001${windowStart}\u0001${threshold}`;
  const remember = (a: UsageAlert) => {
    if (known.size > 100_000) {
      const now = opts.clock.now();
      for (const [k, end] of known) if (end < now) known.delete(k);
    }
    known.set(claimKey(a.subscriptionId, a.kind, a.window.start, a.threshold), a.window.end);
  };
  const allKnown = (subscriptionId: string, kind: string, windowStart: number) =>
    thresholds.every((t) => known.has(claimKey(subscriptionId, kind, windowStart, t)));

  async function check(subscriptionId: string, hours: number[] = []): Promise<UsageAlert[]> {
    const sent: UsageAlert[] = [];
    const statuses = await quotaStatuses(deps, subscriptionId, [...hours, opts.clock.now()], (w) =>
      allKnown(subscriptionId, 'quota', w.start),
    );
    for (const s of statuses) {
      if (!s.window || s.limit === null || s.limit <= 0) continue;
      for (const threshold of thresholds) {
        if (s.used * 100 < s.limit * threshold) break;
        if (known.has(claimKey(subscriptionId, 'quota', s.window.start, threshold))) continue;
        const alert: UsageAlert = {
          kind: 'quota',
          subscriptionId,
          threshold,
          window: s.window,
          used: s.used,
          limit: s.limit,
        };
        const outcome = await claimAndNotify(alert);
        if (outcome !== 'failed') remember(alert);
        if (outcome === 'sent') sent.push(alert);
      }
    }
    if (opts.spendOf) {
      const spend = await opts.spendOf(subscriptionId);
      if (spend && new Decimal(spend.limit).gt(0)) {
        const spent = new Decimal(spend.spent);
        for (const threshold of thresholds) {
          if (spent.mul(100).lt(new Decimal(spend.limit).mul(threshold))) break;
          const alert: UsageAlert = {
            kind: 'spend',
            subscriptionId,
            threshold,
            window: spend.window,
            used: spend.spent,
            limit: spend.limit,
            currency: spend.currency,
          };
          if (known.has(claimKey(subscriptionId, 'spend', spend.window.start, threshold))) continue;
          const outcome = await claimAndNotify(alert);
          if (outcome !== 'failed') remember(alert);
          if (outcome === 'sent') sent.push(alert);
        }
      }
    }
    return sent;
  }

  function onFlushed(rows: FlushedRow[]): Promise<void> {
    const hoursBySub = new Map<string, Set<number>>();
    for (const r of rows) {
      if (!r.subscriptionId) continue;
      let h = hoursBySub.get(r.subscriptionId);
      if (!h) {
        h = new Set();
        hoursBySub.set(r.subscriptionId, h);
      }
      h.add(r.hour);
    }
    // Serialised: a slow check never overlaps the next flush's.
    const run = chain.then(async () => {
      for (const [sub, hours] of hoursBySub) {
        try {
          await check(sub, [...hours]);
        } catch (err) {
          opts.log.error({ err, subscriptionId: sub }, 'metering: usage alert check failed');
        }
      }
    });
    chain = run;
    return run;
  }

  return { onFlushed, check };
}
