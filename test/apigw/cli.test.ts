/**
 * docs/apigw.md's AWS CLI examples, run as written with the machine's `aws` (botocore signs
 * only host;x-amz-date) against a whole Tollgate: credentials issued through the admin API,
 * the endpoint and region from the environment as the docs say. Ids the docs write as
 * `pln_…` / `key_…` are the ones the earlier commands returned. Its JS SDK example runs too,
 * as written but for the address and credentials the reader fills in. Outside CI a missing `aws`
 * skips with a message; under CI=true it fails.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../../src/catalog/index.js';
import type { Tollgate } from '../../src/main/index.js';
import { IN_CI } from '../helpers/stores.js';
import { startTestTollgate } from '../helpers/tollgate.js';

const TOKEN = `tga_cli_${'z'.repeat(32)}`;

function awsCli(): boolean {
  try {
    execFileSync('aws', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    if (IN_CI) throw new Error('the AWS CLI (`aws`) is required under CI');
    console.warn(
      '[tollgate tests] the AWS CLI is not installed: skipping the CLI suite (allowed outside CI)',
    );
    return false;
  }
}

/** The `aws apigateway …` lines of the docs' shell examples, continuation lines joined. */
function docCommands(): string[] {
  const md = readFileSync(new URL('../../docs/apigw.md', import.meta.url), 'utf8');
  const out: string[] = [];
  for (const block of md.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const lines = block[1]!.replace(/\\\n\s*/g, '').split('\n');
    for (const l of lines) if (l.startsWith('aws apigateway ')) out.push(l.trim());
  }
  return out;
}

describe.skipIf(!awsCli())('the AWS CLI runs docs/apigw.md as written', () => {
  let tg: Tollgate;
  let close: () => Promise<void>;
  let env: NodeJS.ProcessEnv;
  let creds: { accessKeyId: string; secretAccessKey: string };

  beforeAll(async () => {
    ({ tg, close } = await startTestTollgate(TOKEN));
    const res = await fetch(`${tg.consoleUrl}/admin/v1/providers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'CLI provider' }),
    });
    expect(res.status).toBe(201);
    const issued = await fetch(`${tg.consoleUrl}/admin/v1/apigateway/credentials`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: '{}',
    });
    creds = (await issued.json()) as { accessKeyId: string; secretAccessKey: string };
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      AWS_ACCESS_KEY_ID: creds.accessKeyId,
      AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_ENDPOINT_URL: `${tg.consoleUrl}/apigateway`,
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_MAX_ATTEMPTS: '1',
    };
  }, 120_000);
  afterAll(async () => {
    await close?.();
  });

  function run(line: string): Promise<Record<string, unknown>> {
    // The docs' lines hold no quoting: a whitespace split is what the shell would do.
    const args = line.split(/\s+/).slice(1);
    return new Promise((resolve, reject) => {
      execFile('aws', [...args, '--output', 'json'], { env, timeout: 60_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${line}\n→ ${stderr || err.message}`));
        else resolve(stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : {});
      });
    });
  }

  it('the JS SDK example runs as written (the SDK signs; the endpoint keeps its path prefix)', {
    timeout: 120_000,
  }, async () => {
    const md = readFileSync(new URL('../../docs/apigw.md', import.meta.url), 'utf8');
    const code = /With the JS SDK:\n\n```ts\n([\s\S]*?)```/.exec(md)?.[1];
    expect(code).toContain('GetUsagePlansCommand');
    // Only what the docs tell the reader to fill in: the console's address and the credentials.
    const filled = code!
      .replace('http://127.0.0.1:8081', tg.consoleUrl!)
      .replace("'TGAG…'", JSON.stringify(creds.accessKeyId))
      .replace("secretAccessKey: '…'", `secretAccessKey: ${JSON.stringify(creds.secretAccessKey)}`);
    expect(filled).not.toContain('…');
    // Inside the checkout, so the SDK resolves from its node_modules (test-results/ is ignored).
    const root = fileURLToPath(new URL('../../', import.meta.url));
    mkdirSync(join(root, 'test-results'), { recursive: true });
    const dir = mkdtempSync(join(root, 'test-results', 'apigw-sdk-'));
    try {
      writeFileSync(join(dir, 'example.mjs'), `${filled}\nconsole.log('sent');\n`);
      // Not execFileSync: the Tollgate answering it runs in this process.
      const out = await new Promise<string>((resolve, reject) => {
        execFile(
          process.execPath,
          [join(dir, 'example.mjs')],
          {
            encoding: 'utf8',
            timeout: 60_000,
            env: {
              PATH: process.env.PATH,
              AWS_CONFIG_FILE: '/dev/null',
              AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
              AWS_EC2_METADATA_DISABLED: 'true',
            },
          },
          (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
        );
      });
      expect(out.trim()).toBe('sent');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every example succeeds, and each does what it says', { timeout: 300_000 }, async () => {
    const commands = docCommands();
    expect(commands.length).toBeGreaterThanOrEqual(8);
    const ids: Record<string, string> = {};
    const results: Record<string, Record<string, unknown>> = {};
    for (const raw of commands) {
      const line = raw.replace(/pln_…/g, ids.plan ?? 'pln_…').replace(/key_…/g, ids.key ?? 'key_…');
      const out = await run(line);
      const op = line.split(/\s+/)[2]!;
      results[op] = out;
      if (op === 'create-usage-plan') ids.plan = out.id as string;
      if (op === 'create-api-key') ids.key = out.id as string;
    }
    expect(results['create-usage-plan']).toMatchObject({
      name: 'Starter',
      throttle: { burstLimit: 10, rateLimit: 5 },
      quota: { limit: 1000, period: 'DAY' },
    });
    expect((results['get-usage-plans']!.items as { id: string }[]).map((p) => p.id)).toContain(ids.plan);
    expect(results['create-api-key']).toMatchObject({ name: 'buyer-1', enabled: true });
    expect((results['get-usage-plan-keys']!.items as { id: string }[]).map((k) => k.id)).toEqual([ids.key]);
    expect(results['update-usage-plan']).toMatchObject({ throttle: { burstLimit: 10, rateLimit: 50 } });
    expect(results['get-usage']).toMatchObject({ usagePlanId: ids.plan });
    const gone = await fetch(`${tg.consoleUrl}/admin/v1/keys/${ids.key}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(gone.status).toBe(404);
  });

  it('sets one throttle or quota field and leaves the other unset; takes limits of 0', {
    timeout: 300_000,
  }, async () => {
    const plan = await run('aws apigateway create-usage-plan --name Half');
    const rate = await run(
      `aws apigateway update-usage-plan --usage-plan-id ${plan.id} --patch-operations op=replace,path=/throttle/rateLimit,value=20`,
    );
    expect(rate.throttle).toEqual({ rateLimit: 20 });
    const period = await run(
      `aws apigateway update-usage-plan --usage-plan-id ${plan.id} --patch-operations op=replace,path=/quota/period,value=DAY`,
    );
    expect(period).toMatchObject({ throttle: { rateLimit: 20 }, quota: { period: 'DAY', offset: 0 } });
    expect((period.quota as Record<string, unknown>).limit).toBeUndefined();
    const zero = await run(
      'aws apigateway create-usage-plan --name Closed --throttle burstLimit=0,rateLimit=0 --quota limit=0,period=WEEK',
    );
    expect(zero).toMatchObject({
      throttle: { burstLimit: 0, rateLimit: 0 },
      quota: { limit: 0, offset: 0, period: 'WEEK' },
    });
  });

  it('puts one key in two usage plans on different APIs, and refuses a third that overlaps', {
    timeout: 300_000,
  }, async () => {
    const providerId = (await tg.store.db.selectFrom('providers').select('id').executeTakeFirstOrThrow()).id;
    const api = async (name: string) =>
      (
        await tg.catalog.apis.create(SYSTEM, {
          providerId,
          name,
          upstreamUrl: 'http://127.0.0.1:9/',
          pathPrefix: `/${name}`,
        })
      ).id;
    const weather = await api('cli-weather');
    const maps = await api('cli-maps');
    const plan = (name: string, ...apis: string[]) =>
      run(
        `aws apigateway create-usage-plan --name ${name} --api-stages ${apis.map((a) => `apiId=${a},stage=prod`).join(' ')}`,
      );
    const w = await plan('Weather', weather);
    const m = await plan('Maps', maps);
    const both = await plan('Both', weather, maps);
    const key = await run('aws apigateway create-api-key --name two-plans --enabled');
    for (const p of [w, m]) {
      const added = await run(
        `aws apigateway create-usage-plan-key --usage-plan-id ${p.id} --key-id ${key.id} --key-type API_KEY`,
      );
      expect(added).toMatchObject({ id: key.id, type: 'API_KEY' });
    }
    const inPlans = await run(`aws apigateway get-usage-plans --key-id ${key.id}`);
    expect((inPlans.items as { id: string }[]).map((p) => p.id).sort()).toEqual([w.id, m.id].sort());
    await expect(
      run(
        `aws apigateway create-usage-plan-key --usage-plan-id ${both.id} --key-id ${key.id} --key-type API_KEY`,
      ),
    ).rejects.toThrow(
      new RegExp(
        `ConflictException.*cannot reference multiple Usage Plans with the same API Stage: ${weather}:prod`,
      ),
    );
  });

  it('refuses credentials a database copy holds (the token id and its stored hash)', {
    timeout: 120_000,
  }, async () => {
    const row = await tg.store.db.selectFrom('admin_tokens').select(['id', 'hash']).executeTakeFirstOrThrow();
    const err = await run('aws apigateway get-usage-plans').then(
      () => null,
      (e: Error) => e,
    );
    expect(err).toBeNull();
    env = { ...env, AWS_ACCESS_KEY_ID: row.id, AWS_SECRET_ACCESS_KEY: row.hash };
    await expect(run('aws apigateway get-usage-plans')).rejects.toThrow(/UnauthorizedException|401/);
  });
});
