/**
 * RFC 4180 CSV split into records of fields: quoted fields, doubled quotes, CRLF or LF, a
 * leading byte-order mark dropped, blank lines skipped. `quotes` names the characters that
 * may open a quoted field (API Gateway's key files also quote with `'`); a quote that does
 * not open a field is an ordinary character.
 */
export class CsvError extends Error {
  override name = 'CsvError';
}

export function parseCsv(text: string, quotes = '"'): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  /** The quote character of the field being read, or '' outside quotes. */
  let quote = '';
  let i = 0;
  const s = text.replace(/^\uFEFF/, '');
  while (i < s.length) {
    const ch = s[i] as string;
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
    if (quotes.includes(ch) && field === '') quote = ch;
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
  if (quote) throw new CsvError('the CSV ends inside a quoted field');
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}
