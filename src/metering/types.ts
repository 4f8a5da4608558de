/** The metering module's public types (re-exported by index.ts). */

/** `off`: nothing is recorded (benchmark baseline). `batched`: memory, flushed every ≤ 1 s.
 * `strict`: each billable event is fsynced to an append-only log before record() resolves. */
export type Durability = 'off' | 'batched' | 'strict';

/** One request the gateway forwarded upstream. */
export interface UsageEvent {
  subscriptionId: string;
  keyId: string;
  apiId: string;
  routeId: string;
  /** Metering dimension of the route, e.g. `requests`. */
  dimension: string;
  /** Units of that dimension this call consumed (a non-negative integer, usually 1). */
  units: number;
  /** Status the client received. */
  status: number;
  /** Response body bytes relayed. */
  bytes: number;
  latencyMs: number;
  /** When the request arrived, ms since the epoch (from the injected clock). */
  at: number;
  /** Decided by the gateway from the plan (`lt500` default, or `2xx`). Only billable events are counted. */
  billable: boolean;
}

export type RejectionCode =
  | 'FORBIDDEN'
  | 'THROTTLED'
  | 'QUOTA_EXCEEDED'
  | 'NO_ROUTE'
  | 'BAD_PATH'
  | 'UPSTREAM_ERROR'
  | 'UPSTREAM_TIMEOUT'
  | 'LIMITS_UNAVAILABLE';

/** A request the gateway answered itself (or whose upstream failed): counted for analytics, never billed. */
export interface RejectionEvent {
  apiId: string | null;
  routeId: string | null;
  subscriptionId: string | null;
  keyId: string | null;
  code: RejectionCode;
  at: number;
}

/** One flushed aggregate as handed to `onFlushed` (summed over keys and APIs). */
export interface FlushedRow {
  subscriptionId: string;
  dimension: string;
  hour: number;
  units: number;
  requests: number;
}

export interface MeteringMetrics {
  readonly durability: Durability;
  /** Strict mode: events waiting for their group's write + fsync. */
  readonly queueDepth: number;
  /** Billable events recorded but not yet committed to the store. */
  readonly unflushedEvents: number;
  /** Duration of the last flush attempt, ms (0 before the first). */
  readonly lastFlushMs: number;
  /** Clock time of the last successful flush (0 before the first). */
  readonly lastFlushAt: number;
  readonly flushes: number;
  readonly flushFailures: number;
  /** Strict mode: fsyncs done, and events they carried (group size = fsyncEvents / fsyncs). */
  readonly fsyncs: number;
  readonly fsyncEvents: number;
  /** Highest strict-log sequence committed to the store. */
  readonly checkpoint: number;
}

export interface Meter {
  /**
   * Records a forwarded request. In 'strict' mode the returned promise resolves only once the
   * event is durably on disk (group commit); the gateway awaits it BEFORE sending the response
   * head. In 'batched'/'off' (and for non-billable events) it returns undefined.
   */
  record(e: UsageEvent): void | Promise<void>;
  /**
   * Takes back a call recorded earlier with the same event: its response body failed after
   * the head, so it was not delivered and is not billed. Strict mode appends a reversal entry
   * to the log (the promise is its fsync); nothing for a non-billable event.
   */
  reverse(e: UsageEvent): void | Promise<void>;
  recordRejection(e: RejectionEvent): void;
  /** Flush in-memory aggregates to the store now. Rejects if the store write fails (the data is kept). */
  flush(): Promise<void>;
  /** Stop timers, flush everything, close the log. */
  close(): Promise<void>;
  readonly metrics: MeteringMetrics;
  /** Subscribes to successful flushes (duration in seconds, events written); used by the Prometheus metrics. */
  onFlush?(listener: (seconds: number, events: number) => void): void;
}
