/**
 * kill -9 in strict mode: a child process records usage from 20 producers; we SIGKILL it at a
 * random moment, restart it (its start-up replays the log — and gets killed again), then run
 * a final recovery. For every producer: acknowledged ≤ metered ≤ acknowledged + 1 (each
 * producer has at most one event in flight). Zero double counts across the replays.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { meteringStores } from './fixtures/stores.js';

const here = dirname(fileURLToPath(import.meta.url));
const script = join(here, 'fixtures', 'strict-writer.ts');
const PRODUCERS = 20;

function start(args: string[]): { child: ChildProcess; ready: Promise<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: join(here, '..', '..'),
  });
  let out = '';
  let err = '';
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/ready|done/.test(out)) resolve(out);
    });
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('exit', (code, signal) => {
      if (!/ready|done/.test(out)) reject(new Error(`child exited ${code ?? signal} before ready: ${err}`));
    });
  });
  return { child, ready };
}

function acked(file: string): number[] {
  const counts = new Array<number>(PRODUCERS).fill(0);
  if (!existsSync(file)) return counts;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^(\d+) (\d+)$/.exec(line);
    if (m) counts[Number(m[1])] = Math.max(counts[Number(m[1])]!, Number(m[2]));
  }
  return counts;
}

const exited = (c: ChildProcess) =>
  new Promise<void>((r) => (c.exitCode !== null || c.signalCode ? r() : c.once('exit', () => r())));

for (const kind of await meteringStores()) {
  describe(`strict metering survives kill -9 on ${kind.name}`, () => {
    let store: Store & { url: string };
    let dir: string;
    beforeAll(async () => {
      store = await kind.open();
      dir = mkdtempSync(join(tmpdir(), 'tollgate-crash-'));
    });
    afterAll(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('counts every acknowledged event exactly once across two kills and replays', async () => {
      const dataDir = join(dir, 'data');
      const rounds = ['r1', 'r2'];
      for (const round of rounds) {
        const { child, ready } = start([
          store.url,
          dataDir,
          join(dir, `${round}.acks`),
          round,
          String(PRODUCERS),
        ]);
        await ready;
        await new Promise((r) => setTimeout(r, 400 + Math.floor(Math.random() * 400)));
        child.kill('SIGKILL');
        await exited(child);
      }
      const { child, ready } = start([store.url, dataDir, join(dir, 'recover.acks'), 'rx', '0', 'recover']);
      await ready;
      await exited(child);

      const rows = await store.db
        .selectFrom('usage')
        .select(['key_id'])
        .select((eb) => eb.fn.sum<number>('requests').as('n'))
        .where('subscription_id', '=', 'sub_crash')
        .groupBy('key_id')
        .execute();
      const metered = new Map(rows.map((r) => [r.key_id, Number(r.n)]));
      let total = 0;
      for (const round of rounds) {
        const acks = acked(join(dir, `${round}.acks`));
        total += acks.reduce((s, n) => s + n, 0);
        for (let p = 0; p < PRODUCERS; p++) {
          const m = metered.get(`${round}p${p}`) ?? 0;
          expect(m, `${round} producer ${p}: metered ${m}, acknowledged ${acks[p]}`).toBeGreaterThanOrEqual(
            acks[p]!,
          );
          expect(m, `${round} producer ${p}: metered ${m}, acknowledged ${acks[p]}`).toBeLessThanOrEqual(
            acks[p]! + 1,
          );
        }
      }
      expect(total).toBeGreaterThan(50); // the load really ran
      // Everything is in the store: the log directory holds no segment the checkpoint does not cover.
      const cp = await store.db
        .selectFrom('meter_checkpoints')
        .selectAll()
        .where('node', '=', 'crash')
        .executeTakeFirstOrThrow();
      expect(Number(cp.epoch)).toBe(3);
      const { readdirSync } = await import('node:fs');
      expect(readdirSync(dataDir).filter((f) => f.endsWith('.log'))).toEqual([]);
    }, 45_000);
  });
}
