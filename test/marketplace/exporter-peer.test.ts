/** The exporter against a second Tollgate: the real AWS-compatible marketplace endpoint as the peer. */
import { MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgreements } from '../../src/marketplace/agreements.js';
import { createMarketplaceAwsApp } from '../../src/marketplace/aws/app.js';
import { createCredentials } from '../../src/marketplace/credentials.js';
import { createExporter } from '../../src/marketplace/exporter.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { sqliteStore, testStores } from '../helpers/stores.js';
import {
  addUsage,
  listen,
  seedExternalSubscription,
  seedProduct,
  seedProvider,
  seedSubscription,
} from './fixtures.js';

const HOUR = 3600_000;

for (const kind of await testStores()) {
  describe(`exporter → Tollgate marketplace peer on ${kind.name}`, () => {
    let market: Store;
    let seller: Store;
    let server: { url: string; close: () => Promise<void> };
    let client: MarketplaceMeteringClient;
    // SigV4 is checked against this clock, and the SDK signs with the real time: keep them together.
    const clock = new ManualClock(Date.now());

    beforeAll(async () => {
      market = await kind.open();
      // Kysely's migrator, without migrationTableSchema, takes another schema's
      // kysely_migration table for its own, so two fresh PostgreSQL schemas opened back to
      // back can fail to migrate: the seller runs on SQLite (store issue reported).
      seller = await sqliteStore.open();
      server = await listen(
        createMarketplaceAwsApp({ db: market.db, clock, log: silentLogger, secretKey: 's'.repeat(32) }),
      );
    });
    afterAll(async () => {
      client?.destroy();
      await server?.close();
      await market?.close();
      await seller?.close();
    });

    it('delivers every hour per dimension; the marketplace stores exactly the seller’s usage', async () => {
      const now = clock.now();
      const hour0 = Math.floor(now / HOUR) * HOUR - 4 * HOUR;
      // Marketplace side: provider, product, a buyer's agreement, credentials for the seller.
      const m = await seedProvider(market.db, hour0);
      const product = await seedProduct(market.db, hour0, m);
      const buyer = await seedSubscription(market.db, hour0, m.planId);
      const agreement = await createAgreements({ db: market.db, clock }).ensure(
        buyer.subscriptionId,
        product.productId,
      );
      const creds = await createCredentials({ db: market.db, clock, secretKey: 's'.repeat(32) }).issue(
        m.providerId,
      );
      client = new MarketplaceMeteringClient({
        endpoint: server.url,
        region: 'us-east-1',
        maxAttempts: 1,
        credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
      });
      // Seller side: the onboarded customer and its usage.
      const s = await seedProvider(seller.db, hour0);
      const { subscriptionId } = await seedExternalSubscription(seller.db, hour0 + 60_000, s.planId, {
        ProductCode: product.productCode,
        CustomerIdentifier: agreement.customerIdentifier,
        CustomerAWSAccountId: agreement.customerAWSAccountId,
        LicenseArn: agreement.licenseArn,
      });
      await addUsage(seller.db, subscriptionId, 'requests', hour0, 17);
      await addUsage(seller.db, subscriptionId, 'chars', hour0 + HOUR, 1234);
      await addUsage(seller.db, subscriptionId, 'requests', hour0 + 2 * HOUR, 3);

      const exporter = createExporter({
        db: seller.db,
        clock,
        log: silentLogger,
        metering: client,
        settleMs: 0,
      });
      const r = await exporter.runOnce();
      expect(r).toMatchObject({ planned: 8, sent: 8, duplicate: 0, failed: 0, pending: 0 });

      const billed = await market.db
        .selectFrom('usage')
        .select(['dimension', 'hour', 'units'])
        .where('subscription_id', '=', buyer.subscriptionId)
        .orderBy('hour')
        .execute();
      expect(billed).toEqual([
        { dimension: 'requests', hour: hour0, units: 17 },
        { dimension: 'chars', hour: hour0 + HOUR, units: 1234 },
        { dimension: 'requests', hour: hour0 + 2 * HOUR, units: 3 },
      ]);
      const records = await market.db
        .selectFrom('metering_records')
        .select(['quantity'])
        .where('agreement_id', '=', agreement.id)
        .execute();
      expect(records).toHaveLength(8); // zero records included
      const ledger = await exporter.ledger(subscriptionId);
      expect(ledger.every((l) => l.status === 'sent' && l.metering_record_id)).toBe(true);

      // The buyer leaves the marketplace: the next records come back CustomerNotSubscribed.
      await market.db
        .updateTable('subscriptions')
        .set({ status: 'cancelled' })
        .where('id', '=', buyer.subscriptionId)
        .execute();
      await seller.db
        .updateTable('subscriptions')
        .set({ status: 'cancel_pending' })
        .where('id', '=', subscriptionId)
        .execute();
      const flushed = await exporter.flushNow(subscriptionId);
      expect(flushed).toMatchObject({ notSubscribed: 2, pending: 0 });
    });
  });
}
