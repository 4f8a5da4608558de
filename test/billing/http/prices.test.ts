/**
 * Bad prices over the admin API: each answers 400 problem+json naming the bad field, and
 * nothing is written (no price version, no audit row). A provider cannot price another's
 * plan. Real socket, SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  });
}
