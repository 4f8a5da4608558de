import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { testStores } from '../helpers/stores.js';

for (const kind of await testStores()) {
  describe(`store on ${kind.name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await kind.open();
    });
    afterAll(async () => {
      await store.close();
    });

    it('migrates and round-trips millisecond times and counters as numbers', async () => {
      const t = Date.UTC(2026, 10, 26, 7, 0, 0, 123);
      await store.db.insertInto('providers').values({ id: 'prv_1', name: 'Acme', created_at: t }).execute();
      const row = await store.db.selectFrom('providers').selectAll().executeTakeFirstOrThrow();
      expect(row).toEqual({ id: 'prv_1', name: 'Acme', created_at: t });
    });

    it('adds usage atomically with upsert, and sums come back as numbers', async () => {
      const row = { subscription_id: 's', key_id: 'k', api_id: 'a', dimension: 'requests', hour: 3_600_000 };
      for (let i = 0; i < 3; i++) {
        await store.db
          .insertInto('usage')
          .values({ ...row, units: 2, requests: 1 })
          .onConflict((oc) =>
            oc.columns(['subscription_id', 'key_id', 'api_id', 'dimension', 'hour']).doUpdateSet((eb) => ({
              units: eb('usage.units', '+', eb.ref('excluded.units')),
              requests: eb('usage.requests', '+', eb.ref('excluded.requests')),
            })),
          )
          .execute();
      }
      const sum = await store.db
        .selectFrom('usage')
        .select((eb) => [
          eb.fn.sum<number>('units').as('units'),
          eb.fn.sum<number>('requests').as('requests'),
        ])
        .executeTakeFirstOrThrow();
      expect(sum).toEqual({ units: 6, requests: 3 });
    });

    it('rolls back a failed transaction completely', async () => {
      await expect(
        store.db.transaction().execute(async (tx) => {
          await tx.insertInto('providers').values({ id: 'prv_2', name: 'B', created_at: 1 }).execute();
          await tx.insertInto('providers').values({ id: 'prv_2', name: 'dup', created_at: 1 }).execute();
        }),
      ).rejects.toThrow();
      expect(await store.db.selectFrom('providers').where('id', '=', 'prv_2').selectAll().execute()).toEqual(
        [],
      );
    });
  });
}
