/**
 * The everyday commands through the real `tollgate` command against a real Tollgate (SQLite):
 * a key created, listed, rolled and disabled — and the gateway agreeing — usage as CSV,
 * invoices listed, a provider token minted; a lost operator token replaced from the
 * server's own store while it runs; bad calls exit 2 with a sentence.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tollgate } from '../../src/main/index.js';
import { runCli } from '../helpers/cli.js';
import { startTestTollgate } from '../helpers/tollgate.js';

const OPERATOR = 'tga_cli_ops_test_operator_token_0';
const op = { kind: 'operator', id: 'test' } as const;

const tollgate = (url: string, args: string[]) => runCli(url, OPERATOR, args);

describe('tollgate keys, usage, invoices, token', { timeout: 300_000 }, () => {
  let tg: Tollgate;
  let close: () => Promise<void>;
  let subscriptionId: string;
  let providerId: string;
  const run = (args: string[]) => tollgate(tg.consoleUrl!, args);

  beforeAll(async () => {
    ({ tg, close } = await startTestTollgate(OPERATOR));
    providerId = (await tg.catalog.providers.create(op, { name: 'Ops Co' })).id;
    const plan = await tg.catalog.plans.create(op, { providerId, name: 'Basic' });
    const consumer = await tg.catalog.consumers.create(op, { providerId, name: 'Buyer' });
    subscriptionId = (await tg.catalog.subscriptions.create(op, { consumerId: consumer.id, planId: plan.id }))
      .id;
  });
  afterAll(async () => close?.());

  it('creates, lists, rolls and disables a key', async () => {
    const created = await run(['keys', 'create', '--subscription', subscriptionId, '--name', 'ci', '--json']);
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout) as { id: string; value: string };
    expect(key.value).toMatch(/^tg_/);

    const listed = await run(['keys', 'list', '--subscription', subscriptionId]);
    expect(listed.stdout.split('\n')[0]).toMatch(/^ID\s+PREFIX\s+NAME\s+ENABLED/);
    expect(listed.stdout).toContain(key.id);

    const rolled = await run(['keys', 'roll', key.id, '--grace', '0', '--json']);
    const roll = JSON.parse(rolled.stdout) as { old: { id: string }; new: { id: string; value: string } };
    expect(roll.old.id).toBe(key.id);
    expect(roll.new.value).not.toBe(key.value);

    expect((await run(['keys', 'disable', roll.new.id])).code).toBe(0);
    expect((await tg.catalog.keys.get(op, roll.new.id)).enabled).toBe(false);
  });

  it('prints usage as CSV, invoices as a table, and mints a provider token', async () => {
    const usage = await run([
      'usage',
      '--subscription',
      subscriptionId,
      '--from',
      '2026-01-01',
      '--format',
      'csv',
    ]);
    expect(usage.code).toBe(0);
    expect(usage.stdout.split('\n')[0]).toContain('units');

    const invoices = await run(['invoices', 'list']);
    expect(invoices.code).toBe(0);
    expect(invoices.stdout.split('\n')[0]).toMatch(/^ID\s+NUMBER\s+STATUS/);

    const token = await run(['token', 'create', '--provider', providerId, '--name', 'ci', '--json']);
    const t = JSON.parse(token.stdout) as { scope: string; providerId: string; value: string };
    expect(t).toMatchObject({ scope: 'provider', providerId });
    expect(await tg.catalog.tokens.authenticate(t.value)).toMatchObject({ kind: 'provider', providerId });
  });

  it("mints a new operator token straight into the running server's store (a lost one)", async () => {
    // No URL and no token: the operator lost theirs; the command needs only the database.
    const minted = await runCli('', '', [
      'token',
      'create',
      '--operator',
      '--name',
      'found again',
      '--database-url',
      tg.config.databaseUrl,
    ]);
    expect(minted.code, minted.stderr).toBe(0);
    const value = /^\s+(tga_\S+)$/m.exec(minted.stdout)?.[1];
    expect(value, minted.stdout).toBeDefined();
    expect(minted.stdout).toContain('shown once');
    // The running server accepts it at once, as an operator: it may list every token.
    const admin = await fetch(`${tg.consoleUrl}/admin/v1/tokens`, {
      headers: { authorization: `Bearer ${value}` },
    });
    expect(admin.status).toBe(200);
    const names = ((await admin.json()) as { items: Array<{ name: string; scope: string }> }).items;
    expect(names).toContainEqual(expect.objectContaining({ name: 'found again', scope: 'operator' }));
    // Without --operator the command is the admin API client's, which needs a token.
    const usage = await runCli('', '', ['token', 'create', '--name', 'x']);
    expect(usage.code).not.toBe(0);
  });

  it('answers a bad call with exit 2 and a sentence, a refusal with exit 1', async () => {
    const missing = await run(['keys', 'create']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--subscription is required');
    const unknown = await run(['keys', 'list', '--frobnicate']);
    expect(unknown.code).toBe(2);
    const refused = await run(['invoices', 'show', 'inv_01JAAAAAAAAAAAAAAAAAAAAAAA']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('404');
  });
});
