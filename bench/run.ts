/**
 * `npm run bench`: every benchmark, each against its reference in the same run, printed as
 * Markdown (paste into bench/RESULTS.md with the machine and date). Never part of `npm test`.
 * BENCH_ONLY=gateway,limits runs a subset.
 */
import { cpus, totalmem } from 'node:os';

const only = process.env.BENCH_ONLY?.split(',');
const suites: Array<[string, () => Promise<string>]> = [
  ['gateway', async () => (await import('./gateway.js')).benchGateway()],
  ['scale', async () => (await import('./gateway.js')).benchScaleOut()],
  ['limits', async () => (await import('./limits.js')).benchLimits()],
  ['metering', async () => (await import('./metering.js')).benchMetering()],
  ['billing', async () => (await import('./billing.js')).benchBilling()],
  ['apis', async () => (await import('./apis.js')).benchApis()],
  ['snapshots', async () => (await import('./snapshots.js')).benchSnapshots()],
];

console.log(`# Tollgate benchmarks — ${new Date().toISOString().slice(0, 10)}`);
console.log(
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}\n`,
);
for (const [name, run] of suites) {
  if (only && !only.includes(name)) continue;
  try {
    console.log(`${await run()}\n`);
  } catch (err) {
    console.log(`### ${name}\n\nfailed: ${(err as Error).message}\n`);
  }
}
