/**
 * API key values kept for `includeValue` / `includeValues`, only when the installation turns
 * it on (`apigwKeyValues`, off by default). Tollgate otherwise keeps a SHA-256 of each value
 * and can never show it again. When on, each value made or imported through this API is
 * also stored sealed (AES-256-GCM under a key derived from the installation secret, which is
 * configuration and never in the database): a database copy alone still reveals no value,
 * but anyone holding an admin token that sees the key can read it back — the trade-off
 * docs/apigw.md states. Keys made elsewhere (admin API, portal) have no stored value.
 */
import { seal, sealingKey, unseal } from '../marketplace/index.js';
import type { Db } from '../store/index.js';

export interface KeyValueVault {
  put(keyId: string, value: string): Promise<void>;
  /** The value of each key that has one stored. */
  get(keyIds: string[]): Promise<Map<string, string>>;
  drop(keyId: string): Promise<void>;
}

export function createKeyValueVault(deps: { db: Db; secret: string }): KeyValueVault {
  const key = sealingKey(`apigw-key-values:${deps.secret}`);
  return {
    async put(keyId, value) {
      const sealed = seal(key, value);
      await deps.db
        .insertInto('apigw_key_values')
        .values({ key_id: keyId, value_sealed: sealed })
        .onConflict((oc) => oc.column('key_id').doUpdateSet({ value_sealed: sealed }))
        .execute();
    },
    async get(keyIds) {
      if (keyIds.length === 0) return new Map();
      const rows = await deps.db
        .selectFrom('apigw_key_values')
        .selectAll()
        .where('key_id', 'in', keyIds)
        .execute();
      return new Map(rows.map((r) => [r.key_id, unseal(key, r.value_sealed)]));
    },
    async drop(keyId) {
      await deps.db.deleteFrom('apigw_key_values').where('key_id', '=', keyId).execute();
    },
  };
}
