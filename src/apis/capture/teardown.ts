/**
 * After a capture: make its slot fit for the next caller, in bounded time, whatever the page
 * is doing. Every step waits at most the grace period.
 *
 * - A capture that ended on its own (picture taken, or refused) whose page still answers:
 *   the page is closed, cookies are cleared and so is the storage of the document's origin;
 *   the context is kept for the next capture.
 * - Anything else — the deadline passed, the client went away, the page does not answer a
 *   trivial evaluate (a script spinning in `while(true){}`), it loaded documents from several
 *   origins (storage partitioned by top-level site is out of reach of clearing by origin), or
 *   a cleaning step did not finish: the whole context is closed. Closing a context ends its
 *   renderer processes, a spinning one included; closing only the page may leave a spinning
 *   renderer behind, and the context would hand it the next page of the same site.
 * - If closing the context does not finish either — or the browser never even finished
 *   making the context — the browser is replaced (closed, then its process group killed:
 *   browser.ts).
 *
 * The caller frees the slot when this resolves, so a wedged page holds its slot for at most
 * about three grace periods after its deadline.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { settles } from './browser.js';
import type { Job } from './capture.js';
import type { Slot } from './pool.js';

export interface TeardownSettings {
  /** Longest wait for any one step (a page close, a context close). */
  graceMs: number;
  /** Replace a browser that did not close a context in time. */
  replaceBrowser: (browser: Browser) => Promise<void>;
}

export async function tearDown(
  slot: Slot<Job>,
  making: Promise<BrowserContext>,
  page: Page | null,
  job: Job | null,
  forced: boolean,
  settings: TeardownSettings,
): Promise<void> {
  slot.job = null; // from here on the route handler refuses every request of this context
  const made: { context?: BrowserContext } = {};
  if (
    await settles(
      making.then((c) => (made.context = c)),
      settings.graceMs,
    )
  ) {
    if (!made.context) return; // no context could be made (browser down): nothing to clean
  }
  const context = made.context;
  const browser = slot.browser; // the one that made (or is stuck making) the context
  if (context && !forced && page && job && (await cleanPage(context, page, job, settings.graceMs))) return;
  slot.context = null;
  if (context && (await settles(context.close(), settings.graceMs))) return;
  if (browser) await settings.replaceBrowser(browser);
}

/** Close the page and wipe its traces; false when the context should be discarded instead. */
async function cleanPage(context: BrowserContext, page: Page, job: Job, graceMs: number): Promise<boolean> {
  if (page.isClosed() || job.origins.size > 1) return false;
  const step = (p: Promise<unknown>): Promise<boolean> => settles(p, graceMs);
  let answered = false;
  if (!(await step(page.evaluate('0').then(() => (answered = true))))) return false;
  if (!answered) return false;
  if (job.origins.size === 1) {
    let cleared = false;
    const clear = async (): Promise<void> => {
      const cdp = await context.newCDPSession(page);
      for (const origin of job.origins) {
        await cdp.send('Storage.clearDataForOrigin', { origin, storageTypes: 'all' });
      }
      await cdp.detach();
      cleared = true;
    };
    if (!(await step(clear())) || !cleared) return false;
  }
  for (const p of context.pages()) if (!(await step(p.close({ runBeforeUnload: false })))) return false;
  let cookies = false;
  if (!(await step(context.clearCookies().then(() => (cookies = true))))) return false;
  return cookies;
}
