/**
 * Checks a new price against its plan before it is stored (inside setPrice's transaction):
 * - every charged dimension is one a route of the plan's APIs meters, spelled exactly the
 *   same (dimensions are case-sensitive: a charge on `Requests` would bill nothing for
 *   routes metering `requests`), or is listed in `declaredDimensions` (usage metered
 *   elsewhere). `per_deployment` charges count licences, not routes, and are exempt; a plan
 *   that grants no API yet has no routes to check against.
 * - a new version keeps the currency of the plan's live subscriptions: their invoices are
 *   in the currency they started in, and one invoice cannot mix two.
 * Refusals are VALIDATION_FAILED (400) naming the field, in plain words.
 */
import { type FieldIssue, TollgateError } from '../shared/index.js';
import type { Db } from '../store/index.js';
import type { Price } from './pricing.js';

/** Subscriptions that will still be invoiced. */
const LIVE = ['pending', 'trialing', 'active', 'cancel_pending', 'suspended'];

export async function checkPriceForPlan(
  tx: Db,
  plan: { id: string; api_ids: string },
  price: Price,
  previousCurrency: string | null,
): Promise<void> {
  const issues = [...(await dimensionIssues(tx, plan, price))];
  if (previousCurrency !== null && previousCurrency !== price.currency) {
    const live = await tx
      .selectFrom('subscriptions')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('plan_id', '=', plan.id)
      .where('status', 'in', LIVE)
      .executeTakeFirstOrThrow();
    const n = Number(live.n);
    if (n > 0)
      issues.push({
        field: 'currency',
        message: `${n} live subscription${n === 1 ? ' is' : 's are'} billed in ${previousCurrency} on this plan; a new price cannot change it to ${price.currency} (create a new plan in ${price.currency} instead)`,
      });
  }
  if (issues.length > 0)
    throw new TollgateError(
      'VALIDATION_FAILED',
      issues
        .slice(0, 5)
        .map((i) => `${i.field}: ${i.message}`)
        .join('; '),
      issues,
    );
}

async function dimensionIssues(tx: Db, plan: { api_ids: string }, price: Price): Promise<FieldIssue[]> {
  const apiIds = JSON.parse(plan.api_ids) as string[];
  if (apiIds.length === 0) return [];
  const rows = await tx
    .selectFrom('routes')
    .select('dimension')
    .distinct()
    .where('api_id', 'in', apiIds)
    .execute();
  const metered = new Set(rows.map((r) => r.dimension));
  const declared = new Set(price.declaredDimensions ?? []);
  const issues: FieldIssue[] = [];
  price.charges.forEach((c, i) => {
    if (c.model === 'per_deployment' || metered.has(c.dimension) || declared.has(c.dimension)) return;
    const near = [...metered].find((d) => d.toLowerCase() === c.dimension.toLowerCase());
    const known = [...metered].sort().join(', ') || 'none';
    issues.push({
      field: `charges[${i}].dimension`,
      message: near
        ? `no route of this plan's APIs meters "${c.dimension}"; they meter "${near}" (dimensions are case-sensitive)`
        : `no route of this plan's APIs meters "${c.dimension}" (they meter: ${known}); fix the name, or list it in declaredDimensions if its usage is sent another way`,
    });
  });
  return issues;
}
