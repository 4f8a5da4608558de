/**
 * Loading the configuration: defaults < environment (`TOLLGATE_*`) < flags, validated once and
 * frozen; a bad value names the setting, where it came from (flag or variable) and what is
 * accepted.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, envName, kebab, loadConfig, readEnv } from '../../src/config/index.js';

/** The message of the ConfigError that `fn` throws. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('the configuration was accepted');
}

describe('configuration', () => {
  it('starts from defaults a newcomer can run with', () => {
    const c = loadConfig({}, {});
    expect(c).toMatchObject({
      role: 'all',
      databaseUrl: 'sqlite:./data/tollgate.db',
      gatewayPort: 8080,
      consolePort: 8081,
      metering: 'batched',
      outboundAllow: [],
      billingScheduler: true,
      billingSettleMs: 3_600_000,
    });
    expect(c.redisUrl).toBeUndefined();
  });

  it('maps each setting to one variable and one flag', () => {
    expect(envName('databaseUrl')).toBe('TOLLGATE_DATABASE_URL');
    expect(envName('licenceGraceMs')).toBe('TOLLGATE_LICENCE_GRACE_MS');
    expect(kebab('gatewayPublicUrl')).toBe('gateway-public-url');
    // An empty variable is the same as an unset one (compose files pass empty values through).
    expect(readEnv({ TOLLGATE_GATEWAY_PORT: '9000', TOLLGATE_REDIS_URL: '', OTHER: 'x' })).toEqual({
      gatewayPort: '9000',
    });
  });

  it('takes the environment over defaults and flags over the environment', () => {
    const env = { TOLLGATE_GATEWAY_PORT: '9000', TOLLGATE_METERING: 'strict' };
    expect(loadConfig({}, env)).toMatchObject({ gatewayPort: 9000, metering: 'strict' });
    expect(loadConfig({ gatewayPort: '9100' }, env)).toMatchObject({ gatewayPort: 9100, metering: 'strict' });
  });

  it('is frozen once loaded', () => {
    const c = loadConfig({}, {});
    expect(Object.isFrozen(c)).toBe(true);
    expect(() => {
      (c as { gatewayPort: number }).gatewayPort = 1;
    }).toThrow(TypeError);
  });

  it('reads booleans and lists the way shells write them', () => {
    for (const [v, want] of [
      ['true', true],
      ['1', true],
      ['false', false],
      ['0', false],
    ] as const)
      expect(loadConfig({}, { TOLLGATE_APIGW_KEY_VALUES: v }).apigwKeyValues).toBe(want);
    expect(
      loadConfig({}, { TOLLGATE_OUTBOUND_ALLOW: ' 127.0.0.1:9000 , 10.0.0.0/8,,' }).outboundAllow,
    ).toEqual(['127.0.0.1:9000', '10.0.0.0/8']);
    expect(refusal(() => loadConfig({}, { TOLLGATE_DEMO: 'yes' }))).toMatch(/^ {2}demo \(TOLLGATE_DEMO\): /m);
  });

  it('names the setting and its source: the flag when given as a flag, the variable otherwise', () => {
    expect(refusal(() => loadConfig({ gatewayPort: '99999' }, {}))).toMatch(
      /invalid configuration:\n {2}gatewayPort \(--gateway-port\): .*65535/,
    );
    expect(refusal(() => loadConfig({}, { TOLLGATE_GATEWAY_PORT: 'eighty' }))).toMatch(
      /gatewayPort \(TOLLGATE_GATEWAY_PORT\): /,
    );
    expect(refusal(() => loadConfig({ databaseUrl: 'mysql://db/x' }, {}))).toContain(
      'databaseUrl (--database-url): must start with sqlite: or postgres://',
    );
  });

  it('lists every bad setting at once, not only the first', () => {
    const msg = refusal(() =>
      loadConfig({ metering: 'sometimes', adminToken: 'short' }, { TOLLGATE_SECRET: 'too short' }),
    );
    expect(msg).toContain('metering (--metering)');
    expect(msg).toContain('adminToken (--admin-token)');
    expect(msg).toContain('secret (TOLLGATE_SECRET)');
  });

  it('refuses a setting it does not know (a typo is not silently ignored)', () => {
    expect(refusal(() => loadConfig({ gatewayPrt: 1 }, {}))).toMatch(/gatewayPrt/);
  });

  it('refuses an outbound allow entry that is not a host, host:port, IP or CIDR', () => {
    expect(refusal(() => loadConfig({}, { TOLLGATE_OUTBOUND_ALLOW: 'http://10.0.0.1/' }))).toMatch(
      /outboundAllow \(TOLLGATE_OUTBOUND_ALLOW\): .*give hosts, host:port, IPs or CIDRs/,
    );
  });

  it('refuses a marketplace endpoint without both credentials', () => {
    expect(
      refusal(() =>
        loadConfig({ marketplaceEndpoint: 'http://127.0.0.1:9/', marketplaceAccessKeyId: 'AKIDEXAMPLE' }, {}),
      ),
    ).toContain('marketplaceEndpoint: needs marketplaceAccessKeyId and marketplaceSecretAccessKey too');
  });
});
