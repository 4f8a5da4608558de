/**
 * The meter's write side: sealed batches go to the store one at a time (batch.ts), each
 * retried with the SAME id and rows until it commits, so a batch whose COMMIT succeeded but
 * whose caller saw an error is skipped on retry and batches commit in sequence order. It
 * keeps the flush statistics, tells flush listeners (metrics) how long each write took, and
 * hands each committed batch's usage, summed over keys and APIs, to `onFlushed` (alerts);
 * a listener that fails is reported (`metering.on_flushed`), never thrown into the flush.
 *
 * Not concurrent by itself: the meter calls it from its one flush chain (meter.ts).
 */
import { performance } from 'node:perf_hooks';
import type { Clock } from '../shared/clock.js';
import { reportFault } from '../shared/faults.js';
import type { Logger } from '../shared/logger.js';
import type { Store } from '../store/index.js';
import { type Batch, type FlushFaults, writeBatch } from './batch.js';
import type { FlushedRow } from './types.js';

export interface BatchWriterOptions {
  store: Store;
  clock: Clock;
  log: Logger;
  node: string;
  onFlushed?: (rows: FlushedRow[]) => void | Promise<void>;
  faults?: FlushFaults;
}

export class BatchWriter {
  /** Sealed but not yet committed: retried as is. */
  private inflight: Batch | null = null;
  private batchNo = 0;
  private readonly listeners: Array<(seconds: number, events: number) => void> = [];
  readonly stats = { lastFlushMs: 0, lastFlushAt: 0, flushes: 0, flushFailures: 0 };

  constructor(
    private readonly opts: BatchWriterOptions,
    /** Runs after each commit, before `onFlushed`: the meter advances its checkpoint. */
    private readonly committed: (batch: Batch) => Promise<void>,
  ) {}

  /** The batch waiting for a retry, if the last write failed. */
  get pending(): Batch | null {
    return this.inflight;
  }

  onFlush(listener: (seconds: number, events: number) => void): void {
    this.listeners.push(listener);
  }

  /** Writes the batch left by a failed write, if any. */
  async retry(): Promise<void> {
    if (this.inflight) await this.write(this.inflight);
  }

  /** Seals `contents` as the next batch of `epoch` (id `node:epoch:n`) and writes it. */
  async writeNext(epoch: number, contents: Omit<Batch, 'id' | 'node'>): Promise<void> {
    const { node } = this.opts;
    this.inflight = { id: `${node}:${epoch}:${++this.batchNo}`, node, ...contents };
    await this.write(this.inflight);
  }

  private async write(batch: Batch): Promise<void> {
    const t0 = performance.now();
    let outcome: 'committed' | 'duplicate';
    try {
      outcome = await writeBatch(this.opts.store, batch, this.opts.clock.now(), this.opts.faults);
    } catch (err) {
      this.stats.flushFailures++;
      this.stats.lastFlushMs = performance.now() - t0;
      throw err;
    }
    const ms = performance.now() - t0;
    this.stats.lastFlushMs = ms;
    this.stats.lastFlushAt = this.opts.clock.now();
    this.stats.flushes++;
    for (const l of this.listeners) l(ms / 1000, batch.events);
    this.inflight = null;
    if (outcome === 'duplicate') {
      this.opts.log.warn({ batch: batch.id }, 'metering: batch was already committed; skipped');
    }
    await this.committed(batch);
    this.notify(batch);
  }

  private notify(batch: Batch): void {
    const cb = this.opts.onFlushed;
    if (!cb || batch.usage.length === 0) return;
    const merged = new Map<string, FlushedRow>();
    for (const r of batch.usage) {
      const k = `${r.subscriptionId}\u0001${r.dimension}\u0001${r.hour}`;
      const m = merged.get(k);
      if (m) {
        m.units += r.units;
        m.requests += r.requests;
      } else {
        merged.set(k, {
          subscriptionId: r.subscriptionId,
          dimension: r.dimension,
          hour: r.hour,
          units: r.units,
          requests: r.requests,
        });
      }
    }
    const failed = (err: unknown) =>
      reportFault(this.opts.log, 'metering.on_flushed', err, 'metering: onFlushed failed', {
        batch: batch.id,
      });
    try {
      const p = cb([...merged.values()]);
      if (p) p.catch(failed);
    } catch (err) {
      failed(err);
    }
  }
}
