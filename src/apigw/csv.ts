/**
 * The API key file of ImportApiKeys (RFC 4180 CSV; API Gateway's "API key file format"):
 * a header line with `Name` and `Key` (case-insensitive, any order), optional `Description`,
 * `Enabled` and `UsagePlanIds` (comma list inside quotes); unknown columns are ignored.
 * A field may be quoted with double quotes (RFC 4180) or, as API Gateway's own examples of
 * `UsagePlanIds` do, with single quotes; a quote inside is doubled. A quote that does not
 * open a field is an ordinary character.
 */
import { badRequest } from './errors.js';

export interface KeyFileRow {
  line: number;
  name: string;
  key: string;
  description: string;
  enabled: boolean | null;
  usagePlanIds: string[];
}

/** Splits CSV text into records of fields (quotes, doubled quotes, CRLF or LF). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  /** The quote character of the field being read, or '' outside quotes. */
  let quote = '';
  let i = 0;
  const s = text.replace(/^\uFEFF/, '');
  while (i < s.length) {
    const ch = s[i]!;
    if (quote) {
      if (ch === quote && s[i + 1] === quote) {
        field += quote;
        i += 2;
        continue;
      }
      if (ch === quote) quote = '';
      else field += ch;
      i++;
      continue;
    }
    if ((ch === '"' || ch === "'") && field === '') quote = ch;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && s[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
    i++;
  }
  if (quote) throw badRequest('body: the CSV ends inside a quoted field');
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
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
