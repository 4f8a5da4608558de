/** CORS preflights answered by the gateway (src/gateway/steps/preflight.ts). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DENIED } from '../../../src/gateway/denial.js';
import { preflight } from '../../../src/gateway/steps/preflight.js';
import { type StepFixture, stepFixture } from './fixture.js';

describe('steps: CORS preflight', () => {
  let f: StepFixture;
  beforeAll(async () => {
    f = await stepFixture();
  });
  afterAll(async () => {
    await f.store.close();
  });

  const ask = (origin: string | undefined, method: string | undefined, url = '/shop/items/1') =>
    preflight(
      f.snapshot,
      {
        ...(origin === undefined ? {} : { origin }),
        ...(method === undefined ? {} : { 'access-control-request-method': method }),
      },
      url,
    );

  it('answers an allowed origin with the API’s methods, headers and max age', () => {
    expect(ask('https://APP.example', 'get')).toEqual({
      'access-control-allow-origin': 'https://APP.example',
      'access-control-allow-methods': 'GET',
      'access-control-allow-headers': 'x-api-key',
      'access-control-max-age': '600',
      vary: 'Origin',
      'content-length': '0',
    });
  });

  it('refuses another origin with an unmetered 403', () => {
    const d = ask('https://evil.example', 'GET');
    expect(d).toBe(DENIED.preflightForbidden);
    expect(d).toMatchObject({ status: 403, code: null, headers: { vary: 'Origin' } });
  });

  it('is not a preflight without both fields, for a method no route takes, or for an API without CORS', () => {
    expect(ask(undefined, 'GET')).toBeNull();
    expect(ask('https://app.example', undefined)).toBeNull();
    expect(ask('https://app.example', 'DELETE')).toBeNull();
    expect(ask('https://app.example', 'GET', '/other/x')).toBeNull();
  });
});
