/** An invoice printed to PDF by the real headless Chromium (/usr/bin/chromium). */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Billing, createBilling } from '../../src/billing/index.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { IN_CI, sqliteStore } from '../helpers/stores.js';
import * as fx from './fixtures.js';

const chromium = process.env.TOLLGATE_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(chromium);
if (!haveChromium && IN_CI) throw new Error(`Chromium is required under CI but missing at ${chromium}`);

describe.skipIf(!haveChromium)('invoice PDF', () => {
  let store: Store;
  let billing: Billing;
  const clock = new ManualClock(Date.UTC(2026, 0, 1));

  beforeAll(async () => {
    store = await sqliteStore.open();
    await fx.provider(store);
    await fx.plan(store, 'pln_a', 'prv_acme', 'Starter');
    await fx.consumer(store, 'con_a', 'Buyer <b>bold</b>');
    await fx.subscription(store, {
      id: 'sub_a',
      consumerId: 'con_a',
      planId: 'pln_a',
      startedAt: Date.UTC(2026, 0, 1),
    });
    billing = createBilling({ store, clock, log: silentLogger });
    await billing.setPrice('pln_a', { currency: 'EUR', recurringFee: '49' }, 'test');
  });
  afterAll(async () => {
    await billing.close();
    await store.close();
  });

  it('prints a PDF document', async () => {
    clock.set(Date.UTC(2026, 1, 2));
    const { invoiceIds } = await billing.run({ finalize: true });
    const pdf = await billing.renderPdf(invoiceIds[0]!);
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdf.length).toBeGreaterThan(2000);
    // a second render reuses the browser
    expect((await billing.renderPdf(invoiceIds[0]!)).subarray(0, 5).toString('latin1')).toBe('%PDF-');
  }, 60_000);
});
