/**
 * The deployment's side of activation, with offline grace.
 *
 * `activateWithGrace` POSTs `{ token, instanceId }` to the provider's activation endpoint.
 * - 2xx `{ ok: true }`: serving; the answer and its time are cached in `cacheFile`
 *   (written atomically: temp file + rename).
 * - 4xx `{ ok: false, code }`: a final refusal (revoked, all seats taken, bad token): not
 *   serving, and the cache is deleted so going offline cannot undo a refusal.
 * - anything else (connection refused, timeout, 5xx, not JSON): the provider is
 *   unreachable; serving continues from the cache until `graceMs` after the last success
 *   for this licence and instance, with a warning; after that, not serving.
 * The cache is the buyer's file on the buyer's machine: the grace rule is a contract, not
 * a cryptographic control (see docs/wholesale.md).
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type Dispatcher, fetch } from 'undici';
import type { Clock, Logger } from '../shared/index.js';
import { outboundRefusal, systemClock } from '../shared/index.js';
import { peekLicence } from './token.js';
import type { ActivationDenialCode, ActivationResult } from './types.js';

export type ActivationOutcome =
  | {
      serving: true;
      source: 'provider';
      result: Extract<ActivationResult, { ok: true }>;
      lastSuccessAt: number;
    }
  | {
      serving: true;
      source: 'cache';
      result: Extract<ActivationResult, { ok: true }>;
      lastSuccessAt: number;
      graceEndsAt: number;
      warning: string;
    }
  | { serving: false; code: ActivationDenialCode | 'UNREACHABLE'; message: string };

export interface ActivateWithGraceOptions {
  /** Full URL of the provider's `POST /licences/v1/activate`. */
  url: string;
  token: string;
  instanceId: string;
  graceMs: number;
  cacheFile: string;
  clock?: Clock;
  log?: Logger;
  /** Per-call timeout, ms. Default 10 s. */
  timeoutMs?: number;
  /** The outbound policy's agent: every connection (and redirect) judged. */
  dispatcher?: Dispatcher;
}

interface CacheEntry {
  licenceId: string;
  instanceId: string;
  lastSuccessAt: number;
  result: Extract<ActivationResult, { ok: true }>;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export async function activateWithGrace(o: ActivateWithGraceOptions): Promise<ActivationOutcome> {
  const clock = o.clock ?? systemClock;
  const licenceId = peekLicence(o.token)?.licenceId;
  if (!licenceId)
    return { serving: false, code: 'MALFORMED', message: 'The licence file is not a licence token.' };

  let problem: string;
  try {
    const res = await fetch(o.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ token: o.token, instanceId: o.instanceId }),
      signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
      ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const r = json as ActivationResult | undefined;
    if (res.ok && r && r.ok === true && r.licenceId === licenceId) {
      const now = clock.now();
      await writeCache(o.cacheFile, { licenceId, instanceId: o.instanceId, lastSuccessAt: now, result: r });
      return { serving: true, source: 'provider', result: r, lastSuccessAt: now };
    }
    if (res.status >= 400 && res.status < 500 && r && r.ok === false && typeof r.message === 'string') {
      await rm(o.cacheFile, { force: true });
      o.log?.error({ code: r.code, licenceId }, `licence activation refused: ${r.message}`);
      return { serving: false, code: r.code, message: r.message };
    }
    problem = `HTTP ${res.status}${r ? '' : ' (not a JSON answer)'}`;
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    const refused = outboundRefusal(e);
    problem = refused
      ? `${refused.message}; allow it with --outbound-allow`
      : err.name === 'TimeoutError'
        ? 'timed out'
        : (err.cause?.code ?? err.message);
  }

  const now = clock.now();
  const cached = await readCache(o.cacheFile);
  const usable = cached && cached.licenceId === licenceId && cached.instanceId === o.instanceId;
  if (usable && cached.lastSuccessAt <= now && now < cached.lastSuccessAt + o.graceMs) {
    const graceEndsAt = cached.lastSuccessAt + o.graceMs;
    const warning = `Licence provider unreachable at ${o.url} (${problem}); serving on the activation of ${iso(cached.lastSuccessAt)} until ${iso(graceEndsAt)}. Restore access to the provider before then.`;
    o.log?.warn({ licenceId, graceEndsAt: iso(graceEndsAt) }, warning);
    return {
      serving: true,
      source: 'cache',
      result: cached.result,
      lastSuccessAt: cached.lastSuccessAt,
      graceEndsAt,
      warning,
    };
  }
  const since = usable
    ? `the last successful activation was on ${iso(cached.lastSuccessAt)} and the offline grace period ended on ${iso(cached.lastSuccessAt + o.graceMs)}`
    : 'this deployment has never activated successfully';
  const message = `Licence provider unreachable at ${o.url} (${problem}) and ${since}: this deployment is not serving until the provider can be reached.`;
  o.log?.error({ licenceId }, message);
  return { serving: false, code: 'UNREACHABLE', message };
}

async function writeCache(file: string, entry: CacheEntry): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(entry), { mode: 0o600 });
  await rename(tmp, file);
}

async function readCache(file: string): Promise<CacheEntry | null> {
  try {
    const e = JSON.parse(await readFile(file, 'utf8')) as CacheEntry;
    return typeof e.lastSuccessAt === 'number' && typeof e.licenceId === 'string' ? e : null;
  } catch {
    return null;
  }
}
