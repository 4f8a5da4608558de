/**
 * Input schemas of the billing service (zod, so the admin API validates with them and
 * generates its OpenAPI from them) and the parse helper that turns zod issues into the
 * catalogue's VALIDATION_FAILED naming each bad field (`charges[0].tiers[1].upTo`).
 */
import { z } from 'zod';
import { type FieldIssue, TollgateError } from '../shared/index.js';

const id = z.string().regex(/^[a-z]{2,5}_[0-9A-Za-z]{1,40}$/, 'must be a Tollgate id such as sub_01J…');

/** An instant: ms since the epoch, or an ISO 8601 date-time. */
export const instant = z.union([
  z.number().int().min(0),
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
]);

export const runInput = z.strictObject({
  /** Bill one subscription only. */
  subscriptionId: id.optional(),
  /** Close periods that ended at or before this instant (default and upper bound: now). */
  until: instant.optional(),
  /** Create invoices as `open` (finalized) instead of `draft`. */
  finalize: z.boolean().default(false),
  /** Write nothing: list the invoices a run would create (`planned`). */
  dryRun: z.boolean().default(false),
});
export type RunInput = z.input<typeof runInput>;

export const invoiceStatus = z.enum(['draft', 'open', 'paid', 'void']);
export type InvoiceStatus = z.infer<typeof invoiceStatus>;

export const listInvoicesQuery = z.strictObject({
  consumerId: id.optional(),
  providerId: id.optional(),
  subscriptionId: id.optional(),
  status: invoiceStatus.optional(),
  cursor: z
    .string()
    .regex(/^inv_[0-9A-Z]{26}$/, 'must be a nextCursor from a previous page')
    .optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export type ListInvoicesQuery = z.input<typeof listInvoicesQuery>;

export const usageInput = z.record(
  z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_.:-]+$/),
  z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
);

export const previewInput = z.strictObject({
  planId: id,
  usage: usageInput.default({}),
  /** Deployments licensed for the whole period, per per_deployment dimension. */
  deployments: z.record(z.string(), z.number().int().min(0).max(1_000_000)).default({}),
  includeSetupFee: z.boolean().default(false),
});
export type PreviewInput = z.input<typeof previewInput>;

export const planChangeInput = z.strictObject({
  subscriptionId: id,
  toPlanId: id,
  at: instant,
});
export type PlanChangeInput = z.input<typeof planChangeInput>;

export const actorInput = z.string().min(1).max(200);

/** What a person records with a move: why an invoice was voided, how it was paid. */
export const transitionNote = z.strictObject({
  reason: z.string().trim().min(1, 'must not be empty').max(500).optional(),
  reference: z.string().trim().min(1, 'must not be empty').max(200).optional(),
});

function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

/** Parses or throws VALIDATION_FAILED with one issue per bad field (prefixed by `at`). */
export function parse<T extends z.ZodType>(schema: T, input: unknown, at: PropertyKey[] = []): z.output<T> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issues: FieldIssue[] = [];
  for (const i of r.error.issues) {
    const path = [...at, ...i.path];
    if (i.code === 'unrecognized_keys')
      for (const k of i.keys) issues.push({ field: fieldPath([...path, k]), message: 'unknown field' });
    else issues.push({ field: fieldPath(path) || '(body)', message: i.message });
  }
  const summary = issues
    .slice(0, 5)
    .map((i) => `${i.field}: ${i.message}`)
    .join('; ');
  throw new TollgateError('VALIDATION_FAILED', summary, issues);
}
