/**
 * The story a provider lives, on SQLite and PostgreSQL: provision an API, a plan and a key
 * through the admin API, price the plan, call the API through the gateway, let metering
 * flush, close the month with a billing run — the invoice's quantity equals the requests
 * made, and a second run adds nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Billing, createBilling } from '../../src/billing/index.js';
import { loadConfig } from '../../src/config/index.js';
import { startTollgate, type Tollgate } from '../../src/main/index.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { adminClient, provision } from '../helpers/admin.js';
import { LOOPBACK_ALLOWED, noDns } from '../helpers/outbound.js';
import { testStores } from '../helpers/stores.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const TOKEN = `tga_billingflow_${'x'.repeat(32)}`;
const U = Date.UTC;

for (const kind of await testStores()) {
  describe(`requests → metering → billing on ${kind.name}`, () => {
    let store: Store;
    let t: Tollgate;
    let up: Upstream;
    let billing: Billing;
    let dataDir: string;
    const clock = new ManualClock(U(2026, 2, 10, 12, 0));

    beforeAll(async () => {
      store = await kind.open(); // a fresh database; Tollgate opens its own connection to it
      dataDir = mkdtempSync(join(tmpdir(), 'tollgate-billing-flow-'));
      up = await startUpstream((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
      const config = loadConfig(
        {
          databaseUrl: store.url,
          dataDir,
          gatewayHost: '127.0.0.1',
          gatewayPort: 0,
          consoleHost: '127.0.0.1',
          consolePort: 0,
          adminToken: TOKEN,
          logLevel: 'silent',
          metering: 'strict',
          outboundAllow: LOOPBACK_ALLOWED,
        },
        {},
      );
      t = await startTollgate(config, { clock, log: silentLogger, resolve: noDns });
      billing = createBilling({ store, clock, log: silentLogger });
    }, 60_000);

    afterAll(async () => {
      await t?.close();
      await up?.close();
      await billing?.close();
      await store?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('invoices exactly the requests that went through', async () => {
      const admin = adminClient(t.consoleUrl!, TOKEN);
      const p = await provision(admin, up.url, {}, '/api');
      await billing.setPrice(
        p.planId,
        {
          currency: 'EUR',
          recurringFee: '5',
          charges: [{ model: 'per_unit', dimension: 'requests', unitPrice: '0.01' }],
        },
        'test',
      );
      await t.snapshots.refresh();
      const N = 37;
      for (let i = 0; i < N; i++) {
        const res = await fetch(`${t.gatewayUrl}/api/things/${i}`, { headers: { 'x-api-key': p.key } });
        expect(res.status).toBe(200);
        await res.text();
      }
      // a request without a key is refused and never billed
      const denied = await fetch(`${t.gatewayUrl}/api/things/x`);
      expect(denied.status).toBe(403);
      await denied.text();
      await t.meter!.flush();

      const sub = await store.db
        .selectFrom('subscriptions')
        .select('started_at')
        .where('id', '=', p.subscriptionId)
        .executeTakeFirstOrThrow();
      expect(Number(sub.started_at)).toBe(U(2026, 2, 10, 12, 0));
      clock.set(U(2026, 3, 11)); // the first period (10 Mar 12:00 → 10 Apr 12:00) has ended
      const r = await billing.run();
      expect(r.failed).toEqual([]);
      const mine = await billing.listInvoices({ subscriptionId: p.subscriptionId });
      expect(mine.items).toHaveLength(1);
      const inv = await billing.getInvoice(mine.items[0]!.id);
      const usage = inv.lines.filter((l) => l.kind === 'usage');
      expect(usage.map((l) => [l.dimension, l.quantity])).toEqual([['requests', String(N)]]);
      // 5.00 + 37 × 0.01 = 5.37
      expect(inv.total).toBe('5.37');
      expect((await billing.run()).created).toBe(0);
    }, 60_000);
  });
}
