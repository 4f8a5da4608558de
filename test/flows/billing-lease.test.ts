/**
 * Two console processes on one PostgreSQL, both running the billing scheduler on a fast
 * timer (every 200 ms), with billing due for many subscriptions at once: every period is
 * invoiced once and finalized once, and only one process ever runs the cycle — the holder
 * of the `billing` lease. Real `tollgate serve --role console` processes, real clocks.
 *
 * The subscriptions are made through the admin API and then moved 100 days back in the
 * database, all in one statement, so three monthly periods of each become due in the same
 * instant for both processes' next tick. Without the lease both would run the cycle side
 * by side (each logs its `billing run`); the unique (subscription, period start) index would
 * still refuse the second writer of a period, so "one process ran it" is what proves the
 * lease, and "one invoice per period" what proves the outcome.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient } from '../helpers/admin.js';
import { type ServeProcess, startServe } from '../helpers/process.js';
import { PG_URL, postgresAvailable } from '../helpers/stores.js';

const TOKEN = `tga_billinglease_${'x'.repeat(32)}`;
const DAY = 86_400_000;
/** Subscriptions billed at once: enough that a cycle takes a while on a loaded machine. */
const SUBS = 40;
/** Monthly periods of a subscription that started 100 days ago that have ended. */
const PERIODS = 3;

describe.runIf(await postgresAvailable())('two console processes billing one PostgreSQL', () => {
  const schema = `t_lease_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
  const dirs: string[] = [];
  const consoles: ServeProcess[] = [];
  let sql: pg.Client;

  beforeAll(async () => {
    sql = new pg.Client({ connectionString: PG_URL });
    await sql.connect();
    await sql.query(`CREATE SCHEMA ${schema}`);
    // one after the other: the first migrates the schema, the second finds it migrated
    for (const node of ['console-a', 'console-b']) {
      const dir = mkdtempSync(join(tmpdir(), `tollgate-${node}-`));
      dirs.push(dir);
      consoles.push(
        await startServe(
          [
            '--role',
            'console',
            '--database-url',
            `${PG_URL}?schema=${schema}`,
            '--data-dir',
            dir,
            '--console-host',
            '127.0.0.1',
            '--console-port',
            '0',
            '--node',
            node,
            '--log-level',
            'info',
            '--billing-interval-ms',
            '200',
            '--billing-settle-ms',
            '0',
            '--billing-review-ms',
            '0',
            // renewed every cycle; long enough that a stalled event loop on a loaded machine
            // does not hand the lease over mid-test (a handover is not what this test is about)
            '--billing-lease-ms',
            '120000',
          ],
          { TOLLGATE_ADMIN_TOKEN: TOKEN },
        ),
      );
    }
  }, 300_000);

  afterAll(async () => {
    await Promise.all(consoles.map((c) => c.stop()));
    await sql?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await sql?.end();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('never writes two invoices for one period, and only the lease holder runs the cycle', async () => {
    const admin = adminClient(consoles[0]!.consoleUrl!, TOKEN);
    const provider = await admin.post<{ id: string }>('/providers', { name: 'Lease Co' });
    const api = await admin.post<{ id: string }>('/apis', {
      providerId: provider.id,
      name: 'API',
      upstreamUrl: 'http://127.0.0.1:9',
      pathPrefix: '/api',
    });
    const plan = await admin.post<{ id: string }>('/plans', {
      providerId: provider.id,
      name: 'Monthly',
      apiIds: [api.id],
    });
    // a price made through the other console: both serve the same store
    await adminClient(consoles[1]!.consoleUrl!, TOKEN).put(`/plans/${plan.id}/price`, {
      currency: 'USD',
      interval: 'month',
      recurringFee: '10',
      charges: [],
    });
    await admin.post('/webhooks/endpoints', { providerId: provider.id, url: 'http://127.0.0.1:9/never' });
    const subs: string[] = [];
    for (let i = 0; i < SUBS; i++) {
      const c = await admin.post<{ id: string }>('/consumers', { providerId: provider.id, name: `B${i}` });
      subs.push(
        (await admin.post<{ id: string }>('/subscriptions', { consumerId: c.id, planId: plan.id })).id,
      );
    }
    // nothing is due yet: the periods began just now
    expect(await count('SELECT count(*) FROM invoices')).toBe(0);

    // three periods of every subscription fall due at once, for both processes' next tick
    await sql.query(`UPDATE ${schema}.subscriptions SET started_at = started_at - $1`, [100 * DAY]);
    const expected = SUBS * PERIODS;
    const deadline = Date.now() + 120_000;
    while ((await count(`SELECT count(*) FROM invoices WHERE status = 'open'`)) < expected) {
      if (Date.now() > deadline) throw new Error(`not every invoice was finalized in time\n${logs()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // three more cycles (both processes tick on the same interval) find nothing more to do
    const runs = () => Math.max(...consoles.map((c) => billingRuns(c).length));
    const runsBefore = runs();
    while (runs() < runsBefore + 3) {
      if (Date.now() > deadline) throw new Error(`no further billing cycle ran\n${logs()}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    // one invoice per period, every period of every subscription, numbers unique
    expect(
      (
        await sql.query(
          `SELECT subscription_id, period_start, count(*) AS n FROM ${schema}.invoices
           GROUP BY subscription_id, period_start HAVING count(*) > 1`,
        )
      ).rows,
    ).toEqual([]);
    expect(await count('SELECT count(*) FROM invoices')).toBe(expected);
    expect(await count('SELECT count(DISTINCT subscription_id) FROM invoices')).toBe(SUBS);
    expect(await count('SELECT count(DISTINCT number) FROM invoices')).toBe(expected);
    // each finalized once: one audit entry and one invoice.finalized event per invoice
    expect(await count(`SELECT count(*) FROM audit_log WHERE action = 'invoice.finalize'`)).toBe(expected);
    expect(
      await count(`SELECT count(DISTINCT entity_id) FROM audit_log WHERE action = 'invoice.finalize'`),
    ).toBe(expected);
    expect(await count(`SELECT count(*) FROM webhook_outbox WHERE type = 'invoice.finalized'`)).toBe(
      expected,
    );

    // exactly one process ran billing (the lease holder); the other never did
    const ran = consoles.map((c) => billingRuns(c).length);
    expect(
      ran.filter((n) => n > 0),
      `billing runs per process: ${ran.join(', ')}`,
    ).toHaveLength(1);
    const leader = consoles[ran.findIndex((n) => n > 0)]!;
    const created = cycles(leader).reduce((sum, c) => sum + c.created, 0);
    expect(created).toBe(expected);
    expect(cycles(leader).reduce((sum, c) => sum + c.failed, 0)).toBe(0);
    const holder = await sql.query(`SELECT holder FROM ${schema}.scheduler_leases WHERE name = 'billing'`);
    expect(holder.rows[0].holder).toMatch(leader === consoles[0] ? /^console-a:/ : /^console-b:/);
  }, 300_000);

  async function count(query: string): Promise<number> {
    const r = await sql.query(query.replace(/\bFROM (\w+)/, `FROM ${schema}.$1`));
    return Number(r.rows[0].count);
  }

  function logLines(c: ServeProcess): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    for (const l of c.output().split('\n')) {
      if (!l.startsWith('{') || !l.endsWith('}')) continue; // a line still being written
      out.push(JSON.parse(l) as Record<string, unknown>);
    }
    return out;
  }
  /** The `billing run` lines: the process ran billing (only the lease holder may). */
  function billingRuns(c: ServeProcess) {
    return logLines(c).filter((l) => l.msg === 'billing run');
  }
  /** The `billing cycle` lines (logged at info when a cycle created or finalized something). */
  function cycles(c: ServeProcess) {
    return logLines(c)
      .filter((l) => l.msg === 'billing cycle')
      .map((l) => ({ created: Number(l.created), failed: Number(l.failed) }));
  }
  function logs(): string {
    return consoles.map((c, i) => `--- console ${i}\n${c.output().slice(-3000)}`).join('\n');
  }
});
