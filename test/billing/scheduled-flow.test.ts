/**
 * Billing that runs itself, end to end on SQLite and PostgreSQL with a manual clock:
 * provision and price a plan, call the API through the gateway, let the period end — and
 * without any billing call the console's scheduler writes the invoice after the settle
 * delay, finalizes it after the review window, the `invoice.finalized` webhook arrives
 * signed at the provider's loopback receiver, the amounts equal the metered requests × price
 * to the cent, and the buyer sees the finalized invoice in the portal in real Chromium.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Billing, createBilling } from '../../src/billing/index.js';
import { loadConfig } from '../../src/config/index.js';
import { startTollgate, type Tollgate } from '../../src/main/index.js';
import { createAccounts } from '../../src/portal/index.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { SIGNATURE_HEADER, verifySignature } from '../../src/webhooks/index.js';
import { adminClient, provision } from '../helpers/admin.js';
import { LOOPBACK_ALLOWED } from '../helpers/outbound.js';
import { testStores } from '../helpers/stores.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const TOKEN = `tga_scheduledflow_${'x'.repeat(32)}`;
const U = Date.UTC;
const HOUR = 3_600_000;
const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI === 'true') throw new Error(`${CHROMIUM} is needed under CI`);
if (!haveChromium) console.warn(`skipping the browser part of the scheduled flow: no ${CHROMIUM}`);

/** Polls until `check` returns a value (the scheduler works on its own timer). */
async function eventually<T>(check: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error('timed out waiting for the billing cycle');
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const kind of await testStores()) {
  describe(`scheduled billing, gateway to finalized invoice, on ${kind.name}`, () => {
    let store: Store;
    let t: Tollgate;
    let up: Upstream;
    let receiver: Upstream;
    let billing: Billing;
    let dataDir: string;
    const clock = new ManualClock(U(2026, 2, 10, 12, 0));

    beforeAll(async () => {
      store = await kind.open();
      dataDir = mkdtempSync(join(tmpdir(), 'tollgate-scheduled-flow-'));
      up = await startUpstream((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
      receiver = await startUpstream((_req, res) => res.writeHead(204).end());
      const config = loadConfig(
        {
          databaseUrl: store.url,
          dataDir,
          gatewayHost: '127.0.0.1',
          gatewayPort: 0,
          consoleHost: '127.0.0.1',
          consolePort: 0,
          adminToken: TOKEN,
          outboundAllow: LOOPBACK_ALLOWED, // the test's upstream and webhook receiver
          logLevel: 'silent',
          metering: 'strict',
          billingIntervalMs: 100,
          billingSettleMs: HOUR,
          billingReviewMs: 2 * HOUR,
        },
        {},
      );
      t = await startTollgate(config, { clock, log: silentLogger });
      billing = createBilling({ store, clock, log: silentLogger }); // reads only
    }, 120_000);

    afterAll(async () => {
      await t?.close();
      await up?.close();
      await receiver?.close();
      await billing?.close();
      await store?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('invoices and finalizes the period by itself, to the cent', async () => {
      const admin = adminClient(t.consoleUrl!, TOKEN);
      const p = await provision(admin, up.url, {}, '/api');
      await billing.setPrice(
        p.planId,
        {
          currency: 'USD',
          recurringFee: '9.99',
          charges: [{ model: 'per_unit', dimension: 'requests', unitPrice: '0.013' }],
        },
        'test',
      );
      const provider = await store.db
        .selectFrom('plans')
        .select('provider_id')
        .where('id', '=', p.planId)
        .executeTakeFirstOrThrow();
      const endpoint = await admin.post<{ secret: string }>('/webhooks/endpoints', {
        providerId: provider.provider_id,
        url: `${receiver.url}/hooks/tollgate`,
      });
      await t.snapshots.refresh();
      const N = 23;
      for (let i = 0; i < N; i++) {
        const res = await fetch(`${t.gatewayUrl}/api/things/${i}`, { headers: { 'x-api-key': p.key } });
        expect(res.status).toBe(200);
        await res.text();
      }
      await t.meter!.flush();

      const mine = async () => (await billing.listInvoices({ subscriptionId: p.subscriptionId })).items;
      // the period (10 Mar 12:00 → 10 Apr 12:00) has ended, but not the settle delay
      clock.set(U(2026, 3, 10, 12, 30));
      await t.billingScheduler!.cycle(); // wait for one full cycle at this time
      expect(await mine()).toEqual([]);
      clock.set(U(2026, 3, 10, 13, 0));
      const draft = await eventually(async () => (await mine())[0]);
      expect(draft.status).toBe('draft');
      // 9.99 + 23 × 0.013 = 9.99 + 0.299 = 10.289 → 10.29
      const inv = await billing.getInvoice(draft.id);
      expect(inv.lines.map((l) => [l.kind, l.quantity, l.amount])).toEqual([
        ['recurring', '1', '9.99'],
        ['usage', String(N), '0.30'],
      ]);
      expect(inv.total).toBe('10.29');
      clock.set(U(2026, 3, 10, 15, 0)); // the two-hour review window has passed
      const open = await eventually(async () => {
        const [i] = await mine();
        return i?.status === 'open' ? i : undefined;
      });
      expect(open.number).toBe(draft.number);
      const events = await store.db
        .selectFrom('webhook_outbox')
        .select('payload')
        .where('type', '=', 'invoice.finalized')
        .execute();
      expect(events.map((e) => JSON.parse(e.payload).data.id)).toEqual([draft.id]);
      // the console's delivery loop sends it to the provider's receiver, signed
      const hook = await eventually(async () =>
        receiver.requests.find((r) => JSON.parse(r.body.toString()).type === 'invoice.finalized'),
      );
      const body = hook.body.toString();
      const signature = hook.headers[SIGNATURE_HEADER.toLowerCase()] as string;
      expect(
        verifySignature(signature, body, endpoint.secret, { nowSec: Math.floor(clock.now() / 1000) }),
      ).toMatchObject({ ok: true });
      expect(JSON.parse(body).data).toMatchObject({ id: draft.id, number: draft.number, total: '10.29' });
      const audit = await store.db
        .selectFrom('audit_log')
        .select('actor')
        .where('action', '=', 'invoice.finalize')
        .where('entity_id', '=', draft.id)
        .execute();
      expect(audit).toEqual([{ actor: 'scheduler' }]);
      // no second invoice for the period, however many cycles run
      await t.billingScheduler!.cycle();
      expect(await mine()).toHaveLength(1);
      if (haveChromium) await buyerSees(p.subscriptionId, draft.id, draft.number);
    }, 180_000);

    /** The buyer logs in to the portal in Chromium and finds the finalized invoice, to the cent. */
    async function buyerSees(subscriptionId: string, invoiceId: string, number: string) {
      const sub = await store.db
        .selectFrom('subscriptions')
        .select('consumer_id')
        .where('id', '=', subscriptionId)
        .executeTakeFirstOrThrow();
      const email = `scheduled-${kind.name}@example.com`;
      await createAccounts({ store, clock, log: silentLogger, catalog: t.catalog }).createUser({
        email,
        name: 'Buyer',
        password: 'correct horse battery',
        role: 'buyer',
        consumerId: sub.consumer_id,
      });
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox', '--disable-gpu'],
      });
      try {
        const page = await browser.newPage();
        await page.goto(`${t.consoleUrl}/login?next=/account/invoices`);
        await page.getByLabel('Email').fill(email);
        await page.getByLabel('Password').fill('correct horse battery');
        await page.getByRole('button', { name: 'Log in' }).click();
        await page.waitForURL(/\/account\/invoices$/);
        const row = page.locator(`tr[data-invoice="${invoiceId}"]`);
        expect(await row.innerText()).toMatch(new RegExp(`${number}[\\s\\S]*open[\\s\\S]*USD 10\\.29`));
        await row.getByRole('link', { name: number }).click();
        const lines = await page.locator('table').innerText();
        expect(lines).toContain('USD 9.99');
        expect(lines).toContain('USD 0.30');
        expect(await page.locator('.total').innerText()).toContain('USD 10.29');
      } finally {
        await browser.close();
      }
    }
  });
}
