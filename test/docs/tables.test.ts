/**
 * The settings table in docs/operations.md and the endpoint table in docs/admin-api.md are
 * generated (scripts/docs-tables.ts): this fails when the committed docs differ from what
 * the config schema and the admin API's OpenAPI document say today.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { adminOpenApi, generatedDocs, settingsTable } from '../../scripts/docs-tables.js';
import { configSchema } from '../../src/config/index.js';

describe('generated reference tables', () => {
  it('are what the code says (after adding a setting or a route: npm run docs:tables)', async () => {
    const stale = (await generatedDocs())
      .filter(([, committed, generated]) => committed !== generated)
      .map(([file]) => `${file} is out of date: run npm run docs:tables and commit the result`);
    expect(stale).toEqual([]);
  }, 120_000);

  it('list every setting, with its flag, environment variable and default', () => {
    const table = settingsTable();
    for (const key of Object.keys(configSchema.shape)) expect(table).toContain(`| ${key} |`);
    expect(table).toContain(
      '| metering | `--metering` / `TOLLGATE_METERING` | `batched` | `off`, `batched`, `strict`:',
    );
  });

  it('the billing section of admin-api.md names every billing and invoice route with its methods', async () => {
    const doc = await adminOpenApi();
    const md = readFileSync(new URL('../../docs/admin-api.md', import.meta.url), 'utf8');
    const section = md.slice(
      md.indexOf('### Billing and invoices'),
      md.indexOf('\n### ', md.indexOf('### Billing and invoices') + 1),
    );
    // each row: | `/path` (, `/path`)* | METHOD, METHOD | notes |
    const documented = new Set<string>();
    for (const row of section.split('\n').filter((l) => l.startsWith('| `/'))) {
      const [, paths = '', methods = ''] = row.split('|').map((c) => c.trim());
      for (const path of paths.match(/`[^`]+`/g) ?? [])
        for (const method of methods.split(',')) documented.add(`${method.trim()} ${path.slice(1, -1)}`);
    }
    const billing: string[] = [];
    const all = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(ops)) {
        const route = `${method.toUpperCase()} ${path.replace(/^\/admin\/v1/, '')}`;
        all.add(route);
        if ((op as { tags?: string[] }).tags?.includes('billing')) billing.push(route);
      }
    expect(billing.length).toBeGreaterThanOrEqual(13);
    expect(billing.filter((r) => !documented.has(r)).sort()).toEqual([]);
    // and no row names a route that does not exist
    expect([...documented].filter((r) => !all.has(r)).sort()).toEqual([]);
  }, 120_000);
});
