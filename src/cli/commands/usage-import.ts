/**
 * `tollgate usage import FILE.csv`: backfills usage that did not pass through the gateway
 * (history from before Tollgate, asynchronous work) through `POST /usage/events`, in batches
 * of at most 1,000 events. The file has a header line naming its columns (any order):
 * `id`, `subscriptionId` or `keyId`, optional `apiId`, `dimension`, `units`, `timestamp`.
 * A rerun of the same file is safe: the server counts each event id once. Refused events
 * are listed by their line in the file and make the exit code 1.
 */
import { readFileSync } from 'node:fs';
import { CsvError, parseCsv } from '../../shared/index.js';
import { AdminApiError, type AdminClient, UsageError } from '../client.js';

const BATCH = 1_000;
const COLUMNS = ['id', 'subscriptionId', 'keyId', 'apiId', 'dimension', 'units', 'timestamp'] as const;
type Column = (typeof COLUMNS)[number];

interface Row {
  line: number;
  event: Partial<Record<Column, string | number>>;
}

interface BatchResult {
  accepted: number;
  duplicates: string[];
  refused: { index: number; id: string; code: string; message: string }[];
}

export interface ImportSummary {
  accepted: number;
  duplicates: number;
  refused: { line: number; id: string; message: string }[];
}

/** Reads the file into events, each with its line; a fault in the file is a UsageError. */
export function readEvents(path: string, text = readFileSync(path, 'utf8')): Row[] {
  let records: string[][];
  try {
    records = parseCsv(text);
  } catch (err) {
    if (err instanceof CsvError) throw new UsageError(`${path}: ${err.message}`);
    throw err;
  }
  const header = (records[0] ?? []).map((h) => h.trim());
  const unknown = header.filter((h) => !(COLUMNS as readonly string[]).includes(h));
  if (unknown.length)
    throw new UsageError(`${path}: unknown column ${unknown.join(', ')} (columns: ${COLUMNS.join(', ')})`);
  for (const need of ['id', 'dimension', 'units', 'timestamp'])
    if (!header.includes(need)) throw new UsageError(`${path}: the header line has no ${need} column`);
  if (!header.includes('subscriptionId') && !header.includes('keyId'))
    throw new UsageError(`${path}: the header line needs a subscriptionId or a keyId column`);
  return records.slice(1).map((cells, i) => {
    const line = i + 2;
    const event: Row['event'] = {};
    header.forEach((col, c) => {
      const value = (cells[c] ?? '').trim();
      if (value !== '') event[col as Column] = value;
    });
    if (event.units !== undefined) {
      const units = Number(event.units);
      if (!Number.isSafeInteger(units) || units < 1)
        throw new UsageError(
          `${path} line ${line}: units must be a whole number above 0, not ${event.units}`,
        );
      event.units = units;
    }
    return { line, event };
  });
}

/** Sends the events in batches; `progress` hears after each batch. */
export async function importEvents(
  client: AdminClient,
  rows: Row[],
  progress: (sent: number, total: number) => void = () => {},
): Promise<ImportSummary> {
  const summary: ImportSummary = { accepted: 0, duplicates: 0, refused: [] };
  for (let from = 0; from < rows.length; from += BATCH) {
    const batch = rows.slice(from, from + BATCH);
    let result: BatchResult;
    try {
      result = await client.post<BatchResult>('/usage/events', { events: batch.map((r) => r.event) });
    } catch (err) {
      throw err instanceof AdminApiError ? withLines(err, batch) : err;
    }
    summary.accepted += result.accepted;
    summary.duplicates += result.duplicates.length;
    for (const r of result.refused)
      summary.refused.push({ line: batch[r.index]?.line ?? 0, id: r.id, message: r.message });
    progress(from + batch.length, rows.length);
  }
  return summary;
}

/** A whole-batch refusal names `events[i].field`: say which line of the file that is. */
function withLines(err: AdminApiError, batch: Row[]): AdminApiError {
  const line = (field: string) =>
    field.replace(/^events\[(\d+)\]\.?/, (_, i: string) => `line ${batch[Number(i)]?.line ?? '?'} `).trim();
  const issues = err.issues.map((i) => ({ field: line(i.field), message: i.message }));
  return new AdminApiError(err.status, err.code, line(err.message), issues);
}

export async function usageImportCommand(client: AdminClient, path: string | undefined, json = false) {
  if (!path) throw new UsageError('usage: tollgate usage import FILE.csv');
  const rows = readEvents(path);
  const summary = await importEvents(client, rows, (sent, total) => {
    if (!json)
      process.stderr.write(`\rsent ${sent.toLocaleString('en')} of ${total.toLocaleString('en')} events`);
  });
  if (!json && rows.length) process.stderr.write('\n');
  if (json) console.log(JSON.stringify(summary, null, 2));
  else {
    console.log(
      `${summary.accepted} accepted, ${summary.duplicates} already recorded, ${summary.refused.length} refused`,
    );
    for (const r of summary.refused) console.log(`  line ${r.line} (${r.id}): ${r.message}`);
  }
  return summary.refused.length ? 1 : 0;
}
