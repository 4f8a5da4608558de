/**
 * Payments: the front door. Getting paid for Tollgate invoices through a payment processor
 * (Stripe, behind the `PaymentProcessor` interface): connections, processor customers and
 * the hosted payment-method flow, collection when an invoice finalizes, webhooks and
 * reconciliation, dunning, and buyers' spend budgets. See docs/payments.md.
 *
 * It sits above billing (invoices) and takes the subscription lifecycle as callbacks
 * (`suspend`, `resume`) and the spend budgets (`createSpend`, whose `onChange` announces a
 * spend cap to the gateways) as a dependency, wired in src/main.
 */
import type { Billing } from '../billing/index.js';
import type { Clock, Logger } from '../shared/index.js';
import type { Store } from '../store/index.js';
import { type Collector, createCollector, type PaymentStatus } from './collect.js';
import { type Connections, createConnections } from './connections.js';
import { ensureCustomer, findCustomer, saveCard } from './customers.js';
import { createDunning, type Dunning, type MailMessage } from './dunning.js';
import { createEvents, type WebhookOutcome } from './events.js';
import type { Card } from './processor.js';
import type { Spend } from './spend.js';

export { type ConnectionView, connectInput, mask, OPERATOR_OWNER } from './connections.js';
export type { MailMessage } from './dunning.js';
export type { WebhookOutcome } from './events.js';
export type {
  Card,
  InvoiceToCollect,
  PaymentProcessor,
  ProcessorEvent,
  RemoteInvoice,
} from './processor.js';
export { ProcessorError } from './processor.js';
export { budgetInput, createSpend, type Spend, type SpendStatus } from './spend.js';
export { stripeProcessor } from './stripe.js';
export type { PaymentStatus };

export interface PaymentsDeps {
  store: Store;
  clock: Clock;
  log: Logger;
  billing: Billing;
  /** The installation secret: seals processor keys at rest. */
  secret: string;
  /** Where the Stripe API is (tests: a local stand-in); default Stripe's. */
  stripeApiUrl?: string;
  /** Days past due before suspension when a plan sets no policy. Default 14. */
  defaultSuspendAfterDays?: number;
  /** Days a buyer has to pay an emailed invoice. Default 14. */
  daysUntilDue?: number;
  suspend(subscriptionId: string): Promise<void>;
  resume(subscriptionId: string): Promise<void>;
  /** Buyers' spend budgets (`createSpend`): built first, as the metering alerts read it too. */
  spend: Spend;
  mail(msg: MailMessage): void | Promise<void>;
  portalUrl?: string;
}

export interface InvoicePayment {
  status: PaymentStatus;
  reference: string | null;
  hostedUrl: string | null;
  pastDueSince: string | null;
  suspendedAt: string | null;
  lastError: string | null;
}

export interface PastDue {
  invoiceId: string;
  number: string;
  total: string;
  currency: string;
  subscriptionId: string;
  subscriptionStatus: string;
  consumerName: string;
  pastDueSince: string;
  suspendedAt: string | null;
}

export interface Payments {
  connections: Connections;
  collector: Collector;
  dunning: Dunning;
  spend: Spend;
  /** The buyer's card on file with a provider's processor (cached; `refresh` asks the processor). */
  cardOnFile(providerId: string, consumerId: string, refresh?: boolean): Promise<Card | null | 'none'>;
  /** Starts the hosted flow; returns where to send the buyer. */
  startSetup(
    providerId: string,
    consumerId: string,
    urls: { returnUrl: string; cancelUrl: string },
  ): Promise<string>;
  /** The hosted flow came back: store the payment method it collected. */
  completeSetup(providerId: string, consumerId: string, sessionRef: string): Promise<Card | null>;
  paymentOf(invoiceId: string): Promise<InvoicePayment | null>;
  pastDue(providerId: string | null): Promise<PastDue[]>;
  webhook(owner: string, rawBody: string, signature: string | undefined): Promise<WebhookOutcome>;
  reconcile(): ReturnType<ReturnType<typeof createEvents>['reconcile']>;
  /** One round of background work: enqueue missed invoices, collect what is due, dunning. */
  tick(): Promise<void>;
  /** Runs `tick` every `everyMs` (default 60 s) and reconciliation every 24 h. */
  start(everyMs?: number): void;
  stop(): Promise<void>;
}

const iso = (ms: number | null) => (ms == null ? null : new Date(Number(ms)).toISOString());

export function createPayments(deps: PaymentsDeps): Payments {
  const { store, clock, log, billing } = deps;
  const db = store.db;
  const connections = createConnections({
    db,
    clock,
    secret: deps.secret,
    ...(deps.stripeApiUrl ? { stripeApiUrl: deps.stripeApiUrl } : {}),
  });
  const dunning = createDunning({
    db,
    clock,
    log,
    defaultSuspendAfterDays: deps.defaultSuspendAfterDays ?? 14,
    suspend: deps.suspend,
    resume: deps.resume,
    mail: deps.mail,
    portalUrl: deps.portalUrl ?? '',
  });
  const collector = createCollector({
    db,
    clock,
    log,
    billing,
    connections,
    daysUntilDue: deps.daysUntilDue ?? 14,
    changed: (row, from) => dunning.changed(row, from),
  });
  const events = createEvents({ db, clock, log, connections, collector });

  // Collection starts when an invoice finalizes; the background tick retries.
  billing.onFinalized(async (inv) => {
    await collector.enqueue(inv);
    void collector.collectDue().catch((err) => log.error({ err }, 'payments: collection round failed'));
  });

  async function processor(providerId: string) {
    const conn = await connections.processorFor(providerId);
    if (!conn) throw new Error('no payment processor is connected for this provider');
    return conn.processor;
  }

  let timers: NodeJS.Timeout[] = [];
  let running: Promise<void> = Promise.resolve();

  const api: Payments = {
    connections,
    collector,
    dunning,
    spend: deps.spend,

    async cardOnFile(providerId, consumerId, refresh = false) {
      const known = await findCustomer(db, providerId, consumerId);
      if (!known) return 'none';
      if (!refresh) return known.card;
      const pm = await (await processor(providerId)).cardOnFile(known.customerRef);
      await saveCard(db, clock.now(), providerId, consumerId, pm);
      return pm?.card ?? null;
    },

    async startSetup(providerId, consumerId, urls) {
      const p = await processor(providerId);
      const customer = await ensureCustomer(db, clock.now(), p, providerId, consumerId);
      const { url } = await p.startSetup({
        // a new session each time the buyer asks (the key only guards one click's retries)
        idempotencyKey: `tg-setup-${customer.customerRef}-${clock.now()}`,
        customerRef: customer.customerRef,
        ...urls,
      });
      return url;
    },

    async completeSetup(providerId, consumerId, sessionRef) {
      const p = await processor(providerId);
      const customer = await findCustomer(db, providerId, consumerId);
      if (!customer) return null;
      const done = await p.completeSetup({ sessionRef, customerRef: customer.customerRef });
      if (!done) return null;
      await saveCard(db, clock.now(), providerId, consumerId, done);
      // invoices waiting for a card are charged now rather than at the next retry
      await db
        .updateTable('invoice_payments')
        .set({ next_attempt_at: clock.now() })
        .where('status', '=', 'pending')
        .where('provider_id', '=', providerId)
        .execute();
      return done.card;
    },

    async paymentOf(invoiceId) {
      const r = await collector.load(invoiceId);
      if (!r) return null;
      return {
        status: r.status as PaymentStatus,
        reference: r.reference,
        hostedUrl: r.hosted_url,
        pastDueSince: iso(r.past_due_since),
        suspendedAt: iso(r.suspended_at),
        lastError: r.last_error,
      };
    },

    async pastDue(providerId) {
      let q = db
        .selectFrom('invoice_payments as p')
        .innerJoin('invoices as i', 'i.id', 'p.invoice_id')
        .innerJoin('subscriptions as s', 's.id', 'p.subscription_id')
        .innerJoin('consumers as c', 'c.id', 'i.consumer_id')
        .select([
          'p.invoice_id',
          'i.number',
          'i.total',
          'i.currency',
          'p.subscription_id',
          's.status as subscription_status',
          'c.name as consumer_name',
          'p.past_due_since',
          'p.suspended_at',
        ])
        .where('p.status', 'in', ['past_due', 'uncollectible'])
        .orderBy('p.past_due_since');
      if (providerId) q = q.where('p.provider_id', '=', providerId);
      return (await q.execute()).map((r) => ({
        invoiceId: r.invoice_id,
        number: r.number,
        total: r.total,
        currency: r.currency,
        subscriptionId: r.subscription_id,
        subscriptionStatus: r.subscription_status,
        consumerName: r.consumer_name,
        pastDueSince: iso(r.past_due_since)!,
        suspendedAt: iso(r.suspended_at),
      }));
    },

    webhook: (owner, rawBody, signature) => events.webhook(owner, rawBody, signature),
    reconcile: () => events.reconcile(),

    async tick() {
      running = running.then(async () => {
        await collector.enqueueOpen();
        await collector.collectDue();
        await dunning.sweep();
      });
      return running;
    },

    start(everyMs = 60_000) {
      const guard = (what: string, p: Promise<unknown>) =>
        void p.catch((err) => log.error({ err }, `payments: ${what} failed`));
      guard('tick', api.tick());
      timers.push(setInterval(() => guard('tick', api.tick()), everyMs));
      timers.push(setInterval(() => guard('reconciliation', api.reconcile()), 24 * 3600_000));
      for (const t of timers) t.unref();
    },

    async stop() {
      for (const t of timers) clearInterval(t);
      timers = [];
      await running.catch(() => undefined);
    },
  };
  return api;
}
export { paymentWebhookApp, WEBHOOK_MAX_BYTES } from './http.js';
