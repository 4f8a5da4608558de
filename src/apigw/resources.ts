/**
 * The API Gateway fields Tollgate's records have no column for, in `apigw_resources`: a key's
 * description, a plan's productCode (as sent, and the marketplace product it names) and the
 * time a plan was deleted through DeleteUsagePlan while its history keeps it in the catalog.
 * A plan is visible to this API when the actor may see it, it is not a holding plan and it
 * has not been deleted here.
 */
import type { Actor, PlanView } from '../catalog/index.js';
import type { Db } from '../store/index.js';
import type { AttachDeps } from './attach.js';
import { notFoundAws, nullIfNotFound } from './errors.js';
import { HOLDING_PLAN } from './model.js';

export interface ResourceMeta {
  description: string | null;
  productCode: string | null;
  productId: string | null;
  deletedAt: number | null;
}

const NONE: ResourceMeta = { description: null, productCode: null, productId: null, deletedAt: null };

export async function metaOf(db: Db, resourceId: string): Promise<ResourceMeta> {
  const r = await db
    .selectFrom('apigw_resources')
    .selectAll()
    .where('resource_id', '=', resourceId)
    .executeTakeFirst();
  if (!r) return NONE;
  return {
    description: r.description,
    productCode: r.product_code,
    productId: r.product_id,
    deletedAt: r.deleted_at === null ? null : Number(r.deleted_at),
  };
}

/** Sets the given fields (an upsert of one row). */
export async function setMeta(db: Db, resourceId: string, patch: Partial<ResourceMeta>): Promise<void> {
  const cols = {
    ...('description' in patch ? { description: patch.description ?? null } : {}),
    ...('productCode' in patch ? { product_code: patch.productCode ?? null } : {}),
    ...('productId' in patch ? { product_id: patch.productId ?? null } : {}),
    ...('deletedAt' in patch ? { deleted_at: patch.deletedAt ?? null } : {}),
  };
  if (Object.keys(cols).length === 0) return;
  await db
    .insertInto('apigw_resources')
    .values({
      resource_id: resourceId,
      description: null,
      product_code: null,
      product_id: null,
      deleted_at: null,
      ...cols,
    })
    .onConflict((oc) => oc.column('resource_id').doUpdateSet(cols))
    .execute();
}

export async function isDeleted(db: Db, planId: string): Promise<boolean> {
  return (await metaOf(db, planId)).deletedAt !== null;
}

export async function visiblePlan(deps: AttachDeps, actor: Actor, id: string): Promise<PlanView> {
  const plan = await deps.catalog.plans.get(actor, id).catch(nullIfNotFound);
  if (!plan || plan.name === HOLDING_PLAN || (await isDeleted(deps.store.db, id)))
    throw notFoundAws(`Invalid Usage Plan ID specified: ${id}`);
  return plan;
}
