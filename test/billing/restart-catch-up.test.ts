/**
 * A console that comes back after two billing periods ended while it was down invoices both,
 * oldest first, each once — on its own, at start, with no billing call — on SQLite and
 * PostgreSQL with a manual clock. Then more cycles and another restart change nothing.
 *
 * The first Tollgate serves the calls of both periods; its scheduler's timer is an hour of
 * real time, so after the tick at start (nothing due then) it runs no cycle before it is
 * closed: both periods end while no cycle runs, as they would while the console is down.
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
import { LOOPBACK_ALLOWED } from '../helpers/outbound.js';
import { testStores } from '../helpers/stores.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const TOKEN = `tga_restartcatchup_${'x'.repeat(32)}`;
const U = Date.UTC;
const HOUR = 3_600_000;

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
  describe(`a console restarted after two missed periods, on ${kind.name}`, () => {
    let store: Store;
    let up: Upstream;
    let billing: Billing;
    let dataDir: string;
    let running: Tollgate | null = null;
    const clock = new ManualClock(U(2026, 0, 10, 12, 0));

    function start(): Promise<Tollgate> {
      const config = loadConfig(
        {
          databaseUrl: store.url,
          dataDir,
          gatewayHost: '127.0.0.1',
          gatewayPort: 0,
          consoleHost: '127.0.0.1',
          consolePort: 0,
          adminToken: TOKEN,
          outboundAllow: LOOPBACK_ALLOWED,
          logLevel: 'silent',
          metering: 'strict',
          billingIntervalMs: HOUR, // real time: only the cycle at start runs in this test
          billingSettleMs: HOUR,
          billingReviewMs: 0,
        },
        {},
      );
      return startTollgate(config, { clock, log: silentLogger });
    }

    beforeAll(async () => {
      store = await kind.open();
      dataDir = mkdtempSync(join(tmpdir(), 'tollgate-restart-catch-up-'));
      up = await startUpstream((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
      billing = createBilling({ store, clock, log: silentLogger }); // reads only
    }, 120_000);

    afterAll(async () => {
      await running?.close();
      await up?.close();
      await billing?.close();
      await store?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('invoices both missed periods at start, oldest first, once', async () => {
      running = await start();
      const t = running;
      const admin = adminClient(t.consoleUrl!, TOKEN);
      const p = await provision(admin, up.url, {}, '/api');
      await billing.setPrice(
        p.planId,
        {
          currency: 'USD',
          recurringFee: '5',
          charges: [{ model: 'per_unit', dimension: 'requests', unitPrice: '0.01' }],
        },
        'test',
      );
      await t.snapshots.refresh();
      const call = async (n: number) => {
        for (let i = 0; i < n; i++) {
          const res = await fetch(`${t.gatewayUrl}/api/x`, { headers: { 'x-api-key': p.key } });
          expect(res.status).toBe(200);
          await res.text();
        }
        await t.meter!.flush();
      };
      // periods: 10 Jan 12:00 → 10 Feb 12:00 → 10 Mar 12:00
      clock.set(U(2026, 0, 20, 9));
      await call(3);
      clock.set(U(2026, 1, 20, 9));
      await call(7);
      await t.close(); // the console goes down on 20 February
      running = null;
      const mine = async () => (await billing.listInvoices({ subscriptionId: p.subscriptionId })).items;
      expect(await mine()).toEqual([]);

      // …and comes back on 10 March at 13:00, the settle hour after the second period ended
      clock.set(U(2026, 2, 10, 13, 0));
      running = await start();
      const both = await eventually(async () => {
        const items = await mine();
        return items.length === 2 && items.every((i) => i.status === 'open') ? items : undefined;
      });
      expect(both.map((i) => [i.number, i.periodStart, i.periodEnd, i.total])).toEqual([
        // 5.00 + 3 × 0.01, then 5.00 + 7 × 0.01
        ['INV-000001', '2026-01-10T12:00:00.000Z', '2026-02-10T12:00:00.000Z', '5.03'],
        ['INV-000002', '2026-02-10T12:00:00.000Z', '2026-03-10T12:00:00.000Z', '5.07'],
      ]);
      const audit = async () =>
        (
          await store.db
            .selectFrom('audit_log')
            .select(['entity_id', 'actor'])
            .where('action', '=', 'invoice.finalize')
            .orderBy('entity_id')
            .execute()
        ).map((a) => [a.entity_id, a.actor]);
      // finalized by the scheduler, each once
      expect(await audit()).toEqual(both.map((i) => [i.id, 'scheduler']).sort());

      // more cycles, and another restart, write nothing more
      expect(await running.billingScheduler!.cycle()).toMatchObject({
        leader: true,
        created: 0,
        finalized: 0,
      });
      await running.close();
      running = await start();
      expect(await running.billingScheduler!.cycle()).toMatchObject({
        leader: true,
        created: 0,
        finalized: 0,
      });
      expect((await mine()).map((i) => i.id)).toEqual(both.map((i) => i.id));
      expect(await audit()).toHaveLength(2);
    }, 240_000);
  });
}
