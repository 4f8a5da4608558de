/**
 * `tollgate usage import FILE.csv` through the real command against a real Tollgate (SQLite):
 * a backfill of 2,500 events goes in three batches and shows in the usage report; a rerun
 * of the same file counts nothing twice; a bad line in the file is named before anything is
 * sent; a field the server refuses is reported by its line in the file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tollgate } from '../../src/main/index.js';
import { runCli } from '../helpers/cli.js';
import { startTestTollgate } from '../helpers/tollgate.js';

const OPERATOR = 'tga_cli_usage_import_operator_tok';
const op = { kind: 'operator', id: 'test' } as const;

const tollgate = (url: string, args: string[]) => runCli(url, OPERATOR, args);

describe('tollgate usage import', { timeout: 300_000 }, () => {
  let tg: Tollgate;
  let close: () => Promise<void>;
  let subscriptionId: string;
  let dir: string;
  const run = (args: string[]) => tollgate(tg.consoleUrl as string, args);
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  // Seconds after the subscription began: every event lies in its open first period.
  let began = 0;
  const hour = (i: number) => new Date(began + (i % 20) * 100).toISOString();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-import-'));
    ({ tg, close } = await startTestTollgate(OPERATOR));
    const providerId = (await tg.catalog.providers.create(op, { name: 'Import Co' })).id;
    const api = await tg.catalog.apis.create(op, {
      providerId,
      name: 'Jobs',
      upstreamUrl: 'http://127.0.0.1:9/',
      pathPrefix: '/jobs',
    });
    const plan = await tg.catalog.plans.create(op, { providerId, name: 'Basic', apiIds: [api.id] });
    const consumer = await tg.catalog.consumers.create(op, { providerId, name: 'Buyer' });
    const sub = await tg.catalog.subscriptions.create(op, { consumerId: consumer.id, planId: plan.id });
    subscriptionId = sub.id;
    began = Date.now();
  });
  afterAll(async () => {
    await close?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends a backfill in batches, and a rerun counts nothing twice', async () => {
    const lines = ['timestamp,id,subscriptionId,dimension,units'];
    for (let i = 0; i < 2_500; i++) lines.push(`${hour(i)},job-${i},${subscriptionId},jobs,${(i % 3) + 1}`);
    const path = file('backfill.csv', `${lines.join('\n')}\n`);
    const expected = Array.from({ length: 2_500 }, (_, i) => (i % 3) + 1).reduce((a, b) => a + b, 0);

    const first = await run(['usage', 'import', path]);
    expect(first.stderr).toContain('sent 2,500 of 2,500 events');
    expect(first.stdout).toContain('2500 accepted, 0 already recorded, 0 refused');
    expect(first.code).toBe(0);

    const again = await run(['usage', 'import', path, '--json']);
    expect(JSON.parse(again.stdout)).toEqual({ accepted: 0, duplicates: 2_500, refused: [] });

    const report = await run([
      'usage',
      '--subscription',
      subscriptionId,
      '--from',
      new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 10),
      '--granularity',
      'month',
      '--json',
    ]);
    const items = (JSON.parse(report.stdout) as { items: { dimension: string; units: number }[] }).items;
    const units = items.filter((r) => r.dimension === 'jobs').reduce((a, r) => a + r.units, 0);
    expect(units).toBe(expected);
  });

  it('names a bad line of the file before sending anything', async () => {
    const path = file(
      'bad.csv',
      `id,subscriptionId,dimension,units,timestamp\nx-1,${subscriptionId},jobs,1,${hour(0)}\nx-2,${subscriptionId},jobs,1.5,${hour(0)}\n`,
    );
    const r = await run(['usage', 'import', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('line 3: units must be a whole number above 0, not 1.5');
    const header = await run(['usage', 'import', file('nohead.csv', 'id,dimension,units,timestamp\n')]);
    expect(header.code).toBe(2);
    expect(header.stderr).toContain('needs a subscriptionId or a keyId column');
  });

  it('reports a field the server refuses by its line in the file', async () => {
    const path = file(
      'refused.csv',
      `id,subscriptionId,dimension,units,timestamp\ny-1,${subscriptionId},jobs,1,${hour(0)}\ny-2,${subscriptionId},bad dimension,1,${hour(0)}\n`,
    );
    const r = await run(['usage', 'import', path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/line 3 dimension/);
  });
});
