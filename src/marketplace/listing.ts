/**
 * What a buyer sees of one product: the listing, each plan on offer with its limits and
 * current price (from billing, when wired), and the APIs with their OpenAPI documents.
 * Only published products; a private one needs its invite code (products.view).
 */
import type { Db } from '../store/index.js';
import type { BillingPort } from './ports.js';
import type { Product, ProductService } from './products.js';

export interface ListingPlan {
  id: string;
  name: string;
  description: string;
  quota: { limit: number; period: string } | null;
  throttle: { rateLimit: number; burstLimit: number | null } | null;
  overQuota: string;
  /** The plan's current price as billing stores it, or null when none is set / billing is not wired. */
  price: unknown;
}

export interface ListingApi {
  id: string;
  name: string;
  /** The API's OpenAPI document (parsed JSON), or null. */
  openapi: unknown;
}

export interface Listing {
  product: Product;
  plans: ListingPlan[];
  apis: ListingApi[];
}

export async function listing(
  deps: { db: Db; products: ProductService; billing?: BillingPort },
  productId: string,
  inviteCode?: string,
): Promise<Listing> {
  const product = await deps.products.view(productId, inviteCode);
  const plans = product.planIds.length
    ? await deps.db.selectFrom('plans').selectAll().where('id', 'in', product.planIds).execute()
    : [];
  const apis = product.apiIds.length
    ? await deps.db
        .selectFrom('apis')
        .select(['id', 'name', 'openapi'])
        .where('id', 'in', product.apiIds)
        .execute()
    : [];
  const order = (ids: string[]) => (a: { id: string }, b: { id: string }) =>
    ids.indexOf(a.id) - ids.indexOf(b.id);
  return {
    product,
    plans: await Promise.all(
      plans.sort(order(product.planIds)).map(async (p) => ({
        id: p.id,
        name: p.name,
        description: p.description,
        quota:
          p.quota_limit !== null && p.quota_period
            ? { limit: Number(p.quota_limit), period: p.quota_period }
            : null,
        throttle:
          p.throttle_rate !== null
            ? { rateLimit: Number(p.throttle_rate), burstLimit: p.throttle_burst }
            : null,
        overQuota: p.over_quota,
        price: (await deps.billing?.getPrice?.(p.id))?.price ?? null,
      })),
    ),
    apis: apis.sort(order(product.apiIds)).map((a) => {
      let openapi: unknown = null;
      try {
        openapi = a.openapi ? JSON.parse(a.openapi) : null;
      } catch {
        openapi = null;
      }
      return { id: a.id, name: a.name, openapi };
    }),
  };
}
