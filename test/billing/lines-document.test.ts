/**
 * Invoice lines a buyer can check with a calculator: the HTML document and the PDF that the
 * real headless Chromium prints from it are read back as text, and every line is redone by
 * hand — quantity × unit price (at its scale) = amount, rounded half up to the cent — and
 * the lines add up to the total. Per unit with included units, package, graduated tiers
 * with a flat fee, a minimum true-up, and a prorated final period.
 */
import { existsSync } from 'node:fs';
import { Decimal } from 'decimal.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Billing, createBilling, type Invoice } from '../../src/billing/index.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { pdfRows } from '../helpers/pdf-text.js';
import { IN_CI, sqliteStore } from '../helpers/stores.js';
import * as fx from './fixtures.js';

const chromium = process.env.TOLLGATE_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(chromium);
if (!haveChromium && IN_CI) throw new Error(`Chromium is required under CI but missing at ${chromium}`);

const U = Date.UTC;

/** A document row as a reader sees it: quantity, unit price, amount. */
interface Row {
  quantity: string;
  unitPrice: string;
  amount: string;
}

const MONEY = /^([A-Z]{3}) (-?[\d,]+(?:\.\d+)?)$/;
const PRICE = /^([A-Z]{3}) (-?[\d,]+(?:\.\d+)?)(?: per (?:([\d,]+) )?(.+))?$/;
const num = (s: string) => new Decimal(s.replace(/,/g, ''));

/** Redoes a row by hand; returns the amount (as a Decimal) after checking it. */
function reconcile(row: Row): Decimal {
  const amount = MONEY.exec(row.amount);
  const price = PRICE.exec(row.unitPrice);
  expect(amount, `amount "${row.amount}"`).not.toBeNull();
  expect(price, `unit price "${row.unitPrice}"`).not.toBeNull();
  const [n, d] = row.quantity.split('/');
  expect(row.quantity, 'a quantity is a number or a fraction').toMatch(/^[\d,]+(\.\d+)?(\/\d+)?$/);
  const quantity = d === undefined ? num(n!) : num(n!).div(d);
  const per = price![3] ? num(price![3]) : new Decimal(1);
  const decimals = amount![2]!.split('.')[1]?.length ?? 0;
  const byHand = quantity.times(num(price![2]!)).div(per).toFixed(decimals, Decimal.ROUND_HALF_UP);
  expect(`${amount![1]} ${byHand}`, `${row.quantity} × ${row.unitPrice}`).toBe(
    `${amount![1]} ${num(amount![2]!).toFixed(decimals)}`,
  );
  return num(amount![2]!);
}

/** The line rows of the HTML document: the cells of each body row, tags stripped. */
function htmlRows(html: string): { rows: Row[]; total: string } {
  const text = (s: string) =>
    s
      .replace(/<div class="src">[\s\S]*?<\/div>/g, '')
      .replace(/<[^>]+>/g, '')
      .replace(/&amp;/g, '&')
      .trim();
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(html)![1]!;
  const rows = [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((tr) => {
    const cells = [...tr[1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => text(c[1]!));
    return { quantity: cells[1]!, unitPrice: cells[2]!, amount: cells[3]! };
  });
  const total = /Total<\/td><td class="num">([^<]+)</.exec(html)![1]!;
  return { rows, total };
}

/** The line rows of the PDF: rows of four cells whose last is an amount. */
function pdfLineRows(pdf: Buffer): { rows: Row[]; total: string } {
  const all = pdfRows(pdf);
  const rows = all
    .filter((r) => r.length === 4 && MONEY.test(r[3]!))
    .map((r) => ({ quantity: r[1]!, unitPrice: r[2]!, amount: r[3]! }));
  const total = all.find((r) => r[0] === 'Total')?.[1] ?? '';
  return { rows, total };
}

function checkDocument(doc: { rows: Row[]; total: string }, inv: Invoice) {
  expect(doc.rows).toHaveLength(inv.lines.length);
  let sum = new Decimal(0);
  for (const row of doc.rows) sum = sum.plus(reconcile(row));
  expect(`${inv.currency} ${sum.toFixed(2)}`).toBe(doc.total.replace(/,/g, ''));
}

describe('invoice lines reconcile by hand in HTML and PDF', () => {
  let store: Store;
  let billing: Billing;
  const clock = new ManualClock(U(2026, 0, 1));
  let full: Invoice;
  let final: Invoice;

  beforeAll(async () => {
    store = await sqliteStore.open();
    await fx.provider(store);
    await fx.plan(store, 'pln_mix', 'prv_acme', 'Mixed');
    await fx.consumer(store, 'con_a', 'Buyer');
    billing = createBilling({ store, clock, log: silentLogger });
    await billing.setPrice(
      'pln_mix',
      {
        currency: 'USD',
        recurringFee: '49',
        charges: [
          // 0.00002 a character = USD 0.02 per 1,000 characters, 1,000 included
          { model: 'per_unit', dimension: 'characters', unitPrice: '0.00002', includedUnits: 1000 },
          { model: 'package', dimension: 'pages', packageSize: 100, packagePrice: '1.50', includedUnits: 20 },
          {
            model: 'graduated',
            dimension: 'requests',
            tiers: [
              { upTo: 1000, unitPrice: '0.0035' },
              { upTo: 10000, unitPrice: '0.0021', flatFee: '2' },
              { upTo: null, unitPrice: '0.0007' },
            ],
          },
          { model: 'per_unit', dimension: 'searches', unitPrice: '0.013', minimum: '25' },
        ],
      },
      'test',
    );
    for (const id of ['sub_full', 'sub_final'])
      await fx.subscription(store, { id, consumerId: 'con_a', planId: 'pln_mix', startedAt: U(2026, 0, 1) });
    const rows: fx.UsageRow[] = [];
    const use = (sub: string, hour: number, dimension: string, units: number) =>
      rows.push({ subscription_id: sub, key_id: 'k', api_id: 'a', dimension, hour, units, requests: units });
    use('sub_full', U(2026, 0, 3), 'characters', 1_234_567);
    use('sub_full', U(2026, 0, 4), 'pages', 777);
    use('sub_full', U(2026, 0, 5), 'requests', 12_345);
    use('sub_full', U(2026, 0, 6), 'searches', 321);
    use('sub_final', U(2026, 0, 3), 'characters', 999);
    use('sub_final', U(2026, 0, 4), 'searches', 100);
    await fx.usage(store, rows);
    clock.set(U(2026, 1, 2));
    const r = await billing.run({ subscriptionId: 'sub_full', finalize: true });
    full = await billing.getInvoice(r.invoiceIds[0]!);
    // cancelled 11 Jan 06:00: 10¼ of 31 days of the fee and of the minimum
    const c = await billing.closeSubscription('sub_final', U(2026, 0, 11, 6));
    final = await billing.getInvoice(c.invoiceIds[0]!);
  });
  afterAll(async () => {
    await billing?.close();
    await store?.close();
  });

  it('states every line so that quantity × unit price = amount, in the JSON too', () => {
    const lines = full.lines.map((l) => [
      l.description,
      l.calc?.quantity,
      l.calc && `${l.calc.price}/${l.calc.per} ${l.calc.unit}`,
      l.amount,
    ]);
    expect(lines).toEqual([
      ['Mixed: monthly fee', '1', '49.00/1 month', '49.00'],
      ['characters: 1,000 of 1,000 included', '1000', '0.00/1 characters', '0.00'],
      // 1,233,567 × 0.02 / 1,000 = 24.67134 → 24.67
      ['characters', '1233567', '0.02/1000 characters', '24.67'],
      ['pages: 20 of 20 included', '20', '0.00/1 pages', '0.00'],
      // 757 billed → 8 started packages × 1.50 = 12.00
      ['pages: 8 × 100 pages', '8', '1.50/1 package of 100 pages', '12.00'],
      // 1,000 × 0.0035 = 3.50; 9,000 × 0.0021 = 18.90 (+ 2.00 flat); 2,345 × 0.0007 = 1.6415 → 1.64
      ['requests: tier 1, 1–1,000', '1000', '3.50/1000 requests', '3.50'],
      ['requests: tier 2, 1,001–10,000', '9000', '2.10/1000 requests', '18.90'],
      ['requests: tier 2 flat fee', '1', '2.00/1 ', '2.00'],
      ['requests: tier 3, 10,001–12,345', '2345', '0.70/1000 requests', '1.64'],
      // 321 × 0.013 = 4.173 → 4.17; minimum 25 → true-up 20.83
      ['searches', '321', '13.00/1000 searches', '4.17'],
      ['searches: minimum USD 25.00 per month = USD 25.00, less USD 4.17 billed', '1', '20.83/1 ', '20.83'],
    ]);
    expect(full.total).toBe('136.71');
    // the usage quantities of a dimension still add up to its metered usage
    const units = (dim: string) =>
      full.lines
        .filter((l) => l.dimension === dim && l.kind === 'usage')
        .reduce((n, l) => n + Number(l.quantity), 0);
    expect([units('characters'), units('pages'), units('requests'), units('searches')]).toEqual([
      1_234_567, 777, 12_345, 321,
    ]);
  });

  it('prorates a final period with its dates and fraction', () => {
    // 1 Jan → 11 Jan 06:00 = 10 days 6 hours = 885,600 s of 2,678,400 s (31 days):
    // 49 × that = 16.2016… → 16.20; minimum 25 × that = 8.2661… → 8.27, less 100 × 0.013
    // = 1.30 → true-up 6.97
    expect(final.lines.map((l) => [l.kind, l.calc?.quantity, l.amount, l.calc?.note])).toEqual([
      ['recurring', '885600/2678400', '16.20', '2026-01-01 to 2026-01-11: 885,600 of 2,678,400 seconds'],
      ['usage', '999', '0.00', null],
      ['usage', '0', '0.00', '999 used, 1,000 included'],
      ['usage', '0', '0.00', '0 pages billed (0 used, 20 included), in started packages'],
      ['usage', '0', '0.00', null],
      ['usage', '100', '1.30', null],
      ['minimum', '1', '6.97', null],
    ]);
    expect(final.lines.at(-1)!.description).toBe(
      'searches: minimum USD 25.00 per month × 885600/2678400 = USD 8.27, less USD 1.30 billed',
    );
    expect(final.total).toBe('24.47'); // 16.20 + 1.30 + 6.97
  });

  it('the HTML document reconciles line by line and in total', async () => {
    for (const inv of [full, final]) {
      const html = await billing.renderHtml(inv.id);
      checkDocument(htmlRows(html), inv);
    }
    const html = await billing.renderHtml(full.id);
    expect(html).toContain('USD 0.02 per 1,000 characters');
    expect(html).toContain('1,234,567 used, 1,000 included');
  });

  it.skipIf(!haveChromium)(
    'the PDF reconciles line by line and in total',
    async () => {
      for (const inv of [full, final]) {
        const pdf = await billing.renderPdf(inv.id);
        const doc = pdfLineRows(pdf);
        checkDocument(doc, inv);
        // the PDF says what the HTML says
        expect(doc.rows).toEqual(htmlRows(await billing.renderHtml(inv.id)).rows);
      }
      const rows = pdfRows(await billing.renderPdf(full.id)).map((r) => r.join(' | '));
      expect(rows).toContain('characters | 1,233,567 | USD 0.02 per 1,000 characters | USD 24.67');
    },
    120_000,
  );
});
