/**
 * The official AWS SDK clients against Tollgate's marketplace endpoint on a real socket:
 * success paths and AWS's named exceptions.
 */

import { createHash } from 'node:crypto';
import {
  GetEntitlementsCommand,
  MarketplaceEntitlementServiceClient,
} from '@aws-sdk/client-marketplace-entitlement-service';
import {
  BatchMeterUsageCommand,
  MarketplaceMeteringClient,
  MeterUsageCommand,
  ResolveCustomerCommand,
} from '@aws-sdk/client-marketplace-metering';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agreement, createAgreements } from '../../src/marketplace/agreements.js';
import { createMarketplaceAwsApp } from '../../src/marketplace/aws/app.js';
import { createCredentials, type IssuedCredentials } from '../../src/marketplace/credentials.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { testStores } from '../helpers/stores.js';
import { listen, seedProduct, seedProvider, seedSubscription } from './fixtures.js';

const HOUR = 3600_000;
const SECRET_KEY = 'test-sealing-key-0123456789abcdef';

async function rejection(p: Promise<unknown>): Promise<{ name: string; message: string; status?: number }> {
  try {
    await p;
  } catch (e) {
    const err = e as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: err.name, message: err.message, status: err.$metadata?.httpStatusCode };
  }
  throw new Error('expected a rejection');
}

for (const kind of await testStores()) {
  describe(`AWS marketplace endpoint with the official SDK on ${kind.name}`, () => {
    let store: Store;
    let server: { url: string; close: () => Promise<void> };
    const clock = new ManualClock(Date.now());
    let creds: IssuedCredentials;
    let other: IssuedCredentials;
    let metering: MarketplaceMeteringClient;
    let entitlements: MarketplaceEntitlementServiceClient;
    let seed: Awaited<ReturnType<typeof seedProvider>>;
    let product: { productId: string; productCode: string };
    let agreement: Agreement;
    let agreements: ReturnType<typeof createAgreements>;
    const client = (c: IssuedCredentials, url = server.url) =>
      new MarketplaceMeteringClient({
        endpoint: url,
        region: 'us-east-1',
        maxAttempts: 1,
        credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
      });

    beforeAll(async () => {
      store = await kind.open();
      const now = clock.now();
      seed = await seedProvider(store.db, now);
      product = await seedProduct(store.db, now, seed);
      const sub = await seedSubscription(store.db, now, seed.planId);
      agreements = createAgreements({ db: store.db, clock });
      agreement = await agreements.ensure(sub.subscriptionId, product.productId);
      const credentials = createCredentials({ db: store.db, clock, secretKey: SECRET_KEY });
      creds = await credentials.issue(seed.providerId);
      const seed2 = await seedProvider(store.db, now);
      other = await credentials.issue(seed2.providerId);
      server = await listen(
        createMarketplaceAwsApp({ db: store.db, clock, log: silentLogger, secretKey: SECRET_KEY }),
      );
      metering = client(creds);
      entitlements = new MarketplaceEntitlementServiceClient({
        endpoint: server.url,
        region: 'us-east-1',
        maxAttempts: 1,
        credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
      });
    });
    afterAll(async () => {
      metering?.destroy();
      entitlements?.destroy();
      await server?.close();
      await store?.close();
    });

    it('resolves a registration token once, then calls a reuse ExpiredTokenException', async () => {
      const { token } = await agreements.issueToken(agreement.id);
      const out = await metering.send(new ResolveCustomerCommand({ RegistrationToken: token }));
      expect(out).toMatchObject({
        CustomerIdentifier: agreement.customerIdentifier,
        CustomerAWSAccountId: agreement.customerAWSAccountId,
        ProductCode: product.productCode,
        LicenseArn: agreement.licenseArn,
      });
      expect(out.CustomerAWSAccountId).toMatch(/^\d{12}$/);
      const again = await rejection(metering.send(new ResolveCustomerCommand({ RegistrationToken: token })));
      expect(again.name).toBe('ExpiredTokenException');
      expect(again.status).toBe(400);
    });

    it('raises InvalidTokenException for a forged token and for another provider', async () => {
      const forged = await rejection(
        metering.send(new ResolveCustomerCommand({ RegistrationToken: 'x'.repeat(43) })),
      );
      expect(forged.name).toBe('InvalidTokenException');
      const { token } = await agreements.issueToken(agreement.id);
      const foreign = await rejection(
        client(other).send(new ResolveCustomerCommand({ RegistrationToken: token })),
      );
      expect(foreign.name).toBe('InvalidTokenException');
    });

    it('raises ExpiredTokenException after 4 hours', async () => {
      const { token } = await agreements.issueToken(agreement.id);
      const saved = clock.now();
      // Move the server clock, and keep SigV4 happy by signing at the same moment.
      clock.advance(4 * HOUR + 1);
      const late = new MarketplaceMeteringClient({
        endpoint: server.url,
        region: 'us-east-1',
        maxAttempts: 1,
        systemClockOffset: clock.now() - Date.now(),
        credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
      });
      const err = await rejection(late.send(new ResolveCustomerCommand({ RegistrationToken: token })));
      late.destroy();
      clock.set(saved);
      expect(err.name).toBe('ExpiredTokenException');
    });

    it('accepts a batch, is idempotent for identical records, and first-write-wins on duplicates', async () => {
      const hour = Math.floor(clock.now() / HOUR) * HOUR - HOUR;
      const ts = new Date(hour);
      const rec = { CustomerIdentifier: agreement.customerIdentifier, Dimension: 'requests', Timestamp: ts };
      const first = await metering.send(
        new BatchMeterUsageCommand({
          ProductCode: product.productCode,
          UsageRecords: [
            { ...rec, Quantity: 42 },
            { ...rec, Dimension: 'chars', Quantity: 0 },
          ],
        }),
      );
      expect(first.Results?.map((r) => r.Status)).toEqual(['Success', 'Success']);
      expect(first.UnprocessedRecords).toEqual([]);
      expect(first.Results?.[0]?.UsageRecord?.Timestamp?.getTime()).toBe(hour);
      const id = first.Results?.[0]?.MeteringRecordId;
      expect(id).toMatch(/^[0-9a-f-]{36}$/);

      const retry = await metering.send(
        new BatchMeterUsageCommand({
          ProductCode: product.productCode,
          UsageRecords: [{ ...rec, Quantity: 42, Timestamp: new Date(hour + 59 * 60_000) }],
        }),
      );
      expect(retry.Results?.[0]).toMatchObject({ Status: 'Success', MeteringRecordId: id });

      const dup = await metering.send(
        new BatchMeterUsageCommand({
          ProductCode: product.productCode,
          UsageRecords: [{ ...rec, Quantity: 43 }],
        }),
      );
      expect(dup.Results?.[0]?.Status).toBe('DuplicateRecord');

      const usage = await store.db
        .selectFrom('usage')
        .select(['dimension', 'units', 'hour'])
        .where('subscription_id', '=', agreement.subscriptionId)
        .execute();
      expect(usage).toEqual([{ dimension: 'requests', units: 42, hour }]);
    });

    it('meters by CustomerAWSAccountId + LicenseArn without a ProductCode', async () => {
      const hour = Math.floor(clock.now() / HOUR) * HOUR - 2 * HOUR;
      const out = await metering.send(
        new BatchMeterUsageCommand({
          UsageRecords: [
            {
              CustomerAWSAccountId: agreement.customerAWSAccountId,
              LicenseArn: agreement.licenseArn,
              Dimension: 'requests',
              Quantity: 7,
              Timestamp: new Date(hour),
              UsageAllocations: [
                { AllocatedUsageQuantity: 5, Tags: [{ Key: 'team', Value: 'a' }] },
                { AllocatedUsageQuantity: 2 },
              ],
            },
          ],
        }),
      );
      expect(out.Results?.[0]?.Status).toBe('Success');
    });

    it('returns CustomerNotSubscribed per record for a cancelled or unknown buyer; the batch still counts', async () => {
      const sub = await seedSubscription(store.db, clock.now(), seed.planId, 'cancelled');
      const gone = await agreements.ensure(sub.subscriptionId, product.productId);
      const ts = new Date(clock.now() - 5 * HOUR);
      const out = await metering.send(
        new BatchMeterUsageCommand({
          ProductCode: product.productCode,
          UsageRecords: [
            {
              CustomerIdentifier: gone.customerIdentifier,
              Dimension: 'requests',
              Quantity: 1,
              Timestamp: ts,
            },
            { CustomerIdentifier: 'nobody', Dimension: 'requests', Quantity: 1, Timestamp: ts },
            {
              CustomerIdentifier: agreement.customerIdentifier,
              Dimension: 'requests',
              Quantity: 3,
              Timestamp: ts,
            },
          ],
        }),
      );
      expect(out.Results?.map((r) => r.Status)).toEqual([
        'CustomerNotSubscribed',
        'CustomerNotSubscribed',
        'Success',
      ]);
      expect(out.Results?.[0]?.MeteringRecordId).toBeUndefined();
      expect(out.Results?.[1]?.MeteringRecordId).toBeUndefined();
      const stored = await store.db
        .selectFrom('metering_records')
        .select('quantity')
        .where('id', '=', out.Results![2]!.MeteringRecordId!)
        .executeTakeFirstOrThrow();
      expect(Number(stored.quantity)).toBe(3);
    });

    it('raises TimestampOutOfBoundsException for records 6 h old or beyond 5 minutes ahead', async () => {
      const rec = { CustomerIdentifier: agreement.customerIdentifier, Dimension: 'requests', Quantity: 1 };
      for (const t of [clock.now() - 6 * HOUR - 1000, clock.now() + 5 * 60_000 + 1000]) {
        const err = await rejection(
          metering.send(
            new BatchMeterUsageCommand({
              ProductCode: product.productCode,
              UsageRecords: [
                { ...rec, Timestamp: new Date(clock.now() - HOUR) },
                { ...rec, Timestamp: new Date(t) },
              ],
            }),
          ),
        );
        expect(err.name).toBe('TimestampOutOfBoundsException');
      }
      // A sender's clock a minute fast is tolerated.
      const ahead = await metering.send(
        new BatchMeterUsageCommand({
          ProductCode: product.productCode,
          UsageRecords: [{ ...rec, Timestamp: new Date(clock.now() + 60_000) }],
        }),
      );
      expect(ahead.Results?.[0]?.Status).toBe('Success');
    });

    it('refuses more than 25 records with a ValidationException', async () => {
      const ts = new Date(clock.now() - HOUR);
      const records = Array.from({ length: 26 }, () => ({
        CustomerIdentifier: agreement.customerIdentifier,
        Dimension: 'requests',
        Quantity: 1,
        Timestamp: ts,
      }));
      const err = await rejection(
        metering.send(
          new BatchMeterUsageCommand({ ProductCode: product.productCode, UsageRecords: records }),
        ),
      );
      expect(err.name).toBe('ValidationException');
      expect(err.message).toContain('less than or equal to 25');
    });

    it('raises InvalidProductCodeException, InvalidUsageDimensionException and InvalidUsageAllocationsException', async () => {
      const ts = new Date(clock.now() - HOUR);
      const rec = {
        CustomerIdentifier: agreement.customerIdentifier,
        Dimension: 'requests',
        Quantity: 1,
        Timestamp: ts,
      };
      expect(
        (
          await rejection(
            metering.send(new BatchMeterUsageCommand({ ProductCode: 'nope', UsageRecords: [rec] })),
          )
        ).name,
      ).toBe('InvalidProductCodeException');
      expect(
        (
          await rejection(
            client(other).send(
              new BatchMeterUsageCommand({ ProductCode: product.productCode, UsageRecords: [rec] }),
            ),
          )
        ).name,
      ).toBe('InvalidProductCodeException');
      expect(
        (
          await rejection(
            metering.send(
              new BatchMeterUsageCommand({
                ProductCode: product.productCode,
                UsageRecords: [{ ...rec, Dimension: 'gpu' }],
              }),
            ),
          )
        ).name,
      ).toBe('InvalidUsageDimensionException');
      expect(
        (
          await rejection(
            metering.send(
              new BatchMeterUsageCommand({
                ProductCode: product.productCode,
                UsageRecords: [{ ...rec, UsageAllocations: [{ AllocatedUsageQuantity: 3 }] }],
              }),
            ),
          )
        ).name,
      ).toBe('InvalidUsageAllocationsException');
    });

    it('rejects a bad signature, an unknown access key and a stale X-Amz-Date', async () => {
      const bad = client({ ...creds, secretAccessKey: `${creds.secretAccessKey}x` });
      const sig = await rejection(bad.send(new ResolveCustomerCommand({ RegistrationToken: 't' })));
      bad.destroy();
      expect(sig.name).toBe('InvalidSignatureException');
      expect(sig.message).toContain('does not match');

      const stranger = client({ ...creds, accessKeyId: 'TGMKAAAAAAAAAAAAAAAA' });
      const unk = await rejection(stranger.send(new ResolveCustomerCommand({ RegistrationToken: 't' })));
      stranger.destroy();
      expect(unk.name).toBe('UnrecognizedClientException');

      const stale = new MarketplaceMeteringClient({
        endpoint: server.url,
        region: 'us-east-1',
        maxAttempts: 1,
        systemClockOffset: -6 * 60_000,
        credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
      });
      const exp = await rejection(stale.send(new ResolveCustomerCommand({ RegistrationToken: 't' })));
      stale.destroy();
      expect(exp.name).toBe('InvalidSignatureException');
      expect(exp.message).toContain('Signature expired');
    });

    it('holds the body to a signed x-amz-content-sha256 and answers with AWS error framing', async () => {
      const u = new URL(server.url);
      const original = JSON.stringify({ RegistrationToken: 'a' });
      const signer = new SignatureV4({
        service: 'aws-marketplace',
        region: 'us-east-1',
        credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
        sha256: Hash.bind(null, 'sha256'),
        applyChecksum: false,
      });
      const signed = await signer.sign({
        method: 'POST',
        protocol: 'http:',
        hostname: u.hostname,
        port: Number(u.port),
        path: '/',
        headers: {
          host: u.host,
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': 'AWSMPMeteringService.ResolveCustomer',
          'x-amz-content-sha256': createHash('sha256').update(original).digest('hex'),
        },
        body: original,
      });
      const res = await request(`${server.url}/`, {
        method: 'POST',
        headers: signed.headers as Record<string, string>,
        body: JSON.stringify({ RegistrationToken: 'b' }),
      });
      expect(res.statusCode).toBe(400);
      expect(res.headers['x-amzn-errortype']).toBe('InvalidSignatureException');
      expect(await res.body.json()).toMatchObject({ __type: 'InvalidSignatureException' });
    });

    it('MeterUsage needs buyer-deployment credentials and dedups per hour', async () => {
      const credentials = createCredentials({ db: store.db, clock, secretKey: SECRET_KEY });
      const noBuyer = await rejection(
        metering.send(
          new MeterUsageCommand({
            ProductCode: product.productCode,
            Timestamp: new Date(clock.now() - HOUR),
            UsageDimension: 'chars',
            UsageQuantity: 5,
          }),
        ),
      );
      expect(noBuyer.name).toBe('CustomerNotEntitledException');
      const deployment = await credentials.issue(seed.providerId, 'buyer deployment', agreement.id);
      const c = client(deployment);
      const ts = new Date(Math.floor(clock.now() / HOUR) * HOUR - 3 * HOUR);
      const a = await c.send(
        new MeterUsageCommand({
          ProductCode: product.productCode,
          Timestamp: ts,
          UsageDimension: 'chars',
          UsageQuantity: 5,
        }),
      );
      const b = await c.send(
        new MeterUsageCommand({
          ProductCode: product.productCode,
          Timestamp: ts,
          UsageDimension: 'chars',
          UsageQuantity: 5,
        }),
      );
      expect(a.MeteringRecordId).toBe(b.MeteringRecordId);
      const dup = await rejection(
        c.send(
          new MeterUsageCommand({
            ProductCode: product.productCode,
            Timestamp: ts,
            UsageDimension: 'chars',
            UsageQuantity: 6,
          }),
        ),
      );
      expect(dup.name).toBe('DuplicateRequestException');
      // ClientToken: same token + same parameters → same id; other parameters → conflict.
      const ts2 = new Date(Math.floor(clock.now() / HOUR) * HOUR - 4 * HOUR);
      const req = {
        ProductCode: product.productCode,
        Timestamp: ts2,
        UsageDimension: 'chars',
        ClientToken: 'tok-1',
      };
      const t1 = await c.send(new MeterUsageCommand({ ...req, UsageQuantity: 2 }));
      const t2 = await c.send(new MeterUsageCommand({ ...req, UsageQuantity: 2 }));
      expect(t2.MeteringRecordId).toBe(t1.MeteringRecordId);
      const clash = await rejection(c.send(new MeterUsageCommand({ ...req, UsageQuantity: 3 })));
      expect(clash.name).toBe('IdempotencyConflictException');
      c.destroy();
    });

    it('GetEntitlements lists subscribed buyers with filters and paging', async () => {
      for (let i = 0; i < 2; i++) {
        const s = await seedSubscription(store.db, clock.now(), seed.planId);
        await agreements.ensure(s.subscriptionId, product.productId);
      }
      const all = await entitlements.send(new GetEntitlementsCommand({ ProductCode: product.productCode }));
      expect(all.Entitlements).toHaveLength(3); // the cancelled buyer is not entitled
      expect(all.Entitlements?.[0]).toMatchObject({
        ProductCode: product.productCode,
        Dimension: seed.planId,
        Value: { IntegerValue: 1000 },
      });
      const p1 = await entitlements.send(
        new GetEntitlementsCommand({ ProductCode: product.productCode, MaxResults: 2 }),
      );
      expect(p1.Entitlements).toHaveLength(2);
      expect(p1.NextToken).toBeTruthy();
      const p2 = await entitlements.send(
        new GetEntitlementsCommand({
          ProductCode: product.productCode,
          MaxResults: 2,
          NextToken: p1.NextToken,
        }),
      );
      expect(p2.Entitlements).toHaveLength(1);
      expect(p2.NextToken).toBeUndefined();
      const one = await entitlements.send(
        new GetEntitlementsCommand({
          ProductCode: product.productCode,
          Filter: { CUSTOMER_IDENTIFIER: [agreement.customerIdentifier] },
        }),
      );
      expect(one.Entitlements?.map((e) => e.CustomerIdentifier)).toEqual([agreement.customerIdentifier]);
      const bad = await rejection(
        entitlements.send(new GetEntitlementsCommand({ ProductCode: product.productCode, MaxResults: 26 })),
      );
      expect(bad.name).toBe('InvalidParameterException');
    });
  });
}
