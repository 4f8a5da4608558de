/**
 * Row locks that work the same on both databases.
 *
 * lockSubscription() is a no-op UPDATE of the subscription's row inside the caller's
 * transaction. On PostgreSQL the UPDATE takes the row lock (like SELECT … FOR UPDATE) and
 * holds it until the transaction ends; a second transaction asking for the same row waits,
 * and under READ COMMITTED its next statements see what the first one committed. On SQLite
 * the first write of a transaction takes the database's single write lock, so everything
 * the transaction reads afterwards is what it will commit against. Billing and the usage
 * ledger both take this lock before reading what the other writes (usage rows, invoices),
 * so "rate the period, write the invoice" and "check the period is open, add the usage"
 * cannot interleave. lockPlans() is the same for plan rows: linking a key to another plan
 * and adding an API to a plan take it before reading the plans' APIs (catalog/key-links.ts).
 */
import { sql } from 'kysely';
import type { Tx } from './index.js';

export async function lockSubscription(tx: Tx, subscriptionId: string): Promise<void> {
  await tx
    .updateTable('subscriptions')
    .set({ updated_at: sql<number>`updated_at` })
    .where('id', '=', subscriptionId)
    .execute();
}

/** The rows of `planIds`, locked the same way (ids sorted so two callers lock in one order). */
export async function lockPlans(tx: Tx, planIds: readonly string[]): Promise<void> {
  if (planIds.length === 0) return;
  await tx
    .updateTable('plans')
    .set({ updated_at: sql<number>`updated_at` })
    .where('id', 'in', [...planIds].sort())
    .execute();
}
