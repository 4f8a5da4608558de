/**
 * Outbound HTTP for captured pages. Chromium never talks to the network itself: every
 * request the page makes is intercepted (context.route) and fetched here, in Node, through
 * the outbound policy's undici Agent — the address judged is the address connected to.
 * Redirects are followed here hop by hop, each hop's scheme and address checked again, so a
 * public page cannot bounce the browser to 169.254.169.254 or chrome://. A per-capture
 * budget caps the bytes and the number of requests; bodies are read as streams and cut at
 * the cap.
 */
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { type Agent, request } from 'undici';
import { normalHost, type OutboundPolicy, outboundRefusal } from '../../shared/index.js';

/** A URL the capture may not load: a scheme other than http(s), or an address the policy refuses. */
export class RefusedError extends Error {
  constructor(
    readonly url: string,
    reason: string,
  ) {
    super(reason);
    this.name = 'RefusedError';
  }
}

/** Scheme and credentials only; addresses are judged by the policy. Returns a reason or null. */
export function schemeProblem(url: URL): string | null {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `scheme ${url.protocol} is not allowed`;
  if (url.username || url.password) return 'credentials in the URL are not allowed';
  return null;
}

export interface Budget {
  bytesLeft: number;
  requestsLeft: number;
  readonly signal: AbortSignal;
}

export class BudgetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BudgetError';
  }
}

export interface OutRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: Buffer | null;
}

export interface InResponse {
  url: string;
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-authenticate',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);

export function makeAgent(policy: OutboundPolicy): Agent {
  return policy.agent({
    connectTimeoutMs: 10_000,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
    connections: 16,
  });
}

/** Throws RefusedError for a bad scheme or a refused IP literal (names are judged at connect). */
export function precheck(policy: OutboundPolicy, url: URL): void {
  const scheme = schemeProblem(url);
  if (scheme) throw new RefusedError(url.href, scheme);
  const host = normalHost(url.hostname);
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  const refused = policy.judge(host, port, host);
  if (refused && refused.verdict.rule !== 'not an IP address')
    throw new RefusedError(url.href, refused.reason);
}

/** One hop: no redirect following. */
export async function fetchOnce(
  agent: Agent,
  policy: OutboundPolicy,
  req: OutRequest,
  budget: Budget,
): Promise<InResponse> {
  const url = new URL(req.url);
  precheck(policy, url);
  if (budget.requestsLeft <= 0) throw new BudgetError('the page made too many requests');
  budget.requestsLeft -= 1;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (!HOP_BY_HOP.has(k.toLowerCase()) && !k.startsWith(':')) headers[k] = v;
  }
  headers['accept-encoding'] = 'identity';
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(url, {
      dispatcher: agent,
      method: req.method as 'GET',
      headers,
      body: req.body && req.body.length > 0 ? req.body : null,
      signal: budget.signal,
    });
  } catch (e) {
    const refused = outboundRefusal(e);
    if (refused) throw new RefusedError(url.href, refused.detail);
    throw e;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > budget.bytesLeft) {
      res.body.destroy();
      throw new BudgetError('the page is larger than the page-size cap');
    }
    chunks.push(chunk as Buffer);
  }
  let body: Buffer = Buffer.concat(chunks);
  const out: Record<string, string> = {};
  let encoding = '';
  for (const [k, v] of Object.entries(res.headers)) {
    if (v === undefined) continue;
    const key = k.toLowerCase();
    if (key === 'content-encoding') {
      encoding = String(v).toLowerCase();
      continue;
    }
    if (HOP_BY_HOP.has(key)) continue;
    out[key] = Array.isArray(v) ? v.join(key === 'set-cookie' ? '\n' : ', ') : v;
  }
  body = decode(body, encoding, budget.bytesLeft);
  budget.bytesLeft -= body.length;
  return { url: url.href, status: res.statusCode, headers: out, body };
}

function decode(body: Buffer, encoding: string, cap: number): Buffer {
  const opts = { maxOutputLength: Math.max(1, cap) };
  try {
    if (encoding === 'gzip' || encoding === 'x-gzip') return gunzipSync(body, opts);
    if (encoding === 'deflate') return inflateSync(body, opts);
    if (encoding === 'br') return brotliDecompressSync(body, opts);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new BudgetError('the page is larger than the page-size cap');
    }
    throw e;
  }
  return body;
}

export const isRedirect = (status: number): boolean => [301, 302, 303, 307, 308].includes(status);

/** Where a redirect response points, resolved against its URL, or null. */
export function redirectTarget(res: InResponse): string | null {
  if (!isRedirect(res.status) || !res.headers.location) return null;
  try {
    return new URL(res.headers.location, res.url).href;
  } catch {
    return null;
  }
}

/** Follow redirects (each hop checked) up to `maxHops`; 303 and POST 301/302 become GET. */
export async function fetchFollow(
  agent: Agent,
  policy: OutboundPolicy,
  req: OutRequest,
  budget: Budget,
  maxHops = 5,
): Promise<InResponse> {
  let current = req;
  for (let hop = 0; ; hop++) {
    const res = await fetchOnce(agent, policy, current, budget);
    const target = redirectTarget(res);
    if (target === null) return res;
    if (hop >= maxHops) throw new BudgetError('too many redirects');
    const toGet =
      res.status === 303 || ((res.status === 301 || res.status === 302) && current.method === 'POST');
    const sameOrigin = new URL(target).origin === new URL(current.url).origin;
    const headers = { ...current.headers };
    if (!sameOrigin) {
      for (const k of Object.keys(headers)) {
        if (k.toLowerCase() === 'cookie' || k.toLowerCase() === 'authorization') delete headers[k];
      }
    }
    current = {
      url: target,
      method: toGet ? 'GET' : current.method,
      headers,
      body: toGet ? null : current.body,
    };
  }
}
