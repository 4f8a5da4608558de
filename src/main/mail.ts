/**
 * Outgoing mail and what goes through it for billing: the buyer's "your invoice is ready"
 * when an invoice is finalized (by the scheduler, the admin API or the console alike).
 *
 * Tollgate sends no mail itself: it spools each message as one RFC 5322 file,
 * `<data dir>/mail/<time>-<random>.eml` (directory 0700, file 0600: a message may hold a
 * password-reset link), written to a temporary name and renamed, so a relay that picks the
 * directory up (a cron job with `sendmail -t`, a mail shipper) never reads half a message.
 * The log says only that a message was queued — recipient, subject and file name, never
 * the body.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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

/** The outbox under the data directory: `<dataDir>/mail`. */
export const mailDir = (dataDir: string): string => join(dataDir, 'mail');

/** Spools each message into `dir` as `<id>.eml`; logs recipient, subject and id only. */
export function mailOutbox(dir: string, log: Logger): Mail {
  return async (msg) => {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const now = new Date();
    const id = `${now.toISOString().replace(/[-:.]/g, '')}-${randomBytes(6).toString('hex')}`;
    const file = join(dir, `${id}.eml`);
    await writeFile(`${file}.tmp`, renderEml(msg, id, now), { mode: 0o600 });
    await rename(`${file}.tmp`, file);
    log.info({ mail: { id, to: msg.to, subject: msg.subject } }, 'mail queued');
  };
}

/** A plain-text RFC 5322 message; header values lose any line break (no header injection). */
export function renderEml(msg: MailMessage, id: string, date: Date): string {
  const one = (v: string) => v.replace(/[\r\n]+/g, ' ');
  const subject = /^[\x20-\x7e]*$/.test(one(msg.subject))
    ? one(msg.subject)
    : `=?UTF-8?B?${Buffer.from(one(msg.subject)).toString('base64')}?=`; // RFC 2047
  return [
    `To: ${one(msg.to)}`,
    `Subject: ${subject}`,
    `Date: ${date.toUTCString()}`,
    `Message-ID: <${id}@tollgate>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    msg.text.replace(/\r?\n/g, '\r\n'),
    '',
  ].join('\r\n');
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
