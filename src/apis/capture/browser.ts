/**
 * The one Chromium of a capture server: launched at start, relaunched on demand when it has
 * died, and replaced by force when a capture's teardown finds it wedged.
 *
 * Replacing: the next capture gets a fresh browser at once; the old one is asked to close
 * (CDP Browser.close) and, if it has not gone within the grace period, its process group is
 * sent SIGKILL (Playwright starts Chromium as a group leader), which takes its renderers
 * with it — and a renderer whose browser is gone exits on its own IO thread even while its
 * main thread spins. The pid comes from Chromium itself (SystemInfo.getProcessInfo) right
 * after launch, while it still answers.
 */
import type { Browser } from 'playwright-core';
import { chromium } from 'playwright-core';

/** Resolves true if `p` settles (either way) within `ms`, false otherwise; never rejects. */
export function settles(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    p.then(
      () => true,
      () => true,
    ).then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export interface BrowserHostOptions {
  executablePath: string;
  args: readonly string[];
  /** How long a polite close may take before the process group is killed. */
  graceMs: number;
}

export class BrowserHost {
  private current: Promise<Browser>;
  private readonly pids = new WeakMap<Browser, number>();
  private readonly retiring = new Set<Promise<void>>();

  constructor(private readonly opts: BrowserHostOptions) {
    this.current = this.launch();
  }

  /** Resolves once the first launch has worked; rejects when Chromium cannot start. */
  async ready(): Promise<void> {
    await this.current;
  }

  /** The live browser, relaunching it (single flight) if it has died. */
  async get(): Promise<Browser> {
    const b = await this.current.catch(() => null);
    if (b?.isConnected()) return b;
    this.current = this.launch();
    return this.current;
  }

  /** Whether the browser is up, without launching one. */
  async up(): Promise<boolean> {
    const b = await this.current.catch(() => null);
    return b?.isConnected() ?? false;
  }

  /** The pid of `browser`'s main process, if known. */
  pid(browser: Browser): number | undefined {
    return this.pids.get(browser);
  }

  /**
   * Replace a browser that stopped answering: later captures get a new one at once, the old
   * one is closed or killed. Resolves when the old one is gone (bounded by twice the grace).
   */
  async replace(hung: Browser): Promise<void> {
    if ((await this.current.catch(() => null)) === hung) this.current = this.launch();
    await this.retire(hung);
  }

  async close(): Promise<void> {
    const b = await this.current.catch(() => null);
    if (b) await this.retire(b);
    await Promise.all(this.retiring);
  }

  private retire(browser: Browser): Promise<void> {
    const done = (async () => {
      const closing = browser.close();
      if (await settles(closing, this.opts.graceMs)) return;
      const pid = this.pids.get(browser);
      if (pid === undefined) return;
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
      await settles(closing, this.opts.graceMs);
    })();
    this.retiring.add(done);
    return done.finally(() => this.retiring.delete(done));
  }

  private async launch(): Promise<Browser> {
    const browser = await chromium.launch({
      executablePath: this.opts.executablePath,
      headless: true,
      args: [...this.opts.args],
    });
    try {
      const cdp = await browser.newBrowserCDPSession();
      const info = (await cdp.send('SystemInfo.getProcessInfo')) as {
        processInfo: Array<{ type: string; id: number }>;
      };
      const main = info.processInfo.find((p) => p.type === 'browser');
      if (main) this.pids.set(browser, main.id);
      await cdp.detach();
    } catch {
      // Without a pid a wedged browser can only be closed politely.
    }
    return browser;
  }
}
