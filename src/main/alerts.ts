/**
 * Where usage alerts go: a signed `usage.threshold` webhook to the provider whose plan the
 * subscription is on, and the operator's mail hook (a log line at warn here, which an
 * operator routes to mail with their log shipper).
 */
import type { UsageAlert } from '../metering/index.js';
import type { Logger } from '../shared/index.js';
import type { Store } from '../store/index.js';
import type { Webhooks } from '../webhooks/index.js';

export function alertNotifier(
  store: Store,
  webhooks: Webhooks,
  log: Logger,
): (alert: UsageAlert) => Promise<void> {
  return async (alert) => {
    const row = await store.db
      .selectFrom('subscriptions')
      .innerJoin('plans', 'plans.id', 'subscriptions.plan_id')
      .select(['plans.provider_id', 'subscriptions.consumer_id'])
      .where('subscriptions.id', '=', alert.subscriptionId)
      .executeTakeFirst();
    if (!row) return;
    const payload = {
      ...alert,
      consumerId: row.consumer_id,
      window: {
        start: new Date(alert.window.start).toISOString(),
        end: new Date(alert.window.end).toISOString(),
      },
    };
    await webhooks.emit(row.provider_id, 'usage.threshold', payload);
    log.warn(
      { mail: 'operator', alert: payload },
      `usage alert: subscription ${alert.subscriptionId} crossed ${alert.threshold}% of its ${alert.kind}`,
    );
  };
}
