/**
 * What Tollgate needs from a payment processor. Stripe is the one implementation
 * (./stripe.ts); another processor fits by implementing this interface. Amounts are
 * integers in the currency's minor unit; references are the processor's own ids. Every
 * write carries an idempotency key derived from Tollgate's ids, so a retried call (after a
 * timeout, a crash, a second node) creates nothing twice.
 */

export interface Card {
  brand: string;
  last4: string;
  expMonth: number;
  expYear: number;
}

/** The processor's view of an invoice. */
export type RemoteStatus = 'draft' | 'open' | 'paid' | 'void' | 'uncollectible';

export interface RemoteInvoice {
  reference: string;
  status: RemoteStatus;
  hostedUrl: string | null;
  /** The processor tried to charge and failed at least once. */
  paymentFailed: boolean;
}

export interface InvoiceToCollect {
  /** Tollgate's invoice id and number (metadata on the processor's side). */
  id: string;
  number: string;
  currency: string;
  customerRef: string;
  /** One item per Tollgate invoice line, in order, minor units. */
  lines: Array<{ description: string; amountMinor: number }>;
  /** Charge the customer's default payment method; else email a hosted invoice page. */
  charge: boolean;
  /** Days to pay when the invoice is emailed. */
  daysUntilDue: number;
}

/** An event the processor sent, once its signature is verified. */
export interface ProcessorEvent {
  id: string;
  type: string;
  /** Present for invoice events. */
  invoice?: RemoteInvoice & { tollgateInvoiceId: string | null };
}

export interface PaymentProcessor {
  readonly name: string;
  /** Proves the key works; returns the processor's account id. */
  checkConnection(): Promise<{ accountRef: string }>;
  createCustomer(input: {
    idempotencyKey: string;
    name: string;
    email: string | null;
    metadata: Record<string, string>;
  }): Promise<{ customerRef: string }>;
  /** A hosted page where the buyer enters a payment method; it returns to `returnUrl` (`{SESSION}` is replaced). */
  startSetup(input: {
    idempotencyKey: string;
    customerRef: string;
    returnUrl: string;
    cancelUrl: string;
  }): Promise<{ url: string; sessionRef: string }>;
  /**
   * After the hosted flow returned: the payment method it collected, made the customer's
   * default. Null when the session is not complete (the buyer cancelled).
   */
  completeSetup(input: { sessionRef: string; customerRef: string }): Promise<{
    paymentMethodRef: string;
    card: Card | null;
  } | null>;
  /** The customer's default card as the processor reports it, or null. */
  cardOnFile(customerRef: string): Promise<{ paymentMethodRef: string; card: Card | null } | null>;
  /** Creates, fills, finalizes and charges (or sends) the processor's invoice. */
  collect(invoice: InvoiceToCollect): Promise<RemoteInvoice>;
  /** The processor's current view of one invoice (reconciliation). */
  invoice(reference: string): Promise<RemoteInvoice>;
  /** Verifies a webhook's signature over the raw body and parses it; throws when forged. */
  parseEvent(rawBody: string, signature: string): ProcessorEvent;
}

/** Raised when a processor call fails; `retryable` says whether trying again can help. */
export class ProcessorError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}
