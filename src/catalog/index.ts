/**
 * The catalog: providers, APIs (+ routes), plans, consumers, subscriptions, API keys,
 * admin tokens, quota adjustments and the audit log, over the store.
 *
 * Every method takes the acting `Actor` first. An operator sees everything; a provider-
 * scoped actor sees only its own records and gets NOT_FOUND for anything else. Every write
 * runs in one transaction together with its audit row (before/after views, never hashes),
 * and `onChange` is called after the commit. Inputs are validated with the zod schemas of
 * ./schemas.ts (also the admin API's OpenAPI source); refusals are TollgateErrors.
 */
import { type ApisService, apisService } from './apis.js';
import { type AuditService, auditService } from './audit.js';
import { type ConsumersService, consumersService } from './consumers.js';
import { type Actor, type CatalogDeps, makeCtx } from './context.js';
import { type KeysService, keysService } from './keys.js';
import { type NamespacesService, namespacesService } from './namespaces.js';
import { type PlansService, plansService } from './plans.js';
import { type ProvidersService, providersService } from './providers.js';
import { type QuotaService, type QuotaStatus, quotaService } from './quota.js';
import type { QuotaAdjust } from './schemas.js';
import { type SubscriptionsService, subscriptionsService } from './subscriptions.js';
import { type TokensService, tokensService } from './tokens.js';

export type { ApisService } from './apis.js';
export type { AuditService } from './audit.js';
export type { ConsumersService } from './consumers.js';
export type { Actor, Alongside, AuditEntry, CatalogDeps, Change, Page } from './context.js';
export { recordAudit, SYSTEM } from './context.js';
export type { KeySubscription } from './key-links.js';
export type { KeysService, KeyWithValue } from './keys.js';
export type { HostAssignmentView, NamespaceConflicts, NamespacesService } from './namespaces.js';
export { describeConflicts, namespaceConflicts } from './namespaces.js';
export type { PlansService } from './plans.js';
export type { ProvidersService } from './providers.js';
export type { QuotaService, QuotaStatus } from './quota.js';
export * as schemas from './schemas.js';
export type { SubscriptionsService } from './subscriptions.js';
export { TRANSITIONS } from './subscriptions.js';
export { TOKEN_PREFIX, type TokensService, type TokenWithValue } from './tokens.js';
export { fieldPath, parse, validationError, zodIssues } from './validate.js';
export type * from './views.js';
export { enforcedQuota, enforcedThrottle } from './views.js';

export interface Catalog {
  providers: ProvidersService;
  apis: ApisService;
  plans: PlansService;
  consumers: ConsumersService;
  subscriptions: SubscriptionsService;
  keys: KeysService;
  tokens: TokensService;
  quota: QuotaService;
  audit: AuditService;
  namespaces: NamespacesService;
  /** = tokens.bootstrapOperatorToken */
  bootstrapOperatorToken: TokensService['bootstrapOperatorToken'];
  /** = quota.adjust, taking the subscription and actor in one argument object. */
  adjustQuota(args: { subscriptionId: string; actor: Actor } & Partial<QuotaAdjust>): Promise<QuotaStatus>;
}

export function createCatalog(deps: CatalogDeps): Catalog {
  const ctx = makeCtx(deps);
  const tokens = tokensService(ctx);
  const quota = quotaService(ctx);
  return {
    bootstrapOperatorToken: (o) => tokens.bootstrapOperatorToken(o),
    adjustQuota: ({ subscriptionId, actor, ...input }) => quota.adjust(actor, subscriptionId, input),
    providers: providersService(ctx),
    apis: apisService(ctx),
    plans: plansService(ctx),
    consumers: consumersService(ctx),
    subscriptions: subscriptionsService(ctx),
    keys: keysService(ctx),
    tokens,
    quota,
    audit: auditService(ctx),
    namespaces: namespacesService(ctx),
  };
}
