/**
 * A gateway follows catalog changes from the change log, entity by entity, in order, and
 * reloads whole only when the log has a gap. Real stores (SQLite and PostgreSQL), real
 * catalog writes; the holder is driven by hand with the numbers the writes report.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, type Catalog, type Change, createCatalog } from '../../src/catalog/index.js';
import { entryForApi, type KeyEntry, SnapshotHolder } from '../../src/gateway/index.js';
import { hashKey } from '../../src/keys/index.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import { latestChange, recordChange, type Store } from '../../src/store/index.js';
import { testOutbound } from '../helpers/outbound.js';
import { testStores } from '../helpers/stores.js';

const op: Actor = { kind: 'operator', id: 'test-op' };

for (const kind of await testStores()) {
  describe(`snapshot changes on ${kind.name}`, () => {
    let store: Store;
    let catalog: Catalog;
    let holder: SnapshotHolder;
    const clock = new ManualClock(Date.UTC(2026, 11, 2, 12, 0, 0));
    const changes: Change[] = [];
    let planId: string;
    let apiId: string;
    let subscriptionId: string;
    const lastSeq = () => changes[changes.length - 1]!.seq!;
    const entry = (value: string) => holder.current.keys.get(hashKey(value));

    beforeAll(async () => {
      store = await kind.open();
      catalog = createCatalog({
        outbound: testOutbound(),
        store,
        clock,
        log: silentLogger,
        onChange: (c) => changes.push(c),
      });
      const prv = await catalog.providers.create(op, { name: 'Acme' });
      const api = await catalog.apis.create(op, {
        providerId: prv.id,
        name: 'A',
        upstreamUrl: 'http://127.0.0.1:9',
        pathPrefix: '/a',
      });
      apiId = api.id;
      const plan = await catalog.plans.create(op, { providerId: prv.id, name: 'P', apiIds: [api.id] });
      planId = plan.id;
      const consumer = await catalog.consumers.create(op, { providerId: prv.id, name: 'Buyer' });
      const sub = await catalog.subscriptions.create(op, { consumerId: consumer.id, planId });
      subscriptionId = sub.id;
      holder = await SnapshotHolder.create(store, () => clock.now(), silentLogger);
    });
    afterAll(async () => {
      holder?.stop();
      await store?.close();
    });

    it('numbers every committed change without gaps, and gives a rolled-back number back', async () => {
      const seqs = changes.map((c) => c.seq);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
      const before = await latestChange(store.db);
      await expect(catalog.subscriptions.create(op, { consumerId: 'con_missing', planId })).rejects.toThrow();
      expect(await latestChange(store.db)).toBe(before);
      expect(holder.version).toBe(before);
    });

    it('applies a created key, a disable and a plan change without reloading whole', async () => {
      const key = await catalog.keys.create(op, { subscriptionId, name: 'k' });
      await holder.notify(lastSeq());
      expect(entry(key.value)?.enabled).toBe(true);

      await catalog.keys.disable(op, key.id);
      await holder.notify(lastSeq());
      expect(entry(key.value)?.enabled).toBe(false);

      await catalog.plans.update(op, planId, { throttle: { rateLimit: 7, burstLimit: 9 } });
      await holder.notify(lastSeq());
      const plan = holder.current.plans.get(planId)!;
      expect(plan.throttle).toEqual({ rate: 7, burst: 9 });
      expect(entry(key.value)?.plan).toBe(plan); // the key moved to the new plan object

      await catalog.apis.update(op, apiId, { pathPrefix: '/b' });
      await holder.notify(lastSeq());
      expect(holder.current.apis.map((a) => a.pathPrefix)).toEqual(['/b']);
      expect(holder.reloads).toBe(0);
      expect(holder.version).toBe(lastSeq());
    });

    it('applies changes in log order whatever order the notifications come in', async () => {
      const key = await catalog.keys.create(op, { subscriptionId, name: 'k2' });
      const created = lastSeq();
      await catalog.keys.disable(op, key.id);
      const disabled = lastSeq();
      await catalog.keys.enable(op, key.id);
      const enabled = lastSeq();
      // The last notification first, then the earlier ones (late pub/sub messages): no-ops.
      await holder.notify(enabled);
      expect(entry(key.value)?.enabled).toBe(true);
      await holder.notify(disabled);
      await holder.notify(created);
      expect(entry(key.value)?.enabled).toBe(true);
      expect(holder.version).toBe(enabled);

      await catalog.subscriptions.update(op, subscriptionId, { status: 'suspended' });
      await holder.notify(); // no number: a poll of the log
      expect(entry(key.value)?.active).toBe(false);
      expect(holder.reloads).toBe(0);
    });

    it('keeps a spend cap on a key changed while its subscription is capped', async () => {
      await catalog.subscriptions.update(op, subscriptionId, { status: 'active' });
      const key = await catalog.keys.create(op, { subscriptionId, name: 'capped' });
      const until = clock.now() + 3_600_000;
      await store.db
        .insertInto('spend_budgets')
        .values({
          subscription_id: subscriptionId,
          amount: '1',
          hard_cap: 1,
          capped_until: until,
          updated_at: 0,
        })
        .execute();
      // The payments side announces the cap as a subscription change (no catalog write).
      await holder.notify(
        await recordChange(store.db, { entity: 'subscription', id: subscriptionId }, clock.now()),
      );
      expect(entry(key.value)?.cappedUntil).toBe(until);
      await catalog.keys.update(op, key.id, { name: 'renamed' });
      await holder.notify(lastSeq());
      expect(entry(key.value)?.cappedUntil).toBe(until);
      await catalog.plans.update(op, planId, { throttle: null });
      await holder.notify(lastSeq());
      expect(entry(key.value)?.cappedUntil).toBe(until);
    });

    it('reloads whole when the log has a gap (pruned past this gateway)', async () => {
      const key = await catalog.keys.create(op, { subscriptionId, name: 'gap' });
      await catalog.keys.disable(op, key.id);
      await store.db
        .deleteFrom('catalog_changes')
        .where('seq', '=', lastSeq() - 1)
        .execute();
      const reloads = holder.reloads;
      await holder.notify(lastSeq());
      expect(holder.reloads).toBe(reloads + 1);
      expect(entry(key.value)?.enabled).toBe(false);
      expect(holder.version).toBe(lastSeq());
    });

    it("follows a key in two plans: links, its further subscription's changes, plan changes, unlink, delete", async () => {
      // A second API on a second plan; the buyer's key (own subscription on P) is linked to it.
      const prv = (await catalog.plans.get(op, planId)).providerId;
      const api2 = await catalog.apis.create(op, {
        providerId: prv,
        name: 'B',
        upstreamUrl: 'http://127.0.0.1:9',
        pathPrefix: '/second',
      });
      const plan2 = await catalog.plans.create(op, { providerId: prv, name: 'P2', apiIds: [api2.id] });
      const consumerId = (await catalog.subscriptions.get(op, subscriptionId)).consumerId;
      const sub2 = await catalog.subscriptions.create(op, { consumerId, planId: plan2.id, status: 'active' });
      const key = await catalog.keys.create(op, { subscriptionId, name: 'two plans' });
      await catalog.keys.link(op, key.id, sub2.id);
      await holder.notify(lastSeq());
      const reloads = holder.reloads;
      const e = entry(key.value)!;
      expect(e.subscriptionId).toBe(subscriptionId);
      expect(e.others.map((o) => [o.subscriptionId, o.plan.id])).toEqual([[sub2.id, plan2.id]]);
      expect(entryForApi(e, api2.id).subscriptionId).toBe(sub2.id);
      expect(entryForApi(e, apiId).subscriptionId).toBe(subscriptionId);

      // A plan that would give the key the first API twice is refused; the snapshot is unchanged.
      await expect(catalog.plans.update(op, plan2.id, { apiIds: [api2.id, apiId] })).rejects.toThrow(
        /may not share an API/,
      );
      // The further subscription suspended: only that entry stops being callable.
      await catalog.subscriptions.update(op, sub2.id, { status: 'suspended' });
      await holder.notify(lastSeq());
      expect(entry(key.value)!.active).toBe(true);
      expect(entry(key.value)!.others[0]!.active).toBe(false);
      await catalog.subscriptions.update(op, sub2.id, { status: 'active' });
      // Its plan changed: the further entry moves to the new plan object.
      await catalog.plans.update(op, plan2.id, { throttle: { rateLimit: 3, burstLimit: 4 } });
      await holder.notify(lastSeq());
      expect(entry(key.value)!.others[0]!.plan).toBe(holder.current.plans.get(plan2.id));
      expect(entry(key.value)!.others[0]!.active).toBe(true);
      // The key disabled: every entry of it.
      await catalog.keys.disable(op, key.id);
      await holder.notify(lastSeq());
      expect(entry(key.value)!.enabled).toBe(false);
      expect(entry(key.value)!.others[0]!.enabled).toBe(false);
      await catalog.keys.enable(op, key.id);
      // Its own subscription taken off: the link becomes the key's own.
      await catalog.keys.unlink(op, key.id, subscriptionId);
      await holder.notify(lastSeq());
      expect(entry(key.value)!.subscriptionId).toBe(sub2.id);
      expect(entry(key.value)!.others).toEqual([]);
      expect(holder.reloads).toBe(reloads);

      // A full load builds the same entry as the changes did.
      await catalog.keys.link(op, key.id, subscriptionId);
      await holder.notify(lastSeq());
      const patched = entry(key.value)!;
      await holder.refresh();
      const loaded = entry(key.value)!;
      expect(loaded).not.toBe(patched);
      const shape = (x: KeyEntry) => [x.subscriptionId, x.plan.id, x.enabled, x.active];
      expect(shape(loaded)).toEqual(shape(patched));
      expect(loaded.others.map(shape)).toEqual(patched.others.map(shape));
      expect(loaded.others.map(shape)).toEqual([[subscriptionId, planId, true, true]]);

      await catalog.keys.delete(op, key.id);
      await holder.notify(lastSeq());
      expect(entry(key.value)).toBeUndefined();
    });

    it('drops a deleted key', async () => {
      const key = await catalog.keys.create(op, { subscriptionId, name: 'gone' });
      await holder.notify(lastSeq());
      expect(entry(key.value)).toBeDefined();
      await catalog.keys.delete(op, key.id);
      await holder.notify(lastSeq());
      expect(entry(key.value)).toBeUndefined();
      expect(holder.current.hashes.has(key.id)).toBe(false);
    });
  });
}
