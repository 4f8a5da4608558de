/**
 * Configuration as code, as a provider's CI would use it: the real `tollgate` command
 * (a child process) against a real Tollgate serving its admin API on a loopback port, on
 * SQLite and PostgreSQL. Apply a file to an empty installation, export it back, change one
 * price, see exactly that in the diff, apply, see nothing; a bad file changes nothing and
 * names its line; a refusal half-way rolls back; a provider token stays in its lane.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { fileSchema, type TollgateFile } from '../../src/cli/apply/schema.js';
import { loadConfig } from '../../src/config/index.js';
import { startTollgate, type Tollgate } from '../../src/main/index.js';
import { silentLogger } from '../../src/shared/index.js';
import { runCli } from '../helpers/cli.js';
import { LOOPBACK_ALLOWED } from '../helpers/outbound.js';
import { testStores } from '../helpers/stores.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/tollgate.yaml', import.meta.url));
const OPERATOR = 'tga_cli_apply_test_operator_token';

/** Runs `tollgate ARGS` against the test server; never throws on a non-zero exit. */
const tollgate = (url: string, token: string, args: string[]) => runCli(url, token, args, 60_000);

/** A file in a canonical form: parsed with defaults, every list sorted by its identity. */
function canonical(f: TollgateFile) {
  const by =
    <T>(key: (t: T) => string) =>
    (a: T, b: T) =>
      key(a).localeCompare(key(b));
  return {
    ...f,
    apis: [...f.apis].sort(by((a) => a.name)),
    plans: [...f.plans].sort(by((p) => p.name)),
    products: [...f.products].sort(by((p) => p.productCode)),
    webhooks: [...f.webhooks].sort(by((w) => w.url)),
  };
}
const readFile = (text: string) => canonical(fileSchema.parse(parseYaml(text)));

for (const kind of await testStores()) {
  // Each step runs the real command as a child process: generous per-test time on a busy machine.
  describe(`tollgate apply/diff/export (${kind.name})`, { timeout: 300_000 }, () => {
    let store: Awaited<ReturnType<typeof kind.open>>;
    let tg: Tollgate;
    let url: string;
    let dir: string;
    const run = (args: string[], token = OPERATOR) => tollgate(url, token, args);
    const write = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };

    beforeAll(async () => {
      store = await kind.open();
      dir = mkdtempSync(join(tmpdir(), 'tollgate-apply-'));
      tg = await startTollgate(
        loadConfig(
          {
            databaseUrl: store.url,
            dataDir: dir,
            gatewayPort: 0,
            consolePort: 0,
            gatewayHost: '127.0.0.1',
            consoleHost: '127.0.0.1',
            adminToken: OPERATOR,
            // The file's upstreams are on loopback: this test's own policy allows them.
            outboundAllow: LOOPBACK_ALLOWED,
          },
          {},
        ),
        { log: silentLogger },
      );
      url = tg.consoleUrl!;
    });
    afterAll(async () => {
      await tg?.close();
      await store?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('applies the example to an empty installation, and export gives the same file back', async () => {
      const first = await run(['diff', '-f', EXAMPLE, '--exit-code']);
      expect(first.code).toBe(3);
      expect(first.stdout).toContain('+ api Acme Nouns');
      expect(first.stdout).toContain('5 to create, 0 to update, 0 to delete.');

      const applied = await run(['apply', '-f', EXAMPLE]);
      expect(applied.stderr).toBe('');
      expect(applied.code).toBe(0);

      const again = await run(['diff', '-f', EXAMPLE, '--exit-code']);
      expect(again.stdout.trim()).toBe('No changes.');
      expect(again.code).toBe(0);

      const exported = await run(['export', '--provider', 'Acme Text Tools']);
      expect(exported.code).toBe(0);
      expect(readFile(exported.stdout)).toEqual(readFile(readFileSync(EXAMPLE, 'utf8')));
      // export | apply is a no-op.
      const path = write('exported.yaml', exported.stdout);
      expect((await run(['apply', '-f', path])).stdout.trim()).toBe('No changes.');
    });

    it('shows exactly one changed price, applies it, and then shows nothing', async () => {
      const changed = readFileSync(EXAMPLE, 'utf8').replace('packagePrice: "0.02"', 'packagePrice: "0.03"');
      const path = write('price.yaml', changed);
      const d = await run(['diff', '-f', path, '--json']);
      expect(JSON.parse(d.stdout)).toEqual([
        expect.objectContaining({
          op: 'update',
          entity: 'price',
          name: 'Acme Starter',
          fields: [{ field: 'price.charges[0].packagePrice', before: '0.02', after: '0.03' }],
        }),
      ]);
      expect((await run(['apply', '-f', path])).code).toBe(0);
      expect((await run(['diff', '-f', path, '--exit-code'])).code).toBe(0);
      const plans = (await tg.catalog.plans.list({ kind: 'operator', id: 'test' }, { limit: 200 })).items;
      const starter = plans.find((p) => p.name === 'Acme Starter')!;
      const price = await tg.billing.getPrice(starter.id);
      expect(price?.price.charges[0]).toMatchObject({ packagePrice: '0.03' });
    });

    it('refuses an invalid file as a whole, naming the line of each fault, and changes nothing', async () => {
      const before = (await run(['export', '--provider', 'Acme Text Tools'])).stdout;
      const bad = readFileSync(EXAMPLE, 'utf8')
        .replace('name: Acme Starter', 'name: Acme Starter\n    bogus: true')
        .replace('quota: { limit: 1000, period: DAY }', 'quota: { limit: 1000, period: FORTNIGHT }');
      const path = write('bad.yaml', bad);
      const r = await run(['apply', '-f', path]);
      expect(r.code).toBe(2);
      const lines = bad.split('\n');
      const bogusLine = lines.findIndex((l) => l.includes('bogus: true')) + 1;
      const quotaLine = lines.findIndex((l) => l.includes('FORTNIGHT')) + 1;
      expect(r.stderr).toContain(`bad.yaml:${bogusLine}:5 plans[0].bogus: unknown field`);
      expect(r.stderr).toMatch(new RegExp(`bad\\.yaml:${quotaLine}:\\d+ plans\\[0\\]\\.quota\\.period`));
      expect((await run(['export', '--provider', 'Acme Text Tools'])).stdout).toBe(before);
    });

    it('rolls back what it applied when the server refuses a later step', async () => {
      // Another provider already routes /taken: the file's second API asks for the same prefix.
      const other = await tg.catalog.providers.create({ kind: 'operator', id: 'test' }, { name: 'Other Co' });
      await tg.catalog.apis.create(
        { kind: 'operator', id: 'test' },
        { providerId: other.id, name: 'Taken', upstreamUrl: 'http://127.0.0.1:8091', pathPrefix: '/taken' },
      );
      const path = write(
        'clash.yaml',
        `provider: Rollback Ltd
apis:
  - { name: First, upstreamUrl: "http://127.0.0.1:8092", pathPrefix: /rollback-first }
  - { name: Second, upstreamUrl: "http://127.0.0.1:8093", pathPrefix: /taken }
`,
      );
      const r = await run(['apply', '-f', path]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('create api Second was refused');
      expect(r.stderr).toContain('Everything applied before it was rolled back; nothing changed.');
      const op = { kind: 'operator', id: 'test' } as const;
      const apis = (await tg.catalog.apis.list(op, { limit: 200 })).items;
      expect(apis.map((a) => a.name)).not.toContain('First');
      // The provider the file created on the way is deleted again too.
      const providers = (await tg.catalog.providers.list(op, { limit: 200 })).items;
      expect(providers.map((p) => p.name)).not.toContain('Rollback Ltd');
    });

    it('deletes only with --prune', async () => {
      const extra = write(
        'extra.yaml',
        `${readFileSync(EXAMPLE, 'utf8')}webhooks:\n  - url: http://127.0.0.1:8094/hooks\n    enabled: false\n`,
      );
      const created = await run(['apply', '-f', extra]);
      expect(created.stdout).toContain('+ webhook http://127.0.0.1:8094/hooks');
      expect(created.stdout).toMatch(/signing secret \(shown once, keep it safe\):\n {2}\S{16,}/);
      expect((await run(['diff', '-f', EXAMPLE, '--exit-code'])).code).toBe(0);
      const pruned = await run(['diff', '-f', EXAMPLE, '--prune']);
      expect(pruned.stdout).toContain('- webhook http://127.0.0.1:8094/hooks');
      expect((await run(['apply', '-f', EXAMPLE, '--prune'])).code).toBe(0);
      expect((await run(['diff', '-f', EXAMPLE, '--prune', '--exit-code'])).code).toBe(0);
    });

    it("keeps a provider token to its own provider's objects", async () => {
      const op = { kind: 'operator', id: 'test' } as const;
      const intruder = await tg.catalog.providers.create(op, { name: 'Intruder' });
      const token = (
        await tg.catalog.tokens.create(op, { name: 'ci', scope: 'provider', providerId: intruder.id })
      ).value;
      // A file naming someone else's provider is refused before anything is read or written.
      const r = await run(['apply', '-f', EXAMPLE], token);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('this token belongs to "Intruder"');
      // Its own file, with --prune, sees and deletes nothing of Acme's.
      const own = write(
        'own.yaml',
        'apis:\n  - { name: Mine, upstreamUrl: "http://127.0.0.1:8095", pathPrefix: /intruder }\n',
      );
      const d = await run(['diff', '-f', own, '--prune'], token);
      expect(d.stdout).toContain('1 to create, 0 to update, 0 to delete.');
      expect((await run(['apply', '-f', own, '--prune'], token)).code).toBe(0);
      const exported = await run(['export'], token);
      expect(readFile(exported.stdout).apis.map((a) => a.name)).toEqual(['Mine']);
      expect((await run(['diff', '-f', EXAMPLE, '--exit-code'])).code).toBe(0);
    });
  });
}

describe('tollgate.schema.json', () => {
  it('is the JSON Schema generated from the file schema (regenerate: npm run docs:schema)', async () => {
    const { fileJsonSchema } = await import('../../src/cli/apply/schema.js');
    const committed = JSON.parse(
      readFileSync(fileURLToPath(new URL('../../docs/tollgate.schema.json', import.meta.url)), 'utf8'),
    );
    expect(committed).toEqual(fileJsonSchema());
  });
});
