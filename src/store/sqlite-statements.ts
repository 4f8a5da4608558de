/**
 * A prepared-statement cache in front of better-sqlite3 for Kysely's SQLite driver.
 *
 * Kysely's driver calls `db.prepare(sql)` for every query it runs; compiling the SQL again
 * each time was a large share of a billing run's CPU (a few statement shapes, run tens of
 * thousands of times). This wrapper hands back the statement prepared earlier for the same
 * text, unless that statement is still `busy` (a streamed query iterating over it), in
 * which case a fresh one is prepared. Statements stay valid across schema changes (SQLite
 * re-prepares them). The cache keeps the most recently used `size` texts; queries with a
 * different number of parameters (`in (…)` lists, multi-row inserts) are different texts.
 *
 * Only Kysely sees the wrapper: it never changes a statement's mode (raw, pluck, expand),
 * so sharing one is safe.
 */
import type { Database, Statement } from 'better-sqlite3';

/** What Kysely's SqliteDialect needs of a database. */
export interface SqliteDatabaseLike {
  prepare(sql: string): Statement;
  close(): unknown;
}

export function cachedStatements(db: Database, size = 256): SqliteDatabaseLike {
  const cache = new Map<string, Statement>();
  return {
    prepare(sql: string): Statement {
      const hit = cache.get(sql);
      if (hit && !hit.busy) {
        // most recently used last (Map keeps insertion order)
        cache.delete(sql);
        cache.set(sql, hit);
        return hit;
      }
      const stmt = db.prepare(sql);
      if (!hit) {
        cache.set(sql, stmt);
        if (cache.size > size) cache.delete(cache.keys().next().value!);
      }
      return stmt;
    },
    close() {
      cache.clear();
      return db.close();
    },
  };
}
