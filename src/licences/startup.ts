/**
 * Wholesale start-up: read the licence and public-keys files, verify, and hand back a
 * started guard — or throw an Error whose message tells the operator what to fix. This is
 * what `tollgate serve --licence FILE` runs before opening any port.
 */
import { readFile } from 'node:fs/promises';
import type { Clock, Logger } from '../shared/index.js';
import { LicenceGuard } from './guard.js';
import { parsePublicKeySet } from './keys.js';
import type { LicenceLimits, PublicKeySet } from './types.js';

export interface OpenLicenceGuardOptions {
  /** TOLLGATE_LICENCE_FILE */
  licenceFile: string;
  /** TOLLGATE_LICENCE_PUBLIC_KEYS: a JWKS file (optionally with `revoked`). */
  publicKeysFile: string;
  /** The product this deployment runs. */
  productId: string;
  graceMs: number;
  clock: Clock;
  log: Logger;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`cannot read the ${what} at ${path} (${code ?? (e as Error).message})`);
  }
}

export async function readPublicKeysFile(path: string): Promise<PublicKeySet> {
  return parsePublicKeySet(await readText(path, 'public keys file'), `public keys file ${path}`);
}

export async function readLicenceFile(path: string): Promise<string> {
  return (await readText(path, 'licence file')).trim();
}

/** Reads, verifies and starts the guard; throws when this deployment must not start. */
export async function openLicenceGuard(o: OpenLicenceGuardOptions): Promise<LicenceGuard> {
  if (!o.productId)
    throw new Error('the product this deployment runs must be configured to check the licence');
  const [licence, keys] = await Promise.all([
    readLicenceFile(o.licenceFile),
    readPublicKeysFile(o.publicKeysFile),
  ]);
  const guard = new LicenceGuard({
    licence,
    keys,
    productId: o.productId,
    graceMs: o.graceMs,
    clock: o.clock,
    log: o.log,
  });
  await guard.startup();
  return guard;
}

/**
 * The licence's rate ceiling as a throttle rule for the whole deployment: add it to every
 * request's throttles next to the plan's own (limits admits all-or-nothing), so the sum of
 * all keys' traffic never exceeds `limits.rateLimit`. Burst defaults to one second of rate.
 * Shaped like limits' ThrottleRule without importing it.
 */
export function licenceThrottle(licence: { id: string; limits: LicenceLimits }): {
  key: string;
  rate: number;
  burst: number;
} {
  const { rateLimit, burstLimit } = licence.limits;
  return {
    key: `licence:${licence.id}`,
    rate: rateLimit,
    burst: burstLimit ?? Math.max(1, Math.ceil(rateLimit)),
  };
}
