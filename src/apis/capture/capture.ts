/**
 * One capture on one pooled context: open a page, navigate (following main-frame redirects
 * ourselves so each hop is checked and the page keeps the right base URL), wait, shoot,
 * clean up. The context's route handler sends every request through the guarded Node
 * fetcher (fetcher.ts); anything it refuses is aborted as `blockedbyclient`. A refused main
 * document fails the capture (403); a refused sub-resource is only counted.
 *
 * Only http(s) documents ever reach the main frame: a redirect to another scheme
 * (chrome://, javascript:, data:, file:) is refused before Chromium sees it, and a main frame
 * showing anything else is refused rather than shot (403 URL_FORBIDDEN).
 *
 * Failure modes: at the deadline the answer is CaptureTimeoutError at once, whatever the
 * page is doing — Playwright calls are not trusted to return — and the page is torn down
 * afterwards (teardown.ts: bounded, ends a spinning renderer, frees the slot); budget
 * overruns (bytes, requests) abort the requests and fail the capture with BudgetError;
 * output over the byte cap fails with OutputTooLargeError. One caller never sees another's
 * state (teardown.ts). (Playwright disables the HTTP cache while routes are on.)
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
  schemeProblem,
} from './fetcher.js';
import type { CaptureOptions } from './options.js';
import type { Lease, Slot } from './pool.js';
import { type TeardownSettings, tearDown } from './teardown.js';

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

export interface CaptureRun {
  /** The picture, or the reason there is none; settles at the latest at the deadline. */
  readonly answer: Promise<CaptureResult>;
  /** Settles when the slot is fit for the next capture (bounded: teardown.ts). */
  readonly done: Promise<void>;
}

export interface RunSettings extends TeardownSettings {
  /** Epoch ms by which the capture answers, whatever the page does. */
  deadline: number;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

/** Start one capture on a leased slot; `slot.job` is set for the route handler meanwhile. */
export function startCapture(
  lease: Lease<Job>,
  opts: CaptureOptions,
  limits: CaptureLimits,
  run: RunSettings,
): CaptureRun {
  const left = (): number => Math.max(1, run.deadline - Date.now());
  // Aborts this capture's in-flight Node fetches.
  const abort = new AbortController();
  let stage = 'starting the browser';
  let expired = false;
  let page: Page | null = null;
  let job: Job | null = null;
  let stop!: (reason: unknown) => void;
  const stopped = new Promise<never>((_, reject) => {
    stop = reject;
  });
  const timer = setTimeout(() => {
    expired = true;
    abort.abort(new Error('deadline'));
    stop(new CaptureTimeoutError(stage));
  }, left());
  const onGone = (): void => {
    abort.abort(run.signal.reason);
    stop(run.signal.reason);
  };
  run.signal.addEventListener('abort', onGone, { once: true });

  const context = lease.context();
  const work = (async (): Promise<CaptureResult> => {
    const ctx = await context;
    stage = 'opening the page';
    page = await ctx.newPage();
    job = newJob(page, opts, limits, abort.signal);
    lease.slot.job = job;
    const current = job;
    page.on('framenavigated', (frame) => {
      // Failed loads show chrome-error://; they are reported as navigation failures instead.
      const url = frame.url();
      if (frame === current.page.mainFrame() && !url.startsWith('chrome-error:'))
        refuseBrowserPage(current, url);
    });
    return shoot(current, opts, limits, left, (s) => {
      stage = s;
    });
  })();
  const answer = Promise.race([work, stopped]).catch((e: unknown) => {
    if (job?.mainRefused) throw job.mainRefused;
    if (job?.budgetError) throw job.budgetError;
    if (expired || (e instanceof Error && e.name === 'TimeoutError')) throw new CaptureTimeoutError(stage);
    if (run.signal.aborted) throw run.signal.reason;
    throw e;
  });
  const done = (async () => {
    const finished = await answer.then(
      () => true,
      () => !expired && !run.signal.aborted,
    );
    clearTimeout(timer);
    run.signal.removeEventListener('abort', onGone);
    abort.abort(new Error('capture finished'));
    // A page still busy after the deadline is torn down with its context (teardown.ts).
    await tearDown(lease.slot, context, page, job, !finished, run);
  })();
  work.catch(() => undefined); // after the deadline its rejection (page closed) is expected
  return { answer, done };
}

function newJob(page: Page, opts: CaptureOptions, limits: CaptureLimits, signal: AbortSignal): Job {
  return {
    page,
    budget: { bytesLeft: limits.maxPageBytes, requestsLeft: limits.maxRequests, signal },
    origins: new Set(),
    mainRedirect: null,
    mainRefused: null,
    mainError: null,
    mainStatus: 0,
    finalUrl: opts.url.href,
    blocked: 0,
    budgetError: null,
  };
}

/** Navigate, wait and render; each step bounded by what is left of the deadline. */
async function shoot(
  job: Job,
  opts: CaptureOptions,
  limits: CaptureLimits,
  left: () => number,
  at: (stage: string) => void,
): Promise<CaptureResult> {
  const page = job.page;
  at('navigation');
  await page.setViewportSize({ width: opts.width, height: opts.height });
  await page.emulateMedia({ colorScheme: opts.darkMode ? 'dark' : 'light' });
  await navigate(page, job, opts, limits, left);
  at(`waiting for ${opts.waitUntil}`);
  if (opts.waitUntil !== 'domcontentloaded') await page.waitForLoadState(opts.waitUntil, { timeout: left() });
  if (opts.waitForSelector) {
    at('waiting for the selector');
    await page.waitForSelector(opts.waitForSelector, { state: 'visible', timeout: left() });
  }
  if (opts.delay > 0) {
    at('delay');
    await page.waitForTimeout(Math.min(opts.delay, left()));
  }
  if (page.url().startsWith('chrome-error:'))
    throw new NavigationError('the page navigated to an address that did not load');
  refuseBrowserPage(job, page.url());
  checkJob(job);
  at('rendering');
  const shot = await render(page, opts, limits, left());
  checkJob(job);
  if (shot.body.length > limits.maxOutputBytes)
    throw new OutputTooLargeError(shot.body.length, limits.maxOutputBytes);
  return { ...shot, finalUrl: job.finalUrl, status: job.mainStatus, blocked: job.blocked };
}

/**
 * The main frame may only ever show an http(s) document: anything else (chrome://, data:,
 * file:, about: pages after a script navigation) fails the capture rather than be shot.
 */
function refuseBrowserPage(job: Job, url: string): void {
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    parsed = null;
  }
  if (url === 'about:blank' && job.mainStatus === 0) return; // the new page, before navigating
  const problem = parsed ? schemeProblem(parsed) : 'the address is not a URL';
  if (problem) job.mainRefused ??= new RefusedError(url, problem);
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
    // Chromium would load chrome://, javascript:, data: or file: itself, past the route handler.
    const problem = schemeProblem(new URL(target));
    if (problem) throw new RefusedError(target, problem);
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

function errorText(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0]! : String(e);
}
