/**
 * Webhook signing secrets are sealed at rest, on SQLite and PostgreSQL: a dump of the
 * database (every column of every endpoint row; for SQLite the file bytes themselves) does
 * not contain the secret, yet deliveries still verify with the provider's secret. Rows
 * written in clear before migration 014 are sealed by the start-up step and keep signing
 * with the same secret; another installation secret cannot open them (no clear fallback).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { createWebhooks, verifySignature } from '../../src/webhooks/index.js';
import { testOutbound } from '../helpers/outbound.js';
import { testStores } from '../helpers/stores.js';

const KEY = 'installation-secret-for-this-test';

async function receiver() {
  const got: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { got, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` };
}

/** Everything the database holds about webhook endpoints, as a backup would hold it. */
async function dump(store: Store): Promise<string> {
  const rows = await store.db.selectFrom('webhook_endpoints').selectAll().execute();
  let text = JSON.stringify(rows);
  if (store.dialect === 'sqlite') {
    await sql`pragma wal_checkpoint(TRUNCATE)`.execute(store.db);
    const file = store.url.replace(/^sqlite:/, '');
    for (const f of [file, `${file}-wal`]) if (existsSync(f)) text += readFileSync(f).toString('latin1');
  }
  return text;
}

for (const kind of await testStores()) {
  describe(`webhook secrets sealed at rest (${kind.name})`, () => {
    let store: Store;
    let rx: Awaited<ReturnType<typeof receiver>>;
    const clock = new ManualClock(Date.UTC(2026, 5, 1));
    const nowSec = () => Math.floor(clock.now() / 1000);
    const make = (secretKey: string, log = silentLogger) =>
      createWebhooks({ outbound: testOutbound(), store, clock, log, secretKey, timeoutMs: 2000 });

    beforeAll(async () => {
      store = await kind.open();
      rx = await receiver();
      await store.db.insertInto('providers').values({ id: 'prv_s', name: 'Seller', created_at: 0 }).execute();
    });
    afterAll(async () => {
      await new Promise((r) => rx.server.close(r));
      await store?.close();
    });

    it('a dump does not reveal the secret; deliveries verify with it', async () => {
      const hooks = make(KEY);
      const chosen = `own-secret-${'x'.repeat(20)}`;
      const generated = await hooks.addEndpoint('prv_s', { url: rx.url });
      const given = await hooks.addEndpoint('prv_s', { url: rx.url, secret: chosen });
      const rotated = await hooks.addEndpoint('prv_s', { url: rx.url });
      const { secret: afterRotation } = await hooks.rotateSecret(rotated.id);
      const updated = await hooks.addEndpoint('prv_s', { url: rx.url });
      const newOwn = `changed-secret-${'y'.repeat(20)}`;
      await hooks.updateEndpoint(updated.id, { secret: newOwn });

      const text = await dump(store);
      for (const s of [generated.secret, chosen, rotated.secret, afterRotation, newOwn]) {
        expect(text).not.toContain(s);
        expect(text).not.toContain(s.slice(6, 26)); // not even a fragment
      }

      rx.got.length = 0;
      await hooks.emit('prv_s', 'invoice.paid', { n: 1 });
      expect(await hooks.deliverDue()).toEqual({ delivered: 4, retrying: 0, failed: 0 });
      const secrets = [generated.secret, chosen, afterRotation, newOwn];
      for (const g of rx.got) {
        const header = g.headers['tollgate-signature'] as string;
        const matching = secrets.filter((s) => verifySignature(header, g.body, s, { nowSec: nowSec() }).ok);
        expect(matching).toHaveLength(1);
      }
      // Each endpoint's delivery verifies with its own secret, and only with it.
      expect(new Set(rx.got.map((g) => g.headers['tollgate-signature'])).size).toBe(4);
      for (const ep of [generated, given, rotated, updated]) await hooks.removeEndpoint(ep.id);
      await store.db.deleteFrom('webhook_outbox').execute();
    });

    it('seals rows written in clear before migration 014, which keep signing with their secret', async () => {
      const legacy = `whsec_legacy_${'l'.repeat(24)}`;
      await store.db
        .insertInto('webhook_endpoints')
        .values({
          id: 'whk_legacy',
          provider_id: 'prv_s',
          url: rx.url,
          secret: legacy,
          secret_sealed: null,
          enabled: 1,
          created_at: 0,
          updated_at: 0,
        })
        .execute();
      expect(await dump(store)).toContain(legacy);

      const hooks = make(KEY);
      expect(await hooks.sealStoredSecrets()).toBe(1);
      expect(await hooks.sealStoredSecrets()).toBe(0); // once
      const row = await store.db
        .selectFrom('webhook_endpoints')
        .selectAll()
        .where('id', '=', 'whk_legacy')
        .executeTakeFirstOrThrow();
      expect(row.secret).toBe('');
      expect(row.secret_sealed).toMatch(/^v1\./);
      expect(await dump(store)).not.toContain(legacy);

      rx.got.length = 0;
      await hooks.emit('prv_s', 'invoice.paid', { n: 2 });
      expect(await hooks.deliverDue()).toEqual({ delivered: 1, retrying: 0, failed: 0 });
      const [g] = rx.got;
      expect(
        verifySignature(g!.headers['tollgate-signature'] as string, g!.body, legacy, { nowSec: nowSec() }).ok,
      ).toBe(true);
    });

    it('another installation secret cannot open them: nothing is sent, the fault is logged', async () => {
      const lines: Array<{ level: number; msg: string }> = [];
      const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
      const hooks = make('a-different-installation-secret', log);
      rx.got.length = 0;
      const eventId = await hooks.emit('prv_s', 'invoice.paid', { n: 3 });
      expect(await hooks.deliverDue()).toEqual({ delivered: 0, retrying: 1, failed: 0 });
      expect(rx.got).toHaveLength(0);
      const [d] = await hooks.listDeliveries('prv_s', { eventId });
      expect(d!.lastError).toBe('signing secret cannot be opened');
      expect(lines.some((l) => l.level >= 50 && /signing secret cannot be opened/.test(l.msg))).toBe(true);
    });
  });
}
