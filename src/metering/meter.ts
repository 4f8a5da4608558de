/**
 * The meter: usage events → in-memory hourly aggregates → idempotent batches in the store.
 *
 * Flow. record() adds a billable event to the current aggregates (and in strict mode appends
 * it to the group-committed log, see log.ts, returning the group's fsync promise). Every
 * flushIntervalMs (timer re-armed after each flush, so flushes never overlap) the aggregates
 * are sealed into a batch with id `${node}:${epoch}:${n}` and written in one transaction
 * (batch.ts) by the batch writer (batch-writer.ts). A failed flush keeps the sealed batch and
 * retries it with the SAME id and rows before sealing anything new, so a batch whose COMMIT succeeded but whose caller saw an
 * error is skipped on retry, and batches commit in sequence order.
 *
 * Strict mode and crashes. Each event gets a log sequence at record() time, in the same
 * synchronous step that adds it to the aggregates, so a sealed batch holds exactly the
 * sequences (previous checkpoint, maxSeq]. The transaction that adds a batch also advances
 * the node's checkpoint to maxSeq. On start-up the entries above the checkpoint are replayed
 * into the aggregates and flushed; segments at or below it are deleted. Hence, for a kill -9:
 *   - after fsync, before flush: entries > checkpoint → replayed once;
 *   - during flush (no COMMIT): checkpoint unchanged → replayed once;
 *   - after COMMIT, before segment deletion: entries ≤ checkpoint → skipped;
 *   - mid-write: the torn tail was never acknowledged (no fsync returned) → ignored.
 * An event counted in a committed batch whose own fsync never finished is possible (it was
 * in flight): metered ≤ acknowledged + in flight, never below acknowledged.
 *
 * Batched mode keeps the same batches without a log: a crash loses what was not flushed yet,
 * at most flushIntervalMs + the duration of one flush (longer while the store is down).
 */
import type { Clock } from '../shared/clock.js';
import { invalid } from '../shared/errors.js';
import { reportFault } from '../shared/faults.js';
import type { Logger } from '../shared/logger.js';
import type { Store } from '../store/index.js';
import { hourOf, RejectionAggregates, UsageAggregates } from './aggregate.js';
import { type Batch, type FlushFaults, startNode } from './batch.js';
import { BatchWriter } from './batch-writer.js';
import { formatEntry, lockDir, readSegments, StrictLog } from './log.js';
import type { TollgateMetrics } from './metrics.js';
import type { Durability, FlushedRow, Meter, MeteringMetrics, RejectionEvent, UsageEvent } from './types.js';

export interface MeterOptions {
  store: Store;
  clock: Clock;
  log: Logger;
  durability: Durability;
  /** Directory of the strict-mode log (unused otherwise). */
  dataDir: string;
  /** This process's metering identity: unique per running process and per data directory. */
  node: string;
  /** Default 1000. */
  flushIntervalMs?: number;
  /** Called after each batch is in the store (summed over keys and APIs). Errors are logged, not thrown. */
  onFlushed?: (rows: FlushedRow[]) => void | Promise<void>;
  /** Prometheus handles: attached at once (same as metrics.attachMeter(meter)). */
  metrics?: TollgateMetrics;
  /**
   * Strict mode: how long to wait for another live process holding this node's log directory
   * (e.g. a predecessor still draining) before failing. Default 10 s.
   */
  lockWaitMs?: number;
  /** Strict-log segment size before rotation (default 16 MiB). */
  maxSegmentBytes?: number;
  /** Test-only fault injection around the flush transaction. */
  faults?: FlushFaults;
}

const NODE_RE = /^[A-Za-z0-9._-]{1,64}$/;

export async function createMeter(opts: MeterOptions): Promise<Meter> {
  if (!['off', 'batched', 'strict'].includes(opts.durability)) {
    throw invalid('metering.durability', 'must be one of off, batched, strict');
  }
  if (!NODE_RE.test(opts.node)) throw invalid('metering.node', 'must be 1-64 of A-Z a-z 0-9 . _ -');
  const interval = opts.flushIntervalMs ?? 1000;
  if (!Number.isInteger(interval) || interval < 1 || interval > 3_600_000) {
    throw invalid('metering.flushIntervalMs', 'must be an integer between 1 and 3600000');
  }
  if (opts.durability === 'off') return offMeter();
  const meter = new AggregatingMeter(opts, interval);
  await meter.start();
  opts.metrics?.attachMeter(meter);
  return meter;
}

/** The meter of durability `off`: records nothing (the benchmark baseline, or metering switched off). */
export function offMeter(): Meter {
  const metrics: MeteringMetrics = {
    durability: 'off',
    queueDepth: 0,
    unflushedEvents: 0,
    lastFlushMs: 0,
    lastFlushAt: 0,
    flushes: 0,
    flushFailures: 0,
    fsyncs: 0,
    fsyncEvents: 0,
    checkpoint: 0,
  };
  return {
    record: () => undefined,
    reverse: () => undefined,
    recordRejection: () => {},
    flush: async () => {},
    close: async () => {},
    metrics,
  };
}

class AggregatingMeter implements Meter {
  private readonly usage = new UsageAggregates();
  private readonly rejections = new RejectionAggregates();
  private readonly strict: boolean;
  private log: StrictLog | null = null;
  private unlock: (() => Promise<void>) | null = null;
  private readonly writer: BatchWriter;
  private epoch = 0;
  private nextSeq = 1;
  private pendingMaxSeq = 0;
  private checkpoint = 0;
  private unflushed = 0;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private closing = false;
  private closed: Promise<void> | null = null;
  readonly metrics: MeteringMetrics;

  constructor(
    private readonly opts: MeterOptions,
    private readonly interval: number,
  ) {
    this.strict = opts.durability === 'strict';
    this.writer = new BatchWriter(opts, (batch) => this.committed(batch));
    const self = this;
    const stats = this.writer.stats;
    this.metrics = {
      durability: opts.durability,
      get queueDepth() {
        return self.log?.queueDepth ?? 0;
      },
      get unflushedEvents() {
        return self.unflushed;
      },
      get lastFlushMs() {
        return stats.lastFlushMs;
      },
      get lastFlushAt() {
        return stats.lastFlushAt;
      },
      get flushes() {
        return stats.flushes;
      },
      get flushFailures() {
        return stats.flushFailures;
      },
      get fsyncs() {
        return self.log?.fsyncs ?? 0;
      },
      get fsyncEvents() {
        return self.log?.fsyncEvents ?? 0;
      },
      get checkpoint() {
        return self.checkpoint;
      },
    };
  }

  async start(): Promise<void> {
    const { node } = this.opts;
    // Lock before bumping the epoch: a start that fails on the lock must not fence the owner.
    if (this.strict) this.unlock = await lockDir(this.opts.dataDir, node, this.opts.lockWaitMs ?? 10_000);
    try {
      await this.open();
    } catch (err) {
      // The start's own error is the one thrown; a failure to close the log as well is reported.
      await this.log
        ?.close(this.checkpoint)
        .catch((e: unknown) =>
          reportFault(this.opts.log, 'metering.log_close', e, 'metering: could not close the strict log'),
        );
      await this.unlock?.();
      throw err;
    }
    this.schedule();
  }

  private async open(): Promise<void> {
    const { store, clock, node } = this.opts;
    const started = await startNode(store, node, clock.now());
    this.epoch = started.epoch;
    this.checkpoint = started.seq;
    this.pendingMaxSeq = started.seq;
    if (this.strict) {
      let maxSeen = this.checkpoint;
      let replayed = 0;
      const segments = await readSegments(this.opts.dataDir, node, (e) => {
        if (e.seq > maxSeen) maxSeen = e.seq;
        if (e.seq <= this.checkpoint) return;
        this.usage.add(e.subscriptionId, e.keyId, e.apiId, e.dimension, e.hour, e.units, e.requests);
        if (e.seq > this.pendingMaxSeq) this.pendingMaxSeq = e.seq;
        replayed++;
      });
      const skipped = segments.reduce((n, s) => n + s.skipped, 0);
      this.unflushed = replayed;
      this.nextSeq = maxSeen + 1;
      this.log = await StrictLog.create(
        this.opts.dataDir,
        node,
        this.nextSeq,
        segments,
        this.opts.maxSegmentBytes,
      );
      if (replayed > 0 || skipped > 0 || segments.length > 0) {
        this.opts.log.info(
          { node, checkpoint: this.checkpoint, replayed, skipped, segments: segments.length },
          'metering: replaying strict usage log',
        );
      }
      if (replayed > 0) {
        await this.flush().catch((err) =>
          reportFault(
            this.opts.log,
            'metering.flush',
            err,
            'metering: flush of the replayed log failed; will retry',
            {
              node,
            },
          ),
        );
      } else {
        await this.log.release(this.checkpoint);
      }
    }
  }

  onFlush(listener: (seconds: number, events: number) => void): void {
    this.writer.onFlush(listener);
  }

  record(e: UsageEvent): void | Promise<void> {
    if (!e.billable) return;
    if (this.closing) throw new Error('metering: record() after close()');
    // Validated here, not at flush time: a bad row in a sealed batch would fail every retry.
    const units = e.units;
    if (!Number.isSafeInteger(units) || units < 0)
      throw new TypeError(`metering: units must be a non-negative integer, got ${units}`);
    if (!Number.isSafeInteger(e.at) || e.at < 0)
      throw new TypeError(`metering: at must be epoch ms, got ${e.at}`);
    const hour = hourOf(e.at);
    this.usage.add(e.subscriptionId, e.keyId, e.apiId, e.dimension, hour, units);
    this.unflushed++;
    if (this.log) {
      const seq = this.nextSeq++;
      this.pendingMaxSeq = seq;
      return this.log.append(
        seq,
        formatEntry(seq, e.subscriptionId, e.keyId, e.apiId, e.dimension, hour, units),
      );
    }
  }

  reverse(e: UsageEvent): void | Promise<void> {
    if (!e.billable) return;
    // After close() the event was flushed as billable; the call stays billed.
    if (this.closing) return;
    const hour = hourOf(e.at);
    this.usage.add(e.subscriptionId, e.keyId, e.apiId, e.dimension, hour, -e.units, -1);
    this.unflushed++;
    if (this.log) {
      const seq = this.nextSeq++;
      this.pendingMaxSeq = seq;
      return this.log.append(
        seq,
        formatEntry(seq, e.subscriptionId, e.keyId, e.apiId, e.dimension, hour, -e.units, true),
      );
    }
  }

  recordRejection(e: RejectionEvent): void {
    if (this.closing) return;
    this.rejections.add(e);
  }

  flush(): Promise<void> {
    const run = this.chain.then(() => this.flushOnce());
    // The caller of this flush gets its error through `run`; the chain only orders the next one.
    this.chain = run.catch(() => {});
    return run;
  }

  /** Retries the in-flight batch if any, then seals and writes what was recorded before the call. */
  private async flushOnce(): Promise<void> {
    await this.writer.retry();
    if (this.usage.size === 0 && this.rejections.size === 0) return;
    const { rows, events } = this.usage.seal();
    await this.writer.writeNext(this.epoch, {
      usage: rows,
      rejections: this.rejections.seal(),
      events,
      strict: this.strict ? { maxSeq: this.pendingMaxSeq, epoch: this.epoch } : null,
    });
  }

  /** A batch is in the store: its events are no longer unflushed, and its log entries may go. */
  private async committed(batch: Batch): Promise<void> {
    this.unflushed -= batch.events;
    if (batch.strict && batch.strict.maxSeq > this.checkpoint) this.checkpoint = batch.strict.maxSeq;
    if (this.log) {
      await this.log
        .release(this.checkpoint)
        .catch((err) =>
          reportFault(
            this.opts.log,
            'metering.log_release',
            err,
            'metering: could not delete flushed log segments; the next flush tries again',
          ),
        );
    }
  }

  private schedule(): void {
    if (this.closing) return;
    this.timer = setTimeout(async () => {
      this.timer = null;
      try {
        await this.flush();
      } catch (err) {
        reportFault(this.opts.log, 'metering.flush', err, 'metering: flush failed; will retry', {
          unflushed: this.unflushed,
          batch: this.writer.pending?.id,
        });
      }
      this.schedule();
    }, this.interval);
    this.timer.unref();
  }

  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.log?.drain();
    let lastErr: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.flush();
        if (!this.writer.pending && this.usage.size === 0 && this.rejections.size === 0) {
          lastErr = undefined;
          break;
        }
      } catch (err) {
        lastErr = err;
        await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
      }
    }
    await this.log?.close(this.checkpoint);
    await this.unlock?.();
    if (lastErr) {
      this.opts.log.error(
        { err: lastErr, unflushed: this.unflushed, strict: this.strict },
        this.strict
          ? 'metering: final flush failed; the strict log keeps the events for the next start'
          : 'metering: final flush failed; unflushed usage is lost',
      );
      throw lastErr;
    }
  }
}
