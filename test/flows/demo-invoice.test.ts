/**
 * The demo shows a newcomer a finalized invoice: `tollgate serve --demo` dates the demo
 * subscription back a month, records a few days of usage and bills that period through the
 * ordinary path. The buyer finds the invoice in the portal, and its total is the seeded
 * usage × the Starter price, by hand. Mail (the invoice notice, a password reset) goes to
 * the outbox under the data directory, readable by its owner only; the log names the
 * message but never shows its body.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServeProcess, startServe } from '../helpers/process.js';
import { Browserless } from '../portal/harness.js';

describe('the demo', () => {
  let serve: ServeProcess;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-demo-invoice-'));
    serve = await startServe([
      '--demo',
      ...['--gateway-port', '0', '--console-port', '0'],
      ...['--data-dir', join(dir, 'data'), '--database-url', `sqlite:${join(dir, 'data', 'tollgate.db')}`],
      ...['--public-url', 'http://portal.example'],
    ]);
    const until = Date.now() + 120_000;
    while (!serve.output().includes('Without a key:')) {
      if (Date.now() > until) throw new Error(`the demo printed no instructions:\n${serve.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 180_000);
  afterAll(async () => {
    await serve?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('seeds a finalized invoice the buyer sees in the portal', async () => {
    const b = new Browserless(serve.consoleUrl!);
    const r = await b.login('buyer@example.com', 'tollgate-demo');
    expect(r.status).toBe(303);
    const list = await b.get('/account/invoices');
    const row = /<tr data-invoice="(inv_[0-9A-Z]+)">([\s\S]*?)<\/tr>/.exec(list.text);
    expect(row, list.text).not.toBeNull();
    expect(row![2]).toContain('open');
    // requests 140 + 95 + 12 + 230 = 477, 100 included → 377 × 0.0005 = 0.1885 → 0.19;
    // characters 5,400 → 6 packages of 1,000 × 0.02 = 0.12; total 0.31
    expect(row![2]).toContain('USD 0.31');
    const page = await b.get(`/account/invoices/${row![1]}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('INV-000001');
  });

  it('spools a password-reset mail to the outbox (0600) and logs only its envelope', async () => {
    const outbox = join(dir, 'data', 'mail');
    const mails = () => {
      try {
        return readdirSync(outbox).filter((f) => f.endsWith('.eml'));
      } catch {
        return []; // ENOENT: nothing queued yet
      }
    };
    const before = mails();
    const b = new Browserless(serve.consoleUrl!);
    await b.get('/reset');
    const r = await b.post('/reset', { email: 'buyer@example.com' });
    expect(r.text).toContain('Check your email');
    let queued = mails().filter((f) => !before.includes(f));
    for (let i = 0; i < 100 && queued.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      queued = mails().filter((f) => !before.includes(f));
    }
    expect(queued).toHaveLength(1);
    const file = join(outbox, queued[0]!);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const eml = readFileSync(file, 'utf8');
    expect(eml).toMatch(/^To: buyer@example\.com\r\nSubject: Reset your Tollgate password\r\n/);
    const link = /http:\/\/portal\.example\/reset\/(\S+)/.exec(eml);
    expect(link, eml).not.toBeNull();
    const id = queued[0]!.replace(/\.eml$/, '');
    for (let i = 0; i < 100 && !serve.output().includes(id); i++) await new Promise((r) => setTimeout(r, 50));
    expect(serve.output()).toContain(id);
    expect(serve.output()).not.toContain(link![1]);
    expect(serve.output()).not.toContain('Open this link');
  });
});
