/**
 * A usage plan's `productCode` (API Gateway's link from a plan to the Marketplace product it
 * is sold as) ↔ a marketplace product listing the plan. The code names the product by its
 * Tollgate id (`prd_…`), its Tollgate ProductCode, or its `externalProductCode` (the code of
 * an AWS Marketplace listing it is sold through), within the caller's scope. Linking lists
 * the plan on the product (if not listed yet); unlinking takes it off again, unless it is
 * the product's only plan (a product lists at least one).
 */
import { invalid, isTollgateError, notFound } from '../shared/index.js';
import type { Actor } from './ports.js';
import type { Product, ProductService } from './products.js';

export interface PlanProductLink {
  /** The product `code` names, with the plan listed on it; refused across providers. */
  link(actor: Actor, code: string, plan: { id: string; providerId: string }): Promise<Product>;
  unlink(actor: Actor, productId: string, planId: string): Promise<void>;
}

export function planProductLink(products: ProductService): PlanProductLink {
  async function find(actor: Actor, code: string): Promise<Product> {
    const mine = await products.list(actor);
    const p =
      mine.find((x) => x.id === code) ??
      mine.find((x) => x.productCode === code) ??
      mine.find((x) => x.externalProductCode === code);
    if (!p) throw notFound('product', code);
    return p;
  }
  return {
    async link(actor, code, plan) {
      const p = await find(actor, code);
      if (p.providerId !== plan.providerId)
        throw invalid('productCode', `product ${p.id} belongs to another provider than plan ${plan.id}`);
      if (p.planIds.includes(plan.id)) return p;
      return products.update(actor, p.id, { planIds: [...p.planIds, plan.id] });
    },
    async unlink(actor, productId, planId) {
      // A product that is gone has nothing to unlink; any other fault surfaces.
      const p = await products.get(actor, productId).catch((e: unknown) => {
        if (isTollgateError(e) && e.code === 'NOT_FOUND') return null;
        throw e;
      });
      if (!p?.planIds.includes(planId)) return;
      if (p.planIds.length === 1)
        throw invalid(
          'productCode',
          `plan ${planId} is the only plan of product ${p.id}; list another plan first`,
        );
      await products.update(actor, p.id, { planIds: p.planIds.filter((x) => x !== planId) });
    },
  };
}
