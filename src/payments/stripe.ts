/**
 * Stripe as a PaymentProcessor, through the official `stripe` client. Calls used (Stripe API
 * reference): GET /v1/account, POST /v1/customers, POST /v1/checkout/sessions (mode `setup`),
 * GET /v1/checkout/sessions/:id (expand setup_intent), GET /v1/payment_methods/:id,
 * POST /v1/customers/:id (invoice_settings.default_payment_method), GET /v1/customers/:id,
 * POST /v1/invoices, POST /v1/invoiceitems, POST /v1/invoices/:id/finalize, /pay, /send,
 * GET /v1/invoices/:id. Webhook signatures are checked by `stripe.webhooks.constructEvent`.
 *
 * Every write has an idempotency key built from Tollgate ids, and the client retries network
 * failures and 409/429/5xx itself with the same key, so a retried collection never makes a
 * second Stripe invoice or item within Stripe's 24-hour key lifetime. A declined card is not
 * an error here: the invoice is open with a failed attempt, and Stripe retries it on its own
 * schedule (Smart Retries), sending `invoice.payment_failed` / `invoice.paid`.
 */
import Stripe from 'stripe';
import {
  type Card,
  type InvoiceToCollect,
  type PaymentProcessor,
  ProcessorError,
  type ProcessorEvent,
  type RemoteInvoice,
  type RemoteStatus,
} from './processor.js';

export interface StripeOptions {
  secretKey: string;
  webhookSecret: string;
  /** Where the API is (tests: a local server); default Stripe's own. */
  apiUrl?: string;
  timeoutMs?: number;
}

export function stripeProcessor(opts: StripeOptions): PaymentProcessor {
  const endpoint = opts.apiUrl ? new URL(opts.apiUrl) : null;
  const stripe = new Stripe(opts.secretKey, {
    maxNetworkRetries: 2,
    timeout: opts.timeoutMs ?? 20_000,
    telemetry: false,
    ...(endpoint
      ? {
          host: endpoint.hostname,
          port: Number(endpoint.port || (endpoint.protocol === 'https:' ? 443 : 80)),
          protocol: endpoint.protocol === 'https:' ? 'https' : 'http',
        }
      : {}),
  });

  return {
    name: 'stripe',

    async checkConnection() {
      const account = await call(() => stripe.accounts.retrieveCurrent());
      return { accountRef: account.id };
    },

    async createCustomer(input) {
      const c = await call(() =>
        stripe.customers.create(
          { name: input.name, ...(input.email ? { email: input.email } : {}), metadata: input.metadata },
          { idempotencyKey: input.idempotencyKey },
        ),
      );
      return { customerRef: c.id };
    },

    async startSetup(input) {
      const s = await call(() =>
        stripe.checkout.sessions.create(
          {
            mode: 'setup',
            customer: input.customerRef,
            allowed_payment_method_types: ['card'],
            success_url: input.returnUrl.replace('{SESSION}', '{CHECKOUT_SESSION_ID}'),
            cancel_url: input.cancelUrl,
          },
          { idempotencyKey: input.idempotencyKey },
        ),
      );
      if (!s.url) throw new ProcessorError('Stripe returned a Checkout Session without a URL', false);
      return { url: s.url, sessionRef: s.id };
    },

    async completeSetup(input) {
      const s = await call(() =>
        stripe.checkout.sessions.retrieve(input.sessionRef, { expand: ['setup_intent'] }),
      );
      if (refOf(s.customer) !== input.customerRef)
        throw new ProcessorError('the Checkout Session belongs to another customer', false, 'wrong_customer');
      if (s.status !== 'complete') return null;
      const intent = s.setup_intent;
      const pmRef = intent && typeof intent === 'object' ? refOf(intent.payment_method) : null;
      if (!pmRef) return null;
      await call(() =>
        stripe.customers.update(
          input.customerRef,
          { invoice_settings: { default_payment_method: pmRef } },
          { idempotencyKey: `tg-default-pm-${input.customerRef}-${pmRef}` },
        ),
      );
      const pm = await call(() => stripe.paymentMethods.retrieve(pmRef));
      return { paymentMethodRef: pm.id, card: cardOf(pm) };
    },

    async cardOnFile(customerRef) {
      const c = await call(() =>
        stripe.customers.retrieve(customerRef, { expand: ['invoice_settings.default_payment_method'] }),
      );
      if (c.deleted) return null;
      const pm = c.invoice_settings?.default_payment_method;
      if (!pm) return null;
      if (typeof pm === 'string') return { paymentMethodRef: pm, card: null };
      return { paymentMethodRef: pm.id, card: cardOf(pm) };
    },

    async collect(inv: InvoiceToCollect) {
      const key = `tg-${inv.id}`;
      const draft = await call(() =>
        stripe.invoices.create(
          {
            customer: inv.customerRef,
            currency: inv.currency.toLowerCase(),
            auto_advance: false,
            pending_invoice_items_behavior: 'exclude',
            description: `Tollgate invoice ${inv.number}`,
            metadata: { tollgate_invoice_id: inv.id, tollgate_invoice_number: inv.number },
            ...(inv.charge
              ? { collection_method: 'charge_automatically' as const }
              : { collection_method: 'send_invoice' as const, days_until_due: inv.daysUntilDue }),
          },
          { idempotencyKey: `${key}-create` },
        ),
      );
      const id = draft.id!;
      for (const [i, line] of inv.lines.entries()) {
        await call(() =>
          stripe.invoiceItems.create(
            {
              customer: inv.customerRef,
              invoice: id,
              currency: inv.currency.toLowerCase(),
              amount: line.amountMinor,
              description: line.description,
              metadata: { tollgate_invoice_id: inv.id, tollgate_line: String(i + 1) },
            },
            { idempotencyKey: `${key}-line-${i + 1}` },
          ),
        );
      }
      let open = await call(() =>
        stripe.invoices.finalizeInvoice(id, { auto_advance: true }, { idempotencyKey: `${key}-finalize` }),
      );
      if (open.status === 'open') {
        if (inv.charge) {
          try {
            open = await call(() => stripe.invoices.pay(id, {}, { idempotencyKey: `${key}-pay` }));
          } catch (e) {
            // a decline leaves the invoice open with a failed attempt; Stripe retries it
            if (!(e instanceof ProcessorError && e.code === 'card_declined')) throw e;
            return { ...(await this.invoice(id)), paymentFailed: true };
          }
        } else {
          open = await call(() => stripe.invoices.sendInvoice(id, {}, { idempotencyKey: `${key}-send` }));
        }
      }
      return remote(open);
    },

    async invoice(reference) {
      return remote(await call(() => stripe.invoices.retrieve(reference)));
    },

    parseEvent(rawBody, signature) {
      let event: Stripe.Event;
      try {
        event = stripe.webhooks.constructEvent(rawBody, signature, opts.webhookSecret);
      } catch (e) {
        throw new ProcessorError(`signature: ${(e as Error).message}`, false, 'bad_signature');
      }
      const out: ProcessorEvent = { id: event.id, type: event.type };
      const object = event.data.object as { object?: string };
      if (object.object === 'invoice') {
        const inv = object as Stripe.Invoice;
        out.invoice = { ...remote(inv), tollgateInvoiceId: inv.metadata?.tollgate_invoice_id ?? null };
      }
      return out;
    },
  };
}

function refOf(v: string | { id?: string } | null | undefined): string | null {
  if (!v) return null;
  return typeof v === 'string' ? v : (v.id ?? null);
}

function cardOf(pm: Stripe.PaymentMethod): Card | null {
  if (!pm.card) return null;
  return {
    brand: pm.card.brand,
    last4: pm.card.last4,
    expMonth: pm.card.exp_month,
    expYear: pm.card.exp_year,
  };
}

const STATUSES: RemoteStatus[] = ['draft', 'open', 'paid', 'void', 'uncollectible'];

function remote(inv: Stripe.Invoice): RemoteInvoice {
  const status = STATUSES.includes(inv.status as RemoteStatus) ? (inv.status as RemoteStatus) : 'open';
  return {
    reference: inv.id!,
    status,
    hostedUrl: inv.hosted_invoice_url ?? null,
    paymentFailed: status === 'open' && (inv.attempt_count ?? 0) > 0,
  };
}

/** Stripe's errors as ProcessorErrors: retryable when the client's own retries ran out on a transient one. */
async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof Stripe.errors.StripeError) {
      const transient =
        e.type === 'StripeConnectionError' ||
        e.type === 'StripeAPIError' ||
        e.type === 'StripeRateLimitError' ||
        (e.statusCode ?? 0) >= 500;
      // any card error (declined, expired, insufficient funds…) is a failed payment, not a fault
      const code = e.type === 'StripeCardError' ? 'card_declined' : (e.code ?? e.type ?? null);
      throw new ProcessorError(`Stripe: ${e.message}`, transient, code);
    }
    throw e;
  }
}
