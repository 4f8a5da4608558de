/**
 * LicenceGuard: the wholesale deployment's answer to "may I serve?".
 *
 * `startup()` verifies the licence offline and throws (the process refuses to start) for
 * every denial except an expiry still inside the grace period. After that, `check(now)`
 * is synchronous and pure over the verified licence: within validity → serving; expired but
 * within `graceMs` → serving with a loud warning (logged at warn on every check); past
 * grace, revoked, or refused by the provider's activation service → not serving, 503 with a
 * message. The gateway reads `current()` (the last check, no logging) on the hot path and a
 * timer (`startPeriodicCheck`) re-runs `check` — and optionally re-reads the licence file
 * and re-activates — every interval, so a renewed licence file is picked up without restart.
 */
import type { Clock, Logger } from '../shared/index.js';
import type { ActivationOutcome } from './client.js';
import { verifyLicence } from './token.js';
import type { Licence, LicenceLimits, PublicKeySet, VerifyResult } from './types.js';

export type GuardStatus =
  | { serving: true; warning?: string; limits: LicenceLimits; licence: Licence }
  | { serving: false; status: 503; body: { message: string } };

export interface LicenceGuardOptions {
  /** The licence file's text (a compact JWS). */
  licence: string;
  keys: PublicKeySet;
  /** The product this deployment runs. */
  productId: string;
  /** How long to keep serving after expiry, ms. */
  graceMs: number;
  clock: Clock;
  log: Logger;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export class LicenceGuard {
  private text: string;
  private keys: PublicKeySet;
  private licence: Licence | null = null;
  private revokedMessage: string | null = null;
  private activationDenial: string | null = null;
  private last: GuardStatus;
  private readonly o: LicenceGuardOptions;

  constructor(options: LicenceGuardOptions) {
    if (!Number.isFinite(options.graceMs) || options.graceMs < 0) {
      throw new Error(`licence grace period must be a non-negative number of ms (got ${options.graceMs})`);
    }
    this.o = options;
    this.text = options.licence;
    this.keys = options.keys;
    this.last = unavailable('The licence has not been verified yet: this deployment is starting.');
  }

  /** Verifies the licence; throws an Error with a clear message when this deployment must not start. */
  async startup(): Promise<Licence> {
    const now = this.o.clock.now();
    const result = await verifyLicence(this.text, this.keys, { productId: this.o.productId, nowMs: now });
    const licence = this.accept(result, now);
    if (!licence) throw new Error(`Licence refused (${codeOf(result)}): ${messageOf(result)}`);
    this.check(now);
    this.o.log.info(
      {
        licenceId: licence.id,
        licensee: licence.licensee.name,
        productId: licence.productId,
        deployments: licence.deployments,
        validUntil: iso(licence.validUntil),
        kid: licence.kid,
      },
      'licence verified',
    );
    return licence;
  }

  /**
   * Replaces the licence text (e.g. a renewed file) and/or the public keys. A new licence
   * that does not verify is refused and the current one stays in force; a revocation found
   * in new keys applies at once.
   */
  async reload(input: { licence?: string; keys?: PublicKeySet }): Promise<VerifyResult> {
    const now = this.o.clock.now();
    const text = input.licence ?? this.text;
    const keys = input.keys ?? this.keys;
    const result = await verifyLicence(text, keys, { productId: this.o.productId, nowMs: now });
    if (!result.ok && result.code === 'REVOKED' && result.licence?.id === this.licence?.id) {
      this.revokedMessage = result.message;
      this.keys = keys;
    } else if (this.accept(result, now)) {
      if (text !== this.text) this.o.log.info({ licenceId: this.licence?.id }, 'licence file reloaded');
      this.text = text;
      this.keys = keys;
    } else {
      this.o.log.error({ code: codeOf(result) }, `new licence not installed: ${messageOf(result)}`);
    }
    return result;
  }

  /** Takes the provider's activation answer into account (seat check, revocation, reachability). */
  applyActivation(outcome: ActivationOutcome): void {
    if (outcome.serving) {
      this.activationDenial = null;
      return;
    }
    this.activationDenial = outcome.message;
    if (outcome.code === 'REVOKED') this.revokedMessage = outcome.message;
  }

  /** Decides and logs; call from a timer. */
  check(nowMs: number = this.o.clock.now()): GuardStatus {
    const status = this.evaluate(nowMs);
    this.last = status;
    if (!status.serving) this.o.log.error({ licenceId: this.licence?.id }, status.body.message);
    else if (status.warning) this.o.log.warn({ licenceId: status.licence.id }, status.warning);
    return status;
  }

  /** The last decision, without logging: for the request path. */
  current(): GuardStatus {
    return this.last;
  }

  get verified(): Licence | null {
    return this.licence;
  }

  private evaluate(now: number): GuardStatus {
    const l = this.licence;
    if (!l) return unavailable('The licence has not been verified: this deployment is not serving.');
    if (this.revokedMessage) return unavailable(this.revokedMessage);
    if (this.activationDenial) return unavailable(this.activationDenial);
    if (now < l.validFrom) {
      return unavailable(
        `The licence ${l.id} is valid from ${iso(l.validFrom)}; it is now ${iso(now)}: this deployment is not serving yet.`,
      );
    }
    if (now < l.validUntil) return { serving: true, limits: l.limits, licence: l };
    const graceEnds = l.validUntil + this.o.graceMs;
    if (now < graceEnds) {
      const hours = Math.max(0, (graceEnds - now) / 3_600_000).toFixed(1);
      return {
        serving: true,
        licence: l,
        limits: l.limits,
        warning: `LICENCE EXPIRED: licence ${l.id} for ${l.licensee.name} expired on ${iso(l.validUntil)}. Serving during the grace period, which ends on ${iso(graceEnds)} (${hours} h left); after that this deployment answers 503. Renew the licence with the provider and install the new file.`,
      };
    }
    return unavailable(
      `The licence ${l.id} for ${l.licensee.name} expired on ${iso(l.validUntil)} and its grace period ended on ${iso(graceEnds)}: this deployment has stopped serving. Renew the licence with the provider and install the new licence file.`,
    );
  }

  /** Accepts a verification result if this deployment may run on it; returns the licence or null. */
  private accept(result: VerifyResult, now: number): Licence | null {
    let licence: Licence | null = null;
    if (result.ok) licence = result.licence;
    else if (
      result.code === 'EXPIRED' &&
      result.licence &&
      now < result.licence.validUntil + this.o.graceMs
    ) {
      licence = result.licence;
    }
    if (!licence) return null;
    this.licence = licence;
    this.revokedMessage = null;
    return licence;
  }
}

function unavailable(message: string): GuardStatus {
  return { serving: false, status: 503, body: { message } };
}

function codeOf(r: VerifyResult): string {
  return r.ok ? 'OK' : r.code;
}

function messageOf(r: VerifyResult): string {
  if (r.ok) return 'ok';
  if (r.code === 'EXPIRED' && r.licence) return `${r.message} The grace period has also ended.`;
  return r.message;
}

export interface PeriodicCheckOptions {
  intervalMs: number;
  /** Returns the licence file's current text (to pick up a renewal); optional. */
  readLicence?: () => Promise<string>;
  /** Returns the public keys file's current content (new keys, revocations); optional. */
  readKeys?: () => Promise<PublicKeySet>;
  /** Calls the provider's activation endpoint (heartbeat); optional. */
  activate?: () => Promise<ActivationOutcome>;
  log?: Logger;
}

/** Re-checks the licence every interval. The timer is unref'd: it never keeps the process alive. */
export function startPeriodicCheck(guard: LicenceGuard, options: PeriodicCheckOptions): { stop(): void } {
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      if (options.readLicence || options.readKeys) {
        const licence = options.readLicence ? await options.readLicence() : undefined;
        const keys = options.readKeys ? await options.readKeys() : undefined;
        await guard.reload({ licence, keys });
      }
      if (options.activate) guard.applyActivation(await options.activate());
      guard.check();
    } catch (e) {
      options.log?.error({ err: e }, 'licence re-check failed; keeping the last decision');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), options.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
