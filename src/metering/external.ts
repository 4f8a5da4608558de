/**
 * Usage that did not pass through the gateway (asynchronous work, history migrated from
 * another system): events sent by the provider feed the same hourly `usage` aggregates the
 * gateway's meter writes, so reports, quota views and invoices see them alike.
 *
 * - Each event names a subscription or a key of the caller's scope (anything else: 404, as
 *   everywhere in the admin API), a dimension, a positive whole number of units, the time it
 *   happened and an id of the provider's choosing.
 * - Idempotent by (provider, id): the `usage_events` ledger row and the aggregate it adds to
 *   commit together, so a resent event is reported as a duplicate and counted once.
 * - An event must fall inside the subscription: at or after its start (a pending one has
 *   not started) and before its cancellation, else the batch is a 400 naming
 *   `events[i].timestamp`. Nothing outside those bounds is ever billed.
 * - Late events are accepted until an invoice (not void) covers the subscription's period
 *   containing them; after that they are refused one by one (`PERIOD_INVOICED`), the rest of
 *   the batch still counts.
 * - Never lost to a billing run: the batch's transaction locks each subscription's row
 *   (store `lockSubscription`, in id order) before it checks for an invoice, and billing
 *   rates a period and writes its invoice under the same lock. Whichever commits first, the
 *   other sees it: an accepted event is in the invoice, or the invoice came first and the
 *   event is refused. No accepted event is left out of every invoice.
 * - One transaction per batch: all of it is written, or none of it.
 * - An accepted event counts as one billable request (quota) and its units.
 */
import type { Actor, Catalog } from '../catalog/index.js';
import { invalid } from '../shared/index.js';
import { lockSubscription, type Store, type Tx } from '../store/index.js';
import { hourOf, type UsageRow } from './aggregate.js';
import { upsertUsage } from './batch.js';

export interface ExternalEvent {
  id: string;
  subscriptionId?: string | undefined;
  keyId?: string | undefined;
  apiId?: string | undefined;
  dimension: string;
  units: number;
  /** Epoch ms. */
  at: number;
}

export interface EventRefusal {
  index: number;
  id: string;
  code: 'PERIOD_INVOICED';
  message: string;
}

export interface EventsOutcome {
  accepted: number;
  duplicates: string[];
  refused: EventRefusal[];
}

interface Resolved {
  providerId: string;
  subscriptionId: string;
  keyId: string;
  apiId: string;
}

export async function recordExternalUsage(
  deps: { store: Store; catalog: Catalog; now: number },
  actor: Actor,
  events: readonly ExternalEvent[],
): Promise<EventsOutcome> {
  const targets = await resolveAll(deps, actor, events);
  return deps.store.db.transaction().execute(async (tx) => {
    const outcome: EventsOutcome = { accepted: 0, duplicates: [], refused: [] };
    const rows = new Map<string, UsageRow>();
    // ordered, so two batches naming the same subscriptions cannot deadlock
    for (const id of [...new Set(targets.map((t) => t.subscriptionId))].sort())
      await lockSubscription(tx, id);
    for (const [index, e] of events.entries()) {
      const t = targets[index]!;
      const invoiced = await invoicedPeriod(tx, t.subscriptionId, e.at);
      if (invoiced) {
        outcome.refused.push({
          index,
          id: e.id,
          code: 'PERIOD_INVOICED',
          message: `the period containing ${new Date(e.at).toISOString()} is already invoiced (${invoiced})`,
        });
        continue;
      }
      const claimed = await tx
        .insertInto('usage_events')
        .values({
          provider_id: t.providerId,
          event_id: e.id,
          subscription_id: t.subscriptionId,
          key_id: t.keyId,
          api_id: t.apiId,
          dimension: e.dimension,
          units: e.units,
          at: e.at,
          created_at: deps.now,
        })
        .onConflict((oc) => oc.columns(['provider_id', 'event_id']).doNothing())
        .returning('event_id')
        .executeTakeFirst();
      if (!claimed) {
        outcome.duplicates.push(e.id);
        continue;
      }
      outcome.accepted += 1;
      const hour = hourOf(e.at);
      const k = [t.subscriptionId, t.keyId, t.apiId, e.dimension, hour].join('\u0000');
      const row = rows.get(k) ?? { ...t, dimension: e.dimension, hour, units: 0, requests: 0 };
      row.units += e.units;
      row.requests += 1;
      rows.set(k, row);
    }
    await upsertUsage(
      tx,
      [...rows.values()].map(({ subscriptionId, keyId, apiId, dimension, hour, units, requests }) => ({
        subscriptionId,
        keyId,
        apiId,
        dimension,
        hour,
        units,
        requests,
      })),
    );
    return outcome;
  });
}

/** The number of a non-void invoice of `subscriptionId` whose period contains `at`, or null. */
async function invoicedPeriod(tx: Tx, subscriptionId: string, at: number): Promise<string | null> {
  const row = await tx
    .selectFrom('invoices')
    .select('number')
    .where('subscription_id', '=', subscriptionId)
    .where('status', '<>', 'void')
    .where('period_start', '<=', at)
    .where('period_end', '>', at)
    .executeTakeFirst();
  return row?.number ?? null;
}

/** Subscription, key and API of every event, within the actor's scope (404 otherwise). */
async function resolveAll(
  deps: { store: Store; catalog: Catalog },
  actor: Actor,
  events: readonly ExternalEvent[],
): Promise<Resolved[]> {
  const { catalog } = deps;
  // A key's subscriptions: its own first, then those it is linked to (a key in several plans).
  const keys = new Map<string, Promise<string[]>>();
  const subs = new Map<
    string,
    Promise<{ planId: string; status: string; startedAt: string; cancelledAt: string | null }>
  >();
  const plans = new Map<string, Promise<{ providerId: string; apiIds: string[] }>>();
  const out: Resolved[] = [];
  for (const [i, e] of events.entries()) {
    let subscriptionId = e.subscriptionId;
    const keyId = e.keyId ?? '';
    if (e.keyId) {
      if (!keys.has(e.keyId))
        keys.set(
          e.keyId,
          catalog.keys.subscriptions(actor, e.keyId).then((l) => l.map((s) => s.subscriptionId)),
        );
      const subs = await keys.get(e.keyId)!;
      if (subscriptionId && !subs.includes(subscriptionId))
        throw invalid(
          `events[${i}].keyId`,
          `belongs to subscription ${subs.join(', ')}, not ${subscriptionId}`,
        );
      subscriptionId = subscriptionId || subs[0]!;
    }
    if (!subscriptionId) throw invalid(`events[${i}].subscriptionId`, 'give subscriptionId or keyId');
    if (!subs.has(subscriptionId)) subs.set(subscriptionId, catalog.subscriptions.get(actor, subscriptionId));
    const sub = await subs.get(subscriptionId)!;
    withinSubscription(sub, e, i);
    if (!plans.has(sub.planId)) plans.set(sub.planId, catalog.plans.get(actor, sub.planId));
    const plan = await plans.get(sub.planId)!;
    const apiId = await apiFor(deps.store, plan.apiIds, e, i);
    out.push({ providerId: plan.providerId, subscriptionId, keyId, apiId });
  }
  return out;
}

/** An event counts only inside the subscription's life: from its start, before its cancellation. */
function withinSubscription(
  sub: { status: string; startedAt: string; cancelledAt: string | null },
  e: ExternalEvent,
  i: number,
): void {
  const field = `events[${i}].timestamp`;
  if (sub.status === 'pending')
    throw invalid(field, 'the subscription is pending: usage counts only once it is active');
  if (e.at < Date.parse(sub.startedAt))
    throw invalid(field, `is before the subscription started (${sub.startedAt})`);
  if (sub.cancelledAt !== null && e.at >= Date.parse(sub.cancelledAt))
    throw invalid(field, `is after the subscription ended (${sub.cancelledAt})`);
}

/** The event's API: the one named (on the plan), the plan's only one, or the one metering the dimension. */
async function apiFor(store: Store, apiIds: string[], e: ExternalEvent, i: number): Promise<string> {
  if (e.apiId) {
    if (!apiIds.includes(e.apiId))
      throw invalid(`events[${i}].apiId`, "is not one of the subscription plan's APIs");
    return e.apiId;
  }
  if (apiIds.length === 1) return apiIds[0]!;
  const rows =
    apiIds.length === 0
      ? []
      : await store.db
          .selectFrom('routes')
          .select('api_id')
          .distinct()
          .where('api_id', 'in', apiIds)
          .where('dimension', '=', e.dimension)
          .execute();
  if (rows.length === 1) return rows[0]!.api_id;
  throw invalid(
    `events[${i}].apiId`,
    `is required: the plan covers ${apiIds.length} APIs and ${rows.length} of them meter ${e.dimension}`,
  );
}
