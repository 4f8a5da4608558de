/**
 * Metering benchmark: record() throughput with 50 concurrent producers for `off`, `batched`
 * and `strict` (~2 s each, on an embedded SQLite file in a temp dir), the strict group-commit
 * figures (fsyncs per second, events per fsync, time to durable), and the CPU cost of one
 * batched record() call. Each producer yields to the event loop between events, as a gateway
 * request would, so the `off` row is the baseline for the same scheduling.
 *
 *   node --import tsx bench/metering.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { createMeter, type Durability, type UsageEvent } from '../src/metering/index.js';
import { silentLogger, systemClock } from '../src/shared/index.js';
import { openStore } from '../src/store/index.js';

const PRODUCERS = 50;
const RUN_MS = Number(process.env.BENCH_METERING_MS ?? 2000);
const KEYS = 200;

function events(): UsageEvent[] {
  return Array.from({ length: KEYS }, (_, i) => ({
    subscriptionId: `sub_${i % 40}`,
    keyId: `key_${i}`,
    apiId: `api_${i % 3}`,
    routeId: `rte_${i % 7}`,
    dimension: i % 5 === 0 ? 'chars' : 'requests',
    units: i % 5 === 0 ? 1000 : 1,
    status: 200,
    bytes: 512,
    latencyMs: 2,
    at: 0,
    billable: true,
  }));
}

interface Result {
  mode: Durability;
  events: number;
  seconds: number;
  fsyncs: number;
  fsyncEvents: number;
  p50: number;
  p99: number;
  flushes: number;
  lastFlushMs: number;
}

async function run(mode: Durability, dir: string): Promise<Result> {
  const store = await openStore(`sqlite:${join(dir, `${mode}.db`)}`);
  const meter = await createMeter({
    store,
    clock: systemClock,
    log: silentLogger,
    durability: mode,
    dataDir: join(dir, `log-${mode}`),
    node: `bench-${mode}`,
  });
  const evs = events();
  const tick = () => new Promise<void>((r) => setImmediate(r));
  let count = 0;
  const samples: number[] = [];
  const t0 = performance.now();
  const end = t0 + RUN_MS;
  await Promise.all(
    Array.from({ length: PRODUCERS }, async (_, p) => {
      for (let i = p; performance.now() < end; i += PRODUCERS) {
        const e = evs[i % KEYS]!;
        e.at = Date.now();
        const s = performance.now();
        const done = meter.record(e);
        if (done) {
          await done;
          if ((count & 15) === 0) samples.push(performance.now() - s);
        } else {
          await tick();
        }
        count++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const { fsyncs, fsyncEvents, flushes, lastFlushMs } = meter.metrics;
  await meter.close();
  await store.close();
  samples.sort((a, b) => a - b);
  const q = (f: number) => samples[Math.min(samples.length - 1, Math.floor(f * samples.length))] ?? 0;
  return {
    mode,
    events: count,
    seconds,
    fsyncs,
    fsyncEvents,
    p50: q(0.5),
    p99: q(0.99),
    flushes,
    lastFlushMs,
  };
}

/** CPU cost of one batched record() (aggregation only; the flush runs on its timer). */
async function recordCost(dir: string): Promise<number> {
  const store = await openStore(`sqlite:${join(dir, 'cost.db')}`);
  const meter = await createMeter({
    store,
    clock: systemClock,
    log: silentLogger,
    durability: 'batched',
    dataDir: dir,
    node: 'bench-cost',
    flushIntervalMs: 3_600_000,
  });
  const evs = events();
  const now = Date.now();
  for (const e of evs) e.at = now;
  const N = 1_000_000;
  for (let i = 0; i < 100_000; i++) meter.record(evs[i % KEYS]!);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) meter.record(evs[i % KEYS]!);
  const ns = ((performance.now() - t0) * 1e6) / N;
  await meter.close();
  await store.close();
  return ns;
}

export async function benchMetering(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-metering-'));
  try {
    const results: Result[] = [];
    for (const mode of ['off', 'batched', 'strict'] as const) results.push(await run(mode, dir));
    const ns = await recordCost(dir);
    const base = results[0]!.events / results[0]!.seconds;
    const lines = [
      `### metering — record() with ${PRODUCERS} concurrent producers, ${RUN_MS} ms each (SQLite store)`,
      '',
      '| durability | events/s | vs off | fsyncs/s | events per fsync | record→durable p50 / p99 | flushes |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ];
    for (const r of results) {
      const rate = r.events / r.seconds;
      const strict = r.mode === 'strict';
      lines.push(
        `| ${r.mode} | ${Math.round(rate).toLocaleString('en-US')} | ${(rate / base).toFixed(2)}× | ${
          strict ? Math.round(r.fsyncs / r.seconds) : '–'
        } | ${strict && r.fsyncs ? (r.fsyncEvents / r.fsyncs).toFixed(1) : '–'} | ${
          strict ? `${r.p50.toFixed(2)} / ${r.p99.toFixed(2)} ms` : '–'
        } | ${r.flushes} |`,
      );
    }
    lines.push(
      '',
      `Batched record() CPU cost: ${ns.toFixed(0)} ns per call (aggregation into ${KEYS} keys, no I/O).`,
      'The gateway-level comparison (throughput with metering off / batched / strict) is in the gateway benchmark.',
    );
    return lines.join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(await benchMetering());
}
