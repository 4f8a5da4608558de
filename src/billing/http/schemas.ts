/**
 * OpenAPI pieces of the billing admin routes. Request bodies are billing's own zod schemas
 * (src/billing/schemas.ts, pricing.ts) named as components, so the admin API validates with
 * exactly what the service validates with; responses mirror billing's views and are
 * type-checked against them by the handlers.
 *
 * `priceSchema` is a plain (non-strict) object in pricing.ts: the body schema here is its
 * `.strict()` copy, which refuses unknown top-level fields; unknown fields deeper down
 * (inside a charge or a tier) are caught by `unknownFields` after parsing.
 */
import { z } from '@hono/zod-openapi';
import { planChangeInput, previewInput, priceSchema, runInput } from '../index.js';

const time = z.string().openapi({ format: 'date-time', example: '2026-11-26T12:00:00.000Z' });
const money = z.string().openapi({ description: 'Exact decimal, as text', example: '12.50' });

// ---------------------------------------------------------------- requests

export const PriceBody = priceSchema.strict().meta({ id: 'PriceInput' });
export const RunBody = runInput.meta({ id: 'BillingRunInput' });
export const PreviewBody = previewInput.omit({ planId: true }).meta({ id: 'PricePreviewInput' });
export const PlanChangeBody = planChangeInput
  .omit({ subscriptionId: true })
  .extend({ at: planChangeInput.shape.at.optional() })
  .meta({
    id: 'PlanChangeInput',
    description: '`at` (ms or ISO 8601, default now) must not be in the future',
  });

// ---------------------------------------------------------------- responses

export const PriceRecord = z
  .object({
    id: z.string(),
    planId: z.string(),
    version: z.number().int(),
    price: z.record(z.string(), z.unknown()).openapi({ description: 'The validated price (PriceInput)' }),
    createdAt: time,
    createdBy: z.string(),
  })
  .openapi('PriceRecord');
export const PriceHistory = z.object({ items: z.array(PriceRecord) }).openapi('PriceHistory');

export const LineCalc = z
  .object({
    quantity: z.string().openapi({
      description: 'Exact: a decimal ("11345") or a fraction of a period ("22/31", days or seconds)',
      example: '11345',
    }),
    price: money.openapi({ description: 'Exact price per `per` units of `unit`', example: '0.02' }),
    per: z
      .number()
      .int()
      .openapi({ description: 'The price scale: 1, 1000 or 1000000 units', example: 1000 }),
    unit: z.string().openapi({
      description:
        'What is counted: the dimension ("characters"), "month", "package of 1,000 requests", … ("" for a flat sum)',
      example: 'characters',
    }),
    note: z
      .string()
      .nullable()
      .openapi({ description: 'How the quantity came about', example: '12,345 used, 1,000 included' }),
  })
  .openapi('InvoiceLineCalc', {
    description: "amount = quantity × price / per, rounded half up to the currency's minor unit",
  });

const line = {
  kind: z.enum(['recurring', 'setup', 'usage', 'deployment', 'minimum', 'maximum']).openapi({
    description: "`minimum`/`maximum`: the true-up to a charge's minimum, or its cap (negative)",
  }),
  description: z.string(),
  dimension: z.string().nullable(),
  quantity: money.openapi({
    description:
      "Usage lines: the metered units the line covers (a dimension's usage lines add up to its usage); recurring: the share of the period (6 decimals); deployments: deployment-periods. The exact billed quantity is calc.quantity",
  }),
  unitPrice: money.nullable().openapi({ description: 'The price of one unit (one package, one period)' }),
  amount: money,
  planId: z.string(),
  priceId: z.string().nullable(),
  detail: z.record(z.string(), z.unknown()),
};

export const InvoiceLine = z
  .object({
    id: z.string(),
    position: z.number().int(),
    ...line,
    calc: LineCalc.nullable().openapi({ description: 'Null on invoices written before lines carried it' }),
    usageFrom: time
      .nullable()
      .openapi({ description: 'The usage hours the line came from: [usageFrom, usageTo)' }),
    usageTo: time.nullable(),
  })
  .openapi('InvoiceLine');

const summaryFields = {
  id: z.string(),
  number: z.string(),
  providerId: z.string(),
  consumerId: z.string(),
  subscriptionId: z.string(),
  periodStart: time,
  periodEnd: time,
  currency: z.string(),
  subtotal: money,
  total: money,
  status: z.enum(['draft', 'open', 'paid', 'void']),
  createdAt: time,
  finalizedAt: time.nullable(),
  paidAt: time.nullable(),
  voidedAt: time.nullable(),
  voidReason: z.string().nullable().openapi({ description: 'Why it was voided' }),
  paidReference: z
    .string()
    .nullable()
    .openapi({ description: 'The payment reference given when marked paid' }),
  reissueOf: z.string().nullable().openapi({ description: 'The void invoice this one re-issues' }),
};
export const InvoiceSummary = z.object(summaryFields).openapi('InvoiceSummary');
export const Invoice = z.object({ ...summaryFields, lines: z.array(InvoiceLine) }).openapi('Invoice');
export const InvoicePage = z
  .object({ items: z.array(InvoiceSummary), nextCursor: z.string().nullable() })
  .openapi('InvoicePage');

export const RunResult = z
  .object({
    until: time,
    subscriptions: z.number().int(),
    created: z.number().int(),
    invoiceIds: z.array(z.string()),
    skipped: z.array(z.object({ subscriptionId: z.string(), reason: z.string() })),
    failed: z.array(z.object({ subscriptionId: z.string(), error: z.string() })),
    ms: z.number().int(),
    planned: z
      .array(
        z.object({
          subscriptionId: z.string(),
          periodStart: time,
          periodEnd: time,
          currency: z.string(),
          total: money,
        }),
      )
      .optional()
      .openapi({ description: 'Dry runs only: the invoices a real run would write' }),
  })
  .openapi('BillingRunResult');

export const Preview = z
  .object({
    planId: z.string(),
    priceId: z.string(),
    currency: z.string(),
    lines: z.array(
      z.object({ ...line, calc: LineCalc, usageFrom: time.nullable(), usageTo: time.nullable() }),
    ),
    subtotal: money,
    total: money,
  })
  .openapi('PricePreview');

export const PlanChange = z
  .object({ subscriptionId: z.string(), fromPlanId: z.string(), toPlanId: z.string(), at: time })
  .openapi('PlanChange');

/**
 * Fields present in `raw` but absent from what a (non-strict) schema kept: zod strips
 * unknown keys, so every key of an input object missing from the parsed object is one.
 */
export function unknownFields(raw: unknown, parsed: unknown, path = ''): string[] {
  if (Array.isArray(raw) && Array.isArray(parsed)) {
    return raw.flatMap((r, i) => unknownFields(r, parsed[i], `${path}[${i}]`));
  }
  if (!isObject(raw) || !isObject(parsed)) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(raw)) {
    const at = path === '' ? k : `${path}.${k}`;
    if (!Object.hasOwn(parsed, k)) out.push(at);
    else out.push(...unknownFields(v, parsed[k], at));
  }
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
