/**
 * Billing: the front door. Prices on plans, billing runs that turn metered usage into
 * invoices, the invoice status machine, previews, HTML/PDF documents, and the
 * `invoice.*` webhook events. Pure logic lives in money/pricing/periods/proration/rating;
 * I/O in prices/invoices/run/render. See docs/billing.md.
 */
import { type Clock, invalid, type Logger, notFound, TollgateError } from '../shared/index.js';
import type { Db, Store } from '../store/index.js';
import {
  type Emit,
  getInvoice,
  type Invoice,
  type InvoiceSummary,
  listInvoices,
  type Page,
  transition,
} from './invoices.js';
import { type Estimate, estimateNext, reissueInvoice } from './lifecycle.js';
import { periodAt } from './periods.js';
import { getPrice, type PriceRecord, priceHistory, setPrice } from './prices.js';
import type { PriceInput } from './pricing.js';
import { segmentsOf } from './proration.js';
import { type LineDraft, ratePeriod } from './rating.js';
import { invoiceHtml, PdfPrinter } from './render.js';
import { type DeploymentSource, type RunResult, runBilling } from './run.js';
import {
  actorInput,
  type ListInvoicesQuery,
  type PlanChangeInput,
  type PreviewInput,
  parse,
  planChangeInput,
  previewInput,
  type RunInput,
  runInput,
  transitionNote,
} from './schemas.js';

export type { Invoice, InvoiceLine, InvoiceSummary, Page } from './invoices.js';
export type { Estimate } from './lifecycle.js';
export { groupDigits, type LineCalc, priceText, scaledPrice, unitName } from './lines.js';
export { formatMoney, isCurrency, MINOR_UNITS, minorUnits } from './money.js';
export {
  addMonths,
  DAY_MS,
  endedPeriods,
  floorHour,
  type Interval,
  type Period,
  periodAt,
  periodContaining,
} from './periods.js';
export type { PriceRecord } from './prices.js';
export {
  type Charge,
  chargeSchema,
  type DeploymentSpan,
  type Price,
  type PriceInput,
  priceSchema,
  tierSchema,
} from './pricing.js';
export type { LineDraft } from './rating.js';
export { escapeHtml, lineColumns } from './render.js';
export type { DeploymentSource, PlannedInvoice, RunResult } from './run.js';
export {
  type InvoiceStatus,
  invoiceStatus,
  type ListInvoicesQuery,
  listInvoicesQuery,
  type PlanChangeInput,
  type PreviewInput,
  planChangeInput,
  previewInput,
  type RunInput,
  runInput,
  transitionNote,
  usageInput,
} from './schemas.js';

/** What billing needs from the webhook sender (src/webhooks satisfies it). */
export interface WebhookEmitter {
  emit(providerId: string, type: string, payload: unknown, tx?: Db): Promise<unknown>;
}

/**
 * Told about every invoice that became `open`, whoever finalized it (a run with
 * `finalize: true`, the scheduler, the admin API, the console). Called after the finalizing
 * transaction committed, once per finalization, listeners in registration order; a listener
 * that throws is logged and does not undo the finalization or stop the others. The durable
 * record is the `invoice.finalized` webhook event written in that transaction: a consumer
 * that must not miss one across a crash also sweeps `open` invoices on start.
 */
export type FinalizedListener = (invoice: InvoiceSummary) => void | Promise<void>;

export interface Preview {
  planId: string;
  priceId: string;
  currency: string;
  lines: LineDraft[];
  subtotal: string;
  total: string;
}

export interface Billing {
  /** Validates and stores a new price version for the plan (audited). */
  setPrice(planId: string, price: PriceInput, actor: string): Promise<PriceRecord>;
  /** The current price of a plan, or null when it has none. */
  getPrice(planId: string): Promise<PriceRecord | null>;
  /** Every version of the plan's price, oldest first. */
  priceHistory(planId: string): Promise<PriceRecord[]>;
  /**
   * Records that a subscription moved to another plan at `at`, for proration. Call it in
   * the same transaction that updates subscriptions.plan_id (pass `tx`).
   */
  recordPlanChange(input: PlanChangeInput, tx?: Db): Promise<void>;
  /**
   * Convenience for a plan change happening now (the marketplace's port): records it at
   * `at` (default now). Call before or in the transaction that updates plan_id.
   */
  changePlan(subscriptionId: string, fromPlanId: string, toPlanId: string, at?: number): Promise<void>;
  /**
   * Ends a subscription's billing at `at` (default now): bills every period up to it, the last
   * one partial, and marks that invoice as closing; later runs never bill it again. Used on
   * cancellation (flush metering first so the final hours are in the usage table).
   */
  closeSubscription(subscriptionId: string, at?: number): Promise<RunResult>;
  /** Trial length of the plan's current price in days (null when the plan has no price). */
  trialDays(planId: string): Promise<number | null>;
  /** Where per_deployment charges read their quantity timeline (wholesale licences). */
  setDeploymentSource(source: DeploymentSource | undefined): void;
  /** Closes every ended period (all subscriptions, or one); idempotent. `progress` hears each page. */
  run(input?: RunInput, progress?: (r: RunResult) => void): Promise<RunResult>;
  /** `issued`: only finalized invoices (what a buyer may see), never drafts. */
  listInvoices(query?: ListInvoicesQuery, options?: { issued?: boolean }): Promise<Page<InvoiceSummary>>;
  getInvoice(id: string): Promise<Invoice>;
  /** draft → open: the one finalize path; tells every `onFinalized` listener after commit. */
  finalize(id: string, actor?: string): Promise<InvoiceSummary>;
  /** Registers a listener for finalized invoices; returns its unsubscribe function. */
  onFinalized(listener: FinalizedListener): () => void;
  /** open → paid */
  markPaid(id: string, actor?: string, options?: { reference?: string }): Promise<InvoiceSummary>;
  /** draft | open → void */
  void(id: string, actor?: string, options?: { reason?: string }): Promise<InvoiceSummary>;
  /** A void invoice's period rated again as a new draft (see lifecycle.ts); once per void invoice. */
  reissue(id: string, actor?: string): Promise<InvoiceSummary>;
  /** The subscription's upcoming invoice, rated with the usage so far (null: none coming). */
  estimate(subscriptionId: string): Promise<Estimate | null>;
  /** What this usage would cost for one whole period on the plan's current price (no writes). */
  preview(
    planId: string,
    usage: Record<string, number>,
    options?: Omit<PreviewInput, 'planId' | 'usage'>,
  ): Promise<Preview>;
  renderHtml(id: string): Promise<string>;
  renderPdf(id: string): Promise<Buffer>;
  /** Releases the PDF browser. */
  close(): Promise<void>;
}

export interface BillingDeps {
  store: Store;
  clock: Clock;
  log: Logger;
  webhooks?: WebhookEmitter;
  deployments?: DeploymentSource;
  chromiumPath?: string;
}

export function createBilling(deps: BillingDeps): Billing {
  const { store, clock, log } = deps;
  const db = store.db;
  const emit: Emit = deps.webhooks
    ? (providerId, type, payload, tx) => deps.webhooks!.emit(providerId, type, payload, tx)
    : async () => undefined;
  let deployments = deps.deployments;
  const printer = new PdfPrinter(deps.chromiumPath);

  async function parties(inv: Invoice) {
    const provider = await db
      .selectFrom('providers')
      .select('name')
      .where('id', '=', inv.providerId)
      .executeTakeFirst();
    const consumer = await db
      .selectFrom('consumers')
      .select(['name', 'email'])
      .where('id', '=', inv.consumerId)
      .executeTakeFirst();
    return {
      provider: { name: provider?.name ?? inv.providerId },
      consumer: { name: consumer?.name ?? inv.consumerId, email: consumer?.email ?? null },
    };
  }

  const finalizedListeners = new Set<FinalizedListener>();
  async function finalize(id: string, actor?: string): Promise<InvoiceSummary> {
    const summary = await move('finalize')(id, actor);
    for (const listener of [...finalizedListeners]) {
      try {
        await listener(summary);
      } catch (err) {
        log.error({ err, invoice: summary.id }, 'invoice finalized listener failed');
      }
    }
    return summary;
  }

  const move =
    (action: 'finalize' | 'pay' | 'void') =>
    (id: string, actor?: string, options: { reason?: string; reference?: string } = {}) => {
      const note = parse(transitionNote, options);
      return transition(
        db,
        clock.now(),
        id,
        action,
        emit,
        actor === undefined ? 'system' : parse(actorInput, actor, ['actor']),
        { voidReason: note.reason, paidReference: note.reference },
      );
    };

  const api: Billing = {
    setPrice: (planId, price, actor) => setPrice(db, clock.now(), planId, price, actor),
    getPrice: (planId) => getPrice(db, planId),
    priceHistory: (planId) => priceHistory(db, planId),

    async recordPlanChange(input, tx) {
      const c = parse(planChangeInput, input);
      const q = tx ?? db;
      const sub = await q
        .selectFrom('subscriptions')
        .select(['plan_id', 'started_at'])
        .where('id', '=', c.subscriptionId)
        .executeTakeFirst();
      if (!sub) throw notFound('subscription', c.subscriptionId);
      if (c.at < Number(sub.started_at)) throw invalid('at', 'is before the subscription started');
      const billed = await q
        .selectFrom('invoices')
        .select('number')
        .where('subscription_id', '=', c.subscriptionId)
        .where('period_end', '>', c.at)
        .limit(1)
        .executeTakeFirst();
      if (billed)
        throw new TollgateError(
          'INVALID_STATE',
          `the period containing ${new Date(c.at).toISOString()} is already invoiced (${billed.number})`,
        );
      const prior = await q
        .selectFrom('plan_changes')
        .select('to_plan_id')
        .where('subscription_id', '=', c.subscriptionId)
        .where('at', '<=', c.at)
        .orderBy('at', 'desc')
        .limit(1)
        .executeTakeFirst();
      const from = prior?.to_plan_id ?? sub.plan_id;
      if (from === c.toPlanId) return;
      const [a, b] = await Promise.all([getPrice(q, from), getPrice(q, c.toPlanId)]);
      if (a && b && a.price.currency !== b.price.currency)
        throw new TollgateError(
          'INVALID_STATE',
          `plan ${c.toPlanId} is priced in ${b.price.currency}, the subscription in ${a.price.currency}`,
        );
      const clash = await q
        .selectFrom('plan_changes')
        .select('to_plan_id')
        .where('subscription_id', '=', c.subscriptionId)
        .where('at', '=', c.at)
        .executeTakeFirst();
      if (clash)
        throw new TollgateError('CONFLICT', `a plan change at ${new Date(c.at).toISOString()} exists`);
      await q
        .insertInto('plan_changes')
        .values({
          subscription_id: c.subscriptionId,
          at: c.at,
          from_plan_id: from,
          to_plan_id: c.toPlanId,
          created_at: clock.now(),
        })
        .execute();
    },

    async changePlan(subscriptionId, _fromPlanId, toPlanId, at) {
      await api.recordPlanChange({ subscriptionId, toPlanId, at: at ?? clock.now() });
    },

    async closeSubscription(subscriptionId, at) {
      const r = parse(runInput, { subscriptionId, ...(at === undefined ? {} : { until: at }) });
      const end = Math.min(r.until ?? clock.now(), clock.now());
      const sub = await db
        .selectFrom('subscriptions')
        .select('id')
        .where('id', '=', r.subscriptionId!)
        .executeTakeFirst();
      if (!sub) throw notFound('subscription', subscriptionId);
      return runBilling(
        { db, clock, log, emit, deployments: () => deployments },
        { subscriptionId: r.subscriptionId, until: end, endAt: end },
      );
    },

    async trialDays(planId) {
      return (await getPrice(db, planId))?.price.trialDays ?? null;
    },

    setDeploymentSource(source) {
      deployments = source;
    },

    async run(input = {}, progress) {
      const r = parse(runInput, input);
      return runBilling(
        { db, clock, log, emit, deployments: () => deployments, finalize: (id) => finalize(id) },
        {
          subscriptionId: r.subscriptionId,
          until: r.until,
          finalize: r.finalize,
          dryRun: r.dryRun,
          ...(progress ? { onProgress: progress } : {}),
        },
      );
    },

    listInvoices: (query, options) => listInvoices(db, query, options),
    getInvoice: (id) => getInvoice(db, id),
    finalize,
    onFinalized(listener) {
      finalizedListeners.add(listener);
      return () => finalizedListeners.delete(listener);
    },
    markPaid: move('pay'),
    void: move('void'),
    reissue: (id, actor) =>
      reissueInvoice(
        { db, clock, log, emit, deployments: () => deployments },
        id,
        actor === undefined ? 'system' : parse(actorInput, actor, ['actor']),
      ),
    estimate: (subscriptionId) => estimateNext({ db, clock, deployments: () => deployments }, subscriptionId),

    async preview(planId, usage, options = {}) {
      const p = parse(previewInput, { ...options, planId, usage });
      const rec = await getPrice(db, planId);
      if (!rec) {
        const plan = await db.selectFrom('plans').select('id').where('id', '=', planId).executeTakeFirst();
        if (!plan) throw notFound('plan', planId);
        throw new TollgateError('INVALID_STATE', `plan ${planId} has no price`);
      }
      const plan = await db.selectFrom('plans').select('name').where('id', '=', planId).executeTakeFirst();
      // a whole nominal period starting now; index 0 only when the setup fee is wanted
      const anchor = clock.now();
      const period = { ...periodAt(anchor, rec.price.interval, 0) };
      if (!p.includeSetupFee) period.index = 1;
      const [seg] = segmentsOf(period, planId, []);
      const spans = Object.fromEntries(
        Object.entries(p.deployments).map(([dim, n]) => [
          dim,
          [{ from: period.start, to: period.end, quantity: n }],
        ]),
      );
      const rated = ratePeriod({
        period,
        anchor,
        currency: rec.price.currency,
        trialEndsAt: null,
        segments: [
          {
            ...seg!,
            planName: plan?.name ?? planId,
            price: rec.price,
            priceId: rec.id,
            usage: p.usage,
            deployments: spans,
          },
        ],
      });
      return {
        planId,
        priceId: rec.id,
        currency: rec.price.currency,
        lines: rated.lines,
        subtotal: rated.subtotal,
        total: rated.subtotal,
      };
    },

    async renderHtml(id) {
      const inv = await getInvoice(db, id);
      return invoiceHtml(inv, await parties(inv));
    },

    async renderPdf(id) {
      const inv = await getInvoice(db, id);
      return printer.print(invoiceHtml(inv, await parties(inv)));
    },

    close: () => printer.close(),
  };
  return api;
}
