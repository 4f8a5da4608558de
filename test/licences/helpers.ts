import { type Logger, pino } from 'pino';
import {
  generateSigningKey,
  type LicenceTerms,
  type PublicKeySet,
  type SigningKeyPair,
} from '../../src/licences/index.js';

export const DAY = 86_400_000;
export const T0 = Date.UTC(2026, 0, 1);

/** A real pino logger whose lines are kept for assertions. */
export function capturingLogger(): { log: Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}

export const WARN = 40;
export const ERROR = 50;

export function terms(overrides: Partial<LicenceTerms> = {}): LicenceTerms {
  return {
    id: 'lic_01TEST',
    providerId: 'prv_acme',
    licensee: { id: 'con_globex', name: 'Globex Corp' },
    productId: 'prd_nouns',
    subscriptionId: null,
    deployments: 2,
    features: ['nouns', 'capture'],
    limits: { rateLimit: 50, burstLimit: 100 },
    validFrom: T0,
    validUntil: T0 + 30 * DAY,
    ...overrides,
  };
}

export function keySet(...pairs: SigningKeyPair[]): PublicKeySet {
  return { keys: pairs.map((p) => p.publicJwk), revoked: [] };
}

export { generateSigningKey };
