/**
 * Gateway throughput against a bare Node proxy, same machine, same run. Each server runs in
 * its own process; the upstream and the load generator in theirs. Reports req/s and p50/p99
 * and ratios to the reference. Runnable alone: `node --import tsx bench/gateway.ts`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNS = Number(process.env.BENCH_CONNECTIONS ?? 50);

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

export async function startChild(
  script: string,
  args: string[],
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', here(script), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [data] = (await once(child.stdout!, 'data')) as [Buffer];
  return { child, port: Number(data.toString().trim().split('\n')[0]) };
}

export async function load(port: number, path = '/bench', conns = CONNS): Promise<LoadResult> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      here('./servers/load.ts'),
      `http://127.0.0.1:${port}${path}`,
      String(conns),
      String(SECONDS),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await once(child, 'exit');
  return JSON.parse(out) as LoadResult;
}

export async function stop(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  await once(child, 'exit');
}

export async function measure(script: string, args: string[]): Promise<LoadResult> {
  const { child, port } = await startChild(script, args);
  try {
    return await load(port);
  } finally {
    await stop(child);
  }
}

const fmt = (r: LoadResult, ref: LoadResult) =>
  `| ${Math.round(r.rps)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${(r.rps / ref.rps).toFixed(3)} | ${(r.p99 - ref.p99).toFixed(2)} | ${r.errors} |`;

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

/** The best of ROUNDS runs, interleaved so that noise from other work hits every setup alike. */
async function interleaved(setups: Array<[string, string, string[]]>): Promise<Array<[string, LoadResult]>> {
  const best = new Map<string, LoadResult>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, script, args] of setups) {
      const r = await measure(script, args);
      const prev = best.get(name);
      if (!prev || r.rps > prev.rps) best.set(name, r);
    }
  }
  return setups.map(([name]) => [name, best.get(name)!]);
}

export async function benchGateway(): Promise<string> {
  const up = await startChild('./servers/upstream.ts', []);
  try {
    const port = String(up.port);
    const setups: Array<[string, string, string[]]> = [
      ['bare Node proxy (reference)', './servers/bare-proxy.ts', [port]],
      ['gateway, metering off', './servers/gateway.ts', [port, 'off', 'memory']],
      ['gateway, metering batched', './servers/gateway.ts', [port, 'batched', 'memory']],
      ['gateway, metering strict', './servers/gateway.ts', [port, 'strict', 'memory']],
    ];
    if (process.env.BENCH_REDIS !== '0') {
      setups.push(['gateway, batched, Redis limits', './servers/gateway.ts', [port, 'batched', 'redis']]);
    }
    const rows = await interleaved(setups);
    const bare = rows[0]![1];
    const off = rows[1]![1];
    return [
      `### Gateway vs bare proxy (${CONNS} connections, ${SECONDS} s per run, best of ${ROUNDS} interleaved runs, small JSON body)`,
      '',
      '| setup | req/s | p50 ms | p99 ms | × reference | p99 added ms | errors |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...rows.map(([name, r]) => `| ${name} ${fmt(r, bare)}`),
      '',
      `Metering cost, as ratios to metering off: batched ${(rows[2]![1].rps / off.rps).toFixed(3)}, strict ${(rows[3]![1].rps / off.rps).toFixed(3)}.`,
      rows[4]
        ? `Redis limits vs in-process (both batched): ${(rows[4][1].rps / rows[2]![1].rps).toFixed(3)}.`
        : '',
    ].join('\n');
  } finally {
    await stop(up.child);
  }
}

/** One gateway process against three sharing Redis limits, the load split evenly across them. */
export async function benchScaleOut(): Promise<string> {
  const up = await startChild('./servers/upstream.ts', []);
  const args = [String(up.port), 'off', 'redis'];
  try {
    const one = await measure('./servers/gateway.ts', args);
    const three = await Promise.all([1, 2, 3].map(() => startChild('./servers/gateway.ts', args)));
    let combined: LoadResult;
    try {
      const parts = await Promise.all(three.map((g) => load(g.port, '/bench', Math.ceil(CONNS / 3))));
      combined = {
        rps: parts.reduce((a, p) => a + p.rps, 0),
        p50: Math.max(...parts.map((p) => p.p50)),
        p99: Math.max(...parts.map((p) => p.p99)),
        errors: parts.reduce((a, p) => a + p.errors, 0),
      };
    } finally {
      await Promise.all(three.map((g) => stop(g.child)));
    }
    return [
      `### One vs three gateway processes (Redis limits, metering off, ${CONNS} connections in all)`,
      '',
      '| setup | req/s | p50 ms | p99 ms | × one |',
      '| --- | ---: | ---: | ---: | ---: |',
      `| 1 gateway | ${Math.round(one.rps)} | ${one.p50.toFixed(2)} | ${one.p99.toFixed(2)} | 1.000 |`,
      `| 3 gateways | ${Math.round(combined.rps)} | ${combined.p50.toFixed(2)} | ${combined.p99.toFixed(2)} | ${(combined.rps / one.rps).toFixed(3)} |`,
      '',
      'On a 2-core machine the three processes, the upstream, Redis and the load generators share two cores, so this measures coordination overhead rather than added capacity.',
    ].join('\n');
  } finally {
    await stop(up.child);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await benchGateway());
  if (process.env.BENCH_REDIS !== '0') console.log(`\n${await benchScaleOut()}`);
}
