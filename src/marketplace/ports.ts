/**
 * What the marketplace needs from its neighbours, as small structural interfaces, so it
 * depends on behaviour rather than on their files: the marketplace sits above catalog,
 * billing, webhooks and metering, and src/main hands it the real services.
 */
import type { z } from 'zod';
import { type FieldIssue, TollgateError } from '../shared/index.js';

export type Actor = ({ kind: 'operator' } | { kind: 'provider'; providerId: string }) & { id: string };
export const MARKETPLACE_ACTOR: Actor = { kind: 'operator', id: 'marketplace' };

export interface ConsumerLike {
  id: string;
  name: string;
  email: string | null;
  externalCustomerId: string | null;
  external: Record<string, string>;
}
export interface SubscriptionLike {
  id: string;
  consumerId: string;
  planId: string;
  status: string;
  trialEndsAt: string | null;
}
export interface KeyLike {
  id: string;
  subscriptionId: string;
  prefix: string;
  enabled: boolean;
}

/** The subset of src/catalog's createCatalog(...) the marketplace uses. */
export interface CatalogPort {
  consumers: {
    /** NOT_FOUND when the consumer is outside the actor's scope. */
    get(actor: Actor, id: string): Promise<ConsumerLike>;
    create(
      actor: Actor,
      input: {
        providerId?: string | null;
        name: string;
        email?: string | null;
        externalCustomerId?: string | null;
        external?: Record<string, string>;
      },
    ): Promise<ConsumerLike>;
    update(
      actor: Actor,
      id: string,
      input: { externalCustomerId?: string | null; external?: Record<string, string> },
    ): Promise<ConsumerLike>;
  };
  subscriptions: {
    create(
      actor: Actor,
      input: {
        consumerId: string;
        planId: string;
        status?: 'pending' | 'trialing' | 'active';
        trialEndsAt?: string | null;
      },
    ): Promise<SubscriptionLike>;
    update(actor: Actor, id: string, input: { status?: string }): Promise<SubscriptionLike>;
  };
  keys: {
    create(
      actor: Actor,
      input: { subscriptionId: string; name?: string; enabled?: boolean },
    ): Promise<KeyLike & { value: string }>;
    disable(actor: Actor, id: string): Promise<KeyLike>;
    enable(actor: Actor, id: string): Promise<KeyLike>;
  };
}

/** src/webhooks: signed provider webhooks through an outbox. */
export interface WebhooksPort {
  emit(providerId: string, type: string, payload: unknown, tx?: unknown): Promise<unknown>;
}

/**
 * src/billing, as far as the marketplace uses it (its `Billing` satisfies this). Every member
 * optional: absent = feature off.
 */
export interface BillingPort {
  /** The plan's current price; `price.trialDays` starts a trial. */
  getPrice?(planId: string): Promise<{ price: { trialDays?: number } } | null>;
  /** Proration: called in the transaction that moves the subscription to the new plan. */
  recordPlanChange?(
    input: { subscriptionId: string; toPlanId: string; at: number },
    tx?: import('../store/index.js').Db,
  ): Promise<void>;
  /** Closes ended periods; after a cancellation this writes the final invoice. */
  run?(input?: { subscriptionId?: string }): Promise<unknown>;
}

/** Zod result → VALIDATION_FAILED naming each bad field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issues: FieldIssue[] = r.error.issues.map((i) => ({
    field: i.path.map(String).join('.') || '(body)',
    message: i.message,
  }));
  return fail(issues);
}

function fail(issues: FieldIssue[]): never {
  throw new TollgateError(
    'VALIDATION_FAILED',
    issues
      .slice(0, 5)
      .map((i) => `${i.field}: ${i.message}`)
      .join('; '),
    issues,
  );
}
