/**
 * Admin changes against a large catalog: does the gateway keep serving while the catalog
 * changes, and does creating a key stay as fast with 100,000 keys as with 1,000?
 *
 * One Tollgate process (gateway + console, SQLite) with N keys seeded straight into the
 * store. Measured: the gateway's p50/p99 under closed-loop load (bench/servers/load.ts)
 * idle, then while an admin client makes `CHURN_PER_S` writes a second through the admin
 * API (create a key, disable it, enable it, in turn); then keys created one after another
 * for a few seconds, at 1,000 and at N keys. Runnable alone: `node --import tsx bench/snapshots.ts`.
 * BENCH_KEYS (default 100000), BENCH_SECONDS (5), BENCH_ROUNDS (2).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromValue, generateKey } from '../src/keys/index.js';
import { newId } from '../src/shared/index.js';
import { openStore } from '../src/store/index.js';
import { seedApi, seedPlan, seedProvider } from '../test/helpers/seed.js';
import { type LoadResult, load, startChild, stop } from './gateway.js';

const KEYS = Number(process.env.BENCH_KEYS ?? 100_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CHURN_PER_S = 10;
const TOKEN = `tga_bench_${'b'.repeat(32)}`;
const KEYS_PER_SUBSCRIPTION = 10;
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

/** Seeds `keys` keys (10 per subscription) plus the load generator's key; returns a subscription id. */
async function seed(file: string, upstreamPort: number, keys: number): Promise<string[]> {
  const store = await openStore(`sqlite:${file}`);
  const prv = await seedProvider(store);
  const { apiId } = await seedApi(store, prv, `http://127.0.0.1:${upstreamPort}`, {
    routes: [{ path: '/{proxy+}' }],
  });
  const plan = await seedPlan(store, prv, [apiId], {
    throttle: { rate: 1e9, burst: 1e9 },
    quota: { limit: 1e12, period: 'MONTH' },
  });
  const now = Date.now();
  const subs: string[] = [];
  const subCount = Math.ceil(keys / KEYS_PER_SUBSCRIPTION);
  for (let i = 0; i < subCount; i += 500) {
    const n = Math.min(500, subCount - i);
    const ids = Array.from({ length: n }, () => [newId('con'), newId('sub')] as const);
    await store.db.transaction().execute(async (tx) => {
      await tx
        .insertInto('consumers')
        .values(
          ids.map(([c]) => ({
            id: c,
            provider_id: prv,
            name: 'Buyer',
            email: null,
            external_customer_id: null,
            external: '{}',
            created_at: now,
            updated_at: now,
          })),
        )
        .execute();
      await tx
        .insertInto('subscriptions')
        .values(
          ids.map(([c, s]) => ({
            id: s,
            consumer_id: c,
            plan_id: plan,
            status: 'active',
            started_at: now,
            trial_ends_at: null,
            cancelled_at: null,
            created_at: now,
            updated_at: now,
          })),
        )
        .execute();
    });
    subs.push(...ids.map(([, s]) => s));
  }
  const row = (subscriptionId: string, k: { prefix: string; hash: string }) => ({
    id: newId('key'),
    subscription_id: subscriptionId,
    name: 'seeded',
    prefix: k.prefix,
    hash: k.hash,
    enabled: 1,
    expires_at: null,
    replaced_by: null,
    created_at: now,
    updated_at: now,
  });
  for (let i = 0; i < keys; i += 1_000) {
    const n = Math.min(1_000, keys - i);
    const rows = Array.from({ length: n }, (_, j) => row(subs[(i + j) % subs.length]!, generateKey()));
    await store.db.transaction().execute(async (tx) => {
      for (let j = 0; j < rows.length; j += 500)
        await tx
          .insertInto('api_keys')
          .values(rows.slice(j, j + 500))
          .execute();
    });
  }
  // The load generator's key (bench/servers/load.ts sends this value).
  await store.db
    .insertInto('api_keys')
    .values(row(subs[0]!, fromValue('bench-key-0123456789abcdef')))
    .execute();
  await store.close();
  return subs;
}

interface Server {
  child: ChildProcess;
  gatewayPort: number;
  admin: (method: string, path: string, body?: unknown) => Promise<{ id: string }>;
  startMs: number;
}

async function startServer(file: string): Promise<Server> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', here('./servers/tollgate.ts'), file, TOKEN], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [data] = (await once(child.stdout!, 'data')) as [Buffer];
  const [gatewayPort, consolePort] = data.toString().trim().split(' ').map(Number);
  const admin = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`http://127.0.0.1:${consolePort}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path} → ${r.status}: ${text}`);
    return JSON.parse(text) as { id: string };
  };
  return { child, gatewayPort: gatewayPort!, admin, startMs: performance.now() - t0 };
}

/** CHURN_PER_S admin writes a second until stopped: create a key, disable it, enable it, … */
function churn(server: Server, subs: string[]): { stop: () => Promise<{ writes: number; meanMs: number }> } {
  let running = true;
  let writes = 0;
  let spentMs = 0;
  const loop = (async () => {
    let keyId: string | null = null;
    for (let i = 0; running; i++) {
      const due = performance.now() + 1000 / CHURN_PER_S;
      const t = performance.now();
      const step = i % 3;
      if (step === 0 || !keyId) {
        const sub = subs[Math.floor(Math.random() * subs.length)]!;
        keyId = (await server.admin('POST', '/keys', { subscriptionId: sub, name: 'churn' })).id;
      } else await server.admin('POST', `/keys/${keyId}/${step === 1 ? 'disable' : 'enable'}`);
      spentMs += performance.now() - t;
      writes++;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { writes, meanMs: writes ? spentMs / writes : 0 };
    },
  };
}

/** Keys created one after another through the admin API for SECONDS: keys a second. */
async function creationRate(server: Server, subs: string[]): Promise<number> {
  const end = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  let n = 0;
  while (performance.now() < end) {
    await server.admin('POST', '/keys', { subscriptionId: subs[n % subs.length]!, name: 'rate' });
    n++;
  }
  return n / ((performance.now() - t0) / 1000);
}

const row = (name: string, r: LoadResult) =>
  `| ${name} | ${Math.round(r.rps)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.errors} |`;

export async function benchSnapshots(): Promise<string> {
  const up = await startChild('./servers/upstream.ts', []);
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-snap-'));
  try {
    const t0 = performance.now();
    const bigFile = join(dir, 'big.db');
    const bigSubs = await seed(bigFile, up.port, KEYS);
    const seedS = (performance.now() - t0) / 1000;
    const smallFile = join(dir, 'small.db');
    const smallSubs = await seed(smallFile, up.port, 1_000);

    const lines: string[] = [];
    const big = await startServer(bigFile);
    let bigRate: number;
    try {
      for (let round = 1; round <= ROUNDS; round++) {
        const idle = await load(big.gatewayPort);
        const c = churn(big, bigSubs);
        const busy = await load(big.gatewayPort);
        const w = await c.stop();
        lines.push(row(`idle, round ${round}`, idle));
        lines.push(
          `${row(`${w.writes} admin writes (${(w.writes / (SECONDS + 1.5)) | 0}/s, mean ${w.meanMs.toFixed(0)} ms), round ${round}`, busy)} ${(busy.p99 / idle.p99).toFixed(2)}× |`,
        );
      }
      bigRate = await creationRate(big, bigSubs);
    } finally {
      await stop(big.child);
    }
    const small = await startServer(smallFile);
    let smallRate: number;
    try {
      smallRate = await creationRate(small, smallSubs);
    } finally {
      await stop(small.child);
    }
    return [
      `### Admin churn on ${KEYS.toLocaleString('en')} keys (one process, SQLite, 50 connections, ${SECONDS} s per run)`,
      '',
      `Seeding ${KEYS.toLocaleString('en')} keys: ${seedS.toFixed(1)} s; start with them (snapshot load included): ${(big.startMs / 1000).toFixed(1)} s.`,
      '',
      '| gateway | req/s | p50 ms | p99 ms | errors | p99 × idle |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
      ...lines.map((l) => (l.split('|').length === 7 ? `${l} |` : l)),
      '',
      `Key creation, one admin client, one key after another for ${SECONDS} s: ${smallRate.toFixed(1)}/s at 1,000 keys, ${bigRate.toFixed(1)}/s at ${KEYS.toLocaleString('en')} keys (${(bigRate / smallRate).toFixed(2)}×).`,
    ].join('\n');
  } finally {
    await stop(up.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await benchSnapshots());
