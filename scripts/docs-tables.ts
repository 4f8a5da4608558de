/**
 * `npm run docs:tables`: writes the reference tables that must not drift from the code —
 * every setting in docs/operations.md (from the config schema, src/config) and every admin
 * endpoint in docs/admin-api.md (from the admin API's own OpenAPI document) — between their
 * markers. test/docs/tables.test.ts fails when the committed docs differ from this output.
 *
 * `--check` writes nothing and exits 1 when a table is out of date.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SETTING_DESCRIPTIONS } from '../src/config/described.js';
import { configSchema, envName, kebab, loadConfig } from '../src/config/index.js';
import { startTollgate } from '../src/main/index.js';
import { silentLogger } from '../src/shared/index.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** A zod definition, read loosely: only the parts a table shows. */
interface Def {
  type: string;
  defaultValue?: unknown;
  innerType?: { _zod: { def: Def } };
  in?: { _zod: { def: Def } };
  entries?: Record<string, string>;
}

function defOf(schema: unknown): Def {
  return (schema as { _zod: { def: Def } })._zod.def;
}

/** The default and the accepted values a setting's schema states. */
function describeSchema(schema: unknown): { fallback: unknown; values: string[] | null } {
  let def = defOf(schema);
  let fallback: unknown;
  for (;;) {
    if (def.type === 'default' && fallback === undefined) fallback = def.defaultValue;
    const next = def.innerType ?? def.in;
    if (!next) break;
    def = next._zod.def;
  }
  return { fallback, values: def.type === 'enum' && def.entries ? Object.values(def.entries) : null };
}

const FLAG_ALIASES: Record<string, string> = { licenceFile: '--licence' };

export function settingsTable(): string {
  const rows = Object.keys(configSchema.shape).map((key) => {
    const { fallback, values } = describeSchema(configSchema.shape[key as keyof typeof configSchema.shape]);
    const flag = FLAG_ALIASES[key] ?? `--${kebab(key)}`;
    const shown =
      fallback === undefined || (Array.isArray(fallback) && fallback.length === 0)
        ? '—'
        : `\`${String(fallback)}\``;
    const text = SETTING_DESCRIPTIONS[key as keyof typeof SETTING_DESCRIPTIONS];
    const accepted = values ? `${values.map((v) => `\`${v}\``).join(', ')}: ` : '';
    return `| ${key} | \`${flag}\` / \`${envName(key)}\` | ${shown} | ${accepted}${text} |`;
  });
  return ['| setting | flag / environment | default | |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

// biome-ignore lint/suspicious/noExplicitAny: a parsed JSON document, read loosely
type OpenApi = { paths: Record<string, Record<string, any>> };

/** The admin API's OpenAPI document, as a running console serves it (SQLite in a temp folder). */
export async function adminOpenApi(): Promise<OpenApi> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-docs-'));
  const t = await startTollgate(
    loadConfig(
      {
        role: 'console',
        databaseUrl: `sqlite:${join(dir, 't.db')}`,
        dataDir: dir,
        consoleHost: '127.0.0.1',
        consolePort: 0,
        billingScheduler: false,
      },
      {},
    ),
    { log: silentLogger },
  );
  try {
    return (await (await fetch(`${t.consoleUrl}/admin/v1/openapi.json`)).json()) as OpenApi;
  } finally {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const METHODS = ['get', 'put', 'post', 'patch', 'delete'];

export function endpointsTable(doc: OpenApi): string {
  const rows: string[] = [];
  for (const path of Object.keys(doc.paths).sort()) {
    for (const method of METHODS) {
      const op = doc.paths[path]?.[method];
      if (!op) continue;
      const what = String(op.summary ?? op.description ?? '')
        .split('\n')[0]
        ?.replaceAll('|', '\\|');
      const shownPath = path.replace(/^\/admin\/v1/, '');
      rows.push(`| \`${method.toUpperCase()}\` | \`${shownPath}\` | ${what} |`);
    }
  }
  return ['| method | path | |', '| --- | --- | --- |', ...rows].join('\n');
}

export const TABLES = [
  { file: 'docs/operations.md', name: 'settings' },
  { file: 'docs/admin-api.md', name: 'endpoints' },
] as const;

/** The markdown with the text between `<!-- NAME:begin … -->` and `<!-- NAME:end -->` replaced. */
export function withTable(markdown: string, name: string, table: string): string {
  const begin = new RegExp(`<!-- ${name}:begin[^>]*-->\\n`);
  const end = `<!-- ${name}:end -->`;
  const m = begin.exec(markdown);
  const stop = markdown.indexOf(end);
  if (!m || stop < m.index) throw new Error(`no <!-- ${name}:begin --> … ${end} markers`);
  return `${markdown.slice(0, m.index + m[0].length)}${table}\n${markdown.slice(stop)}`;
}

/** Each document as it should be: [file, committed text, generated text]. */
export async function generatedDocs(): Promise<Array<[string, string, string]>> {
  const tables: Record<string, string> = {
    settings: settingsTable(),
    endpoints: endpointsTable(await adminOpenApi()),
  };
  return TABLES.map(({ file, name }) => {
    const committed = readFileSync(join(ROOT, file), 'utf8');
    return [file, committed, withTable(committed, name, tables[name] ?? '')];
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [file, committed, generated] of await generatedDocs()) {
    if (committed === generated) continue;
    stale++;
    if (check) console.error(`${file}: out of date; run npm run docs:tables`);
    else {
      writeFileSync(join(ROOT, file), generated);
      console.log(`${file}: tables written`);
    }
  }
  if (check && stale) process.exitCode = 1;
  if (!stale) console.log('docs tables are up to date');
}
