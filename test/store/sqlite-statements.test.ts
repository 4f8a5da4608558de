import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { cachedStatements } from '../../src/store/sqlite-statements.js';

describe('SQLite statement cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-stmt-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('hands back the statement prepared for the same SQL, a fresh one while it is busy', () => {
    const raw = new SQLite(join(dir, 'raw.db'));
    raw.exec('CREATE TABLE t (n INTEGER)');
    raw.exec('INSERT INTO t VALUES (1), (2), (3)');
    const db = cachedStatements(raw, 2);
    const a = db.prepare('SELECT n FROM t ORDER BY n');
    expect(db.prepare('SELECT n FROM t ORDER BY n')).toBe(a);
    const seen: number[] = [];
    for (const row of a.iterate() as Iterable<{ n: number }>) {
      // the cached statement is iterating: this must be another one (better-sqlite3 would throw)
      const b = db.prepare('SELECT n FROM t ORDER BY n');
      expect(b).not.toBe(a);
      seen.push(row.n, (b.all() as unknown[]).length);
    }
    expect(seen).toEqual([1, 3, 2, 3, 3, 3]);
    // least recently used text leaves when the cache is full
    db.prepare('SELECT 1');
    db.prepare('SELECT 2');
    expect(db.prepare('SELECT n FROM t ORDER BY n')).not.toBe(a);
    db.close();
  });
});
