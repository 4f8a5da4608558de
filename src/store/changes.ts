/**
 * The catalog's change log: what gateways follow to keep their in-memory snapshot current
 * without reloading it whole.
 *
 * Every committed write a gateway must see appends one row per changed entity (`key`,
 * `subscription`, `plan`, `api`, `quota`, …) with a sequence number. Numbers come from the
 * one-row `catalog_version` counter, incremented in the writer's own transaction: the row
 * lock (PostgreSQL) or the database lock (SQLite) makes writers take numbers in commit
 * order, and a rolled-back write gives its number back — so the log has no gaps, and a
 * reader that sees number N has seen every change before it. A reader that finds a hole
 * (the log was pruned past it) must reload everything.
 *
 * The log keeps the last `KEEP` changes; pruning runs on every `PRUNE_EVERY`-th append.
 */
import type { Db, Tx } from './index.js';

export interface LoggedChange {
  seq: number;
  entity: string;
  id: string;
}

const KEEP = 10_000;
const PRUNE_EVERY = 1_000;

/** Appends `changes` in the caller's transaction; returns the sequence number of each. */
export async function appendChanges(
  tx: Tx,
  changes: Array<{ entity: string; id: string }>,
  at: number,
): Promise<number[]> {
  if (changes.length === 0) return [];
  const row = await tx
    .updateTable('catalog_version')
    .set((eb) => ({ seq: eb('seq', '+', changes.length) }))
    .where('id', '=', 1)
    .returning('seq')
    .executeTakeFirstOrThrow();
  const last = Number(row.seq);
  const seqs = changes.map((_, i) => last - changes.length + 1 + i);
  await tx
    .insertInto('catalog_changes')
    .values(changes.map((c, i) => ({ seq: seqs[i]!, entity: c.entity, entity_id: c.id, at })))
    .execute();
  if (Math.floor(last / PRUNE_EVERY) !== Math.floor((last - changes.length) / PRUNE_EVERY)) {
    await tx
      .deleteFrom('catalog_changes')
      .where('seq', '<=', last - KEEP)
      .execute();
  }
  return seqs;
}

/** Appends one change in a transaction of its own (writers that are not catalog services). */
export async function recordChange(
  db: Db,
  change: { entity: string; id: string },
  at: number,
): Promise<number> {
  const [seq] = await db.transaction().execute((tx) => appendChanges(tx, [change], at));
  return seq!;
}

/** The last sequence number handed out (0: no change yet). */
export async function latestChange(db: Db): Promise<number> {
  const row = await db.selectFrom('catalog_version').select('seq').where('id', '=', 1).executeTakeFirst();
  return Number(row?.seq ?? 0);
}

/** Up to `limit` changes after `seq`, oldest first. */
export async function changesSince(db: Db, seq: number, limit: number): Promise<LoggedChange[]> {
  const rows = await db
    .selectFrom('catalog_changes')
    .select(['seq', 'entity', 'entity_id'])
    .where('seq', '>', seq)
    .orderBy('seq')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ seq: Number(r.seq), entity: r.entity, id: r.entity_id }));
}
