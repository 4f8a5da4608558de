/**
 * Usage reports over the store's hourly aggregates: sums for a time range, grouped by any of
 * subscription / key / API / dimension, bucketed by UTC hour or by day / month in UTC or an
 * IANA time zone; the same for rejections; CSV and JSON export.
 *
 * The database groups by the chosen columns and the hour; buckets are formed here so the
 * same code runs on SQLite and PostgreSQL. Usage is stored per UTC hour, so in a zone whose
 * offset is not a whole hour (India, Nepal…) an hour straddling local midnight counts in the
 * day where it starts.
 */
import { invalid } from '../shared/errors.js';
import type { Store } from '../store/index.js';
import { bucketStart, type Granularity, isTimeZone } from './windows.js';

export type UsageGroup = 'subscription' | 'key' | 'api' | 'dimension';
export type RejectionGroup = 'subscription' | 'key' | 'api' | 'route' | 'code';

export interface RangeQuery {
  /** Inclusive, ms: rows whose hour starts in [from, to) are counted. */
  from: number;
  /** Exclusive, ms. */
  to: number;
  granularity: Granularity;
  /** IANA zone for day/month buckets; default UTC. */
  timeZone?: string;
  /** Scope: only these subscriptions / APIs (e.g. one provider's). */
  subscriptionIds?: string[];
  apiIds?: string[];
  subscriptionId?: string;
  keyId?: string;
  apiId?: string;
}

export interface UsageQuery extends RangeQuery {
  groupBy?: UsageGroup[];
  dimension?: string;
}

export interface RejectionQuery extends RangeQuery {
  groupBy?: RejectionGroup[];
  code?: string;
}

export interface UsageReportRow {
  /** Bucket start, ISO 8601 UTC. */
  period: string;
  periodStart: number;
  subscriptionId?: string;
  keyId?: string;
  apiId?: string;
  dimension?: string;
  units: number;
  requests: number;
}

export interface RejectionReportRow {
  period: string;
  periodStart: number;
  subscriptionId?: string;
  keyId?: string;
  apiId?: string;
  routeId?: string;
  code?: string;
  count: number;
}

const USAGE_COLUMNS = {
  subscription: 'subscription_id',
  key: 'key_id',
  api: 'api_id',
  dimension: 'dimension',
} as const;
const REJECTION_COLUMNS = {
  subscription: 'subscription_id',
  key: 'key_id',
  api: 'api_id',
  route: 'route_id',
  code: 'code',
} as const;
const FIELD = {
  subscription_id: 'subscriptionId',
  key_id: 'keyId',
  api_id: 'apiId',
  dimension: 'dimension',
  route_id: 'routeId',
  code: 'code',
} as const;
const MAX_RANGE: Record<Granularity, number> = {
  hour: 400 * 86_400_000,
  day: 5 * 366 * 86_400_000,
  month: 20 * 366 * 86_400_000,
};

function validateRange(q: RangeQuery): string {
  if (!Number.isSafeInteger(q.from) || q.from < 0)
    throw invalid('from', 'must be a time in ms since the epoch');
  if (!Number.isSafeInteger(q.to) || q.to <= q.from) throw invalid('to', 'must be a time in ms after from');
  if (!['hour', 'day', 'month'].includes(q.granularity))
    throw invalid('granularity', 'must be hour, day or month');
  if (q.to - q.from > MAX_RANGE[q.granularity]) {
    throw invalid(
      'to',
      `a ${q.granularity} report spans at most ${MAX_RANGE[q.granularity] / 86_400_000} days`,
    );
  }
  const tz = q.timeZone ?? 'UTC';
  if (!isTimeZone(tz)) throw invalid('timeZone', 'must be an IANA time zone such as Europe/Paris');
  return tz;
}

function validateGroups<G extends string>(groupBy: G[] | undefined, allowed: Record<G, string>): G[] {
  const groups = groupBy ?? [];
  for (const g of groups) {
    if (!(g in allowed))
      throw invalid('groupBy', `unknown group ${JSON.stringify(g)}; use ${Object.keys(allowed).join(', ')}`);
  }
  if (new Set(groups).size !== groups.length) throw invalid('groupBy', 'lists a group twice');
  return groups;
}

function isoOf(ms: number): string {
  return new Date(ms).toISOString();
}

/** Buckets rows (already summed per group and hour) and sums per bucket + group. */
function bucketize<R extends { hour: number }>(
  rows: R[],
  cols: string[],
  q: RangeQuery,
  tz: string,
  sums: Array<keyof R & string>,
): Array<Record<string, string | number>> {
  const bucketOfHour = new Map<number, number>();
  const out = new Map<string, Record<string, string | number>>();
  for (const r of rows) {
    let b = bucketOfHour.get(r.hour);
    if (b === undefined) {
      b = bucketStart(r.hour, q.granularity, tz);
      bucketOfHour.set(r.hour, b);
    }
    const rec = r as unknown as Record<string, string | number>;
    const k = [b, ...cols.map((c) => rec[c])].join('\u0001');
    let o = out.get(k);
    if (!o) {
      o = { period: isoOf(b), periodStart: b };
      for (const c of cols) o[FIELD[c as keyof typeof FIELD]] = rec[c]!;
      for (const s of sums) o[s] = 0;
      out.set(k, o);
    }
    for (const s of sums) o[s] = (o[s] as number) + Number(rec[s]);
  }
  return [...out.values()].sort((a, b) => {
    if (a.periodStart !== b.periodStart) return (a.periodStart as number) - (b.periodStart as number);
    for (const c of cols) {
      const f = FIELD[c as keyof typeof FIELD];
      if (a[f] !== b[f]) return String(a[f]) < String(b[f]) ? -1 : 1;
    }
    return 0;
  });
}

/** Usage (units and billable requests) for a range, grouped and bucketed. */
export async function usageReport(store: Store, q: UsageQuery): Promise<UsageReportRow[]> {
  const tz = validateRange(q);
  const cols = validateGroups(q.groupBy, USAGE_COLUMNS).map((g) => USAGE_COLUMNS[g]);
  let query = store.db
    .selectFrom('usage')
    .select(cols)
    .select('hour')
    .select((eb) => [eb.fn.sum<number>('units').as('units'), eb.fn.sum<number>('requests').as('requests')])
    .where('hour', '>=', q.from)
    .where('hour', '<', q.to);
  if (q.subscriptionId) query = query.where('subscription_id', '=', q.subscriptionId);
  if (q.keyId) query = query.where('key_id', '=', q.keyId);
  if (q.apiId) query = query.where('api_id', '=', q.apiId);
  if (q.dimension) query = query.where('dimension', '=', q.dimension);
  if (q.subscriptionIds) {
    if (q.subscriptionIds.length === 0) return [];
    query = query.where('subscription_id', 'in', q.subscriptionIds);
  }
  if (q.apiIds) {
    if (q.apiIds.length === 0) return [];
    query = query.where('api_id', 'in', q.apiIds);
  }
  const rows = await query.groupBy([...cols, 'hour']).execute();
  return bucketize(rows, cols, q, tz, ['units', 'requests']) as unknown as UsageReportRow[];
}

/** Rejected requests (never billed) for a range, grouped and bucketed. Absent ids read ''. */
export async function rejectionReport(store: Store, q: RejectionQuery): Promise<RejectionReportRow[]> {
  const tz = validateRange(q);
  const cols = validateGroups(q.groupBy, REJECTION_COLUMNS).map((g) => REJECTION_COLUMNS[g]);
  let query = store.db
    .selectFrom('rejections')
    .select(cols)
    .select('hour')
    .select((eb) => eb.fn.sum<number>('count').as('count'))
    .where('hour', '>=', q.from)
    .where('hour', '<', q.to);
  if (q.subscriptionId) query = query.where('subscription_id', '=', q.subscriptionId);
  if (q.keyId) query = query.where('key_id', '=', q.keyId);
  if (q.apiId) query = query.where('api_id', '=', q.apiId);
  if (q.code) query = query.where('code', '=', q.code);
  if (q.subscriptionIds) {
    if (q.subscriptionIds.length === 0) return [];
    query = query.where('subscription_id', 'in', q.subscriptionIds);
  }
  if (q.apiIds) {
    if (q.apiIds.length === 0) return [];
    query = query.where('api_id', 'in', q.apiIds);
  }
  const rows = await query.groupBy([...cols, 'hour']).execute();
  return bucketize(rows, cols, q, tz, ['count']) as unknown as RejectionReportRow[];
}

/**
 * RFC 4180 CSV with a header line. `columns` picks and orders the fields (default: the keys
 * of the first row). Text cells starting with = + - @ are prefixed with ' so spreadsheets do
 * not run them as formulas (OWASP CSV injection).
 */
export function toCsv(rows: ReadonlyArray<object>, columns?: string[]): string {
  const cols = columns ?? (rows[0] ? Object.keys(rows[0]) : []);
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) return '';
    if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
    let s = typeof v === 'string' ? v : JSON.stringify(v);
    if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [cols.map(cell).join(',')];
  for (const r of rows) {
    const rec = r as Record<string, unknown>;
    lines.push(cols.map((c) => cell(rec[c])).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

/** JSON export: `{ "items": [...] }` plus whatever describes the query. */
export function toJson(rows: ReadonlyArray<object>, meta: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...meta, items: rows });
}
