/**
 * Sample-API benchmarks: captures per second with the context pool at 1, 2 and 4 (20
 * captures of a small loopback page each, all submitted at once, after 2 warm-up captures),
 * and proper-noun throughput in characters per second (extraction and name search, short
 * and long texts, each run bounded by count and time). Runnable alone:
 * `node --import tsx bench/apis.ts`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { extractNouns, searchNames, startCaptureApi } from '../src/apis/index.js';
import { NOUNS_HELDOUT, NOUNS_SAMPLE, type SampleSentence } from '../test/apis/nouns-sample.js';
import { scoreSample } from '../test/apis/nouns-score.js';

const PAGE = `<!doctype html><html><head><style>body{margin:0;font:16px sans-serif}
.card{display:inline-block;width:180px;height:120px;margin:8px;background:linear-gradient(#39f,#f93)}</style></head>
<body><h1>Benchmark page</h1>${'<div class="card">card</div>'.repeat(24)}</body></html>`;

async function benchCaptures(
  poolSize: number,
  count: number,
): Promise<{ alone: number; perSecond: number; p50: number; p95: number }> {
  const site = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(PAGE);
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  const target = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
  const api = await startCaptureApi({ outboundAllow: ['127.0.0.1'], poolSize, queueLimit: count });
  const one = async (): Promise<number> => {
    const started = performance.now();
    const res = await fetch(
      `${api.url}/capture?${new URLSearchParams({ url: target, width: '1024', height: '768' })}`,
    );
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`capture answered ${res.status}`);
    return performance.now() - started;
  };
  try {
    for (let i = 0; i < Math.max(2, poolSize); i++) await one();
    const alone: number[] = [];
    for (let i = 0; i < 5; i++) alone.push(await one());
    alone.sort((a, b) => a - b);
    const started = performance.now();
    const latencies = await Promise.all(Array.from({ length: count }, one));
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    return {
      alone: alone[2]!,
      perSecond: count / seconds,
      p50: latencies[Math.floor(count * 0.5)]!,
      p95: latencies[Math.min(count - 1, Math.floor(count * 0.95))]!,
    };
  } finally {
    await api.close();
    site.close();
  }
}

function textOf(chars: number): string {
  const parts: string[] = [];
  let n = 0;
  for (let i = 0; n < chars; i++) {
    const s = NOUNS_SAMPLE[i % NOUNS_SAMPLE.length]!.text;
    parts.push(s);
    n += s.length + 1;
  }
  return parts.join(' ').slice(0, chars);
}

/** Characters per wall-clock second and per CPU second of this process (load-independent). */
function throughput(
  fn: () => void,
  chars: number,
  maxRuns: number,
  maxMs: number,
): { wall: number; cpu: number } {
  fn(); // warm-up (compromise builds its lexicon lazily)
  let runs = 0;
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  while (runs < maxRuns && performance.now() - started < maxMs) {
    fn();
    runs++;
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    wall: (chars * runs) / ((performance.now() - started) / 1000),
    cpu: (chars * runs) / ((cpu.user + cpu.system) / 1e6),
  };
}

const n = (x: number): string => Math.round(x).toLocaleString('en');

export async function benchApis(): Promise<string> {
  const lines = [
    '### Sample APIs',
    '',
    `Load average at start: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ')}.`,
    '',
  ];
  lines.push('Screen capture (1024×768 PNG of a small loopback page, through the HTTP API):', '');
  lines.push(
    '| pool (contexts) | one capture alone (median of 5) | captures/s (20 at once) | p50 latency | p95 latency |',
    '| ---: | ---: | ---: | ---: | ---: |',
  );
  for (const pool of [1, 2, 4]) {
    const r = await benchCaptures(pool, 20);
    lines.push(
      `| ${pool} | ${r.alone.toFixed(0)} ms | ${r.perSecond.toFixed(1)} | ${r.p50.toFixed(0)} ms | ${r.p95.toFixed(0)} ms |`,
    );
  }
  lines.push('', 'Proper nouns (compromise, in-process, one core):', '');
  lines.push(
    '| operation | text size | characters/s (wall) | characters/CPU-s |',
    '| --- | ---: | ---: | ---: |',
  );
  for (const size of [1_000, 20_000, 100_000]) {
    const text = textOf(size);
    const rate = throughput(() => extractNouns(text), text.length, 200, 3_000);
    lines.push(`| extract | ${n(size)} | ${n(rate.wall)} | ${n(rate.cpu)} |`);
  }
  const text = textOf(20_000);
  const search = throughput(
    () => searchNames(text, ['Angela Merkel', 'Paris', 'Nobody']),
    text.length,
    200,
    3_000,
  );
  lines.push(`| search (3 names) | 20,000 | ${n(search.wall)} | ${n(search.cpu)} |`);
  const predict = (t: string): Array<[string, string]> =>
    extractNouns(t).flatMap((n) => n.offsets.map((o): [string, string] => [t.slice(o.start, o.end), n.type]));
  const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;
  lines.push('', 'Proper-noun quality (micro-averaged over occurrences):', '');
  lines.push('| sample | sentences | entities | span+type P | span+type R | span P | span R |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  const quality = (name: string, sample: SampleSentence[]): void => {
    const { typed, spans } = scoreSample(predict, sample);
    lines.push(
      `| ${name} | ${sample.length} | ${typed.tp + typed.fn} | ${pct(typed.precision)} | ${pct(typed.recall)} | ` +
        `${pct(spans.precision)} | ${pct(spans.recall)} |`,
    );
  };
  quality('tuning sample', NOUNS_SAMPLE);
  quality('held-out', NOUNS_HELDOUT);
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await benchApis());
}
