/**
 * A fixed number of slots, each owning at most one Chromium browser context, reused across
 * captures (a context costs ~10–30 ms to create; a browser launch ~400 ms). At most `size`
 * captures run at once; up to `queueLimit` more wait in FIFO order; past that `acquire`
 * refuses at once with PoolBusyError (the server answers 503 + Retry-After) rather than let
 * latency grow without bound. A waiter whose signal aborts (client gone, deadline) leaves
 * the queue. Contexts are keyed by device scale factor, the one option that cannot change
 * on a live context; a slot whose key differs gets a fresh context. If the browser dies,
 * the next acquire relaunches it (single flight) and stale contexts are replaced.
 */
import type { Browser, BrowserContext } from 'playwright-core';

export interface Slot<J> {
  readonly id: number;
  context: BrowserContext | null;
  browser: Browser | null;
  scale: number;
  /** The capture currently using this slot; read by the context's route handler. */
  job: J | null;
}

export class PoolBusyError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('all capture slots are busy and the queue is full');
    this.name = 'PoolBusyError';
  }
}

export interface Lease<J> {
  readonly slot: Slot<J>;
  /** The slot's context at the leased scale, created (or replaced) on first call. */
  context(): Promise<BrowserContext>;
  release(): void;
}

interface Waiter<J> {
  resolve: (slot: Slot<J>) => void;
  reject: (e: unknown) => void;
}

export interface PoolOptions<J> {
  size: number;
  queueLimit: number;
  browser: () => Promise<Browser>;
  /** Called once on each new context (install routes, defaults). */
  setup: (context: BrowserContext, slot: Slot<J>) => Promise<void>;
}

export class ContextPool<J> {
  private readonly free: Slot<J>[] = [];
  private readonly queue: Waiter<J>[] = [];
  private readonly slots: Slot<J>[] = [];
  private avgMs = 1_000;
  private closed = false;

  constructor(private readonly opts: PoolOptions<J>) {
    for (let id = 0; id < opts.size; id++) {
      const slot: Slot<J> = { id, context: null, browser: null, scale: 1, job: null };
      this.slots.push(slot);
      this.free.push(slot);
    }
  }

  stats(): { size: number; active: number; queued: number; queueLimit: number } {
    return {
      size: this.opts.size,
      active: this.opts.size - this.free.length,
      queued: this.queue.length,
      queueLimit: this.opts.queueLimit,
    };
  }

  /**
   * A slot for a capture at device scale `scale`, held until `release()` (idempotent). The
   * holder gets the context itself (so a browser that hangs while making one hangs inside
   * the holder's deadline), answers its caller, and tears its page down on its own time;
   * the slot comes back only when the teardown is over.
   */
  async lease(scale: number, signal: AbortSignal): Promise<Lease<J>> {
    const slot = await this.acquire(scale, signal);
    const started = Date.now();
    let released = false;
    let context: Promise<BrowserContext> | null = null;
    return {
      slot,
      context: () => {
        context ??= this.contextFor(slot, scale);
        return context;
      },
      release: () => {
        if (released) return;
        released = true;
        slot.job = null;
        this.avgMs = this.avgMs * 0.8 + (Date.now() - started) * 0.2;
        this.release(slot);
      },
    };
  }

  private acquire(scale: number, signal: AbortSignal): Promise<Slot<J>> {
    if (this.closed) return Promise.reject(new Error('pool is closed'));
    if (this.free.length > 0) {
      // Prefer a slot whose context already has the right scale.
      const i = this.free.findIndex((s) => s.scale === scale && s.context !== null);
      return Promise.resolve(this.free.splice(i >= 0 ? i : this.free.length - 1, 1)[0]!);
    }
    if (this.queue.length >= this.opts.queueLimit) {
      const waitMs = (this.avgMs * (this.queue.length + 1)) / this.opts.size;
      return Promise.reject(new PoolBusyError(Math.max(1, Math.ceil(waitMs / 1000))));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter<J> = {
        resolve: (slot) => {
          signal.removeEventListener('abort', onAbort);
          resolve(slot);
        },
        reject,
      };
      const onAbort = (): void => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        reject(signal.reason);
      };
      if (signal.aborted) return reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
    });
  }

  private release(slot: Slot<J>): void {
    const next = this.queue.shift();
    if (next) next.resolve(slot);
    else this.free.push(slot);
  }

  private async contextFor(slot: Slot<J>, scale: number): Promise<BrowserContext> {
    const browser = await this.opts.browser();
    if (slot.context && slot.browser === browser && browser.isConnected() && slot.scale === scale) {
      return slot.context;
    }
    if (slot.context) await slot.context.close().catch(() => undefined);
    slot.context = null;
    slot.browser = browser; // a teardown that finds newContext hung replaces this browser
    const context = await browser.newContext({
      deviceScaleFactor: scale,
      serviceWorkers: 'block',
      acceptDownloads: false,
      javaScriptEnabled: true,
      bypassCSP: false,
    });
    await this.opts.setup(context, slot);
    slot.context = context;
    slot.browser = browser;
    slot.scale = scale;
    return context;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.queue.splice(0)) w.reject(new Error('pool is closed'));
    await Promise.all(this.slots.map((s) => s.context?.close().catch(() => undefined)));
  }
}
