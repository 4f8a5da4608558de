/**
 * Price versions in the store. Setting a price appends version n+1 for the plan (the
 * unique (plan_id, version) constraint turns a concurrent double-set into CONFLICT); the
 * current price is the highest version, older ones are history. A period is rated on the
 * version in force at the start of each plan segment (the newest created at or before
 * it), falling back to the plan's first version when none was yet (a price set after the
 * subscription started applies from its first period). A new version is checked against its
 * plan first (price-safety.ts: dimensions its routes meter, the currency of live subscriptions).
 */
import { newId, notFound, TollgateError } from '../shared/index.js';
import type { Db } from '../store/index.js';
import { checkPriceForPlan } from './price-safety.js';
import { type Price, type PriceInput, priceSchema } from './pricing.js';
import { actorInput, parse } from './schemas.js';

export interface PriceRecord {
  id: string;
  planId: string;
  version: number;
  price: Price;
  createdAt: string;
  createdBy: string;
  /** ms, for rating. */
  effectiveFrom: number;
}

type Row = {
  id: string;
  plan_id: string;
  version: number;
  body: string;
  created_at: number;
  created_by: string;
};

export function priceRecord(r: Row): PriceRecord {
  return {
    id: r.id,
    planId: r.plan_id,
    version: Number(r.version),
    price: JSON.parse(r.body) as Price,
    createdAt: new Date(Number(r.created_at)).toISOString(),
    createdBy: r.created_by,
    effectiveFrom: Number(r.created_at),
  };
}

export async function setPrice(
  db: Db,
  now: number,
  planId: string,
  input: PriceInput,
  actor: string,
): Promise<PriceRecord> {
  const price = parse(priceSchema, input);
  const who = parse(actorInput, actor, ['actor']);
  try {
    return await db.transaction().execute(async (tx) => {
      const plan = await tx
        .selectFrom('plans')
        .select(['id', 'provider_id', 'api_ids'])
        .where('id', '=', planId)
        .executeTakeFirst();
      if (!plan) throw notFound('plan', planId);
      const prev = await tx
        .selectFrom('prices')
        .selectAll()
        .where('plan_id', '=', planId)
        .orderBy('version', 'desc')
        .limit(1)
        .executeTakeFirst();
      await checkPriceForPlan(tx, plan, price, prev ? prev.currency : null);
      const row = {
        id: newId('prc', now),
        plan_id: planId,
        version: prev ? Number(prev.version) + 1 : 1,
        currency: price.currency,
        body: JSON.stringify(price),
        created_at: now,
        created_by: who,
      };
      await tx.insertInto('prices').values(row).execute();
      await tx
        .insertInto('audit_log')
        .values({
          id: newId('aud', now),
          at: now,
          actor: who,
          action: 'price.set',
          entity: 'price',
          entity_id: row.id,
          provider_id: plan.provider_id,
          before: prev ? prev.body : null,
          after: row.body,
        })
        .execute();
      return priceRecord(row);
    });
  } catch (e) {
    if (/unique|duplicate/i.test(String(e)))
      throw new TollgateError('CONFLICT', `the price of plan ${planId} was changed concurrently; retry`);
    throw e;
  }
}

export async function getPrice(db: Db, planId: string): Promise<PriceRecord | null> {
  const row = await db
    .selectFrom('prices')
    .selectAll()
    .where('plan_id', '=', planId)
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? priceRecord(row) : null;
}

export async function priceHistory(db: Db, planId: string): Promise<PriceRecord[]> {
  const rows = await db
    .selectFrom('prices')
    .selectAll()
    .where('plan_id', '=', planId)
    .orderBy('version')
    .execute();
  return rows.map(priceRecord);
}

/** Every version of the given plans (all plans when omitted), grouped and sorted by version. */
export async function loadPrices(db: Db, planIds?: string[]): Promise<Map<string, PriceRecord[]>> {
  let q = db.selectFrom('prices').selectAll().orderBy('plan_id').orderBy('version');
  if (planIds) {
    if (planIds.length === 0) return new Map();
    q = q.where('plan_id', 'in', planIds);
  }
  const out = new Map<string, PriceRecord[]>();
  for (const r of await q.execute()) {
    const list = out.get(r.plan_id) ?? [];
    list.push(priceRecord(r));
    out.set(r.plan_id, list);
  }
  return out;
}

/** The version in force at `at` (see header); undefined when the plan has no price. */
export function priceInForce(versions: PriceRecord[] | undefined, at: number): PriceRecord | undefined {
  if (!versions || versions.length === 0) return undefined;
  let found = versions[0];
  for (const v of versions) if (v.effectiveFrom <= at) found = v;
  return found;
}
