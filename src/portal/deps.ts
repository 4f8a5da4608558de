/**
 * What the portal needs from its neighbours. Catalog and store are required; marketplace,
 * billing, meter and webhooks are optional — a page whose service is absent says so instead
 * of failing. The ports are structural subsets, so the real services (and test doubles) fit.
 */
import type { Billing } from '../billing/index.js';
import type { Catalog } from '../catalog/index.js';
import type { Payments } from '../payments/index.js';
import type { Clock, Logger } from '../shared/index.js';
import type { Store } from '../store/index.js';
import type { Webhooks } from '../webhooks/index.js';

export type ProviderActor = { kind: 'provider'; providerId: string; id: string };
export type OperatorActor = { kind: 'operator'; id: string };
export type AnyActor = ProviderActor | OperatorActor;

export interface ProductLike {
  id: string;
  providerId: string;
  title: string;
  summary: string;
  description: string;
  apiIds: string[];
  planIds: string[];
  visibility: 'public' | 'private';
  fulfilment: 'metered' | 'wholesale';
  registrationUrl: string | null;
  status: 'draft' | 'published';
  publishedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ProductInput {
  title?: string;
  summary?: string;
  description?: string;
  apiIds?: string[];
  planIds?: string[];
  visibility?: 'public' | 'private';
}

/** src/marketplace (its `Marketplace` fits): the products and the subscription lifecycle. */
export interface MarketplacePort {
  products: {
    browse(query?: { q?: string; limit?: number; cursor?: string }): Promise<{
      items: ProductLike[];
      nextCursor: string | null;
    }>;
    view(id: string, inviteCode?: string): Promise<ProductLike>;
    list(actor: AnyActor): Promise<ProductLike[]>;
    get(actor: AnyActor, id: string): Promise<ProductLike>;
    create(actor: AnyActor, input: ProductInput & { title: string; planIds: string[] }): Promise<ProductLike>;
    update(actor: AnyActor, id: string, input: ProductInput): Promise<ProductLike>;
    publish(actor: AnyActor, id: string): Promise<ProductLike>;
    unpublish(actor: AnyActor, id: string): Promise<ProductLike>;
  };
  subscriptions: {
    subscribe(input: {
      productId: string;
      planId: string;
      consumerId: string;
      inviteCode?: string;
      keyName?: string;
    }): Promise<{
      subscription: { id: string; status: string };
      key?: { id: string; prefix: string; value: string };
      registration?: { url: string; token: string; expiresAt: string };
    }>;
    changePlan(id: string, planId: string, actor?: AnyActor): Promise<unknown>;
    cancel(id: string, actor?: AnyActor, reason?: string): Promise<unknown>;
  };
}

export type BillingPort = Pick<
  Billing,
  | 'getPrice'
  | 'setPrice'
  | 'preview'
  | 'listInvoices'
  | 'getInvoice'
  | 'renderHtml'
  | 'renderPdf'
  | 'finalize'
  | 'markPaid'
  | 'void'
  | 'reissue'
  | 'estimate'
>;

export type WebhooksPort = Pick<
  Webhooks,
  'addEndpoint' | 'listEndpoints' | 'removeEndpoint' | 'rotateSecret' | 'listDeliveries'
>;

/** src/payments: card on file, the hosted setup flow, payment status, dunning, budgets, connections. */
export type PaymentsPort = Pick<
  Payments,
  | 'cardOnFile'
  | 'startSetup'
  | 'completeSetup'
  | 'paymentOf'
  | 'pastDue'
  | 'spend'
  | 'dunning'
  | 'connections'
>;

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

export interface PortalConfig {
  /** Absolute URL the portal is reached at (links in mail; Origin check). Default: the request's. */
  publicUrl?: string;
  /** The gateway's public URL: the API reference's server and the example calls use it. */
  gatewayUrl?: string;
  /** Mark cookies Secure and use the `__Host-` prefix (set it whenever served over HTTPS). */
  secureCookies: boolean;
  /** Let anyone sign up as a provider (creates a provider organisation). Default false. */
  providerSignup?: boolean;
  /** Session lifetime, ms. Default 12 h. */
  sessionTtlMs?: number;
  /** Trust X-Forwarded-For for the client address used by login throttling. Default false. */
  trustProxy?: boolean;
}

export interface PortalDeps {
  store: Store;
  clock: Clock;
  log: Logger;
  catalog: Catalog;
  marketplace?: MarketplacePort;
  billing?: BillingPort;
  /** The gateway's meter, for a flush before usage is shown (optional). */
  meter?: { flush(): Promise<void> } | null;
  webhooks?: WebhooksPort;
  payments?: PaymentsPort;
  config: PortalConfig;
  mail: (msg: MailMessage) => void | Promise<void>;
}

/** The portal reading public records (published products' plans and APIs) on a buyer's behalf. */
export const PORTAL_OPERATOR: OperatorActor = { kind: 'operator', id: 'portal' };

/** The catalog actor of a provider member. */
export function providerActor(user: { id: string; providerId: string | null }): ProviderActor {
  return { kind: 'provider', providerId: user.providerId ?? '-', id: `portal:${user.id}` };
}
