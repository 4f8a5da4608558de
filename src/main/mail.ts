/**
 * The operator's mail hook — a structured `mail` log line their log shipper turns into
 * mail — and what goes through it for billing: the buyer's "your invoice is ready" when an
 * invoice is finalized (by the scheduler, the admin API or the console alike).
 */
import type { InvoiceSummary } from '../billing/index.js';
import { formatMoney } from '../billing/index.js';
import type { Logger } from '../shared/index.js';
import type { Store } from '../store/index.js';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

export type Mail = (msg: MailMessage) => void | Promise<void>;

export function mailHook(log: Logger): Mail {
  return (msg) => log.info({ mail: { to: msg.to, subject: msg.subject }, text: msg.text }, 'mail');
}

/** onFinalized listener: mails the buyer (when they have an address) a link to the invoice. */
export function invoiceMailer(store: Store, mail: Mail, publicUrl: string | undefined) {
  return async (inv: InvoiceSummary): Promise<void> => {
    const row = await store.db
      .selectFrom('consumers')
      .innerJoin('providers', (j) => j.on('providers.id', '=', inv.providerId))
      .select(['consumers.email', 'consumers.name', 'providers.name as provider'])
      .where('consumers.id', '=', inv.consumerId)
      .executeTakeFirst();
    if (!row?.email) return;
    const link = `${publicUrl ?? ''}/account/invoices/${inv.id}`;
    await mail({
      to: row.email,
      subject: `Invoice ${inv.number} from ${row.provider}: ${formatMoney(inv.total, inv.currency)}`,
      text: [
        `Hello ${row.name},`,
        '',
        `${row.provider} has issued invoice ${inv.number} for ${inv.periodStart.slice(0, 10)} to ${inv.periodEnd.slice(0, 10)}.`,
        `Total: ${formatMoney(inv.total, inv.currency)}.`,
        '',
        `See it and download the PDF: ${link}`,
      ].join('\n'),
    });
  };
}
