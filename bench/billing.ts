/**
 * Billing run benchmark: N subscriptions (default 10,000), each with a month of hourly usage
 * (720 rows: April 2026, one key, one API, one dimension → 7.2 M usage rows), on SQLite.
 * Target: the run under 30 s and under 1 GiB.
 *
 * Child processes keep the numbers honest: one seeds the database (one transaction of
 * prepared inserts, the hour index built afterwards); one opens it, runs billing once
 * (timed) and a second time (must create nothing); another, on a copy of the seeded file,
 * runs one scheduled cycle as the console does (lease, billing run up to now − settle
 * delay, every draft finalized with a zero review window). Each reports its own peak RSS,
 * so neither the seeding nor other benchmarks in `npm run bench` inflate the memory figure.
 *
 * Alone: `node --import tsx bench/billing.ts` (BENCH_BILLING_SUBS=1000 for a quick run).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HOUR = 3_600_000;
const START = Date.UTC(2026, 3, 1);
const HOURS = 720;
const SELF = fileURLToPath(import.meta.url);

interface SeedReport {
  rows: number;
  seedMs: number;
  indexMs: number;
}
interface RunReport {
  runMs: number;
  cpuMs: number;
  load: number;
  rerunMs: number;
  created: number;
  recreated: number;
  failed: number;
  maxRssMiB: number;
  checked: boolean;
}

async function seed(file: string, subs: number): Promise<SeedReport> {
  const { openStore } = await import('../src/store/index.js');
  const store = await openStore(`sqlite:${file}`);
  await store.close();
  const { default: SQLite } = await import('better-sqlite3');
  const db = new SQLite(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  const t0 = performance.now();
  db.exec('DROP INDEX usage_hour');
  const tx = db.transaction(() => {
    db.prepare("INSERT INTO providers VALUES ('prv_bench', 'Bench', 0)").run();
    db.prepare(
      `INSERT INTO plans (id, provider_id, name, description, api_ids, throttle_rate, throttle_burst,
        quota_limit, quota_period, quota_offset, quota_time_zone, route_throttles, over_quota, billable,
        failure_mode, created_at, updated_at)
       VALUES ('pln_bench', 'prv_bench', 'Bench', '', '[]', NULL, NULL, NULL, NULL, 0, 'UTC', '{}', 'overage',
        'lt500', 'open', 0, 0)`,
    ).run();
    const price = {
      currency: 'USD',
      interval: 'month',
      recurringFee: '29',
      setupFee: '0',
      trialDays: 0,
      charges: [
        {
          model: 'graduated',
          dimension: 'requests',
          includedUnits: 1000,
          tiers: [
            { upTo: 100000, unitPrice: '0.001' },
            { upTo: null, unitPrice: '0.0005' },
          ],
        },
      ],
    };
    db.prepare('INSERT INTO prices VALUES (?, ?, 1, ?, ?, 0, ?)').run(
      'prc_bench',
      'pln_bench',
      'USD',
      JSON.stringify(price),
      'bench',
    );
    const con = db.prepare("INSERT INTO consumers VALUES (?, NULL, ?, NULL, NULL, '{}', 0, 0)");
    const sub = db.prepare(
      "INSERT INTO subscriptions VALUES (?, ?, 'pln_bench', 'active', ?, NULL, NULL, 0, 0)",
    );
    const use = db.prepare("INSERT INTO usage VALUES (?, 'key_1', 'api_1', 'requests', ?, ?, ?)");
    for (let s = 0; s < subs; s++) {
      const id = String(s).padStart(6, '0');
      con.run(`con_${id}`, `Consumer ${id}`);
      sub.run(`sub_${id}`, `con_${id}`, START);
      for (let h = 0; h < HOURS; h++) {
        const units = ((s * 7 + h * 13) % 50) + 1;
        use.run(`sub_${id}`, START + h * HOUR, units, units);
      }
    }
  });
  tx();
  const seedMs = performance.now() - t0;
  const t1 = performance.now();
  db.exec('CREATE INDEX usage_hour ON usage (hour)');
  const indexMs = performance.now() - t1;
  db.close();
  return { rows: subs * HOURS, seedMs, indexMs };
}

async function run(file: string, subs: number): Promise<RunReport> {
  const { openStore } = await import('../src/store/index.js');
  const { createBilling } = await import('../src/billing/index.js');
  const { ManualClock, silentLogger } = await import('../src/shared/index.js');
  const store = await openStore(`sqlite:${file}`);
  const clock = new ManualClock(Date.UTC(2026, 4, 1, 1));
  const billing = createBilling({ store, clock, log: silentLogger });
  const load = loadavg()[0]!;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await billing.run();
  const runMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const t1 = performance.now();
  const again = await billing.run();
  const rerunMs = performance.now() - t1;
  // spot check: the first subscription's billed quantities equal its usage rows' sum. The
  // usage is spread over several lines (the included units, then one line per graduated
  // tier), so their quantities are summed — the first usage line alone is only the included
  // units (1,000), which is why this check printed NO once invoices itemised tiers.
  let expected = 0;
  for (let h = 0; h < HOURS; h++) expected += ((0 * 7 + h * 13) % 50) + 1;
  const page = await billing.listInvoices({ subscriptionId: 'sub_000000' });
  const inv = await billing.getInvoice(page.items[0]!.id);
  const billed = inv.lines
    .filter((l) => l.kind === 'usage' && l.dimension === 'requests')
    .reduce((sum, l) => sum + Number(l.quantity), 0);
  const checked = page.items.length === 1 && billed === expected;
  await billing.close();
  await store.close();
  return {
    runMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    load,
    rerunMs,
    created: r.created,
    recreated: again.created,
    failed: r.failed.length,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    checked: checked && r.created === subs,
  };
}

interface CycleReport {
  cycleMs: number;
  cpuMs: number;
  load: number;
  leader: boolean;
  created: number;
  finalized: number;
  failed: number;
  maxRssMiB: number;
}

/** One scheduled cycle, as the console's timer runs it (review window 0: drafts finalize at once). */
async function cycle(file: string): Promise<CycleReport> {
  const { openStore } = await import('../src/store/index.js');
  const { createBilling } = await import('../src/billing/index.js');
  const { createBillingScheduler } = await import('../src/billing/scheduler.js');
  const { ManualClock, silentLogger } = await import('../src/shared/index.js');
  const store = await openStore(`sqlite:${file}`);
  const clock = new ManualClock(Date.UTC(2026, 4, 1, 1)); // one hour after the period ended
  const billing = createBilling({ store, clock, log: silentLogger });
  const scheduler = createBillingScheduler(
    { store, clock, log: silentLogger, billing },
    { intervalMs: 60_000, settleMs: 3_600_000, reviewMs: 0, holder: 'bench' },
  );
  const load = loadavg()[0]!;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const c = await scheduler.cycle();
  const cycleMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await scheduler.stop();
  await billing.close();
  await store.close();
  return {
    cycleMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    load,
    leader: c.leader,
    created: c.created,
    finalized: c.finalized,
    failed: c.failed,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}

function child<T>(mode: 'seed' | 'run' | 'cycle', file: string, subs: number): T {
  const out = execFileSync(process.execPath, ['--import', 'tsx', SELF, mode, file, String(subs)], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as T;
}

export async function benchBilling(subs = Number(process.env.BENCH_BILLING_SUBS ?? 10_000)): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-billing-'));
  const file = join(dir, 'bench.db');
  try {
    const s = child<SeedReport>('seed', file, subs);
    copyFileSync(file, join(dir, 'cycle.db'));
    const r = child<RunReport>('run', file, subs);
    const c = child<CycleReport>('cycle', join(dir, 'cycle.db'), subs);
    const s1 = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    const ok = r.runMs < 30_000 && r.maxRssMiB < 1024;
    const cycleOk = c.cycleMs < 30_000 && c.maxRssMiB < 1024 && c.created === subs && c.finalized === subs;
    return [
      '### billing',
      '',
      `A billing run closing one monthly period for ${subs.toLocaleString('en')} subscriptions, each with a month`,
      `of hourly usage (${HOURS} rows each, ${s.rows.toLocaleString('en')} usage rows), graduated price, SQLite file.`,
      '',
      '| measure | value |',
      '| --- | --- |',
      `| seed ${s.rows.toLocaleString('en')} usage rows (one transaction) + hour index | ${s1(s.seedMs)} + ${s1(s.indexMs)} |`,
      `| billing run: invoices created | ${r.created.toLocaleString('en')} (failed ${r.failed}) |`,
      `| **billing run time** (wall) | **${s1(r.runMs)}** (${((r.runMs * 1000) / Math.max(1, r.created)).toFixed(0)} µs per invoice) |`,
      `| billing run CPU time (user + system) | ${s1(r.cpuMs)} |`,
      `| load average when the run started (2 cores) | ${r.load.toFixed(1)} |`,
      `| second run (idempotent): created / time | ${r.recreated} / ${s1(r.rerunMs)} |`,
      `| **peak RSS of the billing process** | **${r.maxRssMiB.toFixed(0)} MiB** |`,
      `| usage lines' quantities (included + each tier) = metered rows' sum (spot check, first subscription) | ${r.checked ? 'yes' : 'NO'} |`,
      '',
      `Target < 30 s and < 1 GiB: ${ok ? 'met' : 'NOT met'}${
        r.load > 2.5 ? ' (the machine was shared: wall time above CPU time is waiting for a core)' : ''
      }.`,
      '',
      'The same data, one **scheduled cycle** as the console runs it (a fresh copy of the seeded',
      'file): take the lease, bill every period ended at least the settle delay ago, then finalize',
      'every draft (review window 0, so all of them in this cycle).',
      '',
      '| measure | value |',
      '| --- | --- |',
      `| cycle: lease held / invoices created / finalized / failed | ${c.leader ? 'yes' : 'NO'} / ${c.created.toLocaleString('en')} / ${c.finalized.toLocaleString('en')} / ${c.failed} |`,
      `| **cycle time** (wall) | **${s1(c.cycleMs)}** (${((c.cycleMs * 1000) / Math.max(1, c.created)).toFixed(0)} µs per invoice, written and finalized) |`,
      `| cycle CPU time (user + system) | ${s1(c.cpuMs)} |`,
      `| load average when the cycle started (2 cores) | ${c.load.toFixed(1)} |`,
      `| **peak RSS of the cycle process** | **${c.maxRssMiB.toFixed(0)} MiB** |`,
      '',
      `Target < 30 s and < 1 GiB for the cycle: ${cycleOk ? 'met' : 'NOT met'}.`,
    ].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const [, , mode, file, n] = process.argv;
if (process.argv[1] === SELF) {
  if (mode === 'seed') console.log(JSON.stringify(await seed(file!, Number(n))));
  else if (mode === 'run') console.log(JSON.stringify(await run(file!, Number(n))));
  else if (mode === 'cycle') console.log(JSON.stringify(await cycle(file!)));
  else console.log(await benchBilling());
}
