/**
 * Request counts and durations per route, kept as plain numbers so that recording one
 * request is a Map lookup and three increments: no label hashing, no histogram object, no
 * allocation. The text exposition is built from these numbers at scrape time, in the format
 * prom-client would give a Counter and a Histogram. Bucket search is linear from the
 * smallest bound, so a fast request (the common case) stops at the first comparison.
 *
 * `export()`/`absorb()` carry the numbers between processes (gateway workers → primary);
 * absorbing a worker's totals replaces its previous report, so repeats never double-count.
 */
import type { Outcome } from './metrics.js';

export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const OUTCOMES: Outcome[] = ['2xx', '3xx', '4xx', '403', '429', '5xx'];

function outcomeIndex(status: number): number {
  if (status === 403) return 3;
  if (status === 429) return 4;
  if (status >= 500) return 5;
  if (status >= 400) return 2;
  if (status >= 300) return 1;
  return 0;
}

interface Cell {
  api: string;
  route: string;
  /** Requests by outcome (OUTCOMES order). */
  outcomes: number[];
  /** Requests by duration bucket, not cumulative; the last one is +Inf. */
  buckets: number[];
  sum: number;
}

/** Every cell of one process, for another process to absorb. */
export type RequestStatsExport = Cell[];

export class RequestStats {
  /** By route id ('' when no route matched). */
  private readonly cells = new Map<string, Cell>();
  /** Other processes' latest totals, by process name. */
  private readonly absorbed = new Map<string, Cell[]>();

  observe(api: string, route: string, status: number, seconds: number): void {
    let c = this.cells.get(route);
    if (c === undefined || c.api !== api) c = this.cell(api, route);
    c.outcomes[outcomeIndex(status)]!++;
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    c.buckets[i]!++;
    c.sum += seconds;
  }

  export(): RequestStatsExport {
    return [...this.cells.values()];
  }

  absorb(from: string, cells: RequestStatsExport): void {
    this.absorbed.set(from, cells);
  }

  /** `tollgate_requests_total` values, as prom-client's Counter.get() gives them. */
  counterValues(): Array<{ value: number; labels: Record<string, string> }> {
    const out: Array<{ value: number; labels: Record<string, string> }> = [];
    for (const c of this.merged()) {
      for (let i = 0; i < OUTCOMES.length; i++) {
        const n = c.outcomes[i]!;
        if (n > 0) out.push({ value: n, labels: { api: c.api, route: c.route, outcome: OUTCOMES[i]! } });
      }
    }
    return out;
  }

  /** `tollgate_request_duration_seconds` values, as prom-client's Histogram.get() gives them. */
  histogramValues(
    name: string,
  ): Array<{ value: number; labels: Record<string, string | number>; metricName: string }> {
    const out: Array<{ value: number; labels: Record<string, string | number>; metricName: string }> = [];
    for (const c of this.merged()) {
      let acc = 0;
      for (let i = 0; i < c.buckets.length; i++) {
        acc += c.buckets[i]!;
        const le = i < DURATION_BUCKETS.length ? DURATION_BUCKETS[i]! : '+Inf';
        out.push({ value: acc, labels: { le, api: c.api, route: c.route }, metricName: `${name}_bucket` });
      }
      out.push({ value: c.sum, labels: { api: c.api, route: c.route }, metricName: `${name}_sum` });
      out.push({ value: acc, labels: { api: c.api, route: c.route }, metricName: `${name}_count` });
    }
    return out;
  }

  private cell(api: string, route: string): Cell {
    const key = this.cells.get(route) === undefined ? route : `${api}\u0001${route}`;
    let c = this.cells.get(key);
    if (c === undefined) {
      c = {
        api,
        route,
        outcomes: OUTCOMES.map(() => 0),
        buckets: [...DURATION_BUCKETS, 0].map(() => 0),
        sum: 0,
      };
      this.cells.set(key, c);
    }
    return c;
  }

  /** This process's cells plus every absorbed report, summed by (api, route). */
  private merged(): Cell[] {
    if (this.absorbed.size === 0) return [...this.cells.values()];
    const by = new Map<string, Cell>();
    const add = (c: Cell) => {
      const k = `${c.api}\u0001${c.route}`;
      const m = by.get(k);
      if (m === undefined) {
        by.set(k, {
          api: c.api,
          route: c.route,
          outcomes: [...c.outcomes],
          buckets: [...c.buckets],
          sum: c.sum,
        });
        return;
      }
      for (let i = 0; i < m.outcomes.length; i++) m.outcomes[i]! += c.outcomes[i] ?? 0;
      for (let i = 0; i < m.buckets.length; i++) m.buckets[i]! += c.buckets[i] ?? 0;
      m.sum += c.sum;
    };
    for (const c of this.cells.values()) add(c);
    for (const cells of this.absorbed.values()) for (const c of cells) add(c);
    return [...by.values()];
  }
}
