/** The key step (src/gateway/steps/authenticate.ts): one 403 for every reason, reasons kept apart inside. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DENIED, Denial } from '../../../src/gateway/denial.js';
import { authenticate, identify } from '../../../src/gateway/steps/authenticate.js';
import { NOW, type StepFixture, stepFixture } from './fixture.js';

describe('steps: authenticate', () => {
  let f: StepFixture;
  beforeAll(async () => {
    f = await stepFixture();
  });
  afterAll(async () => {
    await f.store.close();
  });

  it('finds the key entry of a good key for an API of its plan', () => {
    const key = identify(f.snapshot, f.keys.good, f.apiId, NOW);
    expect(key).not.toBeInstanceOf(Denial);
    expect(key).toMatchObject({ enabled: true, active: true });
    expect(identify(f.snapshot, f.keys.good, f.apiId, NOW)).toBe(key); // the same entry each call
  });

  it('tells each failure apart, and answers every one with the same 403', () => {
    const cases: Array<[string | string[] | undefined, string, string]> = [
      [undefined, f.apiId, 'missing'],
      ['', f.apiId, 'missing'],
      [[f.keys.good, f.keys.good], f.apiId, 'missing'],
      ['x'.repeat(257), f.apiId, 'missing'],
      ['tg_not_a_key', f.apiId, 'unknown'],
      [f.keys.disabled, f.apiId, 'disabled'],
      [f.keys.expired, f.apiId, 'expired'],
      [f.keys.inactive, f.apiId, 'inactive'],
      [f.keys.good, f.otherApiId, 'not_in_plan'],
      [f.keys.otherPlan, f.apiId, 'not_in_plan'],
    ];
    for (const [header, apiId, reason] of cases) {
      expect(authenticate(f.snapshot, header, apiId, NOW), reason).toEqual({ ok: false, reason });
      expect(identify(f.snapshot, header, apiId, NOW), reason).toBe(DENIED.forbidden);
    }
    expect(DENIED.forbidden).toMatchObject({
      status: 403,
      body: '{"message":"Forbidden"}',
      code: 'FORBIDDEN',
    });
  });

  it('a key expires at its instant, not a millisecond later', () => {
    const expiresAt = NOW - 1;
    expect(authenticate(f.snapshot, f.keys.expired, f.apiId, expiresAt - 1).ok).toBe(true);
    expect(authenticate(f.snapshot, f.keys.expired, f.apiId, expiresAt)).toEqual({
      ok: false,
      reason: 'expired',
    });
  });
});
