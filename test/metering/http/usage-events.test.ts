/**
 * Usage from outside the gateway, on a real socket over a real store (SQLite and
 * PostgreSQL): a provider reports asynchronous work by subscription or key; the events show
 * in the usage report and on the invoice; a resend counts once; an event in a period already
 * invoiced is refused on its own; another provider's subscription is a 404; bad fields are
 * named and nothing is written; an event from before the subscription started (or while it
 * is pending, or after it ended) is refused naming its timestamp; and events racing a billing
 * run are each either on the invoice or refused, never lost.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBilling } from '../../../src/billing/index.js';
import { type Actor, type Catalog, createCatalog, SYSTEM } from '../../../src/catalog/index.js';
import { createControlApp } from '../../../src/control/index.js';
import { usageAdminRoutes } from '../../../src/metering/http/index.js';
import { ManualClock, silentLogger } from '../../../src/shared/index.js';
import type { Store } from '../../../src/store/index.js';
import { testOutbound } from '../../helpers/outbound.js';
import { PG_URL, testStores } from '../../helpers/stores.js';

const Z = (s: string) => Date.parse(s);

async function provision(catalog: Catalog, name: string) {
  const provider = await catalog.providers.create(SYSTEM, { name });
  const api = await catalog.apis.create(SYSTEM, {
    providerId: provider.id,
    name: `${name} api`,
    upstreamUrl: 'http://127.0.0.1:9/',
    pathPrefix: `/${name.toLowerCase()}`,
  });
  const plan = await catalog.plans.create(SYSTEM, {
    providerId: provider.id,
    name: `${name} basic`,
    apiIds: [api.id],
  });
  const consumer = await catalog.consumers.create(SYSTEM, { providerId: provider.id, name: `${name} buyer` });
  const sub = await catalog.subscriptions.create(SYSTEM, { consumerId: consumer.id, planId: plan.id });
  const key = await catalog.keys.create(SYSTEM, { subscriptionId: sub.id });
  return { providerId: provider.id, apiId: api.id, planId: plan.id, subId: sub.id, keyId: key.id };
}

for (const kind of await testStores()) {
  describe(`usage events from outside the gateway on ${kind.name}`, () => {
    let store: Store;
    let catalog: Catalog;
    let server: ReturnType<typeof serve>;
    let url: string;
    let alphaToken: string;
    let a: Awaited<ReturnType<typeof provision>>;
    let b: Awaited<ReturnType<typeof provision>>;
    let billing: ReturnType<typeof createBilling>;
    const clock = new ManualClock(Z('2026-11-02T12:00:00Z'));

    async function send(events: unknown[], token = alphaToken) {
      const res = await fetch(`${url}/admin/v1/usage/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ events }),
      });
      // biome-ignore lint/suspicious/noExplicitAny: test bodies are inspected loosely
      return { status: res.status, body: (await res.json()) as any };
    }
    async function report(from: string, to: string) {
      const q = new URLSearchParams({ from, to, granularity: 'month', groupBy: 'subscription,dimension' });
      const res = await fetch(`${url}/admin/v1/usage?${q}`, {
        headers: { authorization: `Bearer ${alphaToken}` },
      });
      // biome-ignore lint/suspicious/noExplicitAny: test bodies are inspected loosely
      return ((await res.json()) as any).items as Array<{
        subscriptionId: string;
        dimension: string;
        units: number;
      }>;
    }
    const job = (id: string, at: string, units = 1, extra: Record<string, unknown> = {}) => ({
      id,
      subscriptionId: a.subId,
      dimension: 'jobs',
      units,
      timestamp: at,
      ...extra,
    });

    beforeAll(async () => {
      store = await kind.open();
      catalog = createCatalog({ outbound: testOutbound(), store, clock, log: silentLogger });
      a = await provision(catalog, 'Alpha');
      b = await provision(catalog, 'Beta');
      billing = createBilling({ store, clock, log: silentLogger });
      await billing.setPrice(
        a.planId,
        {
          currency: 'USD',
          // No route meters "jobs": its usage arrives as events, so the price declares it.
          declaredDimensions: ['jobs'],
          charges: [{ model: 'per_unit', dimension: 'jobs', unitPrice: '0.5' }],
        },
        'test',
      );
      const op: Actor = { kind: 'operator', id: 'test' };
      alphaToken = (
        await catalog.tokens.create(op, { name: 'alpha', scope: 'provider', providerId: a.providerId })
      ).value;
      const app = createControlApp({
        catalog,
        log: silentLogger,
        clock,
        extraRoutes: [usageAdminRoutes({ store, clock, catalog })],
      });
      server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
      await new Promise<void>((r) => server.once('listening', () => r()));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      await billing?.close();
      if (server) await new Promise<void>((r) => server.close(() => r()));
      await store?.close();
    });

    it('records events by subscription and by key into the usage report, a resend counting once', async () => {
      clock.set(Z('2026-11-10T00:00:00Z'));
      const first = await send([
        job('evt-1', '2026-11-05T09:10:00Z', 3),
        job('evt-2', '2026-11-05T09:50:00Z', 4),
        { id: 'evt-3', keyId: a.keyId, dimension: 'jobs', units: 5, timestamp: '2026-11-05T11:00:00+01:00' },
      ]);
      expect(first).toEqual({ status: 200, body: { accepted: 3, duplicates: [], refused: [] } });
      const again = await send([
        job('evt-2', '2026-11-05T09:50:00Z', 4),
        job('evt-4', '2026-11-05T11:00:00Z', 1),
      ]);
      expect(again.body).toEqual({ accepted: 1, duplicates: ['evt-2'], refused: [] });
      const items = await report('2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z');
      expect(items).toEqual([
        expect.objectContaining({ subscriptionId: a.subId, dimension: 'jobs', units: 13 }),
      ]);
      const ledger = await store.db
        .selectFrom('usage_events')
        .select(['event_id', 'key_id'])
        .orderBy('event_id')
        .execute();
      expect(ledger.map((r) => [r.event_id, r.key_id])).toEqual([
        ['evt-1', ''],
        ['evt-2', ''],
        ['evt-3', a.keyId],
        ['evt-4', ''],
      ]);
    });

    it('bills the events, and refuses one in a period already invoiced while taking the rest', async () => {
      clock.set(Z('2026-12-05T00:00:00Z')); // the first period (from 2 Nov 12:00) has ended
      expect((await billing.run()).failed).toEqual([]);
      const [summary] = (await billing.listInvoices({ subscriptionId: a.subId })).items;
      const invoice = await billing.getInvoice(summary!.id);
      const line = invoice.lines.find((l) => l.kind === 'usage' && l.dimension === 'jobs');
      expect(line?.amount).toBe('6.50'); // 13 jobs × 0.50

      const late = await send([
        job('evt-late', '2026-11-20T08:00:00Z', 7),
        job('evt-new', '2026-12-04T08:00:00Z', 2),
      ]);
      expect(late.status).toBe(200);
      expect(late.body.accepted).toBe(1);
      expect(late.body.refused).toEqual([
        expect.objectContaining({ index: 0, id: 'evt-late', code: 'PERIOD_INVOICED' }),
      ]);
      expect(late.body.refused[0].message).toContain(invoice.number);
      const nov = await report('2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z');
      expect(nov[0]?.units).toBe(13);
    });

    it("answers 404 for another provider's subscription or key, writing nothing", async () => {
      const before = await store.db.selectFrom('usage_events').select('event_id').execute();
      expect(
        (
          await send([
            job('x-1', '2026-12-04T09:00:00Z'),
            job('x-2', '2026-12-04T09:00:00Z', 1, { subscriptionId: b.subId }),
          ])
        ).status,
      ).toBe(404);
      expect(
        (
          await send([
            { id: 'x-3', keyId: b.keyId, dimension: 'jobs', units: 1, timestamp: '2026-12-04T09:00:00Z' },
          ])
        ).status,
      ).toBe(404);
      expect(await store.db.selectFrom('usage_events').select('event_id').execute()).toEqual(before);
    });

    it.each([
      [
        [
          {
            id: 'v',
            subscriptionId: 'sub_x',
            dimension: 'jobs',
            units: 0,
            timestamp: '2026-12-04T09:00:00Z',
          },
        ],
        'events[0].units',
      ],
      [
        [{ id: 'v', dimension: 'jobs', units: 1.5, subscriptionId: 's', timestamp: '2026-12-04T09:00:00Z' }],
        'events[0].units',
      ],
      [
        [{ id: 'v', dimension: 'jobs', units: 1, subscriptionId: 's', timestamp: 'yesterday' }],
        'events[0].timestamp',
      ],
      [
        [{ id: 'v', dimension: 'jobs', units: 1, timestamp: '2026-12-04T09:00:00Z' }],
        'events[0].subscriptionId',
      ],
      [
        [{ id: 'v', dimension: 'j o b', units: 1, subscriptionId: 's', timestamp: '2026-12-04T09:00:00Z' }],
        'events[0].dimension',
      ],
      [
        [
          {
            id: 'v',
            dimension: 'jobs',
            units: 1,
            subscriptionId: 's',
            timestamp: '2026-12-04T09:00:00Z',
            colour: 1,
          },
        ],
        'events[0].colour',
      ],
      [[], 'events'],
    ])('refuses a bad batch naming the field (%#: %s)', async (events, field) => {
      const res = await send(events as unknown[]);
      expect(res.status).toBe(400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    });

    it('refuses a batch over 1,000 events, a repeated id and a future time, naming the field', async () => {
      const many = Array.from({ length: 1001 }, (_, i) => job(`m-${i}`, '2026-12-04T09:00:00Z'));
      expect((await send(many)).body.errors[0].field).toBe('events');
      const twice = await send([job('d-1', '2026-12-04T09:00:00Z'), job('d-1', '2026-12-04T09:00:00Z')]);
      expect([twice.status, twice.body.errors[0].field]).toEqual([400, 'events[1].id']);
      const future = await send([job('f-1', '2026-12-09T00:00:00Z')]);
      expect([future.status, future.body.errors[0].field]).toEqual([400, 'events[0].timestamp']);
      const bad = await send([
        job('ok-1', '2026-12-04T09:00:00Z'),
        job('bad-1', '2026-12-04T09:00:00Z', 1, { units: -1 }),
      ]);
      expect([bad.status, bad.body.errors[0].field]).toEqual([400, 'events[1].units']);
      const ids = (await store.db.selectFrom('usage_events').select('event_id').execute()).map(
        (r) => r.event_id,
      );
      expect(ids).not.toContain('ok-1'); // a batch is all or nothing
    });

    it('refuses an event from before the subscription started, while pending or after it ended, naming the timestamp', async () => {
      clock.set(Z('2026-12-05T00:00:00Z'));
      const early = await send([
        job('early-1', '2026-12-04T09:00:00Z'),
        job('early-2', '2026-11-02T11:59:59Z'),
      ]);
      expect(early.status).toBe(400);
      expect(early.body.errors).toEqual([
        {
          field: 'events[1].timestamp',
          message: 'is before the subscription started (2026-11-02T12:00:00.000Z)',
        },
      ]);
      const consumer = await catalog.consumers.create(SYSTEM, {
        providerId: a.providerId,
        name: 'Later buyer',
      });
      const pending = await catalog.subscriptions.create(SYSTEM, {
        consumerId: consumer.id,
        planId: a.planId,
        status: 'pending',
      });
      const waiting = await send([job('pend-1', '2026-12-04T09:00:00Z', 1, { subscriptionId: pending.id })]);
      expect([waiting.status, waiting.body.errors[0].field]).toEqual([400, 'events[0].timestamp']);
      expect(waiting.body.errors[0].message).toContain('pending');
      await catalog.subscriptions.update(SYSTEM, pending.id, { status: 'active' });
      await catalog.subscriptions.update(SYSTEM, pending.id, { status: 'cancelled' });
      clock.set(Z('2026-12-06T00:00:00Z'));
      const after = await send([job('gone-1', '2026-12-05T12:00:00Z', 1, { subscriptionId: pending.id })]);
      expect(after.status).toBe(400);
      expect(after.body.errors).toEqual([
        {
          field: 'events[0].timestamp',
          message: 'is after the subscription ended (2026-12-05T00:00:00.000Z)',
        },
      ]);
      const ids = (await store.db.selectFrom('usage_events').select('event_id').execute()).map(
        (r) => r.event_id,
      );
      expect(ids.filter((id) => /^(early|pend|gone)-/.test(id))).toEqual([]);
    });

    it('never loses an event that races a billing run: each is on the invoice or refused', async () => {
      clock.set(Z('2026-12-06T00:00:00Z'));
      const consumer = await catalog.consumers.create(SYSTEM, {
        providerId: a.providerId,
        name: 'Racing buyer',
      });
      const sub = await catalog.subscriptions.create(SYSTEM, { consumerId: consumer.id, planId: a.planId });
      clock.set(Z('2027-01-06T01:00:00Z')); // the period 6 Dec → 6 Jan has ended
      const N = 40;
      const sends = Array.from({ length: N }, (_, i) =>
        send([job(`race-${i}`, '2026-12-20T10:00:00Z', i + 1, { subscriptionId: sub.id })]),
      );
      const run = billing.run({ subscriptionId: sub.id });
      const answers = await Promise.all(sends);
      expect((await run).created).toBe(1);
      let accepted = 0;
      let refused = 0;
      for (const [i, r] of answers.entries()) {
        expect(r.status).toBe(200);
        if (r.body.accepted === 1) accepted += i + 1;
        else {
          expect(r.body.refused[0].code).toBe('PERIOD_INVOICED');
          refused += 1;
        }
      }
      const [summary] = (await billing.listInvoices({ subscriptionId: sub.id })).items;
      const invoice = await billing.getInvoice(summary!.id);
      const line = invoice.lines.find((l) => l.kind === 'usage' && l.dimension === 'jobs');
      // what the ledger accepted is exactly what was billed
      expect(Number(line?.quantity ?? 0)).toBe(accepted);
      const ledger = await store.db
        .selectFrom('usage_events')
        .select((eb) => eb.fn.sum<number>('units').as('units'))
        .where('subscription_id', '=', sub.id)
        .executeTakeFirst();
      expect(Number(ledger?.units ?? 0)).toBe(accepted);
      expect(refused + answers.filter((r) => r.body.accepted === 1).length).toBe(N);
    });

    // PostgreSQL only: a second connection holds the invoice-number row, so the billing run
    // stops between rating the period and writing its invoice — the window where an event
    // used to slip past both. (SQLite runs each billing transaction on its one connection.)
    it.runIf(kind.name === 'postgres')(
      'an event sent while the period is being invoiced waits for the invoice, then is refused',
      async () => {
        clock.set(Z('2027-01-06T02:00:00Z'));
        const consumer = await catalog.consumers.create(SYSTEM, {
          providerId: a.providerId,
          name: 'Held buyer',
        });
        const sub = await catalog.subscriptions.create(SYSTEM, { consumerId: consumer.id, planId: a.planId });
        clock.set(Z('2027-01-15T00:00:00Z'));
        const early = await send([job('held-0', '2027-01-10T10:00:00Z', 5, { subscriptionId: sub.id })]);
        expect(early.body.accepted).toBe(1);
        clock.set(Z('2027-02-07T00:00:00Z')); // its first period (6 Jan → 6 Feb) has ended
        const holder = new pg.Client({ connectionString: PG_URL });
        await holder.connect();
        const watcher = new pg.Client({ connectionString: PG_URL });
        await watcher.connect();
        /** The backend waiting for a lock `blocker` holds (polled). */
        let done = false;
        const blockedBy = async (blocker: number): Promise<number> => {
          for (let i = 0; i < 600 && !done; i++) {
            // a second connection: statistics views stand still inside the holder's transaction
            const r = await watcher.query(
              'SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))',
              [blocker],
            );
            if (r.rows.length > 0) return r.rows[0].pid as number;
            await new Promise((res) => setTimeout(res, 50));
          }
          if (done) return -1;
          throw new Error(`nothing ever waited for backend ${blocker}`);
        };
        try {
          await holder.query(`SET search_path TO ${store.schema}`);
          await holder.query(
            'INSERT INTO invoice_sequences (provider_id, next_number) VALUES ($1, 1) ON CONFLICT DO NOTHING',
            [a.providerId],
          );
          const self = (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
          await holder.query('BEGIN');
          await holder.query('SELECT * FROM invoice_sequences WHERE provider_id = $1 FOR UPDATE', [
            a.providerId,
          ]);
          const run = billing.run({ subscriptionId: sub.id });
          // the run has rated the period and waits for its invoice number
          const billingPid = await blockedBy(self);
          const late = send([job('held-1', '2027-01-20T10:00:00Z', 7, { subscriptionId: sub.id })]);
          // the event waits for the subscription the run holds (answering first is the bug)
          const first = await Promise.race([
            blockedBy(billingPid).then(() => 'waited'),
            late.then(() => 'answered while the invoice was being written'),
          ]);
          expect(first).toBe('waited');
          await holder.query('COMMIT');
          expect((await run).created).toBe(1);
          const answer = await late;
          expect(answer.body.accepted).toBe(0);
          expect(answer.body.refused).toEqual([
            expect.objectContaining({ id: 'held-1', code: 'PERIOD_INVOICED' }),
          ]);
          const [summary] = (await billing.listInvoices({ subscriptionId: sub.id })).items;
          const invoice = await billing.getInvoice(summary!.id);
          expect(invoice.lines.find((l) => l.dimension === 'jobs')?.quantity).toBe('5');
        } finally {
          done = true;
          await holder.query('ROLLBACK').catch(() => undefined);
          await holder.end();
          await watcher.end();
        }
      },
      60_000,
    );
  });
}
