/**
 * Who may touch which licence. The admin API's rule (src/catalog/context.ts): an operator
 * sees everything; a provider-scoped token sees only its own provider's records, and
 * anything else answers NOT_FOUND exactly as a missing id would, so existence never leaks.
 */
import type { Actor, Catalog } from '../../catalog/index.js';
import { invalid, isTollgateError, notFound } from '../../shared/index.js';
import type { Db } from '../../store/index.js';
import type { LicenceRecord, Licences } from '../service.js';

/** The provider a new record belongs to: the actor's own, or the one an operator names. */
export function providerFor(actor: Actor, requested: string | undefined): string {
  if (actor.kind === 'provider') {
    if (requested !== undefined && requested !== actor.providerId) throw notFound('provider', requested);
    return actor.providerId;
  }
  if (requested === undefined) throw invalid('providerId', 'required for an operator token');
  return requested;
}

/** The licence, if the actor may see it; NOT_FOUND otherwise. */
export async function visibleLicence(licences: Licences, actor: Actor, id: string): Promise<LicenceRecord> {
  const licence = await licences.get(id);
  if (actor.kind === 'provider' && licence.providerId !== actor.providerId) throw notFound('licence', id);
  return licence;
}

/**
 * The references of a new licence, checked as the licensing provider sees them: the product
 * must be the provider's own (NOT_FOUND otherwise — a licence names the product it unlocks,
 * so another provider's would be a forged entitlement); a provider token may license only a
 * consumer it can see (its own, or one subscribed to its plans); a subscription must be to
 * one of that provider's plans and belong to that consumer.
 */
export async function checkReferences(
  catalog: Catalog,
  db: Db,
  actor: Actor,
  providerId: string,
  productId: string,
  consumerId: string,
  subscriptionId: string | null | undefined,
): Promise<void> {
  const asProvider = { kind: 'provider' as const, providerId, id: actor.id };
  await catalog.consumers.get(actor, consumerId);
  if (subscriptionId != null) await checkSubscription(catalog, asProvider, subscriptionId, consumerId);
  const product = await db
    .selectFrom('marketplace_products')
    .select('id')
    .where('id', '=', productId)
    .where('provider_id', '=', providerId)
    .executeTakeFirst();
  if (!product) throw notFound('product', productId);
}

async function checkSubscription(
  catalog: Catalog,
  asProvider: Actor & { kind: 'provider' },
  subscriptionId: string,
  consumerId: string,
): Promise<void> {
  const providerId = asProvider.providerId;
  const sub = await catalog.subscriptions.get(asProvider, subscriptionId).catch((e: unknown) => {
    throw isTollgateError(e) && e.code === 'NOT_FOUND'
      ? invalid(
          'subscriptionId',
          `subscription ${subscriptionId} does not exist or is not to a plan of provider ${providerId}`,
        )
      : e;
  });
  if (sub.consumerId !== consumerId) {
    throw invalid('subscriptionId', `subscription ${subscriptionId} belongs to another consumer`);
  }
}
