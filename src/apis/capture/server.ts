/**
 * The screen-capture API: `GET /capture?url=…` or `POST /capture {url, …}` → PNG, JPEG or
 * PDF bytes. One Chromium (Debian's /usr/bin/chromium driven by playwright-core) per
 * server, launched at start and relaunched on demand if it dies; a ContextPool bounds
 * concurrency and queueing. Metered dimension `captures`: a successful capture answers
 * `x-tollgate-units: 1`, every refusal `0`.
 *
 * Chromium flags: headless, no sandbox (containers without user namespaces), no GPU, no
 * QUIC, and none of the background services (component update, sync, safe-browsing pings)
 * that would phone out. Playwright's launch gives every browser a fresh temporary
 * user-data-dir and deletes it on close. As defence in depth Chromium's own network path is
 * pointed at a dead proxy (loopback included, `<-loopback>`): the route handler fulfils
 * every request from Node, so anything that escaped interception would fail, not leak.
 */
import type { ServerResponse } from 'node:http';
import { createLogger, OutboundPolicy } from '../../shared/index.js';
import {
  ApiError,
  closeServer,
  listen,
  makeServer,
  mediaType,
  parseJsonBody,
  readBody,
  sendJson,
} from '../http.js';
import type { RunningApi } from '../routes.js';
import { BrowserHost, settles } from './browser.js';
import {
  type CaptureLimits,
  CaptureTimeoutError,
  installGuard,
  type Job,
  NavigationError,
  OutputTooLargeError,
  startCapture,
} from './capture.js';
import { BudgetError, makeAgent, RefusedError, schemeProblem } from './fetcher.js';
import { captureOpenApi } from './openapi.js';
import { type CaptureOptions, optionsFromQuery, parseOptions } from './options.js';
import { ContextPool, PoolBusyError } from './pool.js';

export interface CaptureApiOptions {
  port?: number;
  host?: string;
  /** Outbound allow entries (hosts, host:port, IPs, CIDRs) exempt from the private-address refusal. */
  outboundAllow?: readonly string[];
  /** Concurrent captures (browser contexts). Default 2. */
  poolSize?: number;
  /** Captures that may wait for a context; past it 503. Default 8. */
  queueLimit?: number;
  chromiumPath?: string;
  /** Bytes the page may download in total. Default 25 MiB. */
  maxPageBytes?: number;
  /** Requests the page may make. Default 300. */
  maxRequests?: number;
  /** Bytes of the produced image/PDF. Default 20 MiB. */
  maxOutputBytes?: number;
  /** CSS pixels of a full-page capture; taller pages are cut. Default 16384. */
  maxFullPageHeight?: number;
  /** Longest a capture may take from arrival to answer, queueing included; caps the request's `timeout`. Default 15,000 ms. */
  deadlineMs?: number;
  /** Longest wait for each teardown step after a capture (page close, context close, browser close). Default 2,000 ms. */
  graceMs?: number;
  onError?: (e: unknown) => void;
}

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  '--force-webrtc-ip-handling-policy=disable_non_proxied_udp',
  '--proxy-server=http://127.0.0.1:9',
  '--proxy-bypass-list=<-loopback>',
];

const MAX_BODY = 16 * 1024;
const DEFAULT_DEADLINE_MS = 15_000;

export async function startCaptureApi(opts: CaptureApiOptions = {}): Promise<RunningApi> {
  const log = createLogger({ name: 'apis.capture' });
  const policy = new OutboundPolicy({ allow: opts.outboundAllow ?? [] });
  const agent = makeAgent(policy);
  const limits: CaptureLimits = {
    maxPageBytes: opts.maxPageBytes ?? 25 * 1024 * 1024,
    maxRequests: opts.maxRequests ?? 300,
    maxOutputBytes: opts.maxOutputBytes ?? 20 * 1024 * 1024,
    maxFullPageHeight: opts.maxFullPageHeight ?? 16_384,
    maxRedirects: 5,
  };
  const size = positive('poolSize', opts.poolSize ?? 2);
  const queueLimit = nonNegative('queueLimit', opts.queueLimit ?? 8);
  const deadlineMs = atLeast('deadlineMs', opts.deadlineMs ?? DEFAULT_DEADLINE_MS, 1_000);
  const graceMs = atLeast('graceMs', opts.graceMs ?? 2_000, 100);
  const browsers = new BrowserHost({
    executablePath: opts.chromiumPath ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    graceMs,
  });
  await browsers.ready(); // fail fast when Chromium is missing

  const pool = new ContextPool<Job>({
    size,
    queueLimit,
    browser: () => browsers.get(),
    setup: installGuard(agent, policy),
  });

  const capture = async (res: ServerResponse, options: CaptureOptions): Promise<void> => {
    // Refuse a forbidden target before it takes a slot; hops and sub-resources are checked again.
    await checkTarget(policy, options.url);
    const deadline = Date.now() + Math.min(options.timeout ?? deadlineMs, deadlineMs);
    const gone = new AbortController();
    res.on('close', () => gone.abort(new Error('client went away')));
    try {
      // Waiting for a slot counts against the deadline too.
      const queued = AbortSignal.any([gone.signal, AbortSignal.timeout(Math.max(1, deadline - Date.now()))]);
      const lease = await pool.lease(options.deviceScaleFactor, queued);
      const run = startCapture(lease, options, limits, {
        deadline,
        signal: gone.signal,
        graceMs,
        replaceBrowser: (b) => browsers.replace(b),
      });
      const freed = run.done
        .catch((e) => log.error({ err: e }, 'capture teardown fault'))
        .finally(lease.release);
      // A capture that ended on its own answers once its slot is free again (a quick cleanup),
      // so a client calling in sequence never meets its own previous call; never past the deadline.
      const result = await run.answer.finally(() => settles(freed, deadline - Date.now()));
      const headers: Record<string, string> = {
        'content-type': result.contentType,
        'content-length': String(result.body.length),
        'cache-control': 'no-store',
        'x-tollgate-units': '1',
        'x-capture-url': result.finalUrl, // a serialised URL is ASCII
        'x-capture-status': String(result.status),
        'x-capture-blocked': String(result.blocked),
      };
      if (result.truncated) headers['x-capture-truncated'] = 'true';
      res.writeHead(200, headers);
      res.end(result.body);
    } catch (e) {
      throw toApiError(e);
    }
  };

  const server = makeServer(
    {
      'GET /health': async (_req, res) => {
        const up = await browsers.up();
        sendJson(res, up ? 200 : 503, { status: up ? 'ok' : 'down', browser: up, pool: pool.stats() });
      },
      'GET /openapi.json': async (_req, res) => sendJson(res, 200, captureOpenApi),
      'GET /capture': async (_req, res, url) => capture(res, optionsFromQuery(url.searchParams)),
      'POST /capture': async (req, res) => {
        if (mediaType(req) !== 'application/json') {
          throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send application/json', 'content-type');
        }
        const options = parseOptions(parseJsonBody(await readBody(req, MAX_BODY)));
        await capture(res, options);
      },
    },
    opts.onError ?? ((e) => log.error({ err: e }, 'capture fault')),
  );
  let url: string;
  try {
    url = await listen(server, opts.port ?? 0, opts.host ?? '127.0.0.1');
  } catch (e) {
    await browsers.close();
    throw e;
  }
  return {
    url,
    async close() {
      await closeServer(server);
      await pool.close();
      await agent.close();
      await browsers.close();
    },
  };
}

async function checkTarget(policy: OutboundPolicy, url: URL): Promise<void> {
  const problem = schemeProblem(url) ?? (await policy.refusal(url))?.detail;
  if (problem) throw toApiError(new RefusedError(url.href, problem));
}

function toApiError(e: unknown): unknown {
  if (e instanceof RefusedError)
    return new ApiError(403, 'URL_FORBIDDEN', `${e.url} refused: ${e.message}`, 'url');
  if (e instanceof PoolBusyError) {
    return new ApiError(503, 'BUSY', e.message, undefined, { 'retry-after': String(e.retryAfterSeconds) });
  }
  if (e instanceof DOMException && e.name === 'TimeoutError') {
    return new ApiError(503, 'BUSY', 'no capture slot became free before the deadline', undefined, {
      'retry-after': '1',
    });
  }
  if (e instanceof CaptureTimeoutError) return new ApiError(504, 'CAPTURE_TIMEOUT', e.message, 'timeout');
  if (e instanceof BudgetError) return new ApiError(422, 'PAGE_TOO_LARGE', e.message, 'url');
  if (e instanceof OutputTooLargeError) return new ApiError(422, 'OUTPUT_TOO_LARGE', e.message);
  if (e instanceof NavigationError) return new ApiError(502, 'NAVIGATION_FAILED', e.message, 'url');
  return e;
}

function positive(setting: string, n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${setting} must be a positive integer, got ${n}`);
  return n;
}

function atLeast(setting: string, n: number, min: number): number {
  if (!Number.isInteger(n) || n < min)
    throw new RangeError(`${setting} must be an integer of at least ${min}, got ${n}`);
  return n;
}

function nonNegative(setting: string, n: number): number {
  if (!Number.isInteger(n) || n < 0)
    throw new RangeError(`${setting} must be a non-negative integer, got ${n}`);
  return n;
}
