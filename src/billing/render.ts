/**
 * Invoice documents: a self-contained HTML page (no external resources; every text
 * escaped) and a PDF printed from it by headless Chromium (playwright-core driving the
 * system's /usr/bin/chromium). One browser is launched lazily and reused; `close()` ends it.
 */
import type { Browser } from 'playwright-core';
import type { Invoice, InvoiceLine } from './invoices.js';
import { groupDigits, priceText } from './lines.js';
import { formatMoney, minorUnits } from './money.js';

export interface Parties {
  provider: { name: string };
  consumer: { name: string; email: string | null };
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const day = (iso: string | null) => (iso ? iso.slice(0, 10) : '');
const hour = (iso: string | null) => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : '');

/**
 * The columns of an invoice line as documents and pages show them: the exact billed
 * quantity ("11,345", "22/31"), the unit price with its scale ("USD 0.02 per 1,000
 * characters") and how the quantity came about — quantity × unit price = amount. Lines
 * written before invoices carried a calc show their stored quantity and unit price.
 */
export function lineColumns(
  l: Pick<InvoiceLine, 'quantity' | 'unitPrice' | 'calc'>,
  currency: string,
): { quantity: string; unitPrice: string; note: string | null } {
  if (!l.calc) return { quantity: l.quantity, unitPrice: l.unitPrice ?? '', note: null };
  const q = l.calc.quantity.includes('/') ? l.calc.quantity : groupDigits(l.calc.quantity);
  return { quantity: q, unitPrice: priceText(l.calc, currency), note: l.calc.note };
}

export function invoiceHtml(inv: Invoice, parties: Parties): string {
  const e = escapeHtml;
  const rows = inv.lines
    .map((l) => {
      const c = lineColumns(l, inv.currency);
      const note = c.note ? `<div class="src">${e(c.note)}</div>` : '';
      const source =
        l.usageFrom && l.usageTo
          ? `<div class="src">usage hours ${e(hour(l.usageFrom))} – ${e(hour(l.usageTo))} UTC</div>`
          : '';
      return `<tr>
  <td>${e(l.description)}${note}${source}</td>
  <td class="num">${e(c.quantity)}</td>
  <td class="num">${e(c.unitPrice)}</td>
  <td class="num">${e(formatMoney(l.amount, inv.currency))}</td>
</tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Invoice ${e(inv.number)}</title>
<style>
  body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 12px; color: #222; margin: 32px; }
  h1 { font-size: 22px; margin: 0 0 4px; }
  .meta { display: flex; justify-content: space-between; margin-bottom: 24px; }
  .status { text-transform: uppercase; font-weight: bold; letter-spacing: .05em; }
  table { width: 100%; border-collapse: collapse; }
  th, td { padding: 6px 8px; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
  th { background: #f4f4f4; }
  .num { text-align: right; white-space: nowrap; }
  .src { color: #777; font-size: 10px; }
  tfoot td { border: none; font-weight: bold; }
</style>
</head>
<body>
<div class="meta">
  <div>
    <h1>Invoice ${e(inv.number)}</h1>
    <div class="status">${e(inv.status)}</div>
    <div>Period ${e(day(inv.periodStart))} to ${e(day(inv.periodEnd))} (UTC)</div>
    <div>Issued ${e(day(inv.finalizedAt ?? inv.createdAt))}</div>
  </div>
  <div>
    <div><strong>From</strong> ${e(parties.provider.name)}</div>
    <div><strong>Bill to</strong> ${e(parties.consumer.name)}</div>
    ${parties.consumer.email ? `<div>${e(parties.consumer.email)}</div>` : ''}
    <div>Subscription ${e(inv.subscriptionId)}</div>
  </div>
</div>
<table>
<thead><tr><th>Description</th><th class="num">Quantity</th><th class="num">Unit price</th><th class="num">Amount</th></tr></thead>
<tbody>
${rows}
</tbody>
<tfoot>
<tr><td colspan="3" class="num">Subtotal</td><td class="num">${e(formatMoney(inv.subtotal, inv.currency))}</td></tr>
<tr><td colspan="3" class="num">Total</td><td class="num">${e(formatMoney(inv.total, inv.currency))}</td></tr>
</tfoot>
</table>
<p class="src">Each line: quantity × unit price = amount, rounded half up to the nearest ${e(minorText(inv.currency))}; a fraction is a share of a period (days, or seconds when a part day).</p>
</body>
</html>
`;
}

function minorText(currency: string): string {
  const n = minorUnits(currency);
  return n === 0 ? `1 ${currency}` : `${currency} ${(0).toFixed(n - 1)}1`;
}

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

export class PdfPrinter {
  private browser: Promise<Browser> | null = null;

  constructor(private readonly executablePath = process.env.TOLLGATE_CHROMIUM ?? '/usr/bin/chromium') {}

  private launch(): Promise<Browser> {
    if (!this.browser) {
      this.browser = import('playwright-core').then(({ chromium }) =>
        chromium.launch({ executablePath: this.executablePath, headless: true, args: CHROMIUM_ARGS }),
      );
      this.browser.catch(() => {
        this.browser = null;
      });
    }
    return this.browser;
  }

  async print(html: string): Promise<Buffer> {
    const browser = await this.launch();
    const context = await browser.newContext({ javaScriptEnabled: false, offline: true });
    try {
      const page = await context.newPage();
      await page.setContent(html, { waitUntil: 'load' });
      return await page.pdf({ format: 'A4', printBackground: true, margin: { top: '12mm', bottom: '12mm' } });
    } finally {
      await context.close();
    }
  }

  async close(): Promise<void> {
    const b = this.browser;
    this.browser = null;
    if (b) await (await b.catch(() => null))?.close();
  }
}
