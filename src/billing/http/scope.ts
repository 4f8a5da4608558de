/**
 * Who may see which billing record, by the admin API's rule (src/catalog/context.ts): an
 * operator sees everything; a provider-scoped token sees its own plans' prices and its own
 * invoices, and anything else answers NOT_FOUND exactly as a missing id would.
 */
import type { Actor, Catalog, PlanView, SubscriptionView } from '../../catalog/index.js';
import { notFound } from '../../shared/index.js';
import type { Billing, Invoice } from '../index.js';

/** The plan, if the actor may see it (catalog rule); NOT_FOUND otherwise. */
export const visiblePlan = (catalog: Catalog, actor: Actor, id: string): Promise<PlanView> =>
  catalog.plans.get(actor, id);

export const visibleSubscription = (catalog: Catalog, actor: Actor, id: string): Promise<SubscriptionView> =>
  catalog.subscriptions.get(actor, id);

/** The invoice, if the actor may see it; NOT_FOUND otherwise. */
export async function visibleInvoice(billing: Billing, actor: Actor, id: string): Promise<Invoice> {
  const inv = await billing.getInvoice(id);
  if (actor.kind === 'provider' && inv.providerId !== actor.providerId) throw notFound('invoice', id);
  return inv;
}
