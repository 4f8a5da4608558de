/**
 * In-memory aggregates: usage per (subscription, key, api, dimension, UTC hour) and rejections
 * per (api, route, subscription, key, code, UTC hour). Adding is a Map lookup on a joined key
 * and two integer additions; sealing hands the whole map to a batch and starts a new one, so a
 * sealed batch never changes afterwards (a retried flush sends exactly the same rows).
 */
import type { RejectionEvent } from './types.js';

export const HOUR_MS = 3_600_000;

/** Start of the UTC hour containing `at`. */
export function hourOf(at: number): number {
  return at - (((at % HOUR_MS) + HOUR_MS) % HOUR_MS);
}

export interface UsageRow {
  subscriptionId: string;
  keyId: string;
  apiId: string;
  dimension: string;
  hour: number;
  units: number;
  requests: number;
}

export interface RejectionRow {
  apiId: string;
  routeId: string;
  subscriptionId: string;
  keyId: string;
  code: string;
  hour: number;
  count: number;
}

const SEP = '\u0001';

export class UsageAggregates {
  private rows = new Map<string, UsageRow>();
  /** Events added since the last seal. */
  events = 0;

  /** `requests` is 1 for a call, -1 for the reversal of one (with negative `units`). */
  add(
    subscriptionId: string,
    keyId: string,
    apiId: string,
    dimension: string,
    hour: number,
    units: number,
    requests = 1,
  ) {
    const k = subscriptionId + SEP + keyId + SEP + apiId + SEP + dimension + SEP + hour;
    const row = this.rows.get(k);
    if (row) {
      row.units += units;
      row.requests += requests;
    } else {
      this.rows.set(k, { subscriptionId, keyId, apiId, dimension, hour, units, requests });
    }
    this.events++;
  }

  get size(): number {
    return this.rows.size;
  }

  /**
   * Takes every row out, sorted by primary key (a stable lock order for concurrent flushers).
   * A row whose calls were all reversed in the same window (0 units, 0 requests) is dropped.
   * A reversal whose call was flushed earlier stays negative: the store adds it to that row.
   */
  seal(): { rows: UsageRow[]; events: number } {
    const rows = [...this.rows.entries()]
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map((e) => e[1])
      .filter((r) => r.units !== 0 || r.requests !== 0);
    const events = this.events;
    this.rows = new Map();
    this.events = 0;
    return { rows, events };
  }
}

export class RejectionAggregates {
  private rows = new Map<string, RejectionRow>();

  add(e: RejectionEvent): void {
    if (!Number.isSafeInteger(e.at) || e.at < 0)
      throw new TypeError(`metering: at must be epoch ms, got ${e.at}`);
    const apiId = e.apiId ?? '';
    const routeId = e.routeId ?? '';
    const subscriptionId = e.subscriptionId ?? '';
    const keyId = e.keyId ?? '';
    const hour = hourOf(e.at);
    const k = apiId + SEP + routeId + SEP + subscriptionId + SEP + keyId + SEP + e.code + SEP + hour;
    const row = this.rows.get(k);
    if (row) row.count += 1;
    else this.rows.set(k, { apiId, routeId, subscriptionId, keyId, code: e.code, hour, count: 1 });
  }

  get size(): number {
    return this.rows.size;
  }

  seal(): RejectionRow[] {
    const rows = [...this.rows.entries()]
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map((e) => e[1]);
    this.rows = new Map();
    return rows;
  }
}
