/**
 * The API key file of ImportApiKeys (RFC 4180 CSV; API Gateway's "API key file format"):
 * a header line with `Name` and `Key` (case-insensitive, any order), optional `Description`,
 * `Enabled` and `UsagePlanIds` (comma list inside quotes); unknown columns are ignored.
 * A field may be quoted with double quotes (RFC 4180) or, as API Gateway's own examples of
 * `UsagePlanIds` do, with single quotes; a quote inside is doubled. A quote that does not
 * open a field is an ordinary character.
 */
import { CsvError, parseCsv as splitCsv } from '../shared/index.js';
import { badRequest } from './errors.js';

export interface KeyFileRow {
  line: number;
  name: string;
  key: string;
  description: string;
  enabled: boolean | null;
  usagePlanIds: string[];
}

/** The key file's records: quoted with `"` or, as API Gateway's examples do, with `'`. */
export function parseCsv(text: string): string[][] {
  try {
    return splitCsv(text, `"'`);
  } catch (err) {
    if (err instanceof CsvError) throw badRequest(`body: ${err.message}`);
    throw err;
  }
}

export function parseKeyFile(text: string): KeyFileRow[] {
  const rows = parseCsv(text);
  if (rows.length === 0) throw badRequest('body: the CSV is empty; it needs a header line with Name and Key');
  const header = rows[0]!.map((h) => h.trim().toLowerCase());
  const col = (n: string) => header.indexOf(n);
  const [name, key, desc, enabled, plans] = ['name', 'key', 'description', 'enabled', 'usageplanids'].map(
    col,
  );
  if (name === -1 || key === -1) throw badRequest('body: the CSV header must name the columns Name and Key');
  return rows.slice(1).map((r, i) => {
    const get = (c: number | undefined) => (c === undefined || c < 0 ? '' : (r[c] ?? '').trim());
    const en = get(enabled).toLowerCase();
    return {
      line: i + 2,
      name: get(name),
      key: get(key),
      description: get(desc),
      enabled: en === '' ? true : en === 'true' ? true : en === 'false' ? false : null,
      usagePlanIds: get(plans)
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean),
    };
  });
}
