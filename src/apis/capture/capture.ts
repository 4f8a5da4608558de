/**
 * One capture on one pooled context: open a page, navigate (following main-frame redirects
 * ourselves so each hop is checked and the page keeps the right base URL), wait, shoot,
 * clean up. The context's route handler sends every request through the guarded Node
 * fetcher (fetcher.ts); anything it refuses is aborted as `blockedbyclient`. A refused main
 * document fails the capture (403); a refused sub-resource is only counted.
 *
 * Failure modes: the deadline (options.timeout) closes the page, which rejects whatever is
 * pending, and the capture ends with CaptureTimeoutError; budget overruns (bytes, requests)
 * abort the requests and fail the capture with BudgetError; output over the byte cap fails
 * with OutputTooLargeError. Between captures the page is closed, cookies are cleared and so
 * is the storage of the document's origin; a capture that loaded documents from several
 * origins (iframes), or whose page is already gone, costs its context instead — one caller
 * never sees another's state. (Playwright disables the HTTP cache while routes are on.)
 */
import type { BrowserContext, Page, Route } from 'playwright-core';
import type { Agent } from 'undici';
import type { OutboundPolicy } from '../../shared/index.js';
import {
  type Budget,
  BudgetError,
  fetchFollow,
  fetchOnce,
  type OutRequest,
  RefusedError,
  redirectTarget,
} from './fetcher.js';
import type { CaptureOptions } from './options.js';
import type { Slot } from './pool.js';

export interface Job {
  readonly page: Page;
  readonly budget: Budget;
  /** Origins of the documents (main frame, iframes) loaded: the only ones that can hold storage. */
  readonly origins: Set<string>;
  mainRedirect: string | null;
  mainRefused: RefusedError | null;
  mainError: unknown;
  mainStatus: number;
  finalUrl: string;
  blocked: number;
  budgetError: BudgetError | null;
}

export interface CaptureLimits {
  maxPageBytes: number;
  maxRequests: number;
  maxOutputBytes: number;
  maxFullPageHeight: number;
  maxRedirects: number;
}

export interface CaptureResult {
  body: Buffer;
  contentType: string;
  finalUrl: string;
  status: number;
  blocked: number;
  truncated: boolean;
}

export class CaptureTimeoutError extends Error {
  constructor(readonly stage: string) {
    super(`the capture did not finish in time (${stage})`);
    this.name = 'CaptureTimeoutError';
  }
}

export class OutputTooLargeError extends Error {
  constructor(size: number, cap: number) {
    super(`the output is ${size} bytes, over the ${cap}-byte cap`);
    this.name = 'OutputTooLargeError';
  }
}

export class NavigationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NavigationError';
  }
}

/** Install the request guard on a new pooled context. */
export function installGuard(agent: Agent, policy: OutboundPolicy) {
  return async (context: BrowserContext, slot: Slot<Job>): Promise<void> => {
    await context.routeWebSocket(/.*/, (ws) => ws.close({ code: 1008, reason: 'blocked by capture policy' }));
    await context.route('**/*', (route) => handle(route, slot.job, agent, policy));
  };
}

async function handle(route: Route, job: Job | null, agent: Agent, policy: OutboundPolicy): Promise<void> {
  const request = route.request();
  if (!job) return route.abort('blockedbyclient').catch(() => undefined);
  let isMain = false;
  try {
    isMain = request.isNavigationRequest() && request.frame() === job.page.mainFrame();
  } catch {
    isMain = false;
  }
  try {
    const out: OutRequest = {
      url: request.url(),
      method: request.method(),
      headers: await request.allHeaders(),
      body: request.postDataBuffer(),
    };
    const res = isMain
      ? await fetchOnce(agent, policy, out, job.budget)
      : await fetchFollow(agent, policy, out, job.budget);
    if (isMain) {
      const target = redirectTarget(res);
      if (target !== null) {
        job.mainRedirect = target;
        await route.fulfill({ status: 200, contentType: 'text/html', body: '' });
        return;
      }
      job.mainStatus = res.status;
      job.finalUrl = res.url;
    }
    if (request.resourceType() === 'document') job.origins.add(new URL(res.url).origin);
    await route.fulfill({ status: res.status, headers: res.headers, body: res.body });
  } catch (e) {
    if (e instanceof RefusedError) {
      job.blocked += 1;
      if (isMain) job.mainRefused = e;
      return route.abort('blockedbyclient').catch(() => undefined);
    }
    if (e instanceof BudgetError) job.budgetError ??= e;
    else if (isMain) job.mainError = e;
    return route.abort('failed').catch(() => undefined);
  }
}

/** Run one capture on `context`; `slot.job` is set for the route handler meanwhile. */
export async function runCapture(
  slot: Slot<Job>,
  context: BrowserContext,
  opts: CaptureOptions,
  limits: CaptureLimits,
  signal: AbortSignal,
): Promise<CaptureResult> {
  const deadline = Date.now() + opts.timeout;
  const left = (): number => Math.max(1, deadline - Date.now());
  // Aborts this capture's in-flight Node fetches; the page is closed only on the deadline or
  // when the client goes away (closing rejects whatever Playwright call is pending).
  const abort = new AbortController();
  const page = await context.newPage();
  const onOuterAbort = (): void => {
    abort.abort(signal.reason);
    page.close().catch(() => undefined);
  };
  signal.addEventListener('abort', onOuterAbort, { once: true });
  const job: Job = {
    page,
    budget: { bytesLeft: limits.maxPageBytes, requestsLeft: limits.maxRequests, signal: abort.signal },
    origins: new Set(),
    mainRedirect: null,
    mainRefused: null,
    mainError: null,
    mainStatus: 0,
    finalUrl: opts.url.href,
    blocked: 0,
    budgetError: null,
  };
  slot.job = job;
  let stage = 'navigation';
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort(new Error('deadline'));
    page.close().catch(() => undefined);
  }, opts.timeout);
  try {
    await page.setViewportSize({ width: opts.width, height: opts.height });
    await page.emulateMedia({ colorScheme: opts.darkMode ? 'dark' : 'light' });
    await navigate(page, job, opts, limits, left);
    stage = `waiting for ${opts.waitUntil}`;
    if (opts.waitUntil !== 'domcontentloaded')
      await page.waitForLoadState(opts.waitUntil, { timeout: left() });
    if (opts.waitForSelector) {
      stage = 'waiting for the selector';
      await page.waitForSelector(opts.waitForSelector, { state: 'visible', timeout: left() });
    }
    if (opts.delay > 0) {
      stage = 'delay';
      await page.waitForTimeout(Math.min(opts.delay, left()));
    }
    checkJob(job);
    stage = 'rendering';
    const shot = await render(page, opts, limits, left());
    checkJob(job);
    if (shot.body.length > limits.maxOutputBytes)
      throw new OutputTooLargeError(shot.body.length, limits.maxOutputBytes);
    return { ...shot, finalUrl: job.finalUrl, status: job.mainStatus, blocked: job.blocked };
  } catch (e) {
    if (job.mainRefused) throw job.mainRefused;
    if (job.budgetError) throw job.budgetError;
    if (timedOut || (e instanceof Error && e.name === 'TimeoutError')) throw new CaptureTimeoutError(stage);
    if (signal.aborted) throw signal.reason;
    throw e;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onOuterAbort);
    abort.abort(new Error('capture finished'));
    const clean = await cleanUp(context, page, job);
    slot.job = null;
    if (!clean) {
      // Storage could not be cleared (page gone): never hand this context to another caller.
      slot.context = null;
      await context.close().catch(() => undefined);
    }
  }
}

async function navigate(
  page: Page,
  job: Job,
  opts: CaptureOptions,
  limits: CaptureLimits,
  left: () => number,
): Promise<void> {
  let target = opts.url.href;
  for (let hop = 0; ; hop++) {
    job.mainRedirect = null;
    job.mainError = null;
    try {
      await page.goto(target, { waitUntil: 'domcontentloaded', timeout: left() });
    } catch (e) {
      checkJob(job);
      if (job.mainError) throw new NavigationError(`could not load ${target}: ${errorText(job.mainError)}`);
      throw e;
    }
    checkJob(job);
    if (job.mainRedirect === null) return;
    if (hop >= limits.maxRedirects) throw new NavigationError(`more than ${limits.maxRedirects} redirects`);
    target = job.mainRedirect;
  }
}

function checkJob(job: Job): void {
  if (job.mainRefused) throw job.mainRefused;
  if (job.budgetError) throw job.budgetError;
}

async function render(
  page: Page,
  opts: CaptureOptions,
  limits: CaptureLimits,
  timeout: number,
): Promise<{ body: Buffer; contentType: string; truncated: boolean }> {
  if (opts.format === 'pdf') {
    const body = await page.pdf({ printBackground: true, format: 'A4' });
    return { body, contentType: 'application/pdf', truncated: false };
  }
  let clip = opts.clip ?? undefined;
  let truncated = false;
  if (opts.fullPage && !clip) {
    const height = Number(
      await page.evaluate(
        'Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0)',
      ),
    );
    if (height > limits.maxFullPageHeight) {
      clip = { x: 0, y: 0, width: opts.width, height: limits.maxFullPageHeight };
      truncated = true;
    }
  }
  const body = await page.screenshot({
    type: opts.format,
    fullPage: opts.fullPage,
    clip,
    quality: opts.format === 'jpeg' ? (opts.quality ?? 80) : undefined,
    timeout,
  });
  return { body, contentType: opts.format === 'png' ? 'image/png' : 'image/jpeg', truncated };
}

async function cleanUp(context: BrowserContext, page: Page, job: Job): Promise<boolean> {
  let clean = job.origins.size === 0;
  // Documents from several origins (iframes) may hold storage partitioned by top-level
  // site, which clearing by origin does not reach: such a context is discarded instead.
  if (!page.isClosed() && job.origins.size === 1) {
    try {
      const cdp = await context.newCDPSession(page);
      for (const origin of job.origins) {
        await cdp.send('Storage.clearDataForOrigin', { origin, storageTypes: 'all' });
      }
      await cdp.detach();
      clean = true;
    } catch {
      // The page may be gone (deadline); the context is still cleared of cookies below.
    }
  }
  await page.close().catch(() => undefined);
  for (const p of context.pages()) await p.close().catch(() => undefined);
  await context.clearCookies().catch(() => undefined);
  return clean;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0]! : String(e);
}
