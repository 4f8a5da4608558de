import { afterEach, describe, expect, it } from 'vitest';
import {
  deploymentTimeline,
  generateSigningKey,
  LicenceGuard,
  licenceThrottle,
  signLicence,
  startPeriodicCheck,
} from '../../src/licences/index.js';
import { MemoryLimits } from '../../src/limits/index.js';
import { ManualClock } from '../../src/shared/index.js';
import { capturingLogger, DAY, ERROR, keySet, T0, terms, WARN } from './helpers.js';

const provider = await generateSigningKey();
const stranger = await generateSigningKey();
const keys = keySet(provider);
const GRACE = 7 * DAY;

async function guardFor(token: string, clock: ManualClock, productId = 'prd_nouns') {
  const { log, lines } = capturingLogger();
  return { guard: new LicenceGuard({ licence: token, keys, productId, graceMs: GRACE, clock, log }), lines };
}

describe('LicenceGuard: the wholesale deployment decides whether to serve', () => {
  it('a valid licence starts and serves with the licence limits, no warning', async () => {
    const clock = new ManualClock(T0 + DAY);
    const { guard, lines } = await guardFor(await signLicence(terms(), provider, T0), clock);
    const licence = await guard.startup();
    expect(licence.id).toBe('lic_01TEST');
    const s = guard.check();
    expect(s).toMatchObject({ serving: true, limits: { rateLimit: 50, burstLimit: 100 } });
    expect(s.serving && s.warning).toBeFalsy();
    expect(guard.current()).toBe(s);
    expect(lines.some((l) => l.msg === 'licence verified')).toBe(true);
  });

  it.each([
    ['tampered', 'TAMPERED', /Licence refused \(TAMPERED\): .*altered/],
    ['wrong key', 'UNKNOWN_KEY', /Licence refused \(UNKNOWN_KEY\): .*not in the provider's public keys/],
    ['wrong product', 'WRONG_PRODUCT', /Licence refused \(WRONG_PRODUCT\): .*is for product prd_capture/],
    ['not yet valid', 'NOT_YET_VALID', /Licence refused \(NOT_YET_VALID\): .*valid from 2026-03-02/],
    [
      'expired past grace',
      'EXPIRED',
      /Licence refused \(EXPIRED\): .*expired on .*grace period has also ended/,
    ],
  ])('refuses to start when the licence is %s', async (_name, code, message) => {
    const clock = new ManualClock(T0 + DAY);
    let token = await signLicence(terms(), provider, T0);
    if (code === 'TAMPERED') {
      const [h, p, s] = token.split('.');
      const c = JSON.parse(Buffer.from(p!, 'base64url').toString());
      c.limits.rateLimit = 100_000;
      token = [h, Buffer.from(JSON.stringify(c)).toString('base64url'), s].join('.');
    }
    if (code === 'UNKNOWN_KEY') token = await signLicence(terms(), stranger, T0);
    if (code === 'WRONG_PRODUCT')
      token = await signLicence(terms({ productId: 'prd_capture' }), provider, T0);
    if (code === 'NOT_YET_VALID')
      token = await signLicence(terms({ validFrom: T0 + 60 * DAY, validUntil: T0 + 90 * DAY }), provider, T0);
    if (code === 'EXPIRED') clock.set(T0 + 30 * DAY + GRACE);
    const { guard } = await guardFor(token, clock);
    await expect(guard.startup()).rejects.toThrow(message);
    expect(guard.check()).toMatchObject({ serving: false, status: 503 });
  });

  it('expired within grace: starts, serves, and warns loudly on every check', async () => {
    const clock = new ManualClock(T0 + 30 * DAY + DAY);
    const { guard, lines } = await guardFor(await signLicence(terms(), provider, T0), clock);
    await guard.startup();
    guard.check();
    clock.advance(3_600_000);
    const s = guard.check();
    expect(s.serving).toBe(true);
    if (!s.serving) return;
    expect(s.warning).toMatch(
      /^LICENCE EXPIRED: licence lic_01TEST for Globex Corp expired on 2026-01-31T00:00:00.000Z/,
    );
    expect(s.warning).toContain('grace period, which ends on 2026-02-07T00:00:00.000Z');
    expect(lines.filter((l) => l.level === WARN && l.msg.startsWith('LICENCE EXPIRED')).length).toBe(3);
  });

  it('expired past grace: stops serving with a 503 body that says why and what to do', async () => {
    const clock = new ManualClock(T0 + DAY);
    const { guard, lines } = await guardFor(await signLicence(terms(), provider, T0), clock);
    await guard.startup();
    clock.set(T0 + 30 * DAY + GRACE);
    const s = guard.check();
    expect(s).toEqual({
      serving: false,
      status: 503,
      body: {
        message:
          'The licence lic_01TEST for Globex Corp expired on 2026-01-31T00:00:00.000Z and its grace period ended on 2026-02-07T00:00:00.000Z: this deployment has stopped serving. Renew the licence with the provider and install the new licence file.',
      },
    });
    expect(lines.at(-1)).toMatchObject({ level: ERROR });
  });

  it('a renewed licence file is picked up by reload; a bad file is refused and the old one stays', async () => {
    const clock = new ManualClock(T0 + 30 * DAY + DAY);
    const { guard } = await guardFor(await signLicence(terms(), provider, T0), clock);
    await guard.startup();
    const forged = await signLicence(terms({ validUntil: T0 + 400 * DAY }), stranger, T0);
    expect(await guard.reload({ licence: forged })).toMatchObject({ ok: false, code: 'UNKNOWN_KEY' });
    expect(guard.check()).toMatchObject({ serving: true, warning: expect.stringContaining('EXPIRED') });
    const renewed = await signLicence(terms({ validUntil: T0 + 400 * DAY }), provider, clock.now());
    expect(await guard.reload({ licence: renewed })).toMatchObject({ ok: true });
    const s = guard.check();
    expect(s.serving && s.warning).toBeFalsy();
  });

  it('revoked: a public keys file listing the licence stops it at once (and at start-up)', async () => {
    const clock = new ManualClock(T0 + DAY);
    const token = await signLicence(terms(), provider, T0);
    const { guard } = await guardFor(token, clock);
    await guard.startup();
    await guard.reload({ keys: { ...keys, revoked: ['lic_01TEST'] } });
    expect(guard.check()).toMatchObject({
      serving: false,
      body: { message: expect.stringMatching(/lic_01TEST for Globex Corp was revoked by the provider/) },
    });
    const { log } = capturingLogger();
    const fresh = new LicenceGuard({
      licence: token,
      keys: { ...keys, revoked: ['lic_01TEST'] },
      productId: 'prd_nouns',
      graceMs: GRACE,
      clock,
      log,
    });
    await expect(fresh.startup()).rejects.toThrow(/Licence refused \(REVOKED\)/);
  });

  it('an activation refusal (all seats taken) stops serving; a later success resumes', async () => {
    const clock = new ManualClock(T0 + DAY);
    const { guard } = await guardFor(await signLicence(terms(), provider, T0), clock);
    await guard.startup();
    guard.applyActivation({
      serving: false,
      code: 'SEATS_EXHAUSTED',
      message: 'All 2 deployment(s) … in use',
    });
    expect(guard.check()).toMatchObject({
      serving: false,
      body: { message: 'All 2 deployment(s) … in use' },
    });
    guard.applyActivation({
      serving: true,
      source: 'provider',
      lastSuccessAt: clock.now(),
      result: {
        ok: true,
        licenceId: 'lic_01TEST',
        instanceId: 'i',
        deployments: 2,
        inUse: 1,
        heartbeatTtlMs: 1,
        validUntil: 1,
        token: '',
      },
    });
    expect(guard.check().serving).toBe(true);
  });
});

describe('startPeriodicCheck', () => {
  let stop: (() => void) | undefined;
  afterEach(() => stop?.());

  it('re-reads the licence file and re-checks on its interval (unref timer)', async () => {
    const clock = new ManualClock(T0 + 30 * DAY + GRACE - 1000);
    const original = await signLicence(terms(), provider, T0);
    const { guard, lines } = await guardFor(original, clock);
    await guard.startup();
    expect(guard.current().serving).toBe(true);
    clock.advance(1000); // grace is over now
    const renewed = await signLicence(terms({ validUntil: T0 + 400 * DAY }), provider, clock.now());
    let reads = 0;
    ({ stop } = startPeriodicCheck(guard, {
      intervalMs: 20,
      readLicence: async () => (++reads === 1 ? original : renewed),
    }));
    const renewedInForce = () => {
      const s = guard.current();
      return s.serving && s.licence.validUntil === T0 + 400 * DAY;
    };
    await expect.poll(renewedInForce, { timeout: 5000, interval: 10 }).toBe(true);
    // The first tick, still on the old file, stopped serving and said so.
    expect(lines.some((l) => l.level === ERROR && l.msg.includes('grace period ended'))).toBe(true);
    expect(reads).toBeGreaterThanOrEqual(2);
  });
});

describe('pure helpers', () => {
  it('the licence rate ceiling holds across all keys of the deployment (real in-process limits)', () => {
    const limits = new MemoryLimits();
    const ceiling = licenceThrottle({ id: 'lic_1', limits: { rateLimit: 5, burstLimit: 10 } });
    expect(ceiling).toEqual({ key: 'licence:lic_1', rate: 5, burst: 10 });
    // Two keys whose plans allow 100 req/s each; the licence allows 5/s (burst 10) in total.
    const admit = (k: string, now: number) =>
      limits.admit({ throttles: [{ key: `plan:${k}`, rate: 100, burst: 100 }, ceiling] }, now);
    let admitted = 0;
    for (let i = 0; i < 40; i++) if (admit(i % 2 ? 'a' : 'b', T0).ok) admitted++;
    expect(admitted).toBe(10);
    const denied = admit('a', T0);
    expect(denied).toMatchObject({ ok: false, code: 'THROTTLED' });
    admitted = 0;
    for (let i = 0; i < 40; i++) if (admit('a', T0 + 1000).ok) admitted++;
    expect(admitted).toBe(5);
    expect(licenceThrottle({ id: 'x', limits: { rateLimit: 2.5 } }).burst).toBe(3);
  });

  it('deployment timeline: segments per change, clipped to validity, window and revocation', () => {
    const changes = [
      { effectiveAt: 0, deployments: 2 },
      { effectiveAt: 10, deployments: 3 },
      { effectiveAt: 20, deployments: 3 },
      { effectiveAt: 30, deployments: 1 },
    ];
    const v = { validFrom: 0, validUntil: 100, revokedAt: null };
    expect(deploymentTimeline(changes, v, 5, 50)).toEqual([
      { from: 5, to: 10, quantity: 2 },
      { from: 10, to: 30, quantity: 3 },
      { from: 30, to: 50, quantity: 1 },
    ]);
    expect(deploymentTimeline(changes, { ...v, revokedAt: 15 }, 0, 50)).toEqual([
      { from: 0, to: 10, quantity: 2 },
      { from: 10, to: 15, quantity: 3 },
    ]);
    expect(deploymentTimeline(changes, v, 100, 200)).toEqual([]);
  });
});
