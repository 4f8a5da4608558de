/**
 * Marketplace side of the AWS Marketplace Metering Service: ResolveCustomer,
 * BatchMeterUsage and MeterUsage for the providers Tollgate hosts.
 *
 * Semantics copied from the API reference / service model (see docs/marketplace.md):
 * - BatchMeterUsage: ≤25 records (else ValidationException, as the framework does), one
 *   product per call, every timestamp within [now − 6 h, now] or the whole batch fails with
 *   TimestampOutOfBoundsException. Per record: `Success`; `CustomerNotSubscribed` when the
 *   customer has no agreement for the product, or its subscription is not
 *   trialing/active/cancel_pending (the batch's other records still count); `DuplicateRecord` when
 *   the same customer + dimension + hour was metered with a different quantity (first
 *   write wins); an identical record is idempotent and returns the original
 *   MeteringRecordId. Timestamps may run FUTURE_TOLERANCE_MS ahead of this clock.
 * - Accepted records go to `metering_records` and, in that transaction, to `usage` for the
 *   buyer's subscription (key_id '' = by the provider, api_id = the product's first API).
 * Concurrency: the unique (agreement, dimension, hour) constraint + ON CONFLICT DO NOTHING
 * decides the first writer; the loser reads it back. MeterUsage ClientToken: client-token.ts.
 */
import { randomUUID } from 'node:crypto';
import { hashKey } from '../../keys/index.js';
import type { Clock } from '../../shared/index.js';
import type { Db } from '../../store/index.js';
import type { MarketplaceAgreementTable, MarketplaceProductTable } from '../../store/tables/marketplace.js';
import type { ResolvedCredentials } from '../credentials.js';
import { routeDimensions } from '../dimensions.js';
import { withClientToken } from './client-token.js';
import { AwsError, validationError } from './errors.js';
import {
  asRecord,
  checkAllocations,
  FUTURE_TOLERANCE_MS,
  HOUR_MS,
  type Json,
  MAX_QUANTITY,
  SUBSCRIBED,
  str,
  type UsageAllocation,
  WINDOW_MS,
  type WireUsageRecord,
} from './wire.js';

export interface MeteringDeps {
  db: Db;
  clock: Clock;
}

export function createMarketplaceMetering(deps: MeteringDeps) {
  const { db, clock } = deps;

  async function productByCode(code: string): Promise<MarketplaceProductTable | undefined> {
    return db
      .selectFrom('marketplace_products')
      .selectAll()
      .where('product_code', '=', code)
      .executeTakeFirst();
  }

  const dimensionsOf = (product: MarketplaceProductTable) =>
    routeDimensions(db, JSON.parse(product.api_ids) as string[]);

  async function subscriptionStatus(subscriptionId: string): Promise<string | null> {
    const s = await db
      .selectFrom('subscriptions')
      .select('status')
      .where('id', '=', subscriptionId)
      .executeTakeFirst();
    return s?.status ?? null;
  }

  /** Stores one record; returns its status and the MeteringRecordId of the stored record. */
  async function store(
    agreement: MarketplaceAgreementTable,
    product: MarketplaceProductTable,
    rec: { dimension: string; timestamp: number; quantity: number; allocations: unknown },
    source: string,
    creds: ResolvedCredentials,
  ): Promise<{ status: 'Success' | 'DuplicateRecord'; id: string }> {
    const hour = Math.floor(rec.timestamp / HOUR_MS) * HOUR_MS;
    const id = randomUUID();
    return db.transaction().execute(async (tx) => {
      const ins = await tx
        .insertInto('metering_records')
        .values({
          id,
          product_id: product.id,
          agreement_id: agreement.id,
          subscription_id: agreement.subscription_id,
          dimension: rec.dimension,
          hour,
          timestamp: rec.timestamp,
          quantity: rec.quantity,
          allocations: rec.allocations ? JSON.stringify(rec.allocations) : null,
          source,
          access_key_id: creds.accessKeyId,
          received_at: clock.now(),
        })
        .onConflict((oc) => oc.columns(['agreement_id', 'dimension', 'hour']).doNothing())
        .executeTakeFirst();
      if (Number(ins.numInsertedOrUpdatedRows ?? 0n) === 0) {
        const prev = await tx
          .selectFrom('metering_records')
          .select(['id', 'quantity'])
          .where('agreement_id', '=', agreement.id)
          .where('dimension', '=', rec.dimension)
          .where('hour', '=', hour)
          .executeTakeFirstOrThrow();
        return { status: prev.quantity === rec.quantity ? 'Success' : 'DuplicateRecord', id: prev.id };
      }
      if (rec.quantity > 0) {
        const apiId = (JSON.parse(product.api_ids) as string[])[0] ?? '';
        await tx
          .insertInto('usage')
          .values({
            subscription_id: agreement.subscription_id,
            key_id: '',
            api_id: apiId,
            dimension: rec.dimension,
            hour,
            units: rec.quantity,
            requests: 0,
          })
          .onConflict((oc) =>
            oc.columns(['subscription_id', 'key_id', 'api_id', 'dimension', 'hour']).doUpdateSet((eb) => ({
              units: eb('usage.units', '+', eb.ref('excluded.units')),
            })),
          )
          .execute();
      }
      return { status: 'Success', id };
    });
  }

  function checkTimestamp(tsMs: number, now: number): boolean {
    return tsMs >= now - WINDOW_MS && tsMs <= now + FUTURE_TOLERANCE_MS;
  }

  return {
    async resolveCustomer(creds: ResolvedCredentials, body: Json) {
      const token = body.RegistrationToken;
      if (!str(token) || token.length === 0) {
        throw validationError('registrationToken', 'null', 'Member must not be null');
      }
      const hash = hashKey(token);
      const row = await db
        .selectFrom('marketplace_registration_tokens')
        .selectAll()
        .where('token_hash', '=', hash)
        .executeTakeFirst();
      const product = row
        ? await db
            .selectFrom('marketplace_products')
            .selectAll()
            .where('id', '=', row.product_id)
            .executeTakeFirst()
        : undefined;
      if (!row || !product || product.provider_id !== creds.providerId) {
        throw new AwsError('InvalidTokenException', 'Registration token is invalid.');
      }
      const now = clock.now();
      if (row.used_at !== null) {
        throw new AwsError('ExpiredTokenException', 'Registration token has already been used.');
      }
      if (row.expires_at <= now)
        throw new AwsError('ExpiredTokenException', 'Registration token has expired.');
      const claimed = await db
        .updateTable('marketplace_registration_tokens')
        .set({ used_at: now, used_by: creds.accessKeyId })
        .where('token_hash', '=', hash)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) === 0) {
        throw new AwsError('ExpiredTokenException', 'Registration token has already been used.');
      }
      const a = await db
        .selectFrom('marketplace_agreements')
        .selectAll()
        .where('id', '=', row.agreement_id)
        .executeTakeFirstOrThrow();
      if (a.resolved_at === null) {
        await db
          .updateTable('marketplace_agreements')
          .set({ resolved_at: now })
          .where('id', '=', a.id)
          .execute();
      }
      return {
        CustomerIdentifier: a.customer_identifier,
        CustomerAWSAccountId: a.customer_aws_account_id,
        ProductCode: product.product_code,
        LicenseArn: a.license_arn,
      };
    },

    async batchMeterUsage(creds: ResolvedCredentials, body: Json) {
      const list = body.UsageRecords;
      if (!Array.isArray(list)) throw validationError('usageRecords', 'null', 'Member must not be null');
      if (list.length > 25) {
        throw validationError(
          'usageRecords',
          `[${list.length} records]`,
          'Member must have length less than or equal to 25',
        );
      }
      const records = list.map(asRecord);
      const now = clock.now();
      if (records.some((r) => !checkTimestamp(r.Timestamp * 1000, now))) {
        throw new AwsError(
          'TimestampOutOfBoundsException',
          'Timestamp is out of range: usage records must be within the last 6 hours and at most 5 minutes ahead.',
        );
      }
      records.forEach(checkAllocations);
      // Which product: the ProductCode, or the agreements of the records' LicenseArns.
      let product: MarketplaceProductTable | undefined;
      if (body.ProductCode !== undefined) {
        product = str(body.ProductCode) ? await productByCode(body.ProductCode) : undefined;
        if (!product) {
          throw new AwsError('InvalidProductCodeException', 'The product code passed does not exist.');
        }
      }
      const agreements: Array<MarketplaceAgreementTable | null> = [];
      for (const r of records) {
        if (r.CustomerIdentifier !== undefined && r.CustomerAWSAccountId !== undefined) {
          throw new AwsError(
            'InvalidCustomerIdentifierException',
            'CustomerIdentifier and CustomerAWSAccountId are mutually exclusive.',
          );
        }
        let q = db.selectFrom('marketplace_agreements').selectAll();
        if (r.CustomerIdentifier !== undefined) q = q.where('customer_identifier', '=', r.CustomerIdentifier);
        else if (r.CustomerAWSAccountId !== undefined)
          q = q.where('customer_aws_account_id', '=', r.CustomerAWSAccountId);
        else
          throw new AwsError(
            'InvalidCustomerIdentifierException',
            'A customer identity is required on each record.',
          );
        if (r.LicenseArn !== undefined) q = q.where('license_arn', '=', r.LicenseArn);
        if (product) q = q.where('product_id', '=', product.id);
        const rows = await q.orderBy('created_at', 'desc').execute();
        const a = rows[0];
        if (!a) {
          if (!product && r.LicenseArn === undefined) {
            throw new AwsError('InvalidLicenseException', 'Either ProductCode or LicenseArn is required.');
          }
          // No agreement: that record is CustomerNotSubscribed; the others still count (as AWS).
          agreements.push(null);
          continue;
        }
        if (!product)
          product = await db
            .selectFrom('marketplace_products')
            .selectAll()
            .where('id', '=', a.product_id)
            .executeTakeFirst();
        if (!product || a.product_id !== product.id) {
          throw validationError('usageRecords', '…', 'All records of a call must be for one product');
        }
        agreements.push(a);
      }
      if (product && product.provider_id !== creds.providerId) {
        throw new AwsError('InvalidProductCodeException', 'The product code does not belong to the caller.');
      }
      const dims = product ? await dimensionsOf(product) : new Set<string>();
      for (const r of records) {
        if (dims.size > 0 && !dims.has(r.Dimension)) {
          throw new AwsError(
            'InvalidUsageDimensionException',
            `The usage dimension ${r.Dimension} is not defined for the product.`,
          );
        }
      }
      const Results = [];
      for (const [i, r] of records.entries()) {
        const a = agreements[i];
        const status = a ? await subscriptionStatus(a.subscription_id) : null;
        if (!status || !SUBSCRIBED.includes(status)) {
          Results.push({ UsageRecord: r, Status: 'CustomerNotSubscribed' });
          continue;
        }
        const res = await store(
          a!,
          product!,
          {
            dimension: r.Dimension,
            timestamp: Math.round(r.Timestamp * 1000),
            quantity: r.Quantity ?? 0,
            allocations: r.UsageAllocations,
          },
          'BatchMeterUsage',
          creds,
        );
        Results.push({ UsageRecord: r, MeteringRecordId: res.id, Status: res.status });
      }
      return { Results, UnprocessedRecords: [] };
    },

    async meterUsage(creds: ResolvedCredentials, body: Json) {
      if (!str(body.ProductCode)) throw validationError('productCode', 'null', 'Member must not be null');
      if (typeof body.Timestamp !== 'number')
        throw validationError('timestamp', 'null', 'Member must not be null');
      if (!str(body.UsageDimension))
        throw validationError('usageDimension', 'null', 'Member must not be null');
      const quantity = body.UsageQuantity ?? 0;
      if (
        typeof quantity !== 'number' ||
        !Number.isInteger(quantity) ||
        quantity < 0 ||
        quantity > MAX_QUANTITY
      ) {
        throw validationError(
          'usageQuantity',
          String(quantity),
          `Member must have value between 0 and ${MAX_QUANTITY}`,
        );
      }
      const product = await productByCode(body.ProductCode);
      if (!product || product.provider_id !== creds.providerId) {
        throw new AwsError('InvalidProductCodeException', 'The product code passed does not exist.');
      }
      if (!checkTimestamp(body.Timestamp * 1000, clock.now())) {
        throw new AwsError('TimestampOutOfBoundsException', 'Timestamp is out of range.');
      }
      const rec: WireUsageRecord = {
        Timestamp: body.Timestamp,
        Dimension: body.UsageDimension,
        Quantity: quantity,
        ...(Array.isArray(body.UsageAllocations)
          ? { UsageAllocations: body.UsageAllocations as UsageAllocation[] }
          : {}),
      };
      checkAllocations(rec);
      const dims = await dimensionsOf(product);
      if (dims.size > 0 && !dims.has(rec.Dimension)) {
        throw new AwsError(
          'InvalidUsageDimensionException',
          `The usage dimension ${rec.Dimension} is not defined for the product.`,
        );
      }
      const a = creds.agreementId
        ? await db
            .selectFrom('marketplace_agreements')
            .selectAll()
            .where('id', '=', creds.agreementId)
            .executeTakeFirst()
        : undefined;
      if (!a || a.product_id !== product.id) {
        throw new AwsError(
          'CustomerNotEntitledException',
          'MeterUsage needs credentials issued for a buyer agreement of this product.',
        );
      }
      const status = await subscriptionStatus(a.subscription_id);
      if (!status || !SUBSCRIBED.includes(status)) {
        throw new AwsError('CustomerNotEntitledException', 'The customer is not subscribed to the product.');
      }
      if (body.DryRun === true) {
        throw new AwsError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.');
      }
      const record = {
        dimension: rec.Dimension,
        timestamp: Math.round(rec.Timestamp * 1000),
        quantity,
        allocations: rec.UsageAllocations,
      };
      const params = { ...rec, ProductCode: product.product_code };
      const id = await withClientToken(
        db,
        creds.accessKeyId,
        body.ClientToken,
        params,
        clock.now(),
        async () => {
          const res = await store(a, product, record, 'MeterUsage', creds);
          if (res.status !== 'DuplicateRecord') return res.id;
          throw new AwsError(
            'DuplicateRequestException',
            'A metering record for this hour and dimension already exists with a different quantity.',
          );
        },
      );
      return { MeteringRecordId: id };
    },
  };
}

export type MarketplaceMetering = ReturnType<typeof createMarketplaceMetering>;
