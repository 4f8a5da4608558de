/**
 * Writing one sealed batch to the store, idempotently.
 *
 * One transaction: claim the batch id in `usage_batches` (INSERT … ON CONFLICT DO NOTHING
 * RETURNING); if the id was already there the batch committed before (a retry after an
 * error that happened after COMMIT) and nothing else is written. Otherwise every usage and
 * rejection aggregate is added with `INSERT … ON CONFLICT … DO UPDATE SET x = x + excluded.x`,
 * and in strict mode the node's checkpoint advances to the batch's highest log sequence — in
 * the same transaction, so "in the usage table" and "below the checkpoint" never disagree.
 * That update is fenced by the node's epoch: once another process has started under the same
 * node name, this one's batches roll back instead of racing the newcomer's replay.
 */
import type { Store, Tx } from '../store/index.js';
import type { RejectionRow, UsageRow } from './aggregate.js';

export interface Batch {
  id: string;
  node: string;
  usage: UsageRow[];
  rejections: RejectionRow[];
  /** Billable events in the batch. */
  events: number;
  /** Strict mode: highest log sequence the batch contains, and the epoch that owns the node. */
  strict: { maxSeq: number; epoch: number } | null;
}

/** Another process started with the same node name: this one must not advance the checkpoint. */
export class NodeFencedError extends Error {
  constructor(node: string, epoch: number) {
    super(
      `metering: node ${JSON.stringify(node)} was started again elsewhere (this process has epoch ${epoch}); ` +
        'each process needs its own metering node name',
    );
    this.name = 'NodeFencedError';
  }
}

/** Test hooks to simulate a failure inside the transaction or after COMMIT. */
export interface FlushFaults {
  beforeCommit?(batchId: string): void | Promise<void>;
  afterCommit?(batchId: string): void | Promise<void>;
}

const CHUNK = 500;

export async function writeBatch(
  store: Store,
  batch: Batch,
  now: number,
  faults?: FlushFaults,
): Promise<'committed' | 'duplicate'> {
  const outcome = await store.db.transaction().execute(async (tx) => {
    const claimed = await tx
      .insertInto('usage_batches')
      .values({ batch_id: batch.id, node: batch.node, flushed_at: now, events: batch.events })
      .onConflict((oc) => oc.column('batch_id').doNothing())
      .returning('batch_id')
      .executeTakeFirst();
    if (!claimed) return 'duplicate' as const;
    await upsertUsage(tx, batch.usage);
    await upsertRejections(tx, batch.rejections);
    if (batch.strict) {
      // Fenced by epoch: a newer start of this node may have replayed our log already.
      const r = await tx
        .updateTable('meter_checkpoints')
        .set({ seq: batch.strict.maxSeq, updated_at: now })
        .where('node', '=', batch.node)
        .where('epoch', '=', batch.strict.epoch)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) throw new NodeFencedError(batch.node, batch.strict.epoch);
    }
    await faults?.beforeCommit?.(batch.id);
    return 'committed' as const;
  });
  await faults?.afterCommit?.(batch.id);
  return outcome;
}

export async function upsertUsage(tx: Tx, rows: UsageRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) {
    await tx
      .insertInto('usage')
      .values(
        rows.slice(i, i + CHUNK).map((r) => ({
          subscription_id: r.subscriptionId,
          key_id: r.keyId,
          api_id: r.apiId,
          dimension: r.dimension,
          hour: r.hour,
          units: r.units,
          requests: r.requests,
        })),
      )
      .onConflict((oc) =>
        oc.columns(['subscription_id', 'key_id', 'api_id', 'dimension', 'hour']).doUpdateSet((eb) => ({
          units: eb('usage.units', '+', eb.ref('excluded.units')),
          requests: eb('usage.requests', '+', eb.ref('excluded.requests')),
        })),
      )
      .execute();
  }
}

async function upsertRejections(tx: Tx, rows: RejectionRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) {
    await tx
      .insertInto('rejections')
      .values(
        rows.slice(i, i + CHUNK).map((r) => ({
          api_id: r.apiId,
          route_id: r.routeId,
          subscription_id: r.subscriptionId,
          key_id: r.keyId,
          code: r.code,
          hour: r.hour,
          count: r.count,
        })),
      )
      .onConflict((oc) =>
        oc.columns(['api_id', 'route_id', 'subscription_id', 'key_id', 'code', 'hour']).doUpdateSet((eb) => ({
          count: eb('rejections.count', '+', eb.ref('excluded.count')),
        })),
      )
      .execute();
  }
}

/** Registers a start of `node`: bumps its epoch (for batch ids) and returns its checkpoint. */
export async function startNode(
  store: Store,
  node: string,
  now: number,
): Promise<{ epoch: number; seq: number }> {
  return store.db
    .insertInto('meter_checkpoints')
    .values({ node, epoch: 1, seq: 0, updated_at: now })
    .onConflict((oc) =>
      oc
        .column('node')
        .doUpdateSet((eb) => ({ epoch: eb('meter_checkpoints.epoch', '+', 1), updated_at: now })),
    )
    .returning(['epoch', 'seq'])
    .executeTakeFirstOrThrow();
}
