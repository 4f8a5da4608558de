/**
 * The store: one Kysely instance over SQLite (embedded, default) or PostgreSQL, chosen by
 * the database URL. The same queries run on both; `test/store` runs one contract suite on
 * each. Migrations run on open unless told not to.
 *
 * URLs: `sqlite:./data/tollgate.db`, `sqlite::memory:`, `postgres://user@host:5432/db`.
 * A `?schema=name` on a PostgreSQL URL puts every table in that schema (tests use one each).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  type Driver,
  Kysely,
  Migrator,
  PostgresDialect,
  SqliteDialect,
  type Transaction,
} from 'kysely';
import pg from 'pg';
import { migrations } from './migrations/index.js';
import type { Database } from './schema.js';
import { cachedStatements } from './sqlite-statements.js';

export type * from './schema.js';
export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
export type Dialect = 'sqlite' | 'postgres';

// int8 and numeric come back from pg as strings; every such column here is a count or a
// millisecond time, well inside 2^53.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));

export interface Store {
  db: Db;
  dialect: Dialect;
  url: string;
  /** PostgreSQL schema named by `?schema=` (null: the connection's default). */
  schema: string | null;
  close(): Promise<void>;
}

export interface OpenOptions {
  migrate?: boolean;
  /** PostgreSQL pool size. */
  poolSize?: number;
}

export async function openStore(url: string, options: OpenOptions = {}): Promise<Store> {
  const { db, dialect, schema } = connect(url, options);
  const store: Store = { db, dialect, url, schema, close: () => db.destroy() };
  if (options.migrate !== false)
    await migrate(store).catch(async (err: unknown) => {
      await db.destroy(); // a store that cannot be migrated is not left open (nor its file locked)
      throw err;
    });
  return store;
}

function connect(url: string, options: OpenOptions): { db: Db; dialect: Dialect; schema: string | null } {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length) || ':memory:';
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    const sqlite = new SQLite(file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    return {
      db: new Kysely<Database>({
        dialect: new ImmediateSqliteDialect({ database: cachedStatements(sqlite) }),
      }),
      dialect: 'sqlite',
      schema: null,
    };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const parsed = new URL(url);
    const schema = parsed.searchParams.get('schema');
    parsed.searchParams.delete('schema');
    const pool = new pg.Pool({
      connectionString: parsed.toString(),
      max: options.poolSize ?? 10,
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
    });
    if (schema && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema))
      throw new Error(`invalid schema name ${JSON.stringify(schema)}`);
    return {
      db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }),
      dialect: 'postgres',
      schema,
    };
  }
  throw new Error(`database URL must start with sqlite: or postgres:// (got ${JSON.stringify(url)})`);
}

/**
 * SQLite transactions begin IMMEDIATE, taking the file's write lock at once. A deferred
 * transaction that reads first holds a read snapshot; when it then writes while another
 * process holds the write lock, SQLite answers SQLITE_BUSY at once instead of waiting
 * `busy_timeout` (waiting could deadlock), so a check-then-insert failed whenever another
 * process on the same file (a worker of `serve --workers`, a second gateway) was writing.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    const driver = super.createDriver();
    driver.beginTransaction = async (connection) => {
      await connection.executeQuery(CompiledQuery.raw('begin immediate'));
    };
    return driver;
  }
}

/**
 * Kysely's migrator finds its bookkeeping tables by scanning the catalog of every schema
 * (`has_schema_privilege` on each name): when another client drops some other schema during
 * that scan, PostgreSQL answers "schema … does not exist" (3F000) for a schema that is not
 * ours. Nothing was migrated then; the scan is simply run again.
 */
const SCAN_ATTEMPTS = 5;

export async function migrate(store: Store): Promise<void> {
  const migrator = new Migrator({
    db: store.db,
    provider: { getMigrations: async () => migrations },
    // Without this Kysely looks for its lock table in every schema of the database.
    ...(store.schema ? { migrationTableSchema: store.schema } : {}),
  });
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest();
    if (!error) return;
    if (attempt < SCAN_ATTEMPTS && droppedElsewhere(error, store.schema)) continue;
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? '?'} failed: ${String(error)}`);
  }
}

/** "schema X does not exist" for a schema other than the store's own. */
function droppedElsewhere(error: unknown, own: string | null): boolean {
  const e = error as { code?: string; message?: string };
  if (e.code !== '3F000') return false;
  const name = /schema "([^"]+)" does not exist/.exec(e.message ?? '')?.[1];
  return name !== undefined && name !== own;
}

/** Parses a JSON text column, with a fallback for NULL. */
export function parseJson<T>(text: string | null | undefined, fallback: T): T {
  if (text == null || text === '') return fallback;
  return JSON.parse(text) as T;
}

export { appendChanges, changesSince, type LoggedChange, latestChange, recordChange } from './changes.js';
export { lockPlans, lockSubscription } from './locks.js';
