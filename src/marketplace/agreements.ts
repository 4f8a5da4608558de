/**
 * Marketplace side: agreements and registration tokens for externally fulfilled products
 * (AWS Marketplace's SaaS flow, with Tollgate as the marketplace).
 *
 * When a buyer subscribes to a product that has a `registration_url`, the marketplace
 * creates an agreement carrying AWS-shaped identities — CustomerIdentifier (13 chars),
 * CustomerAWSAccountId (12 digits, stable per consumer), LicenseArn — and issues a
 * registration token. The buyer's browser POSTs the token to the provider, whose
 * ResolveCustomer call redeems it. Tokens are random (256 bits), stored only as SHA-256,
 * single-use and valid for 4 hours (the current AWS guide's window).
 */
import { createHash, randomBytes } from 'node:crypto';
import { hashKey, randomSecret } from '../keys/index.js';
import type { Clock } from '../shared/index.js';
import { notFound } from '../shared/index.js';
import type { Db } from '../store/index.js';
import type { MarketplaceAgreementTable } from '../store/tables/marketplace.js';
import { agreementId } from './ids.js';

export const TOKEN_TTL_MS = 4 * 3600_000;
const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export interface Agreement {
  id: string;
  productId: string;
  providerId: string;
  subscriptionId: string;
  consumerId: string;
  customerIdentifier: string;
  customerAWSAccountId: string;
  licenseArn: string;
  createdAt: number;
  resolvedAt: number | null;
}

export function toAgreement(r: MarketplaceAgreementTable): Agreement {
  return {
    id: r.id,
    productId: r.product_id,
    providerId: r.provider_id,
    subscriptionId: r.subscription_id,
    consumerId: r.consumer_id,
    customerIdentifier: r.customer_identifier,
    customerAWSAccountId: r.customer_aws_account_id,
    licenseArn: r.license_arn,
    createdAt: r.created_at,
    resolvedAt: r.resolved_at,
  };
}

/** A stable 12-digit pseudo account id per consumer. */
export function accountIdFor(consumerId: string): string {
  const h = createHash('sha256').update(`tollgate-account:${consumerId}`).digest();
  return String(h.readBigUInt64BE(0) % 1_000_000_000_000n).padStart(12, '0');
}

function customerIdentifier(): string {
  let s = '';
  for (const b of randomBytes(32)) if (b < 248 && s.length < 13) s += B62[b % 62];
  return s;
}

export interface AgreementService {
  /** Creates (or returns) the agreement of a subscription to an externally fulfilled product. */
  ensure(subscriptionId: string, productId: string): Promise<Agreement>;
  /** A fresh single-use registration token for the agreement (shown once). */
  issueToken(agreementId: string): Promise<{ token: string; expiresAt: number }>;
  get(id: string): Promise<Agreement | null>;
  bySubscription(subscriptionId: string): Promise<Agreement | null>;
}

export function createAgreements(deps: { db: Db; clock: Clock }): AgreementService {
  const { db, clock } = deps;
  const get = async (id: string) => {
    const r = await db
      .selectFrom('marketplace_agreements')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return r ? toAgreement(r) : null;
  };
  const bySubscription = async (subscriptionId: string) => {
    const r = await db
      .selectFrom('marketplace_agreements')
      .selectAll()
      .where('subscription_id', '=', subscriptionId)
      .executeTakeFirst();
    return r ? toAgreement(r) : null;
  };
  return {
    get,
    bySubscription,
    async ensure(subscriptionId, productId) {
      const existing = await bySubscription(subscriptionId);
      if (existing) return existing;
      const sub = await db
        .selectFrom('subscriptions')
        .select(['id', 'consumer_id'])
        .where('id', '=', subscriptionId)
        .executeTakeFirst();
      if (!sub) throw notFound('subscription', subscriptionId);
      const product = await db
        .selectFrom('marketplace_products')
        .select(['id', 'provider_id'])
        .where('id', '=', productId)
        .executeTakeFirst();
      if (!product) throw notFound('product', productId);
      const now = clock.now();
      const account = accountIdFor(sub.consumer_id);
      const row: MarketplaceAgreementTable = {
        id: agreementId(now),
        product_id: productId,
        provider_id: product.provider_id,
        subscription_id: subscriptionId,
        consumer_id: sub.consumer_id,
        customer_identifier: customerIdentifier(),
        customer_aws_account_id: account,
        license_arn: `arn:aws:license-manager::${account}:license:l-${randomBytes(16).toString('hex')}`,
        created_at: now,
        resolved_at: null,
      };
      await db
        .insertInto('marketplace_agreements')
        .values(row)
        .onConflict((oc) => oc.column('subscription_id').doNothing())
        .execute();
      return (await bySubscription(subscriptionId))!;
    },
    async issueToken(id) {
      const a = await get(id);
      if (!a) throw notFound('agreement', id);
      const token = randomSecret(32);
      const now = clock.now();
      await db
        .insertInto('marketplace_registration_tokens')
        .values({
          token_hash: hashKey(token),
          agreement_id: id,
          product_id: a.productId,
          issued_at: now,
          expires_at: now + TOKEN_TTL_MS,
          used_at: null,
          used_by: null,
        })
        .execute();
      return { token, expiresAt: now + TOKEN_TTL_MS };
    },
  };
}
