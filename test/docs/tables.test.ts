/**
 * The settings table in docs/operations.md and the endpoint table in docs/admin-api.md are
 * generated (scripts/docs-tables.ts): this fails when the committed docs differ from what
 * the config schema and the admin API's OpenAPI document say today.
 */
import { describe, expect, it } from 'vitest';
import { generatedDocs, settingsTable } from '../../scripts/docs-tables.js';
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
});
