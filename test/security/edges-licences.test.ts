/**
 * Licence admin writes are in the audit log, in the write's own transaction, on SQLite and
 * PostgreSQL, through the real admin API: issue, deployments, renew, revoke, key rotation and
 * retirement each leave one row naming the token that did it, readable by that provider and
 * the operator only, never holding the licence file. A refused audit row undoes the write.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStores } from '../helpers/stores.js';
import { DAY, type Harness, startHarness, T0 } from '../licences/http/harness.js';

const iso = (ms: number) => new Date(ms).toISOString();

for (const kind of await testStores()) {
  describe(`licence admin writes are audited (${kind.name})`, () => {
    let h: Harness;

    beforeAll(async () => {
      h = await startHarness(kind);
    });
    afterAll(async () => {
      await h?.close();
    });

    const issue = () =>
      h.call('POST', '/admin/v1/licences', {
        token: h.a.token,
        body: {
          productId: 'prd_nouns',
          consumerId: h.a.consumerId,
          deployments: 2,
          limits: { rateLimit: 10 },
          validFrom: iso(T0),
          validUntil: iso(T0 + 30 * DAY),
        },
      });

    it('records who issued, changed, renewed and revoked a licence, and rotated and retired keys', async () => {
      const issued = await issue();
      expect(issued.status, issued.text).toBe(201);
      const id = issued.body.id as string;
      expect(
        (
          await h.call('POST', `/admin/v1/licences/${id}/deployments`, {
            token: h.a.token,
            body: { deployments: 3 },
          })
        ).status,
      ).toBe(200);
      const first = (await h.call('GET', '/admin/v1/licence-keys', { token: h.a.token })).body.items[0].kid;
      expect((await h.call('POST', '/admin/v1/licence-keys/rotate', { token: h.a.token })).status).toBe(201);
      expect(
        (
          await h.call('POST', `/admin/v1/licences/${id}/renew`, {
            token: h.a.token,
            body: { validUntil: iso(T0 + 60 * DAY) },
          })
        ).status,
      ).toBe(200);
      expect((await h.call('POST', `/admin/v1/licences/${id}/revoke`, { token: h.a.token })).status).toBe(
        200,
      );
      expect(
        (await h.call('POST', `/admin/v1/licence-keys/${first}/retire`, { token: h.a.token })).status,
      ).toBe(200);

      const log = await h.call('GET', `/admin/v1/audit?entity=licence&entityId=${id}`, { token: h.a.token });
      expect(log.status).toBe(200);
      // The harness clock stands still, so the rows' order is not the writes' order.
      const byAction = Object.fromEntries(log.body.items.map((e: { action: string }) => [e.action, e]));
      expect(Object.keys(byAction).sort()).toEqual(['issue', 'renew', 'revoke', 'set_deployments']);
      expect(log.body.items).toHaveLength(4);
      const actors = new Set(log.body.items.map((e: { actor: string }) => e.actor));
      expect(actors.size).toBe(1);
      expect([...actors][0]).not.toBe('system');
      const { set_deployments: changed, revoke: revoked } = byAction;
      expect(changed.before.deployments).toBe(2);
      expect(changed.after.deployments).toBe(3);
      expect(revoked.before.revokedAt).toBeNull();
      expect(revoked.after.revokedAt).not.toBeNull();
      // The licence file is never copied into the log.
      const file = await (
        await fetch(`${h.url}/admin/v1/licences/${id}/file`, {
          headers: { authorization: `Bearer ${h.a.token}` },
        })
      ).text();
      expect(file.length).toBeGreaterThan(100);
      expect(log.text).not.toContain(file.trim().slice(0, 60));
      expect(log.text).not.toContain('"token"');

      const keys = await h.call('GET', '/admin/v1/audit?entity=signing_key', { token: h.a.token });
      expect(keys.body.items.map((e: { action: string }) => e.action).sort()).toEqual(['retire', 'rotate']);
      expect(JSON.stringify(keys.body)).not.toMatch(/"d":/); // never a private key part

      // The other provider sees none of it; the operator sees all of it.
      const other = await h.call('GET', `/admin/v1/audit?entity=licence&entityId=${id}`, {
        token: h.b.token,
      });
      expect(other.body.items).toEqual([]);
      const op = await h.call('GET', `/admin/v1/audit?entity=licence&entityId=${id}`, { token: h.operator });
      expect(op.body.items).toHaveLength(4);
    });

    it('a write whose audit row cannot be written does not happen', async () => {
      if (h.store.dialect === 'sqlite') {
        await sql`CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit disk full'); END`.execute(
          h.store.db,
        );
      } else {
        await sql`CREATE FUNCTION refuse_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit disk full'; END $$ LANGUAGE plpgsql`.execute(
          h.store.db,
        );
        await sql`CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_audit()`.execute(
          h.store.db,
        );
      }
      const count = async () =>
        (
          await h.store.db
            .selectFrom('licences')
            .select('id')
            .where('provider_id', '=', h.a.providerId)
            .execute()
        ).length;
      const before = await count();
      try {
        const refused = await issue();
        expect(refused.status).toBe(500);
        expect(await count()).toBe(before);
      } finally {
        await sql`DROP TRIGGER refuse_audit${sql.raw(h.store.dialect === 'postgres' ? ' ON audit_log' : '')}`.execute(
          h.store.db,
        );
      }
      expect((await issue()).status).toBe(201);
      expect(await count()).toBe(before + 1);
    });
  });
}
