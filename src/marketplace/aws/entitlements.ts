/**
 * Marketplace side of AWSMPEntitlementService.GetEntitlements.
 *
 * Tollgate maps a buyer's subscription to one entitlement: Dimension = the plan id, Value
 * = the plan's quota limit (IntegerValue) or BooleanValue true for an unlimited plan,
 * ExpirationDate = the cancellation time once one is set. Only subscribed agreements
 * (trialing/active/cancel_pending) are entitled.
 * Filters (model doc): values within one key are OR-ed, keys are AND-ed;
 * CUSTOMER_IDENTIFIER and CUSTOMER_AWS_ACCOUNT_ID are mutually exclusive. MaxResults 1..25
 * (default 25); NextToken is the last agreement id returned.
 */
import type { Clock } from '../../shared/index.js';
import type { Db } from '../../store/index.js';
import type { ResolvedCredentials } from '../credentials.js';
import { AwsError } from './errors.js';
import { SUBSCRIBED } from './wire.js';

const FILTERS = ['CUSTOMER_IDENTIFIER', 'DIMENSION', 'CUSTOMER_AWS_ACCOUNT_ID', 'LICENSE_ARN'];

const invalidParam = (m: string) => new AwsError('InvalidParameterException', m);

export function createMarketplaceEntitlements(deps: { db: Db; clock: Clock }) {
  const { db } = deps;
  return {
    async getEntitlements(creds: ResolvedCredentials, body: Record<string, unknown>) {
      const code = body.ProductCode;
      if (typeof code !== 'string' || code === '') throw invalidParam('ProductCode is required.');
      const product = await db
        .selectFrom('marketplace_products')
        .select(['id', 'provider_id', 'product_code'])
        .where('product_code', '=', code)
        .executeTakeFirst();
      if (!product || product.provider_id !== creds.providerId)
        throw invalidParam('The product code is not valid.');
      const max = body.MaxResults ?? 25;
      if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 25) {
        throw invalidParam('MaxResults must be between 1 and 25.');
      }
      const filter = (body.Filter ?? {}) as Record<string, unknown>;
      for (const [k, v] of Object.entries(filter)) {
        if (!FILTERS.includes(k)) throw invalidParam(`Unknown filter ${k}.`);
        if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'string')) {
          throw invalidParam(`Filter ${k} must be a non-empty list of strings.`);
        }
      }
      const f = filter as Record<string, string[]>;
      if (f.CUSTOMER_IDENTIFIER && f.CUSTOMER_AWS_ACCOUNT_ID) {
        throw invalidParam('CUSTOMER_IDENTIFIER and CUSTOMER_AWS_ACCOUNT_ID filters are mutually exclusive.');
      }
      const after = body.NextToken;
      if (after !== undefined && (typeof after !== 'string' || !after.startsWith('agr_'))) {
        throw invalidParam('NextToken is not valid.');
      }
      let q = db
        .selectFrom('marketplace_agreements as a')
        .innerJoin('subscriptions as s', 's.id', 'a.subscription_id')
        .innerJoin('plans as p', 'p.id', 's.plan_id')
        .select([
          'a.id',
          'a.customer_identifier',
          'a.customer_aws_account_id',
          'a.license_arn',
          's.plan_id',
          's.cancelled_at',
          'p.quota_limit',
        ])
        .where('a.product_id', '=', product.id)
        .where('s.status', 'in', SUBSCRIBED);
      if (f.CUSTOMER_IDENTIFIER) q = q.where('a.customer_identifier', 'in', f.CUSTOMER_IDENTIFIER);
      if (f.CUSTOMER_AWS_ACCOUNT_ID)
        q = q.where('a.customer_aws_account_id', 'in', f.CUSTOMER_AWS_ACCOUNT_ID);
      if (f.LICENSE_ARN) q = q.where('a.license_arn', 'in', f.LICENSE_ARN);
      if (f.DIMENSION) q = q.where('s.plan_id', 'in', f.DIMENSION);
      if (typeof after === 'string') q = q.where('a.id', '>', after);
      const rows = await q
        .orderBy('a.id')
        .limit(max + 1)
        .execute();
      const page = rows.slice(0, max);
      return {
        Entitlements: page.map((r) => ({
          ProductCode: product.product_code,
          Dimension: r.plan_id,
          CustomerIdentifier: r.customer_identifier,
          CustomerAWSAccountId: r.customer_aws_account_id,
          LicenseArn: r.license_arn,
          Value: r.quota_limit !== null ? { IntegerValue: Number(r.quota_limit) } : { BooleanValue: true },
          ...(r.cancelled_at !== null ? { ExpirationDate: r.cancelled_at / 1000 } : {}),
        })),
        ...(rows.length > max ? { NextToken: page[page.length - 1]!.id } : {}),
      };
    },
  };
}
