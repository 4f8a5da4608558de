/**
 * docs/apigw.md's Terraform configuration, run with the machine's `terraform` and the
 * hashicorp/aws provider from a local filesystem mirror (never the registry): init, apply,
 * a second plan that must show no changes, a call through the gateway with the key
 * Terraform created, destroy. The mirror is $TF_PLUGIN_MIRROR, a well-known plugin folder,
 * or found once on the file system. Outside CI a missing terraform or provider skips with a
 * message; under CI=true it fails.
 */
import { execFile, execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../../src/catalog/index.js';
import type { Tollgate } from '../../src/main/index.js';
import { IN_CI } from '../helpers/stores.js';
import { startTestTollgate } from '../helpers/tollgate.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const TOKEN = `tga_tf_${'t'.repeat(32)}`;
const AWS_PROVIDER = join('registry.terraform.io', 'hashicorp', 'aws');

/** A folder holding registry.terraform.io/hashicorp/aws (a filesystem mirror), or null. */
function findMirror(): string | null {
  const candidates = [
    process.env.TF_PLUGIN_MIRROR,
    join(homedir(), '.terraform.d', 'plugins'),
    join(homedir(), '.local', 'share', 'terraform', 'plugins'),
    '/usr/local/share/terraform/plugins',
    '/usr/share/terraform/plugins',
  ].filter((d): d is string => !!d);
  for (const d of candidates) if (existsSync(join(d, AWS_PROVIDER))) return d;
  try {
    const out = execFileSync(
      'find',
      [
        '/',
        '-maxdepth',
        '4',
        '(',
        '-path',
        '/proc',
        '-o',
        '-path',
        '/sys',
        ')',
        '-prune',
        '-o',
        '-type',
        'd',
        '-name',
        'registry.terraform.io',
        '-print',
      ],
      { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    for (const line of out.split('\n').filter(Boolean)) {
      const root = dirname(line);
      if (existsSync(join(root, AWS_PROVIDER))) return root;
    }
  } catch {
    // find exits non-zero on unreadable folders; what it printed was read above when it could be.
  }
  return null;
}

function terraformSetup(): { mirror: string } | null {
  let why = '';
  try {
    execFileSync('terraform', ['version'], {
      stdio: 'ignore',
      env: { ...process.env, CHECKPOINT_DISABLE: '1' },
    });
  } catch {
    why = 'terraform is not installed';
  }
  const mirror = why ? null : findMirror();
  if (!why && !mirror) why = 'no filesystem mirror holds the hashicorp/aws provider (set TF_PLUGIN_MIRROR)';
  if (!why) return { mirror: mirror! };
  if (IN_CI)
    throw new Error(`the Terraform test needs terraform and the hashicorp/aws provider under CI: ${why}`);
  console.warn(`[tollgate tests] ${why}: skipping the Terraform test (allowed outside CI)`);
  return null;
}

/** The ```hcl block of docs/apigw.md. */
function docConfig(): string {
  const md = readFileSync(new URL('../../docs/apigw.md', import.meta.url), 'utf8');
  const block = /```hcl\n([\s\S]*?)```/.exec(md);
  if (!block) throw new Error('docs/apigw.md has no ```hcl block');
  return block[1]!;
}

const setup = terraformSetup();

describe.skipIf(!setup)('Terraform (hashicorp/aws) runs docs/apigw.md as written', () => {
  let tg: Tollgate;
  let close: () => Promise<void>;
  let up: Upstream;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    up = await startUpstream();
    ({ tg, close } = await startTestTollgate(TOKEN, { apigwKeyValues: true }));
    const provider = await tg.catalog.providers.create(SYSTEM, { name: 'TF provider' });
    const api = await tg.catalog.apis.create(SYSTEM, {
      providerId: provider.id,
      name: 'pets',
      upstreamUrl: up.url,
      pathPrefix: '/pets-api',
    });
    const issued = await fetch(`${tg.consoleUrl}/admin/v1/apigateway/credentials`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(issued.status).toBe(201);
    const creds = (await issued.json()) as { accessKeyId: string; secretAccessKey: string };

    dir = mkdtempSync(join(tmpdir(), 'tollgate-tf-'));
    writeFileSync(join(dir, 'main.tf'), docConfig());
    writeFileSync(
      join(dir, 'terraform.tfvars'),
      [
        `tollgate_url = "${tg.consoleUrl}"`,
        `access_key = "${creds.accessKeyId}"`,
        `secret_key = "${creds.secretAccessKey}"`,
        `api_id = "${api.id}"`,
      ].join('\n'),
    );
    // The provider comes from the mirror only: no `direct {}` block, so nothing is fetched.
    writeFileSync(
      join(dir, 'cli.tfrc'),
      `provider_installation {\n  filesystem_mirror {\n    path    = ${JSON.stringify(setup!.mirror)}\n    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n`,
    );
    env = {
      PATH: process.env.PATH,
      HOME: dir,
      TF_CLI_CONFIG_FILE: join(dir, 'cli.tfrc'),
      TF_DATA_DIR: join(dir, '.terraform'),
      TF_IN_AUTOMATION: '1',
      TF_INPUT: '0',
      CHECKPOINT_DISABLE: '1',
      AWS_CONFIG_FILE: join(dir, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-aws-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_MAX_ATTEMPTS: '1',
    };
  }, 120_000);

  afterAll(async () => {
    await close?.();
    await up?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function tf(args: string[], cwd = dir): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        'terraform',
        args,
        { cwd, env: { ...env, TF_DATA_DIR: join(cwd, '.terraform') }, timeout: 300_000, maxBuffer: 16 << 20 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  }

  async function ok(args: string[], cwd = dir): Promise<string> {
    const r = await tf(args, cwd);
    if (r.code !== 0) throw new Error(`terraform ${args.join(' ')} → ${r.code}\n${r.stderr}\n${r.stdout}`);
    return r.stdout;
  }

  it('init, apply, plan shows no changes, the key works on the gateway, destroy', {
    timeout: 900_000,
  }, async () => {
    await ok(['init', '-no-color']);
    await ok(['apply', '-auto-approve', '-no-color']);

    const plan = await tf(['plan', '-detailed-exitcode', '-no-color']);
    expect(plan.stdout + plan.stderr).toContain('No changes');
    expect(plan.code).toBe(0);

    // What Terraform made is what Tollgate holds: the plan with its limits, tags and the key in it.
    const state = JSON.parse(await ok(['show', '-json'])) as {
      values: { root_module: { resources: Array<{ type: string; values: Record<string, unknown> }> } };
    };
    const byType = Object.fromEntries(state.values.root_module.resources.map((r) => [r.type, r.values]));
    const planId = byType.aws_api_gateway_usage_plan!.id as string;
    const keyId = byType.aws_api_gateway_api_key!.id as string;
    const held = await tg.catalog.plans.get(SYSTEM, planId);
    expect(held).toMatchObject({
      name: 'Starter',
      description: '100 calls a day',
      throttle: { rateLimit: 5, burstLimit: 10 },
      quota: { limit: 100, period: 'DAY' },
    });
    const tags = await tg.store.db
      .selectFrom('apigw_tags')
      .selectAll()
      .where('resource_id', '=', planId)
      .execute();
    expect(Object.fromEntries(tags.map((t) => [t.tag_key, t.tag_value]))).toEqual({
      team: 'payments',
      'managed-by': 'terraform',
    });
    const key = await tg.catalog.keys.get(SYSTEM, keyId);
    expect((await tg.catalog.subscriptions.get(SYSTEM, key.subscriptionId)).planId).toBe(planId);

    // The value Terraform read back (includeValue) opens the API through the gateway.
    const value = (await ok(['output', '-raw', 'key_value'])).trim();
    expect(value.length).toBeGreaterThanOrEqual(20);
    const deadline = Date.now() + 5000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await fetch(`${tg.gatewayUrl}/pets-api/pets`, { headers: { 'x-api-key': value } })).status;
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(200);
    expect(up.requests.some((r) => r.url === '/pets')).toBe(true);
    expect(
      (await fetch(`${tg.gatewayUrl}/pets-api/pets`, { headers: { 'x-api-key': `${value}x` } })).status,
    ).toBe(403);

    await ok(['destroy', '-auto-approve', '-no-color']);
    const after = await fetch(`${tg.consoleUrl}/admin/v1/keys/${keyId}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(after.status).toBe(404);
  });
  it("a throttle_settings field left at the provider's default is a limit of 0, and plans clean", {
    timeout: 900_000,
  }, async () => {
    // The docs' terraform, variables and provider blocks, with plans of their own.
    const head = docConfig().split(/^resource /m)[0]!;
    const sub = join(dir, 'defaults');
    mkdirSync(sub);
    for (const f of ['terraform.tfvars']) copyFileSync(join(dir, f), join(sub, f));
    const write = (throttle: string, quota = '') =>
      writeFileSync(
        join(sub, 'main.tf'),
        `${head}resource "aws_api_gateway_usage_plan" "zero" {\n  name = "Zero"\n  api_stages {\n    api_id = var.api_id\n    stage  = "prod"\n  }\n  throttle_settings {${throttle}}\n${quota}}\n`,
      );
    const held = async () => {
      const state = JSON.parse(await ok(['show', '-json'], sub)) as {
        values: { root_module: { resources: Array<{ values: { id: string } }> } };
      };
      return tg.catalog.plans.get(SYSTEM, state.values.root_module.resources[0]!.values.id);
    };
    const clean = async () => {
      const plan = await tf(['plan', '-detailed-exitcode', '-no-color'], sub);
      expect(plan.stdout + plan.stderr).toContain('No changes');
      expect(plan.code).toBe(0);
    };

    // burst_limit only: the provider sends {burstLimit: 3}, leaving out the rate at its default 0.
    write('\n    burst_limit = 3\n  ');
    await ok(['init', '-no-color'], sub);
    await ok(['apply', '-auto-approve', '-no-color'], sub);
    await clean();
    expect(await held()).toMatchObject({ throttle: { rateLimit: 0, burstLimit: 3 }, quota: null });

    // rate_limit only, later: the provider patches both fields, the burst as "0".
    write('\n    rate_limit = 5\n  ', '  quota_settings {\n    limit  = 10\n    period = "WEEK"\n  }\n');
    await ok(['apply', '-auto-approve', '-no-color'], sub);
    await clean();
    expect(await held()).toMatchObject({
      throttle: { rateLimit: 5, burstLimit: 0 },
      quota: { limit: 10, period: 'WEEK' },
    });
    await ok(['destroy', '-auto-approve', '-no-color'], sub);
  });
});
