/**
 * Real databases for tests: a fresh SQLite file in a temp folder, and a fresh schema in the
 * machine's PostgreSQL (127.0.0.1:5432, database `test`). Outside CI a missing PostgreSQL
 * skips its suites with a message; under CI=true it is a failure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore, type Store } from '../../src/store/index.js';

export const PG_URL = process.env.TOLLGATE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.TOLLGATE_TEST_REDIS ?? 'redis://127.0.0.1:6379';
export const IN_CI = process.env.CI === 'true';

export interface TestStore {
  name: 'sqlite' | 'postgres';
  open(): Promise<Store & { url: string }>;
}

export const sqliteStore: TestStore = {
  name: 'sqlite',
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-test-'));
    const url = `sqlite:${join(dir, 'tollgate.db')}`;
    const store = await openStore(url);
    const close = store.close;
    return {
      ...store,
      url,
      close: async () => {
        await close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

export const postgresStore: TestStore = {
  name: 'postgres',
  async open() {
    const schema = `t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    const url = `${PG_URL}?schema=${schema}`;
    const store = await openStore(url, { poolSize: 4 });
    const close = store.close;
    return {
      ...store,
      url,
      close: async () => {
        await close();
        const c = new pg.Client({ connectionString: PG_URL });
        await c.connect();
        await c.query(`DROP SCHEMA ${schema} CASCADE`);
        await c.end();
      },
    };
  },
};

let pgUp: boolean | undefined;
export async function postgresAvailable(): Promise<boolean> {
  if (pgUp !== undefined) return pgUp;
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    pgUp = true;
  } catch (e) {
    if (IN_CI) throw new Error(`PostgreSQL is required under CI but unreachable at ${PG_URL}: ${String(e)}`);
    console.warn(
      `[tollgate tests] PostgreSQL unreachable at ${PG_URL}: skipping its suites (allowed outside CI)`,
    );
    pgUp = false;
  }
  return pgUp;
}

/** The stores to run a contract suite on: SQLite always, PostgreSQL when reachable. */
export async function testStores(): Promise<TestStore[]> {
  return (await postgresAvailable()) ? [sqliteStore, postgresStore] : [sqliteStore];
}
