/**
 * Bad prices over the admin API: each answers 400 problem+json naming the bad field, and
 * nothing is written (no price version, no audit row). A provider cannot price another's
 * plan. Real socket, SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../../../src/catalog/index.js';
import { testStores } from '../../helpers/stores.js';
import { type Harness, startHarness } from './harness.js';

const perUnit = (over: Record<string, unknown> = {}) => ({
  model: 'per_unit',
  dimension: 'requests',
  unitPrice: '0.00035',
  ...over,
});

const cases: Array<{ name: string; body: unknown; field: string; message?: RegExp }> = [
  {
    name: 'a unit price as a JSON number (float) instead of a decimal string',
    body: { currency: 'USD', charges: [perUnit({ unitPrice: 0.00035 })] },
    field: 'charges[0].unitPrice',
  },
  {
    name: 'a negative recurring fee',
    body: { currency: 'USD', recurringFee: '-5.00' },
    field: 'recurringFee',
    message: /non-negative decimal string/,
  },
  {
    name: 'a negative unit price',
    body: { currency: 'USD', charges: [perUnit({ unitPrice: '-0.1' })] },
    field: 'charges[0].unitPrice',
  },
  {
    name: 'an unknown currency',
    body: { currency: 'XYZ' },
    field: 'currency',
    message: /ISO 4217/,
  },
  {
    name: 'a JPY fee finer than a yen (JPY has no minor unit)',
    body: { currency: 'JPY', recurringFee: '0.5' },
    field: 'recurringFee',
    message: /JPY has no smaller unit: 0\.5 cannot be charged/,
  },
  {
    name: 'a USD package price in tenths of a cent',
    body: {
      currency: 'USD',
      charges: [{ model: 'package', dimension: 'requests', packageSize: 1000, packagePrice: '0.125' }],
    },
    field: 'charges[0].packagePrice',
    message: /USD amounts have at most 2 decimals/,
  },
  {
    name: 'a KWD minimum with four decimals',
    body: { currency: 'KWD', charges: [perUnit({ minimum: '1.2345' })] },
    field: 'charges[0].minimum',
    message: /at most 3 decimals/,
  },
  {
    name: "a tier's flat fee finer than a cent",
    body: {
      currency: 'EUR',
      charges: [
        {
          model: 'graduated',
          dimension: 'requests',
          tiers: [
            { upTo: 10, unitPrice: '0.001' },
            { upTo: null, unitPrice: '0.0005', flatFee: '1.005' },
          ],
        },
      ],
    },
    field: 'charges[0].tiers[1].flatFee',
  },
  {
    name: 'an unknown top-level field',
    body: { currency: 'USD', colour: 'red' },
    field: 'colour',
    message: /unknown field/,
  },
  {
    name: 'an unknown field inside a charge',
    body: { currency: 'USD', charges: [perUnit({ discount: '10%' })] },
    field: 'charges[0].discount',
    message: /unknown field/,
  },
  {
    name: 'an unknown field inside a tier',
    body: {
      currency: 'USD',
      charges: [
        {
          model: 'graduated',
          dimension: 'requests',
          tiers: [
            { upTo: 1000, unitPrice: '0' },
            { upTo: null, unitPrice: '0.001', colour: 'red' },
          ],
        },
      ],
    },
    field: 'charges[0].tiers[1].colour',
    message: /unknown field/,
  },
  {
    name: 'a tier bound that does not increase',
    body: {
      currency: 'USD',
      charges: [
        {
          model: 'volume',
          dimension: 'requests',
          tiers: [
            { upTo: 1000, unitPrice: '0.002' },
            { upTo: 1000, unitPrice: '0.001' },
            { upTo: null, unitPrice: '0.0005' },
          ],
        },
      ],
    },
    field: 'charges[0].tiers[1].upTo',
  },
  { name: 'no currency at all', body: {}, field: 'currency' },
  { name: 'a trial of 400 days', body: { currency: 'USD', trialDays: 400 }, field: 'trialDays' },
];

for (const kind of await testStores()) {
  describe(`billing admin API: prices (${kind.name})`, () => {
    let h: Harness;

    beforeAll(async () => {
      h = await startHarness(kind);
    });
    afterAll(async () => {
      await h?.close();
    });

    async function nothingWritten() {
      const prices = await h.store.db.selectFrom('prices').select('id').execute();
      const audit = await h.store.db
        .selectFrom('audit_log')
        .select('id')
        .where('action', '=', 'price.set')
        .execute();
      expect(prices).toEqual([]);
      expect(audit).toEqual([]);
      expect((await h.call('GET', `/plans/${h.a.planId}/price`, { token: h.a.token })).status).toBe(404);
      expect(
        (await h.call('GET', `/plans/${h.a.planId}/price/history`, { token: h.a.token })).body.items,
      ).toEqual([]);
    }

    for (const c of cases) {
      it(`refuses ${c.name}: 400 naming ${c.field}`, async () => {
        const r = await h.call('PUT', `/plans/${h.a.planId}/price`, { token: h.a.token, body: c.body });
        expect(r.status).toBe(400);
        expect(r.headers.get('content-type')).toBe('application/problem+json');
        expect(r.body.code).toBe('VALIDATION_FAILED');
        const issue = r.body.errors.find((e: { field: string }) => e.field === c.field);
        expect(issue, JSON.stringify(r.body.errors)).toBeDefined();
        if (c.message) expect(issue.message).toMatch(c.message);
        expect(r.body.detail).toContain(c.field);
        await nothingWritten();
      });
    }

    it('refuses a body that is not JSON, and an unknown plan', async () => {
      const raw = await h.call('PUT', `/plans/${h.a.planId}/price`, {
        token: h.a.token,
        raw: '{"currency": "USD",',
        headers: { 'content-type': 'application/json' },
      });
      expect(raw.status).toBe(400);
      expect(raw.body.code).toBe('BAD_JSON');
      const missing = await h.call('PUT', '/plans/pln_01JD3Q3R9ZK0V5TQ8Y0S2M4N6P/price', {
        body: { currency: 'USD' },
      });
      expect(missing.status).toBe(404);
      await nothingWritten();
    });

    it("refuses to price another provider's plan (404, as if it did not exist)", async () => {
      const r = await h.call('PUT', `/plans/${h.a.planId}/price`, {
        token: h.b.token,
        body: { currency: 'USD', recurringFee: '1' },
      });
      expect(r.status).toBe(404);
      expect(r.body.code).toBe('NOT_FOUND');
      await nothingWritten();
    });

    it('accepts unit prices finer than the minor unit: the line amount is what rounds', async () => {
      // 0.00002 USD a character, 0.3 JPY a request: multiplied by a quantity, then rounded once
      const r = await h.call('PUT', `/plans/${h.b.planId}/price`, {
        token: h.b.token,
        body: { currency: 'JPY', recurringFee: '1500', charges: [perUnit({ unitPrice: '0.3' })] },
      });
      expect(r.status).toBe(200);
    });

    it("refuses a charge on a dimension the plan's routes do not meter, spelled differently or at all", async () => {
      const api = await h.catalog.apis.create(SYSTEM, {
        providerId: h.a.providerId,
        name: 'Texts',
        upstreamUrl: 'http://127.0.0.1:9',
        pathPrefix: '/texts-dimensions',
        routes: [{ method: 'POST', path: '/analyse', dimension: 'characters', units: 1 }],
      });
      const plan = await h.catalog.plans.create(SYSTEM, {
        providerId: h.a.providerId,
        name: 'Texts plan',
        apiIds: [api.id],
      });
      const put = (body: unknown) => h.call('PUT', `/plans/${plan.id}/price`, { token: h.a.token, body });
      const caseWrong = await put({ currency: 'USD', charges: [perUnit({ dimension: 'Characters' })] });
      expect(caseWrong.status).toBe(400);
      expect(caseWrong.headers.get('content-type')).toBe('application/problem+json');
      expect(caseWrong.body.errors).toEqual([
        {
          field: 'charges[0].dimension',
          message: `no route of this plan's APIs meters "Characters"; they meter "characters" (dimensions are case-sensitive)`,
        },
      ]);
      const unknown = await put({ currency: 'USD', charges: [perUnit({ dimension: 'tokens' })] });
      expect(unknown.status).toBe(400);
      expect(unknown.body.errors[0]).toMatchObject({
        field: 'charges[0].dimension',
        message: expect.stringContaining('(they meter: characters)'),
      });
      expect(
        await h.store.db.selectFrom('prices').select('id').where('plan_id', '=', plan.id).execute(),
      ).toEqual([]);
      // metered on its routes, or declared as usage sent another way: accepted
      expect((await put({ currency: 'USD', charges: [perUnit({ dimension: 'characters' })] })).status).toBe(
        200,
      );
      const declared = await put({
        currency: 'USD',
        declaredDimensions: ['tokens'],
        charges: [perUnit({ dimension: 'characters' }), perUnit({ dimension: 'tokens' })],
      });
      expect(declared.status).toBe(200);
    });

    it('accepts a good price once all is well, and keeps each version', async () => {
      const v1 = await h.call('PUT', `/plans/${h.a.planId}/price`, {
        token: h.a.token,
        body: { currency: 'KWD', recurringFee: '1.250', charges: [perUnit({ unitPrice: '0.0005' })] },
      });
      expect(v1.status).toBe(200);
      h.clock.advance(1000);
      const v2 = await h.call('PUT', `/plans/${h.a.planId}/price`, {
        body: { currency: 'KWD', recurringFee: '1.500' },
      });
      expect(v2.body.version).toBe(2);
      const history = await h.call('GET', `/plans/${h.a.planId}/price/history`, { token: h.a.token });
      expect(
        history.body.items.map((p: { price: { recurringFee: string } }) => p.price.recurringFee),
      ).toEqual(['1.250', '1.500']);
      expect((await h.call('GET', `/plans/${h.a.planId}/price`, { token: h.a.token })).body.version).toBe(2);
    });

    it('refuses a new version in another currency while the plan has live subscriptions', async () => {
      // plan a has one active subscription, billed in KWD (the versions above)
      const r = await h.call('PUT', `/plans/${h.a.planId}/price`, {
        token: h.a.token,
        body: { currency: 'USD', recurringFee: '5' },
      });
      expect(r.status).toBe(400);
      expect(r.body.errors).toEqual([
        {
          field: 'currency',
          message:
            '1 live subscription is billed in KWD on this plan; a new price cannot change it to USD (create a new plan in USD instead)',
        },
      ]);
      expect((await h.call('GET', `/plans/${h.a.planId}/price`, { token: h.a.token })).body.version).toBe(2);
      // once the subscription is cancelled, nothing live is billed in KWD: the plan may change currency
      await h.store.db
        .updateTable('subscriptions')
        .set({ status: 'cancelled' })
        .where('id', '=', h.a.subscriptionId)
        .execute();
      const after = await h.call('PUT', `/plans/${h.a.planId}/price`, {
        token: h.a.token,
        body: { currency: 'USD', recurringFee: '5' },
      });
      expect(after.status).toBe(200);
    });
  });
}
