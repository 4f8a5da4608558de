/**
 * Wholesale billing: a buyer runs the provider's API in its own cloud under a
 * licence, and pays a flat fee per licensed deployment per month. Billing reads the
 * deployment count over time from the licence (deploymentSourceFromLicences), so a third
 * deployment licensed mid-month is charged from that second on. Real stores (SQLite and
 * PostgreSQL); only the clock is fake.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploymentSourceFromLicences } from '../../src/billing/http/index.js';
import { type Billing, createBilling } from '../../src/billing/index.js';
import { createCatalog, SYSTEM } from '../../src/catalog/index.js';
import { createLicences, type Licences } from '../../src/licences/index.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { testOutbound } from '../helpers/outbound.js';
import { testStores } from '../helpers/stores.js';

const APRIL = Date.UTC(2026, 3, 1); // 2026-04-01T00:00:00Z; April has 30 days = 2,592,000 s
const THIRD = Date.UTC(2026, 3, 11, 12, 0, 0); // 2026-04-11T12:00:00Z, 10.5 days = 907,200 s in
const MAY = Date.UTC(2026, 4, 1);
const JUNE = Date.UTC(2026, 5, 1);
const DAY = 86_400_000;

for (const kind of await testStores()) {
  describe(`wholesale billing (${kind.name})`, () => {
    let store: Store;
    let billing: Billing;
    let licences: Licences;
    const clock = new ManualClock(APRIL);
    let subscriptionId: string;
    let licenceId: string;

    beforeAll(async () => {
      store = await kind.open();
      const catalog = createCatalog({ outbound: testOutbound(), store, clock, log: silentLogger });
      licences = createLicences({
        store,
        clock,
        log: silentLogger,
        secret: 'wholesale-billing-test-secret-of-32-chars-or-more',
      });
      billing = createBilling({ store, clock, log: silentLogger });
      billing.setDeploymentSource(deploymentSourceFromLicences(licences, store));

      const provider = await catalog.providers.create(SYSTEM, { name: 'Acme Nouns' });
      const plan = await catalog.plans.create(SYSTEM, { providerId: provider.id, name: 'Nouns on-premises' });
      await billing.setPrice(
        plan.id,
        {
          currency: 'USD',
          setupFee: '500',
          charges: [{ model: 'per_deployment', fee: '90', description: 'Licensed deployments' }],
        },
        'test',
      );
      const buyer = await catalog.consumers.create(SYSTEM, { providerId: provider.id, name: 'Globex Corp' });
      subscriptionId = (await catalog.subscriptions.create(SYSTEM, { consumerId: buyer.id, planId: plan.id }))
        .id;
      const licence = await licences.issue({
        providerId: provider.id,
        productId: 'prd_nouns_onprem',
        consumerId: buyer.id,
        subscriptionId,
        deployments: 2,
        limits: { rateLimit: 50 },
        validFrom: APRIL,
        validUntil: APRIL + 365 * DAY,
      });
      licenceId = licence.id;
    });
    afterAll(async () => {
      await billing?.close();
      await store?.close();
    });

    it('A billing run invoices a wholesale subscription as flat per-deployment lines, with proration for a deployment added mid-period', async () => {
      // The buyer adds a third deployment on 11 April at noon.
      clock.set(THIRD);
      await licences.setDeployments(licenceId, 3);

      // Nothing is billed before the period ends.
      clock.set(MAY - 1);
      expect((await billing.run()).created).toBe(0);

      clock.set(MAY + 60_000);
      const run = await billing.run();
      expect(run).toMatchObject({ created: 1, failed: [], skipped: [] });
      const inv = await billing.getInvoice(run.invoiceIds[0]!);
      expect(inv).toMatchObject({
        subscriptionId,
        periodStart: new Date(APRIL).toISOString(),
        periodEnd: new Date(MAY).toISOString(),
        currency: 'USD',
      });

      const setup = inv.lines.find((l) => l.kind === 'setup')!;
      expect(setup).toMatchObject({ quantity: '1', unitPrice: '500', amount: '500.00' });

      const deployments = inv.lines.filter((l) => l.kind === 'deployment');
      expect(deployments).toHaveLength(1);
      const line = deployments[0]!;
      // April = 2,592,000 s.
      //   2 deployments from 04-01 00:00 to 04-11 12:00 = 907,200 s   → share 0.35
      //   3 deployments from 04-11 12:00 to 05-01 00:00 = 1,684,800 s → share 0.65
      // deployment-months = 2 × 0.35 + 3 × 0.65 = 0.70 + 1.95 = 2.65
      // amount            = 90 × 2.65 = 63.00 + 175.50 = 238.50
      expect(line).toMatchObject({
        description: 'Licensed deployments',
        dimension: 'deployments',
        quantity: '2.65',
        unitPrice: '90',
        amount: '238.50',
      });
      const spans = line.detail.spans as Array<Record<string, unknown>>;
      expect(spans.map((s) => ({ from: s.from, to: s.to, deployments: s.quantity, share: s.share }))).toEqual(
        [
          { from: APRIL, to: THIRD, deployments: 2, share: '0.35' },
          { from: THIRD, to: MAY, deployments: 3, share: '0.65' },
        ],
      );
      expect(spans.map((s) => s.amount)).toEqual(['63', '175.5']);

      // 500.00 setup + 238.50 deployments = 738.50
      expect(inv.lines).toHaveLength(2);
      expect(inv.total).toBe('738.50');

      // Running again creates nothing new.
      expect((await billing.run()).created).toBe(0);
    });

    it('the next month bills the 3 deployments flat, without the setup fee', async () => {
      clock.set(JUNE + 60_000);
      const run = await billing.run({ subscriptionId });
      expect(run.created).toBe(1);
      const inv = await billing.getInvoice(run.invoiceIds[0]!);
      // 3 deployments × 90 for the whole of May = 270.00
      expect(inv.lines.map((l) => [l.kind, l.quantity, l.amount])).toEqual([['deployment', '3', '270.00']]);
      expect(inv.total).toBe('270.00');
    });

    it('the adapter adds up every licence of the subscription and is empty without one', async () => {
      const source = deploymentSourceFromLicences(licences, store);
      const window = { dimension: 'deployments', from: MAY, to: JUNE };
      expect(await source({ ...window, subscriptionId: 'sub_none' })).toEqual([]);
      const lic = await licences.get(licenceId);
      const second = await licences.issue({
        providerId: lic.providerId,
        productId: 'prd_nouns_onprem',
        consumerId: lic.licensee.id,
        subscriptionId,
        deployments: 1,
        limits: { rateLimit: 50 },
        validFrom: MAY + 9 * DAY,
        validUntil: MAY + 20 * DAY,
      });
      expect(second.subscriptionId).toBe(subscriptionId);
      expect(await source({ ...window, subscriptionId })).toEqual([
        { from: MAY, to: MAY + 9 * DAY, quantity: 3 },
        { from: MAY + 9 * DAY, to: MAY + 20 * DAY, quantity: 4 },
        { from: MAY + 20 * DAY, to: JUNE, quantity: 3 },
      ]);
    });
  });
}
