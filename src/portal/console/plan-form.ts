/**
 * The plan editor's form ⇄ the catalog's plan input and billing's price input. Field names
 * ARE the validation paths (`quota.limit`, `charges[1].tiers`), so every issue from the
 * catalog's and billing's zod schemas lands next to its input. Both schemas are checked
 * before anything is written, so a bad price never leaves a half-saved plan.
 *
 * Tiers are typed one per line as `upTo: unitPrice` (`*` for the last, unbounded tier).
 */
import { Decimal as DecimalJs } from 'decimal.js';
import type { z } from 'zod';
import { formatMoney, type Price, type PriceInput, priceSchema } from '../../billing/index.js';
// billing's index does not export its pure rater yet; the live preview of an UNSAVED price needs it.
import { applyLimits, rateUsage, type UsageCharge } from '../../billing/pricing.js';
import { type PlanView, schemas, zodIssues } from '../../catalog/index.js';
import { samples } from '../pricing.js';
import type { Errors } from '../views/components.js';

const Exact = DecimalJs.clone({ precision: 40 });

export const CHARGE_ROWS = 3;
export const MODELS = ['per_unit', 'package', 'graduated', 'volume'] as const;

export type FormValues = Record<string, string | string[]>;

/**
 * A throttle typed with its rate and not its burst (or the other way) is kept by the admin
 * API, as in API Gateway, but never enforced, so a console form asks for both. Sets the
 * message at `<at>.rateLimit` / `<at>.burstLimit` unless that field already has one.
 */
export function halfThrottle(
  errors: Errors,
  at: string,
  rate: number | undefined,
  burst: number | undefined,
): void {
  if (rate === undefined && burst !== undefined) errors[`${at}.rateLimit`] ??= 'give a rate with the burst';
  if (burst === undefined && rate !== undefined) errors[`${at}.burstLimit`] ??= 'give a burst with the rate';
}

const s = (v: FormValues, k: string): string => {
  const x = v[k];
  return (Array.isArray(x) ? (x[0] ?? '') : (x ?? '')).trim();
};

function num(values: FormValues, name: string, errors: Errors, integer = true): number | undefined {
  const raw = s(values, name).replace(/[,_\s]/g, '');
  if (raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    errors[name] = integer ? 'must be a whole number' : 'must be a number';
    return undefined;
  }
  return n;
}

export interface ParsedPlan {
  plan: z.input<typeof schemas.planCreate>;
  price: PriceInput | null;
  errors: Errors;
}

export function parsePlanForm(values: FormValues, apiIds: string[]): ParsedPlan {
  const errors: Errors = {};
  const rate = num(values, 'throttle.rateLimit', errors, false);
  const burst = num(values, 'throttle.burstLimit', errors);
  const limit = num(values, 'quota.limit', errors);
  const chosen = Array.isArray(values.apiIds) ? values.apiIds : values.apiIds ? [values.apiIds] : [];
  const plan: z.input<typeof schemas.planCreate> = {
    name: s(values, 'name'),
    description: s(values, 'description'),
    apiIds: chosen.filter((id) => apiIds.includes(id)),
    throttle:
      rate === undefined && burst === undefined
        ? null
        : { rateLimit: rate ?? Number.NaN, burstLimit: burst ?? Number.NaN },
    quota:
      limit === undefined
        ? null
        : { limit, period: (s(values, 'quota.period') || 'MONTH') as 'MONTH', offset: 0, timeZone: 'UTC' },
    overQuota: (s(values, 'overQuota') || 'block') as 'block',
  };
  halfThrottle(errors, 'throttle', rate, burst);
  if (!plan.apiIds?.length) errors.apiIds = 'choose at least one API';
  const p = schemas.planCreate.safeParse(plan);
  if (!p.success) for (const i of zodIssues(p.error)) if (!(i.field in errors)) errors[i.field] = i.message;

  const charges: unknown[] = [];
  const rowOf: number[] = [];
  for (let i = 0; i < CHARGE_ROWS; i++) {
    const k = (f: string) => `charges[${i}].${f}`;
    const dimension = s(values, k('dimension'));
    if (!dimension) continue;
    const model = s(values, k('model')) || 'per_unit';
    const included = num(values, k('includedUnits'), errors);
    const c: Record<string, unknown> = { dimension, model, includedUnits: included ?? 0 };
    if (model === 'per_unit') c.unitPrice = s(values, k('unitPrice'));
    if (model === 'package') {
      c.packageSize = num(values, k('packageSize'), errors) ?? 0;
      c.packagePrice = s(values, k('packagePrice'));
    }
    if (model === 'graduated' || model === 'volume') {
      const lines = s(values, k('tiers'))
        .split(/\n|;/)
        .map((l) => l.trim())
        .filter(Boolean);
      c.tiers = lines.map((l) => {
        const [up, price] = l.split(':').map((x) => x.trim());
        return {
          upTo: up === '*' || up === '' ? null : Number((up ?? '').replace(/[,_]/g, '')),
          unitPrice: price ?? '',
        };
      });
      if (!lines.length) errors[k('tiers')] = 'give at least one tier, e.g. "1000: 0.001" then "*: 0.0005"';
    }
    rowOf.push(i);
    charges.push(c);
  }
  const price = {
    currency: s(values, 'currency').toUpperCase() || 'USD',
    interval: (s(values, 'interval') || 'month') as 'month',
    billingTime: (s(values, 'billingTime') || 'anniversary') as 'anniversary',
    recurringFee: s(values, 'recurringFee') || '0',
    setupFee: s(values, 'setupFee') || '0',
    trialDays: num(values, 'trialDays', errors) ?? 0,
    charges,
  } as PriceInput;
  const q = priceSchema.safeParse(price);
  if (!q.success) {
    for (const i of zodIssues(q.error)) {
      // charges[n] in the price is row rowOf[n] of the form; tier issues show on the tiers box.
      const f = i.field
        .replace(/^charges\[(\d+)\]/, (_m, n: string) => `charges[${rowOf[Number(n)]}]`)
        .replace(/(tiers)\[\d+\].*$/, '$1');
      if (!(f in errors)) errors[f] = i.message;
    }
  }
  return { plan, price, errors };
}

/** Price → the editor's values. */
export function planValues(plan: PlanView | null, price: Price | null): FormValues {
  const v: FormValues = {};
  if (plan) {
    v.name = plan.name;
    v.description = plan.description;
    v.apiIds = plan.apiIds;
    if (plan.throttle?.rateLimit !== undefined) v['throttle.rateLimit'] = String(plan.throttle.rateLimit);
    if (plan.throttle?.burstLimit !== undefined) v['throttle.burstLimit'] = String(plan.throttle.burstLimit);
    if (plan.quota?.limit !== undefined) v['quota.limit'] = String(plan.quota.limit);
    if (plan.quota?.period !== undefined) v['quota.period'] = plan.quota.period;
    v.overQuota = plan.overQuota;
  }
  if (price) {
    v.currency = price.currency;
    v.interval = price.interval;
    v.billingTime = price.billingTime ?? 'anniversary';
    v.recurringFee = price.recurringFee;
    v.setupFee = price.setupFee;
    v.trialDays = String(price.trialDays);
    price.charges.forEach((c, i) => {
      const k = (f: string) => `charges[${i}].${f}`;
      v[k('dimension')] = c.dimension;
      v[k('model')] = c.model;
      v[k('includedUnits')] = String(c.includedUnits);
      if (c.model === 'per_unit') v[k('unitPrice')] = c.unitPrice;
      if (c.model === 'package') {
        v[k('packageSize')] = String(c.packageSize);
        v[k('packagePrice')] = c.packagePrice;
      }
      if (c.model === 'graduated' || c.model === 'volume')
        v[k('tiers')] = c.tiers.map((t) => `${t.upTo ?? '*'}: ${t.unitPrice}`).join('\n');
    });
  }
  return v;
}

/**
 * What 1k / 100k / 10M of the first charged dimension cost for a whole period on a
 * (possibly unsaved) price: calls for `requests`, the dimension's own unit otherwise.
 */
export function previewSamples(input: PriceInput): Array<{ label: string; total: string }> {
  const price = priceSchema.parse(input);
  const dim = price.charges.find((c) => c.model !== 'per_deployment')?.dimension ?? 'requests';
  return samples(dim).map(({ label, units: n }) => {
    let total = new Exact(price.recurringFee);
    for (const c of price.charges) {
      if (c.model === 'per_deployment') continue;
      total = total.plus(
        applyLimits(c, rateUsage(c as UsageCharge, c.dimension === dim ? n : 0).amount).toFixed(),
      );
    }
    return { label: `${label} a ${price.interval}`, total: formatMoney(total.toFixed(), price.currency) };
  });
}
