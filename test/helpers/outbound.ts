/**
 * The outbound policy tests run Tollgate with: the test's own loopback servers allowed
 * explicitly, and DNS never asked (a name that is not `localhost` does not resolve), so no
 * test sends anything, not even a DNS query, off this machine.
 */
import type { LookupAddress } from 'node:dns';
import { OutboundPolicy, type Resolver } from '../../src/shared/index.js';

export const LOOPBACK_ALLOWED = ['127.0.0.1'];

export const noDns: Resolver = async (host): Promise<LookupAddress[]> => {
  if (host === 'localhost') return [{ address: '127.0.0.1', family: 4 }];
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
};

export function testOutbound(allow: readonly string[] = LOOPBACK_ALLOWED): OutboundPolicy {
  return new OutboundPolicy({ allow, resolve: noDns });
}
