/**
 * Keeps the live snapshot current.
 *
 * - **Changes, in order.** `notify(seq)` says a change numbered `seq` was committed (the
 *   in-process callback, Redis pub/sub across processes, a poll of the log, or a relay from
 *   a primary process). The holder reads the change log from its own version on, in order,
 *   and applies each run of changes with `loadPatch`/`applyPatch`. Notifications only wake
 *   it: one that is lost, late or repeated changes nothing, as the log is the order.
 * - **Gaps.** The log numbers changes without gaps (src/store/changes.ts); if the next row
 *   is not `version + 1` (the log was pruned past a gateway that was away), the holder
 *   falls back to a full reload.
 * - **Full reloads** (`refresh`: at start, on a gap, on the periodic safety timer) build a
 *   new snapshot in pages, off the request path, and swap it in whole. Coalesced: at most
 *   one runs and one more is queued. Changes keep being applied to the live snapshot while
 *   one builds; after the swap, the changes since the new snapshot's version are applied to
 *   it again (applying a change twice is harmless).
 * - **Quota seeding** (`setBeforeSwap`) runs before entries go live, with the entries
 *   replaced and their replacements, for both paths.
 */
import type { Logger } from '../shared/index.js';
import { changesSince, type Store } from '../store/index.js';
import { allEntries, type KeyEntry, loadSnapshot, type Snapshot } from './snapshot.js';
import { applyPatch, effectOf, loadPatch } from './snapshot-patch.js';

/** Runs before entries go live (e.g. quota counter seeding): those replaced, and their successors. */
export type BeforeSwap = (before: Iterable<KeyEntry>, after: Iterable<KeyEntry>) => Promise<void>;

/** Changes read and applied together. */
const BATCH = 500;

export class SnapshotHolder {
  current: Snapshot;
  /** Full reloads done since start (the first load not counted). */
  reloads = 0;
  private loading: Promise<void> | null = null;
  private again = false;
  private catching: Promise<void> | null = null;
  private pending = false;
  /** Bumped on every swap: a patch read against an older snapshot is read again. */
  private generation = 0;
  private timer: NodeJS.Timeout | null = null;
  private beforeSwap: BeforeSwap | null = null;

  constructor(
    initial: Snapshot,
    private readonly store: Store,
    private readonly now: () => number,
    private readonly log: Logger,
  ) {
    this.current = initial;
  }

  static async create(store: Store, now: () => number, log: Logger): Promise<SnapshotHolder> {
    return new SnapshotHolder(await loadSnapshot(store, now()), store, now, log);
  }

  /** The last change the live snapshot includes. */
  get version(): number {
    return this.current.version;
  }

  setBeforeSwap(fn: BeforeSwap): void {
    this.beforeSwap = fn;
  }

  /**
   * Change `seq` was committed (no number: look in the log). Resolves once the live snapshot
   * includes every change the log held when the catch-up read it.
   */
  notify(seq?: number): Promise<void> {
    if (seq !== undefined && seq <= this.current.version) return this.catching ?? Promise.resolve();
    this.pending = true;
    if (!this.catching) {
      this.catching = this.catchUp().finally(() => {
        this.catching = null;
      });
    }
    return this.catching;
  }

  private async catchUp(): Promise<void> {
    while (this.pending) {
      this.pending = false;
      try {
        while (await this.step());
      } catch (err) {
        this.log.error({ err }, 'applying catalog changes failed; the next change or reload retries');
      }
    }
  }

  /** Applies the next run of changes; false when there is nothing more to do. */
  private async step(): Promise<boolean> {
    const snap = this.current;
    const gen = this.generation;
    const changes = await changesSince(this.store.db, snap.version, BATCH);
    if (changes.length === 0) return false;
    if (gen !== this.generation) return true;
    const contiguous = changes.every((c, i) => c.seq === snap.version + 1 + i);
    if (!contiguous) {
      this.log.warn(
        { version: snap.version, next: changes[0]!.seq },
        'gap in the catalog change log; reloading the snapshot whole',
      );
      await this.refresh();
      return gen !== this.generation;
    }
    const patch = await loadPatch(this.store.db, snap, changes, this.now());
    if (gen !== this.generation) return true;
    if (this.beforeSwap) {
      const { before, after } = effectOf(snap, patch);
      if (before.length || after.length) await this.runBeforeSwap(before, after);
      if (gen !== this.generation) return true;
    }
    applyPatch(snap, patch);
    return changes.length === BATCH;
  }

  /** Full reload soon; resolves when a snapshot that includes every change before the call is live. */
  refresh(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = (async () => {
      try {
        do {
          this.again = false;
          const next = await loadSnapshot(this.store, this.now());
          await this.runBeforeSwap(allEntries(this.current.keys.values()), allEntries(next.keys.values()));
          this.current = next;
          this.generation++;
          this.reloads++;
          // Changes applied to the old snapshot while this one was built, if any.
          void this.notify();
        } while (this.again);
      } catch (err) {
        this.log.error({ err }, 'snapshot reload failed; keeping the previous one');
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }

  private async runBeforeSwap(before: Iterable<KeyEntry>, after: Iterable<KeyEntry>): Promise<void> {
    if (!this.beforeSwap) return;
    // A failed hook must not keep the control plane's change from the gateway.
    await this.beforeSwap(before, after).catch((err) =>
      this.log.error({ err }, 'snapshot before-swap step failed; swapping anyway'),
    );
  }

  startPeriodic(everyMs: number): void {
    this.timer = setInterval(() => void this.refresh(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
