/**
 * A bounded closed-loop load generator: C connections, each sending the next request as soon
 * as the last one answered, for D seconds after a warm-up. Prints JSON {rps, p50, p99, errors}.
 * Usage: load.ts <url> <connections> <seconds> [apiKey]
 */
import { Pool } from 'undici';

const [url, conns = '50', secs = '5', key = 'bench-key-0123456789abcdef'] = process.argv.slice(2);
const u = new URL(url!);
const pool = new Pool(u.origin, { connections: Number(conns), pipelining: 1 });
const headers = { 'x-api-key': key };

async function run(ms: number, record: boolean) {
  const lat: number[] = [];
  let errors = 0;
  let done = 0;
  const end = performance.now() + ms;
  await Promise.all(
    Array.from({ length: Number(conns) }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        try {
          const r = await pool.request({ path: u.pathname, method: 'GET', headers });
          await r.body.dump();
          if (r.statusCode !== 200) errors++;
        } catch {
          errors++;
        }
        if (record) lat.push(performance.now() - t);
        done++;
      }
    }),
  );
  return { lat, errors, done };
}

await run(1500, false);
const { lat, errors, done } = await run(Number(secs) * 1000, true);
lat.sort((a, b) => a - b);
const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? 0;
console.log(JSON.stringify({ rps: done / Number(secs), p50: q(0.5), p99: q(0.99), errors }));
await pool.close();
