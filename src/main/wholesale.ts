/**
 * Wholesale mode (`serve --licence FILE`): the licensed product runs in the buyer's own
 * infrastructure. Before any port opens, the licence is verified offline against the
 * provider's public keys; a bad one stops the process with a message that says why. While
 * running, the licence (and the keys file, for renewals and revocations) is re-read every
 * `licenceCheckIntervalMs` (a minute), seats are confirmed with the provider when an
 * activation URL is configured (offline grace applies when it is unreachable), and the
 * gateway consults the last decision on every request: serve (with the licence's rate
 * ceiling) or a clear 503.
 * Usage is still metered locally for the buyer's own view; nothing is exported per call.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/index.js';
import { ALWAYS_SERVING, type ServingGuard } from '../gateway/index.js';
import {
  activateWithGrace,
  licenceThrottle,
  openLicenceGuard,
  readLicenceFile,
  readPublicKeysFile,
  startPeriodicCheck,
} from '../licences/index.js';
import type { Clock, Logger, OutboundPolicy } from '../shared/index.js';

export interface Wholesale {
  guard: ServingGuard;
  stop(): void;
}

/** A normal install: always serving, nothing to check. */
export const NOT_WHOLESALE: Wholesale = { guard: ALWAYS_SERVING, stop() {} };

export async function startWholesale(
  config: Config,
  clock: Clock,
  log: Logger,
  outbound: OutboundPolicy,
): Promise<Wholesale> {
  if (!config.licenceFile) return NOT_WHOLESALE;
  if (!config.licencePublicKeys)
    throw new Error(
      "licencePublicKeys (TOLLGATE_LICENCE_PUBLIC_KEYS) must name the provider's public keys file",
    );
  if (!config.licenceProduct)
    throw new Error('licenceProduct (TOLLGATE_LICENCE_PRODUCT) must name the product this deployment runs');
  const licenceFile = config.licenceFile;
  const keysFile = config.licencePublicKeys;
  const guard = await openLicenceGuard({
    licenceFile,
    publicKeysFile: keysFile,
    productId: config.licenceProduct,
    graceMs: config.licenceGraceMs,
    clock,
    log,
  });
  const activationUrl = config.licenceActivationUrl;
  const instanceId = `${hostname()}:${config.node}`;
  // The provider runs the activation endpoint: its answers (redirects) are judged too.
  const dispatcher = activationUrl ? outbound.agent({ connectTimeoutMs: 10_000 }) : undefined;
  const periodic = startPeriodicCheck(guard, {
    intervalMs: config.licenceCheckIntervalMs,
    readLicence: () => readLicenceFile(licenceFile),
    readKeys: () => readPublicKeysFile(keysFile),
    ...(activationUrl
      ? {
          activate: async () =>
            activateWithGrace({
              url: new URL('/licences/v1/activate', activationUrl).toString(),
              token: await readLicenceFile(licenceFile),
              instanceId,
              graceMs: config.licenceGraceMs,
              cacheFile: join(config.dataDir, 'licence-activation.json'),
              clock,
              log,
              dispatcher,
            }),
        }
      : {}),
    log,
  });
  return {
    guard: {
      current() {
        const s = guard.current();
        if (!s.serving) return s;
        return { serving: true, throttle: s.limits.rateLimit ? licenceThrottle(s.licence) : null };
      },
    },
    stop: () => {
      periodic.stop();
      void dispatcher?.close();
    },
  };
}
